#!/usr/bin/env bash
# Bounded libFuzzer runs of fuzz/fuzz_decode and fuzz/fuzz_metadata (ASan+UBSan, clang),
# seeded with small generated files of every format (fuzz/seeds/make_seeds.sh: tens to
# hundreds of bytes each; camera-sized seeds held fuzz_decode at ~21 exec/s). Fails if either
# fuzzer finds a crash, sanitizer report or timeout.
#   VF_FUZZ_SECONDS (default 300 per target), VF_FUZZ_BUILD (default $VF_SOURCE_DIR/build-fuzz),
#   VF_FUZZ_NO_BUILD=1 (use the built fuzzers as they are)
set -euo pipefail
src="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
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
# Seeds: one small valid file per format, generated (never copied from the shared photos).
bash "$src/fuzz/seeds/make_seeds.sh" "$work/seeds" >/dev/null
i=$(find "$work/seeds" -type f | wc -l)
echo "fuzz.sh: $i seeds, ${seconds}s per target"
status=0
for target in fuzz_decode fuzz_metadata; do
  mkdir -p "$work/corpus-$target" "$work/artifacts-$target"
  # Leaks are not checked: glib/libvips keep process-lifetime allocations that LSan flags.
  # -rss_limit_mb: libheif/libvips allocate legitimately; 4 GB flags only real blow-ups.
  if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
      "$build/$target" "$work/corpus-$target" "$work/seeds" -max_total_time="$seconds" \
      -timeout=25 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts-$target/" >"$work/$target.log" 2>&1; then
    echo "fuzz.sh: $target FAILED"; tail -60 "$work/$target.log"
    ls -la "$work/artifacts-$target"
    mkdir -p "${TMPDIR:-/tmp}/vf-fuzz-artifacts" && cp -r "$work/artifacts-$target" "${TMPDIR:-/tmp}/vf-fuzz-artifacts/" || true
    status=1
  else
    echo "fuzz.sh: $target ok: $(grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|cov:" "$work/$target.log" | tail -3 | tr '\n' ' ')"
  fi
done
exit $status
