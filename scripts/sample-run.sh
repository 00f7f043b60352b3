#!/usr/bin/env bash
# The main job on the sample data (see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./build/viewfinder --version
