#!/usr/bin/env bash
# npm packages used by tests and benchmarks (Playwright's driver for the browser tests,
# ONNX Runtime for the engine benchmark). Installed with --ignore-scripts: their postinstall
# steps download browsers/binaries from the network, and we use Debian's chromium and the
# CPU binary that onnxruntime-node ships inside its package.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tools/node/package.json ]; then
  (cd tools/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
# swagger-parser for the API contract test (tests/integration/openapi_validate.sh); a folder of
# its own so the browser/benchmark tools above can change without touching it.
if [ -f tools/node-api/package.json ]; then
  (cd tools/node-api && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
