"""docs/openapi.yaml as an executable contract: look up an operation, turn its OpenAPI 3.0
schemas into JSON Schema (draft 4 + `nullable`), and check a real response against it:
the status code is documented, the content type is the documented one, the JSON body
validates. Also generates request values from the documented parameter schemas, valid and
invalid, for the property-based pass (hypothesis)."""
import json
import re

import jsonschema
import yaml
from hypothesis import strategies as st


class Contract:
    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.components = self.doc.get("components", {})

    # ---- $ref and OpenAPI -> JSON Schema ----
    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            parts = node["$ref"].lstrip("#/").split("/")
            node = self.doc
            for p in parts:
                node = node[p]
        return node

    def json_schema(self, node):
        """Inlines $refs and maps `nullable: true` to a JSON Schema type union."""
        node = self.deref(node)
        if isinstance(node, list):
            return [self.json_schema(x) for x in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for k, v in node.items():
            if k in ("example", "examples", "description", "nullable", "default"):
                continue
            if k == "properties":
                out[k] = {name: self.json_schema(s) for name, s in v.items()}
            elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
                out[k] = self.json_schema(v)
            elif k in ("allOf", "anyOf", "oneOf"):
                out[k] = [self.json_schema(s) for s in v]
            else:
                out[k] = v
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        return out

    # ---- operations ----
    def operations(self):
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "delete", "patch"):
                    yield method.upper(), path, op

    def operation(self, method, path):
        return self.doc["paths"][path][method.lower()]

    def parameters(self, method, path):
        return [self.deref(p) for p in self.operation(method, path).get("parameters", [])]

    def check_response(self, method, path, status, headers, body):
        """Returns a list of contract violations (empty: the response keeps the contract)."""
        op = self.operation(method, path)
        responses = op.get("responses", {})
        spec = responses.get(str(status)) or responses.get("default")
        where = f"{method} {path} -> {status}"
        if spec is None:
            return [f"{where}: status not documented (documented: {sorted(responses)})"]
        spec = self.deref(spec)
        content = spec.get("content")
        if not content:
            return []
        ctype = headers.get("content-type", "").split(";")[0].strip()
        documented = ctype if ctype in content else ctype.split("/")[0] + "/*"
        if documented not in content:
            return [f"{where}: content-type {ctype!r} not documented ({sorted(content)})"]
        schema = content[documented].get("schema")
        if ctype != "application/json" or schema is None:
            return []
        try:
            value = json.loads(body)
        except ValueError as e:
            return [f"{where}: body is not JSON: {e}"]
        validator = jsonschema.Draft4Validator(self.json_schema(schema))
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [f"{where}: /{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5]]

    # ---- request values for the property-based pass ----
    def value_strategy(self, schema):
        """Values a client might send for a parameter: mostly valid, some out of range or of
        the wrong type (the server must answer those with a documented 4xx, never a 5xx)."""
        schema = self.deref(schema)
        t = schema.get("type")
        junk = st.sampled_from(["", "-1", "abc", "1e999", "99999999999999999999999", "%00", "null", " 1"])
        if "enum" in schema:
            valid = st.sampled_from(schema["enum"])
        elif t == "integer":
            lo, hi = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
            valid = st.integers(lo, hi) | st.integers(-(2**63), 2**63)
        elif t == "number":
            lo, hi = schema.get("minimum"), schema.get("maximum")
            valid = st.floats(lo, hi, allow_nan=False) | st.floats(allow_nan=False, allow_infinity=False)
        elif t == "boolean":
            valid = st.sampled_from([True, False, "true", "false", "1", "0"])
        else:
            valid = st.text(max_size=20)
        return valid | junk

    def body_strategy(self, schema):
        """JSON objects built from an object schema: any subset of its properties."""
        schema = self.deref(schema)
        props = schema.get("properties", {})

        def prop(s):
            s = self.deref(s)
            t = s.get("type")
            if t == "array":
                return st.lists(prop(s.get("items", {})), max_size=5)
            if t == "object":
                return self.body_strategy(s)
            if t == "string" and "pattern" in s:
                return st.from_regex(re.compile(s["pattern"]), fullmatch=True) | st.text(max_size=8)
            return self.value_strategy(s)

        return st.fixed_dictionaries({}, optional={k: prop(v) for k, v in props.items()})
