#!/usr/bin/env bash
# Bounded libFuzzer runs (ASan+UBSan, clang) of fuzz/fuzz_decode and fuzz/fuzz_metadata, seeded
# with small generated files of every format (fuzz/seeds/make_seeds.sh: tens to hundreds of
# bytes each; camera-sized seeds held fuzz_decode at ~21 exec/s); fuzz/fuzz_http, seeded with
# HTTP requests written here (JSON, multipart with a small photo, filters); and
# fuzz/fuzz_hdf5_import, seeded with small exports made with the tiny golden model.
# Fails if a fuzzer finds a crash, sanitizer report or timeout.
#   VF_FUZZ_SECONDS (default 300 per target), VF_FUZZ_BUILD (default $VF_SOURCE_DIR/build-fuzz),
#   VF_FUZZ_TARGETS (default "fuzz_decode fuzz_metadata fuzz_http fuzz_hdf5_import"),
#   VF_FUZZ_NO_BUILD=1 (use the built fuzzers as they are)
set -euo pipefail
src="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
seconds="${VF_FUZZ_SECONDS:-300}"
build="${VF_FUZZ_BUILD:-$src/build-fuzz}"
if ! command -v clang++ >/dev/null; then echo "fuzz.sh: clang++ not found" >&2; exit 1; fi
targets="${VF_FUZZ_TARGETS:-fuzz_decode fuzz_metadata fuzz_http fuzz_hdf5_import}"
# fuzz_http includes the server's internal headers (src/) and cpp-httplib's, whose class
# layouts depend on the feature defines Debian's pkg-config gives: every target gets both.
cxxflags="-I$src/src $(pkg-config --cflags cpp-httplib)"
if [ "${VF_FUZZ_NO_BUILD:-0}" != 1 ]; then
  CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVF_FUZZ=ON -DVF_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS="$cxxflags" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build" --target $targets viewfinder -j2 >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Seeds: one small valid file per format, generated (never copied from the shared photos).
bash "$src/fuzz/seeds/make_seeds.sh" "$work/seeds" >/dev/null
i=$(find "$work/seeds" -type f | wc -l)
shared="${VF_SHARED:-$src/../shared}"
# HTTP seeds: requests as the UI and API clients send them.
mkdir -p "$work/seeds-http"
jpg="$(find "$shared/photos/flowers17/images" -name '*.jpg' -size -40k | sort | head -1)"
printf 'POST /api/search HTTP/1.1\r\nHost: 127.0.0.1:7860\r\nContent-Type: application/json\r\nContent-Length: 96\r\n\r\n%-96s' \
  '{"ids":[1,2],"k":5,"alpha":0.5,"filters":{"date_from":"2019-01-01","gps_bbox":[1,2,3,4]}}' >"$work/seeds-http/json"
printf 'GET /api/photos?k=10&offset=5&model=EOS&date_to=2020-02-29T10:00&min_width=100&bbox=1,2,3,4 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/search/similar/12?k=3 HTTP/1.1\r\n\r\n' >"$work/seeds-http/get"
{
  part="$(mktemp)"
  { printf -- '--b0\r\nContent-Disposition: form-data; name="query"\r\n\r\n{"k":4,"colors":["#ff0000"]}\r\n'
    printf -- '--b0\r\nContent-Disposition: form-data; name="image"; filename="q.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    head -c 2000 "$jpg"; printf -- '\r\n--b0--\r\n'; } >"$part"
  printf 'POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b0\r\nContent-Length: %d\r\n\r\n' "$(stat -c %s "$part")"
  cat "$part"; rm -f "$part"
} >"$work/seeds-http/multipart"
echo "fuzz.sh: $i file seeds, 3 HTTP seeds, ${seconds}s per target: $targets"
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
for target in $targets; do
  seeds="$work/seeds"
  [ "$target" = fuzz_http ] && seeds="$work/seeds-http"
  [ "$target" = fuzz_hdf5_import ] && seeds="$work/seeds-hdf5"
  mkdir -p "$work/corpus-$target" "$work/artifacts-$target"
  # Leaks are not checked: glib/libvips keep process-lifetime allocations that LSan flags.
  # -rss_limit_mb: libheif/libvips allocate legitimately; 4 GB flags only real blow-ups.
  if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
      "$build/$target" "$work/corpus-$target" "$seeds" -max_total_time="$seconds" \
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
