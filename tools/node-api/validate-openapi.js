// Validates an OpenAPI document with @apidevtools/swagger-parser (schema + semantic checks:
// $refs resolve, parameters are unique, required properties exist, ...) and prints every
// error, one per line. Exit 0 when valid. Usage: node validate-openapi.js docs/openapi.yaml
"use strict";
const SwaggerParser = require("@apidevtools/swagger-parser");

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node validate-openapi.js FILE.yaml");
    process.exit(2);
  }
  try {
    const api = await SwaggerParser.validate(file);
    console.log(`${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
  } catch (e) {
    const details = e.details && e.details.length ? e.details : [e];
    console.error(`${file}: ${details.length} error(s)`);
    for (const d of details) {
      const where = d.instancePath || (d.path ? "/" + d.path.join("/") : "");
      console.error(`  ${where} ${d.message}${d.params ? " " + JSON.stringify(d.params) : ""}`);
    }
    process.exit(1);
  }
}
main();
