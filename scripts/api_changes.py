#!/usr/bin/env python3
"""Breaking changes to openapi/openapi.json must be recorded in docs/api-changes.md.

    api_changes.py diff OLD.json NEW.json   print the breaking changes from OLD to NEW
    api_changes.py check                    every commit since docs/api-changes.md was started that
                                            changed openapi/openapi.json in a breaking way also
                                            changed docs/api-changes.md; so does the work tree

A change is breaking when a client generated from the old document can fail against the new
server: an operation, parameter or answer status removed; a parameter or request field that
becomes required or newly required; a request field removed or narrowed (fewer types or enum
values); a response field removed, made optional, or widened (it may now be null or of another
type); the security an operation needs changed. Additions that old clients can ignore are not.
"""

import json
import subprocess
import sys

METHODS = ("get", "post", "put", "patch", "delete")
DOC = "openapi/openapi.json"
CHANGELOG = "docs/api-changes.md"


def resolve(schema, doc, seen=()):
    """The schema with `$ref`s to components inlined (a reference cycle stops at the cycle)."""
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if ref and ref.startswith("#/components/schemas/"):
        if ref in seen:
            return {}
        target = doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return resolve(merged, doc, seen + (ref,))
    out = {}
    for k, v in schema.items():
        if k == "properties":
            out[k] = {n: resolve(p, doc, seen) for n, p in v.items()}
        elif k in ("items", "additionalProperties"):
            out[k] = resolve(v, doc, seen)
        elif k in ("oneOf", "anyOf", "allOf"):
            out[k] = [resolve(s, doc, seen) for s in v]
        else:
            out[k] = v
    return out


def types(schema):
    """The JSON types a schema admits (`None` = unconstrained)."""
    if "type" in schema:
        t = schema["type"]
        return set(t) if isinstance(t, list) else {t}
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        found = set()
        for v in variants:
            vt = types(v)
            if vt is None:
                return None
            found |= vt
        return found
    if "properties" in schema:
        return {"object"}
    return None


def non_null(schema):
    """The non-null variant of an `Option<T>`-style oneOf, else the schema itself."""
    variants = [v for v in schema.get("oneOf", []) if v.get("type") != "null"]
    return variants[0] if len(variants) == 1 else schema


def compare_schema(old, new, where, direction, out):
    """Breaking differences between two resolved schemas; direction is 'request' or 'response'."""
    ot, nt = types(old), types(new)
    if ot is not None and nt is not None:
        if direction == "request" and ot - nt:
            out.append(f"{where}: no longer accepts {', '.join(sorted(ot - nt))}")
        if direction == "response" and nt - ot:
            out.append(f"{where}: may now be {', '.join(sorted(nt - ot))}")
    if direction == "request" and "enum" in old:
        removed = [v for v in old["enum"] if v not in new.get("enum", old["enum"])]
        if removed:
            out.append(f"{where}: no longer accepts {removed}")
    old, new = non_null(old), non_null(new)
    oprops, nprops = old.get("properties", {}), new.get("properties", {})
    oreq, nreq = set(old.get("required", [])), set(new.get("required", []))
    for name, oschema in oprops.items():
        if name not in nprops:
            out.append(f"{where}.{name}: removed")
            continue
        if direction == "response" and name in oreq and name not in nreq:
            out.append(f"{where}.{name}: no longer always present")
        compare_schema(oschema, nprops[name], f"{where}.{name}", direction, out)
    if direction == "request":
        for name in sorted(nreq - oreq):
            out.append(f"{where}.{name}: newly required")
    if "items" in old and "items" in new:
        compare_schema(old["items"], new["items"], f"{where}[]", direction, out)


def operations(doc):
    return {
        (method, path): op
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS
    }


def breaking_changes(old_doc, new_doc):
    out = []
    old_ops, new_ops = operations(old_doc), operations(new_doc)
    for (method, path), old in old_ops.items():
        where = f"{method.upper()} {path}"
        new = new_ops.get((method, path))
        if new is None:
            out.append(f"{where}: removed")
            continue
        if old.get("operationId") != new.get("operationId"):
            out.append(f"{where}: operationId {old.get('operationId')} became {new.get('operationId')}")
        if old.get("security") != new.get("security"):
            out.append(f"{where}: security {old.get('security')} became {new.get('security')}")
        oparams = {(p["in"], p["name"]): p for p in old.get("parameters", [])}
        nparams = {(p["in"], p["name"]): p for p in new.get("parameters", [])}
        for key, p in oparams.items():
            pw = f"{where} parameter {key[1]}"
            if key not in nparams:
                out.append(f"{pw}: removed")
                continue
            if nparams[key].get("required") and not p.get("required"):
                out.append(f"{pw}: now required")
            compare_schema(
                resolve(p.get("schema", {}), old_doc),
                resolve(nparams[key].get("schema", {}), new_doc),
                pw,
                "request",
                out,
            )
        for key, p in nparams.items():
            if key not in oparams and p.get("required"):
                out.append(f"{where} parameter {key[1]}: new and required")
        obody = old.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        nbody = new.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if nbody is not None and obody is None and new.get("requestBody", {}).get("required"):
            out.append(f"{where}: now requires a body")
        if obody is not None and nbody is not None:
            compare_schema(resolve(obody, old_doc), resolve(nbody, new_doc), f"{where} body", "request", out)
        for status, oresp in old.get("responses", {}).items():
            nresp = new.get("responses", {}).get(status)
            if nresp is None:
                if status.startswith("2"):
                    out.append(f"{where} {status}: no longer answered")
                continue
            oschema = oresp.get("content", {}).get("application/json", {}).get("schema")
            nschema = nresp.get("content", {}).get("application/json", {}).get("schema")
            if oschema is not None and nschema is not None and status.startswith("2"):
                compare_schema(
                    resolve(oschema, old_doc), resolve(nschema, new_doc), f"{where} {status}", "response", out
                )
    return out


def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def at(commit):
    """The document at a commit, or None when it did not exist there."""
    try:
        return json.loads(git("show", f"{commit}:{DOC}"))
    except subprocess.CalledProcessError:
        return None


def check():
    started = git("log", "--diff-filter=A", "--format=%H", "--", CHANGELOG).split()
    if not started:
        print(f"{CHANGELOG} does not exist yet")
        return 1
    first = started[-1]
    problems = []
    commits = git("rev-list", "--reverse", f"{first}^..HEAD", "--", DOC).split()
    for commit in commits:
        parent = at(f"{commit}^")
        if parent is None:
            continue
        changes = breaking_changes(parent, at(commit))
        touched = git("diff-tree", "--no-commit-id", "--name-only", "-r", commit).split()
        if changes and CHANGELOG not in touched:
            subject = git("log", "-1", "--format=%h %s", commit).strip()
            problems.append((subject, changes))
    # Work not yet committed.
    dirty = git("diff", "--name-only", "HEAD").split()
    if DOC in dirty:
        with open(DOC, encoding="utf-8") as f:
            changes = breaking_changes(at("HEAD"), json.load(f))
        if changes and CHANGELOG not in dirty:
            problems.append(("uncommitted changes", changes))
    for subject, changes in problems:
        print(f"{subject}: breaking API changes not recorded in {CHANGELOG}:")
        for c in changes:
            print(f"  - {c}")
    print(f"{len(commits)} commits changed {DOC} since {CHANGELOG} began; {len(problems)} unrecorded breaking changes")
    return 1 if problems else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "diff":
        with open(sys.argv[2], encoding="utf-8") as a, open(sys.argv[3], encoding="utf-8") as b:
            for c in breaking_changes(json.load(a), json.load(b)):
                print(c)
        return 0
    if len(sys.argv) == 2 and sys.argv[1] == "check":
        return check()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
