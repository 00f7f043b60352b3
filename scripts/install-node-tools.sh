#!/usr/bin/env bash
# npm packages used by the build, tests and benchmarks, each folder with its own pinned lock:
#   tools/node         Playwright's driver and axe-core (browser tests), ONNX Runtime (engine benchmark)
#   tools/milvus-proto Milvus 2.3's .proto files (the Milvus backend's gRPC stubs are generated
#                      from them at build time; docs/scale.md says why that version)
#   tools/node-api     swagger-parser (tests/integration/openapi_validate.sh)
# Installed with --ignore-scripts: their postinstall steps download browsers/binaries from the
# network, and we use Debian's chromium and the CPU binary onnxruntime-node ships in its package.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in tools/node tools/milvus-proto tools/node-api; do
  if [ -f "$dir/package.json" ]; then
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
done
