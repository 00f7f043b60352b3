#!/usr/bin/env bash
# Builds (if needed) and runs the tests. Default: the fast tier, which CI runs.
#   scripts/test.sh          fast tier
#   scripts/test.sh --slow   slow tier only (benchmark-sized runs, long fuzzing, kill -9 campaign)
#   scripts/test.sh --all    both
set -euo pipefail
cd "$(dirname "$0")/.."
label="fast"
case "${1:-}" in
  --slow) label="slow" ;;
  --all) label="fast|slow" ;;
esac
bash scripts/build.sh
ctest --test-dir build -L "$label" --output-on-failure -j2 --timeout 1500
