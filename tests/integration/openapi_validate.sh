#!/usr/bin/env bash
# docs/openapi.yaml is a valid OpenAPI 3 document by @apidevtools/swagger-parser (pinned in
# tools/node-api, installed by scripts/install-node-tools.sh): schema, $refs, parameters.
# The responses themselves are checked against it by api_contract.py.
set -euo pipefail
src="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
tool="$src/tools/node-api"
if [ ! -d "$tool/node_modules/@apidevtools/swagger-parser" ]; then
  echo "openapi_validate: swagger-parser missing; run scripts/install-node-tools.sh" >&2
  exit 1
fi
node "$tool/validate-openapi.js" "$src/docs/openapi.yaml"
