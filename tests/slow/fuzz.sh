#!/usr/bin/env bash
# Bounded libFuzzer runs of fuzz/fuzz_decode and fuzz/fuzz_metadata (ASan+UBSan, clang),
# seeded from a temporary copy of $VF_SHARED/photos (never the repository). Fails if either
# fuzzer finds a crash, leak, sanitizer report or timeout.
#   VF_FUZZ_SECONDS (default 300 per target), VF_FUZZ_BUILD (default $VF_SOURCE_DIR/build-fuzz),
#   VF_FUZZ_NO_BUILD=1 (use the built fuzzers as they are)
set -euo pipefail
src="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
shared="${VF_SHARED:-$src/../shared}"
seconds="${VF_FUZZ_SECONDS:-300}"
build="${VF_FUZZ_BUILD:-$src/build-fuzz}"
if ! command -v clang++ >/dev/null; then echo "fuzz.sh: clang++ not found" >&2; exit 1; fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVF_FUZZ=ON -DVF_BUILD_TESTS=OFF >/dev/null
fi
# VF_FUZZ_NO_BUILD=1 runs the existing binaries as they are.
[ "${VF_FUZZ_NO_BUILD:-0}" = 1 ] || cmake --build "$build" --target fuzz_decode fuzz_metadata -j2 >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Seeds: small real files of every kind (large ones only slow the fuzzer down).
mkdir -p "$work/seeds"
i=0
while IFS= read -r -d '' f; do
  cp "$f" "$work/seeds/$i$(printf '%s' "${f##*.}" | tr -dc 'A-Za-z0-9' | sed 's/^/./')"
  i=$((i + 1))
done < <(find "$shared/photos" "$shared/golden/images" -type f -size -300k \
           ! -name '*.md' ! -name '*.json' ! -name '*.tsv' -print0 | sort -z | sed -z -n 1,400p)
echo "fuzz.sh: $i seeds, ${seconds}s per target"
status=0
for target in fuzz_decode fuzz_metadata; do
  mkdir -p "$work/corpus-$target" "$work/artifacts-$target"
  # Leaks are not checked: glib/libvips keep process-lifetime allocations that LSan flags.
  # -rss_limit_mb: libheif/libvips allocate legitimately; 4 GB flags only real blow-ups.
  if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
      "$build/$target" "$work/corpus-$target" "$work/seeds" -max_total_time="$seconds" \
      -timeout=25 -rss_limit_mb=4096 -max_len=2000000 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts-$target/" >"$work/$target.log" 2>&1; then
    echo "fuzz.sh: $target FAILED"; tail -60 "$work/$target.log"
    ls -la "$work/artifacts-$target"
    mkdir -p "${TMPDIR:-/tmp}/vf-fuzz-artifacts" && cp -r "$work/artifacts-$target" "${TMPDIR:-/tmp}/vf-fuzz-artifacts/" || true
    status=1
  else
    echo "fuzz.sh: $target ok: $(grep -E 'stat::number_of_executed_units|cov:' "$work/$target.log" | tail -2 | tr '\n' ' ')"
  fi
done
exit $status
