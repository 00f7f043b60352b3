#!/usr/bin/env bash
# Builds the image tests with AddressSanitizer + UBSan (gcc, -DVF_SANITIZE=ON) into
# build-asan and runs them: decoding, metadata, broken files, golden preprocessing.
set -euo pipefail
src="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
build="${VF_ASAN_BUILD:-$src/build-asan}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVF_SANITIZE=ON >/dev/null
fi
cmake --build "$build" --target vf_test_image vf_test_preprocess_golden -j2 >/dev/null
# Leak checking is off: glib/libvips keep deliberate process-lifetime allocations (type system,
# thread pools) that LSan reports. Everything else (overflows, use-after-free, UB) is fatal.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$build/tests/vf_test_preprocess_golden"
"$build/tests/vf_test_image"
echo "sanitize.sh: image tests clean under ASan+UBSan"
