#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a working Viewfinder:
#   1. installs the Debian packages (scripts/install-deps.sh), the npm test tools and the
#      Milvus server for the scale-out backend (PyPI, into build/venv-milvus),
#   2. builds everything into build/,
#   3. runs the main job on the sample data: indexes ../shared/photos/flowers17 into
#      build/sample-library and runs a search by example.
# The sample run uses $VIEWFINDER_MODEL when set (e.g. a downloaded facebook/dinov2-base),
# otherwise the random-weight golden ViT-S/14 in ../shared/golden/models/small: the
# pipeline is real, the similarities are not meaningful without real weights.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/install-node-tools.sh
bash scripts/milvus.sh install
bash scripts/build.sh
bash scripts/sample-run.sh
