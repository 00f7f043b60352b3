#!/usr/bin/env bash
# Bounded libFuzzer runs of fuzz/fuzz_decode, fuzz/fuzz_metadata and fuzz/fuzz_hdf5_import
# (ASan+UBSan, clang), seeded from a temporary copy of $VF_SHARED/photos (never the
# repository) and, for the HDF5 import, small exports made with the tiny golden model. Fails if either
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
[ "${VF_FUZZ_NO_BUILD:-0}" = 1 ] || cmake --build "$build" --target fuzz_decode fuzz_metadata fuzz_hdf5_import viewfinder -j2 >/dev/null
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
# HDF5 seeds: exports of 1, 3 and 8 photos (small files, every dataset present).
mkdir -p "$work/seeds-hdf5"
for n in 1 3 8; do
  mkdir -p "$work/h5-$n/photos"
  find "$shared/photos/flowers17/images" -name '*.jpg' | sort | head -n "$n" | xargs -I{} cp {} "$work/h5-$n/photos/"
  ASAN_OPTIONS=detect_leaks=0 "$build/viewfinder" index "$work/h5-$n/photos" --library "$work/h5-$n/lib" \
    --model "$shared/golden/models/tiny" --quiet >/dev/null 2>&1 &&
  ASAN_OPTIONS=detect_leaks=0 "$build/viewfinder" export --library "$work/h5-$n/lib" --hdf5 "$work/seeds-hdf5/$n.h5" >/dev/null 2>&1 ||
    echo "fuzz.sh: could not make HDF5 seed $n"
done
status=0
for target in fuzz_decode fuzz_metadata fuzz_hdf5_import; do
  seeds="$work/seeds"
  [ "$target" = fuzz_hdf5_import ] && seeds="$work/seeds-hdf5"
  mkdir -p "$work/corpus-$target" "$work/artifacts-$target"
  # Leaks are not checked: glib/libvips keep process-lifetime allocations that LSan flags.
  # -rss_limit_mb: libheif/libvips allocate legitimately; 4 GB flags only real blow-ups.
  if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
      "$build/$target" "$work/corpus-$target" "$seeds" -max_total_time="$seconds" \
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
