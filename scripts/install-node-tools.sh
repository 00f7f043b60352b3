#!/usr/bin/env bash
# npm packages used by tests and benchmarks (Playwright's driver and axe-core for the browser
# tests, ONNX Runtime for the engine benchmark). Installed with --ignore-scripts: their postinstall
# steps download browsers/binaries from the network, and we use Debian's chromium and the
# CPU binary that onnxruntime-node ships inside its package.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tools/node/package.json ]; then
  (cd tools/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
# Milvus 2.3's .proto files (the Milvus backend's gRPC stubs are generated from them at build
# time; see docs/scale.md for the pinned version).
if [ -f tools/milvus-proto/package.json ]; then
  (cd tools/milvus-proto && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
