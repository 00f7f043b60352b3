#!/usr/bin/env bash
# Installs the engine benchmark's Python peers into build/venv-bench (benchmark only, never CI):
# OpenVINO, ONNX Runtime (with its quantisation tools) and PyTorch 2.x + Hugging Face transformers,
# pinned by name==version from PyPI. PyPI's Linux torch wheel depends on the CUDA runtime wheels
# (nvidia-*, several GB); they are installed too but never used (the benchmark runs on the CPU).
#   scripts/install-bench-peers.sh [--no-torch]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VF_BENCH_VENV:-$root/build/venv-bench}"
with_torch=1
case "${1:-}" in
  --no-torch) with_torch=0 ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "install-bench-peers.sh: unknown option $1" >&2; exit 2 ;;
esac
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check --quiet)
"${pip[@]}" numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0 openvino==2026.4.1 safetensors==0.8.0
if [ "$with_torch" = 1 ]; then
  "${pip[@]}" torch==2.15.0 transformers==5.24.0
fi
"$venv/bin/python" - <<'PY'
import importlib
for m in ("numpy", "onnxruntime", "openvino", "torch", "transformers"):
    try:
        print(m, importlib.import_module(m).__version__)
    except ImportError:
        print(m, "not installed")
PY
