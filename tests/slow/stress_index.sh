#!/usr/bin/env bash
# Memory-safety stress of the indexing pipeline (issue 14, point 4): many decode threads,
# several batch sizes, many repetitions, under ThreadSanitizer (build-tsan, -DVF_TSAN=ON)
# and AddressSanitizer+UBSan (build-asan, -DVF_SANITIZE=ON):
#   1. tests/stress/ingest_stress.cpp: N threads decoding the same mixed-format set (JPEG,
#      HEIC/AVIF, WebP, TIFF, DNG, broken files) over and over: libvips, libheif, LibRaw,
#      exiv2 and our ingestion code, the way the indexer's decode workers call them;
#   2. `viewfinder index` end to end (decode workers + engine + SQLite + FAISS) on flowers17
#      and the mixed set, with the tiny golden model, 8 and 16 decode threads, batch 1/7/32.
# Any sanitizer report fails the run. Bounded: VF_STRESS_ROUNDS (default 3) repetitions.
#   VF_STRESS_SANITIZERS="tsan asan" (default both), VF_STRESS_NO_BUILD=1 (use built binaries),
#   VF_STRESS_FLOWERS (flowers17 photos per index run, default 680)
set -euo pipefail
src="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
shared="${VF_SHARED:-$src/../shared}"
rounds="${VF_STRESS_ROUNDS:-3}"
model="$shared/golden/models/tiny"
work="$(mktemp -d /tmp/vf-stress-XXXXXX)"
trap 'rm -rf "$work"' EXIT
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi

# The mixed set: every format the decoder reads, plus the broken files (error paths).
find "$shared/photos/formats" "$shared/photos/camera_exif" "$shared/photos/raw" \
     "$shared/photos/broken" "$shared/photos/near_duplicates" -type f -size -3M \
     ! -name '*.md' ! -name '*.json' ! -name '*.txt' ! -name '*.tsv' | sort > "$work/mixed.list"
mkdir -p "$work/mixed"
i=0
# Copies, not symlinks: links that point out of the indexed folder are not followed.
while IFS= read -r f; do cp "$f" "$work/mixed/$i-$(basename "$f")"; i=$((i + 1)); done < "$work/mixed.list"
# VF_STRESS_FLOWERS: how many flowers17 photos the index runs use (default all 680).
mkdir -p "$work/flowers"
find "$shared/photos/flowers17/images" -type f -name '*.jpg' | sort | sed -n "1,${VF_STRESS_FLOWERS:-680}p" |
  while IFS= read -r f; do cp "$f" "$work/flowers/"; done
flowers="$work/flowers"

status=0
for san in ${VF_STRESS_SANITIZERS:-tsan asan}; do
  build="$src/build-$san"
  case $san in
    tsan) flags=(-DVF_TSAN=ON); cflags=(-fsanitize=thread)
          export TSAN_OPTIONS="suppressions=$src/tests/slow/tsan.supp halt_on_error=1 exitcode=66 report_signal_unsafe=0 history_size=3" ;;
    asan) flags=(-DVF_SANITIZE=ON); cflags=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
          # Leaks are checked by fuzz.sh's LibRaw note, not here: glib/libvips keep
          # process-lifetime allocations that LSan reports.
          export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=66"
          export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=66" ;;
    *) echo "stress_index: unknown sanitizer $san" >&2; exit 2 ;;
  esac
  if [ "${VF_STRESS_NO_BUILD:-0}" != 1 ]; then
    [ -f "$build/CMakeCache.txt" ] || cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DVF_BUILD_TESTS=OFF "${flags[@]}" "${launcher[@]}" >/dev/null
    cmake --build "$build" --target viewfinder -j2 >/dev/null
    # shellcheck disable=SC2046
    g++ -std=c++20 -O1 -g -fno-omit-frame-pointer "${cflags[@]}" -I"$src/include" -I"$src/src" \
      "$src/tests/stress/ingest_stress.cpp" "$src"/src/image/*.cpp \
      $(pkg-config --cflags --libs vips-cpp exiv2 libraw_r libheif libxxhash) -lpthread -o "$build/vf_ingest_stress"
  fi
  run() {  # run NAME CMD...: a sanitizer report (exit 66) or a crash fails the whole script
    local name=$1; shift
    if "$@" > "$work/$san-$name.log" 2>&1; then
      echo "stress_index: $san $name ok: $(tail -1 "$work/$san-$name.log")"
    else
      echo "stress_index: $san $name FAILED (exit $?)"; grep -B2 -A40 -m1 -E "Sanitizer|runtime error|Aborted|corrupt" "$work/$san-$name.log" || tail -40 "$work/$san-$name.log"
      status=1
    fi
  }
  run ingest-mixed "$build/vf_ingest_stress" 8 "$rounds" "@$work/mixed.list"
  run ingest-flowers "$build/vf_ingest_stress" 8 1 "$flowers"/*.jpg
  for r in $(seq 1 "$rounds"); do
    for cfg in "8 1" "16 7" "8 32"; do
      set -- $cfg
      rm -rf "$work/lib"
      run "index-flowers-r$r-t$1-b$2" "$build/viewfinder" index "$flowers" --library "$work/lib" --model "$model" \
        --decode-threads "$1" --batch "$2" --commit-every 5 --threads 1 -q
      rm -rf "$work/lib"
      run "index-mixed-r$r-t$1-b$2" "$build/viewfinder" index "$work/mixed" --library "$work/lib" --model "$model" \
        --decode-threads "$1" --batch "$2" --commit-every 5 --threads 1 -q
    done
  done
done
[ $status = 0 ] && echo "stress_index: clean under ${VF_STRESS_SANITIZERS:-tsan asan}"
exit $status
