#!/usr/bin/env bash
# Reports the code-shape limits of the developers' guide: files over 600 lines and functions
# (incl. lambdas' enclosing functions, methods) over 120 lines, in src/ and tools/ (or the
# folders given). Function extents come from Universal Ctags (--fields=+ne: line and end).
# Exit status 1 when anything is over, so CI or the integrator can run it as a check.
#   scripts/check-size.sh [--max-file N] [--max-function N] [folders...]
set -euo pipefail
cd "$(dirname "$0")/.."
max_file=600
max_function=120
folders=()
while [ $# -gt 0 ]; do
  case "$1" in
    --max-file) max_file="$2"; shift 2 ;;
    --max-function) max_function="$2"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) folders+=("$1"); shift ;;
  esac
done
[ ${#folders[@]} -gt 0 ] || folders=(src tools)
command -v ctags >/dev/null || { echo "check-size: needs Universal Ctags (apt-get install universal-ctags)" >&2; exit 2; }

over=0
files=$(find "${folders[@]}" -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.hpp' -o -name '*.cc' \) | sort)
for f in $files; do
  n=$(wc -l < "$f")
  if [ "$n" -gt "$max_file" ]; then echo "file     $f: $n lines (max $max_file)"; over=1; fi
done
# Kind f: function definitions (methods included); %e is the end line. Tab-separated since
# names such as "operator ()" hold spaces.
while IFS=$'\t' read -r name file start end; do
  [ "$end" = "-" ] && continue
  len=$((end - start + 1))
  if [ "$len" -gt "$max_function" ]; then echo "function $file:$start $name: $len lines (max $max_function)"; over=1; fi
done < <(ctags -R --languages=C++ --kinds-C++=f --fields=+ne -x --_xformat='%N	%F	%n	%e' "${folders[@]}" 2>/dev/null)
if [ "$over" = 0 ]; then echo "check-size: no file over $max_file lines, no function over $max_function lines in ${folders[*]}"; fi
exit "$over"
