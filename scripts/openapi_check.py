#!/usr/bin/env python3
"""The house rules for openapi/openapi.json, beyond what Spectral's `oas` ruleset checks.

Every operation: an operationId (unique, camelCase), a declared tag, a description, at least one
example (parameter, request body or response). Every named schema and every parameter: a
description and an example, and every example is valid against its own schema. Every 4xx/5xx
answer is an `ErrorBody`; 401s carry `WWW-Authenticate`, 429s `Retry-After`; operations that
accept keys name the scope and document the `RateLimit-*` headers; lists are `Page_*` with
`limit` and `cursor`.

Usage: openapi_check.py [openapi.json]   (exit 1 and one line per problem when a rule fails)
"""

import json
import re
import sys

from jsonschema import Draft202012Validator

METHODS = ("get", "post", "put", "patch", "delete")
ERROR_REF = "#/components/schemas/ErrorBody"
# Answers that are not errors in our sense: /readyz's 503 is the readiness report itself,
# read by load balancers and orchestrators.
NON_ERROR_BODIES = {("/readyz", "get", "503")}
# Change feeds page with a cursor too, but answer added / modified / removed and a cursor that is
# never null (the client keeps it for next time), not a Page.
CHANGE_FEEDS = {"listTransactionChanges"}


def check(doc):
    problems = []
    say = problems.append
    def invalid(example, schema):
        """Why `example` does not match `schema`, or None."""
        # `#/components/schemas/…` references resolve inside the schema being checked.
        validator = Draft202012Validator({**schema, "components": doc.get("components", {})})
        errors = sorted(validator.iter_errors(example), key=lambda e: list(e.path))
        return "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:3]) or None

    schemas = doc.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        where = f"schema {name}"
        if not schema.get("description", "").strip():
            say(f"{where}: no description")
        if "example" not in schema:
            say(f"{where}: no example")
        else:
            why = invalid(schema["example"], {"$ref": f"#/components/schemas/{name}"})
            if why:
                say(f"{where}: its example is invalid: {why}")

    declared_tags = {t["name"] for t in doc.get("tags", [])}
    schemes = doc.get("components", {}).get("securitySchemes", {})
    seen_ids = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            op_id = op.get("operationId")
            if not op_id:
                say(f"{where}: no operationId")
            elif not re.fullmatch(r"[a-z][A-Za-z0-9]*", op_id):
                say(f"{where}: operationId {op_id!r} is not camelCase")
            elif op_id in seen_ids:
                say(f"{where}: operationId {op_id!r} is also used by {seen_ids[op_id]}")
            else:
                seen_ids[op_id] = where
            tags = op.get("tags", [])
            if not tags:
                say(f"{where}: no tag")
            for t in tags:
                if t not in declared_tags:
                    say(f"{where}: tag {t!r} is not declared in the document's tags")
            if not op.get("description", "").strip():
                say(f"{where}: no description")

            examples = 0
            for p in op.get("parameters", []):
                pw = f"{where} parameter {p.get('in')} {p.get('name')}"
                if not p.get("description", "").strip():
                    say(f"{pw}: no description")
                example = p.get("example", p.get("schema", {}).get("example"))
                if example is None:
                    say(f"{pw}: no example")
                else:
                    examples += 1
                    why = invalid(example, p.get("schema", {}))
                    if why:
                        say(f"{pw}: its example is invalid: {why}")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body:
                examples += has_example(body.get("schema", {}), schemas)
            for status, resp in op.get("responses", {}).items():
                rw = f"{where} {status}"
                examples += sum(1 for m in resp.get("content", {}).values() if "example" in m or "examples" in m)
                media = resp.get("content", {}).get("application/json")
                if status.startswith("2") and media:
                    examples += has_example(media.get("schema", {}), schemas)
                if status[0] in "45" and (path, method, status) not in NON_ERROR_BODIES:
                    if (media or {}).get("schema", {}).get("$ref") != ERROR_REF:
                        say(f"{rw}: an error answer whose body is not ErrorBody")
                headers = resp.get("headers", {})
                if status == "401" and "WWW-Authenticate" not in headers:
                    say(f"{rw}: no WWW-Authenticate header")
                if status == "429" and "Retry-After" not in headers:
                    say(f"{rw}: no Retry-After header")
            if examples == 0:
                say(f"{where}: no example anywhere (parameters, body, answers)")

            security = op.get("security", [])
            for requirement in security:
                for scheme in requirement:
                    if scheme not in schemes:
                        say(f"{where}: security scheme {scheme!r} is not declared")
            if any("apiKey" in r for r in security):
                if not any(r.get("apiKey") for r in security) and not op_id in KEY_ANY_SCOPE:
                    say(f"{where}: accepts API keys but names no scope")
                for status, resp in op.get("responses", {}).items():
                    if status.startswith("2") and "RateLimit-Remaining" not in resp.get("headers", {}):
                        say(f"{where} {status}: key-authenticated but no RateLimit-* headers")

            names = {p.get("name") for p in op.get("parameters", [])}
            ok = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
            ref = ok.get("schema", {}).get("$ref", "")
            if "cursor" in names and not ref.startswith("#/components/schemas/Page_") \
                    and op_id not in CHANGE_FEEDS:
                say(f"{where}: takes a cursor but does not answer a Page_* schema")
            if (ref.startswith("#/components/schemas/Page_") and not {"cursor", "limit"} <= names
                    and op_id not in UNPAGED):
                say(f"{where}: answers a page but lacks a limit or cursor parameter")
    return problems


# Lists that are short by nature and answer in one page (`nextCursor` always null).
UNPAGED = {"listBankConnections"}

# Operations any valid key may call, whatever its scopes.
KEY_ANY_SCOPE = {"whoami", "mcp"}  # mcp: each tool checks its own scope


def has_example(schema, schemas):
    """1 when the schema (or the named schema it refers to) has an example."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = schemas.get(ref.rsplit("/", 1)[1], {})
    return 1 if "example" in schema else 0


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "openapi/openapi.json"
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    problems = check(doc)
    for p in problems:
        print(p)
    ops = sum(1 for item in doc["paths"].values() for m in item if m in METHODS)
    print(f"{path}: {ops} operations, {len(doc['components']['schemas'])} schemas, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
