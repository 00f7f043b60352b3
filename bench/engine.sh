#!/usr/bin/env bash
# Engine benchmark: Viewfinder's DINOv2 engine against ONNX Runtime, PyTorch and the machine's
# oneDNN matmul peak, all on this machine, in this run, with the same thread count.
#
#   bench/run engine [--threads N] [--budget SECONDS] [--quick] [--model DIR] [--no-build]
#
# Model: a ViT-B/14-shaped DINOv2 with random weights (bench/make_random_model.py), 224 px input.
# Steps: build engine_bench + matmul_peak, make the model (and its activation-outlier twin) and
# its ONNX export if missing, oneDNN peak, Viewfinder in each precision and `auto`, the cosine
# of bf16 and int8 to fp32 on the outlier twin, ORT (onnxruntime-node), PyTorch (Debian's),
# the PyPI peers of build/venv-bench (scripts/install-bench-peers.sh) when installed,
# oneDNN peak again (the ceiling is the better of the two, load drifts). Prints a table and, as
# its last line, one JSON object with images/s and the ratios. Goals are reported, not asserted.
# Env: VF_BUILD_DIR (default build/), NODE (default node). Outputs: bench/out/engine-run-<time>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
threads="$(nproc)"
budget=5
min_iters=3
max_call=40
mode_timeout=240
model=""
build=1
json_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --quick) budget=1; min_iters=2; max_call=15; mode_timeout=90; shift ;;
    --model) model="$2"; shift 2 ;;
    --max-call) max_call="$2"; shift 2 ;;
    --mode-timeout) mode_timeout="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --json) json_only=1; shift ;;
    -h|--help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      echo "options:"
      echo "  --threads N       threads for every engine (default: nproc = $(nproc))"
      echo "  --budget SECONDS  timed seconds per engine and batch size, after warm-up (default 5)"
      echo "  --quick           smoke run: budget 1 s, 2 iterations, skip calls over 15 s,"
      echo "                    90 s limit per engine process (default 240 s)"
      echo "  --model DIR       another HF DINOv2 directory instead of the random ViT-B/14"
      echo "  --max-call SEC    skip a batch size whose estimated call time exceeds this (default 40)"
      echo "  --mode-timeout S  limit per engine process (default 240 s; raise it on a loaded machine)"
      echo "  --no-build        use the existing build directory as is"
      echo "  --json            print only the final JSON line (the parts' logs stay in the run directory)"
      exit 0 ;;
    *) echo "bench/run engine: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$threads" in ''|*[!0-9]*) echo "bench/run engine: --threads must be a positive integer" >&2; exit 2 ;; esac

py=/usr/bin/python3
node="${NODE:-node}"
build_dir="${VF_BUILD_DIR:-$root/build}"
out="$root/bench/out"
mkdir -p "$out"
outlier_model=""
if [ -z "$model" ]; then
  model="$out/models/vitb14-random"
  [ -f "$model/model.safetensors" ] || "$py" "$root/bench/make_random_model.py" --size B --out "$model" >&2
  # Its twin with ViT-like activation outliers (4 channels 60x the rest at the matmul inputs), for
  # the accuracy of the reduced precisions (docs/engine.md, int8).
  outlier_model="$out/models/vitb14-outliers"
  [ -f "$outlier_model/model.safetensors" ] ||
    "$py" "$root/bench/make_random_model.py" --size B --outliers 60 --out "$outlier_model" >&2
fi
[ -f "$model/config.json" ] || { echo "bench/run engine: $model/config.json: no such file" >&2; exit 2; }
onnx="$out/$(basename "$model")-224.onnx"
if [ ! -f "$onnx" ] || [ "$onnx" -ot "$model/model.safetensors" ] || [ "$onnx" -ot "$root/bench/reference/dinov2_ref.py" ]; then
  echo "exporting $onnx (opset 17, 224 px position embedding baked in)" >&2
  "$py" "$root/bench/reference/export_onnx.py" "$model" "$onnx" --size 224 --pooler-only >&2
fi

if [ "$build" = 1 ]; then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  echo "building engine_bench matmul_peak in $build_dir" >&2
  cmake --build "$build_dir" --target engine_bench matmul_peak -j"$(nproc)" >"$out/engine-build.log" 2>&1 ||
    { tail -30 "$out/engine-build.log" >&2; echo "bench/run engine: build failed (log: $out/engine-build.log)" >&2; exit 1; }
fi

# Every part waits passively at OpenMP barriers unless the caller chose otherwise: libgomp's
# default spinning costs a time slice per barrier on a shared machine (the viewfinder CLI sets
# the same; ORT and OpenVINO use their own thread pools).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
run="$out/engine-run-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run"
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say() { if [ "$json_only" = 1 ]; then echo "$@" >&2; else echo "$@"; fi; }
say "run directory: $run"
say "threads $threads, budget ${budget}s per engine and batch size, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load before: $load_before"

# Runs one part: shows its human lines live, keeps its log, saves its last JSON line as NAME.json.
# A failing part is reported and leaves no JSON; the others still run.
part() {
  local name="$1"; shift
  say "== $name"
  set +e
  if [ "$json_only" = 1 ]; then
    "$@" >"$run/$name.log" 2>&1
  else
    "$@" 2>&1 | tee "$run/$name.log" | grep --line-buffered -v '^{'
  fi
  local rc="${PIPESTATUS[0]}"
  set -e
  local last
  last="$(grep '^{' "$run/$name.log" | tail -1 || true)"
  if [ -n "$last" ]; then printf '%s\n' "$last" >"$run/$name.json"; fi
  echo "$rc" >"$run/$name.rc"
  if [ "$rc" != 0 ]; then say "$name: exited with status $rc (log: $run/$name.log)"; fi
  return 0
}

common=(--threads "$threads" --budget "$budget" --min-iters "$min_iters")
part peak_before "$build_dir/matmul_peak" --threads "$threads" --budget 3
# One process per precision under a time limit: a mode running on a slow (reference) kernel
# cannot be interrupted mid-call, so the limit is what keeps the whole run bounded.
for mode in fp32 bf16 int8 auto; do
  ref_opt=(--save-embeddings "$run/fp32_embeddings.f32")
  [ "$mode" = fp32 ] || ref_opt=(--reference-embeddings "$run/fp32_embeddings.f32")
  [ "$mode" = fp32 ] || [ -f "$run/fp32_embeddings.f32" ] || ref_opt=()
  part "viewfinder_$mode" timeout "$mode_timeout" "$build_dir/engine_bench" --model "$model" --precisions "$mode" \
    "${common[@]}" --max-call "$max_call" "${ref_opt[@]}"
  if [ ! -f "$run/viewfinder_$mode.json" ]; then
    why="no result (log: $run/viewfinder_$mode.log)"
    grep -q . "$run/viewfinder_$mode.log" || why="no output"
    [ "$(cat "$run/viewfinder_$mode.rc")" = 124 ] && why="timed out after ${mode_timeout}s (one call slower than the limit allows)"
    printf '{"modes":{"%s":{"supported":true,"error":"%s"}}}\n' "$mode" "$why" >"$run/viewfinder_$mode.json"
  fi
done
if [ -n "$outlier_model" ]; then
  # One batch-1 call per precision: the cosine of bf16 and int8 to fp32 on the outlier weights.
  part outliers timeout "$mode_timeout" "$build_dir/engine_bench" --model "$outlier_model" --precisions fp32,bf16,int8 \
    --threads "$threads" --batches 1 --budget 0 --min-iters 1 --warmup 0
fi
part ort timeout "$mode_timeout" "$node" "$root/bench/reference/ort_bench.js" --model "$onnx" "${common[@]}" --max-call "$max_call"
part pytorch timeout "$mode_timeout" "$py" "$root/bench/reference/torch_bench.py" "$model" "${common[@]}" --max-call "$max_call"
# The PyPI peers (scripts/install-bench-peers.sh): OpenVINO fp32/bf16, ONNX Runtime fp32 and
# dynamic int8, PyTorch 2 + transformers Dinov2Model fp32 and bf16 autocast.
venv_py="${VF_BENCH_VENV:-$root/build/venv-bench}/bin/python"
if [ -x "$venv_py" ]; then
  for peer in openvino_fp32 openvino_bf16 ortpy_fp32 ortpy_int8 hf_fp32 hf_bf16; do
    part "$peer" timeout "$mode_timeout" "$venv_py" "$root/bench/reference/py_peers_bench.py" "$peer" \
      --model "$model" --onnx "$onnx" --quant-dir "$out" "${common[@]}" --max-call "$max_call"
  done
else
  say "no $venv_py: run scripts/install-bench-peers.sh for the OpenVINO, ONNX Runtime (PyPI) and PyTorch 2 peers"
fi
part peak_after "$build_dir/matmul_peak" --threads "$threads" --budget 3

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$py" - "$run/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "threads": $threads, "size": 224,
           "cpu": "$cpu", "nproc": $(nproc), "load_before": "$load_before", "load_after": "$load_after",
           "model_dir": "$model", "omp_wait_policy": "$OMP_WAIT_POLICY"}, open(sys.argv[1], "w"))
EOF
"$py" "$root/bench/reference/summarize_engine.py" "$run" >"$run/summary.txt"
if [ "$json_only" = 1 ]; then tail -1 "$run/summary.txt"; else cat "$run/summary.txt"; fi
