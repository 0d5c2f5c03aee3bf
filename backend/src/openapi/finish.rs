//! The last pass over the generated document, for what utoipa's derives cannot say:
//!
//! - a schema that utoipa inlined (a generic's `T`, an `Option<T>` field) is replaced by a `$ref`
//!   to the named schema it equals, so generated clients get one type per wire object;
//! - `Page_T` schemas say what they page and how;
//! - an object schema without its own example gets one assembled from its fields' examples (never
//!   invented: a schema whose required fields have no examples stays without one, and the
//!   OpenAPI lint in CI fails);
//! - every operation's description ends with who may call it, read off its `security`;
//! - refusals that middleware and shared extractors make are listed on every operation they
//!   can reach: 403 `session_required` where the operation's `security` names no API key, 404 for a `workspaceId` the caller
//!   is not in, 400 `invalid_cursor` on lists, 422 for a malformed query parameter;
//! - answers to key-authenticated operations document the `RateLimit-*` headers, every 401 its
//!   `WWW-Authenticate` and every 429 its `Retry-After` (`error::error_response` and
//!   `AppError::too_many` always send them);
//! - every object a request body holds, at any depth, says `additionalProperties: false`: the
//!   JSON extractor refuses unknown fields (`http::json::parse`).

use serde_json::{json, Map, Value};

const SCHEMAS: &str = "#/components/schemas/";
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub fn finish(doc: &mut Value) {
    share_inline_schemas(doc);
    describe_pages(doc);
    compose_examples(doc);
    close_request_bodies(doc);
    for (path, op) in operations(doc) {
        describe_auth(op);
        rate_limit_headers(op);
        common_refusals(op);
        body_refusals(op);
        unavailable(path, op);
        error_headers(op);
    }
}

/// Every operation, with its path.
fn operations(doc: &mut Value) -> impl Iterator<Item = (&String, &mut Map<String, Value>)> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .filter_map(|(path, item)| Some((path, item.as_object_mut()?)))
        .flat_map(|(path, item)| {
            item.iter_mut()
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .filter_map(move |(_, op)| Some((path, op.as_object_mut()?)))
        })
}

fn schemas(doc: &Value) -> Map<String, Value> {
    doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// Replaces every inline object or enum schema that equals a named one by a `$ref` to it.
fn share_inline_schemas(doc: &mut Value) {
    let named = schemas(doc);
    let named: Vec<(&String, &Value)> = named
        .iter()
        .filter(|(_, s)| s.get("properties").is_some() || s.get("enum").is_some())
        .collect();
    let replace = |v: &mut Value| {
        if let Some((name, _)) = named.iter().find(|(_, s)| *s == v) {
            *v = json!({ "$ref": format!("{SCHEMAS}{name}") });
            true
        } else {
            false
        }
    };
    fn walk(v: &mut Value, replace: &dyn Fn(&mut Value) -> bool) {
        if replace(v) {
            return;
        }
        match v {
            Value::Object(m) => m.values_mut().for_each(|c| walk(c, replace)),
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, replace)),
            _ => {}
        }
    }
    if let Some(paths) = doc.get_mut("paths") {
        walk(paths, &replace);
    }
    if let Some(Value::Object(all)) = doc["components"].get_mut("schemas") {
        // Below each named schema, not the schema itself.
        for schema in all.values_mut() {
            if let Value::Object(m) = schema {
                m.values_mut().for_each(|c| walk(c, &replace));
            }
        }
    }
}

fn describe_pages(doc: &mut Value) {
    if let Some(Value::Object(all)) = doc["components"].get_mut("schemas") {
        for (name, schema) in all.iter_mut() {
            if let Some(item) = name.strip_prefix("Page_") {
                schema["description"] = json!(format!(
                    "A page of `{item}` items, newest first. Pass `nextCursor` as the `cursor` query \
                     parameter to get the next page; it is `null` on the last page. Cursors are opaque \
                     and stay valid while items are added."
                ));
            }
        }
    }
}

fn compose_examples(doc: &mut Value) {
    let named = schemas(doc);
    if let Some(Value::Object(all)) = doc["components"].get_mut("schemas") {
        for schema in all.values_mut() {
            if schema.get("example").is_none() {
                if let Some(example) = example_of(schema, &named, 0) {
                    schema["example"] = example;
                }
            }
        }
    }
}

/// The example of a schema: its own, else assembled from its parts. `None` when a required part
/// has none.
fn example_of(schema: &Value, named: &Map<String, Value>, depth: usize) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    if let Some(e) = schema.get("example") {
        return Some(e.clone());
    }
    if let Some(Value::String(r)) = schema.get("$ref") {
        return example_of(named.get(r.strip_prefix(SCHEMAS)?)?, named, depth + 1);
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.first().cloned();
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(variants)) = schema.get(combinator) {
            return variants
                .iter()
                .filter(|v| v.get("type") != Some(&json!("null")))
                .find_map(|v| example_of(v, named, depth + 1));
        }
    }
    if let Some(Value::Object(props)) = schema.get("properties") {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        for (name, prop) in props {
            match example_of(prop, named, depth + 1) {
                Some(e) => {
                    out.insert(name.clone(), e);
                }
                None if required.contains(&name.as_str()) => return None,
                None => {}
            }
        }
        return Some(Value::Object(out));
    }
    if schema.get("type") == Some(&json!("array"))
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("array")))
    {
        return Some(json!([example_of(schema.get("items")?, named, depth + 1)?]));
    }
    None
}

/// Marks every object schema reachable from a request body `additionalProperties: false`.
fn close_request_bodies(doc: &mut Value) {
    let mut named = Vec::new();
    for (_, op) in operations(doc) {
        if let Some(Value::Object(content)) =
            op.get_mut("requestBody").and_then(|b| b.get_mut("content"))
        {
            for media in content.values_mut() {
                if let Some(schema) = media.get_mut("schema") {
                    close(schema, &mut named);
                }
            }
        }
    }
    // Named schemas reachable from bodies, closed in turn (and what they reach).
    let mut done = std::collections::HashSet::new();
    while let Some(name) = named.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = doc["components"]["schemas"].get_mut(&name) {
            close(schema, &mut named);
        }
    }
}

/// Closes `schema` and what it holds inline; collects the names it refers to.
fn close(schema: &mut Value, named: &mut Vec<String>) {
    let Value::Object(m) = schema else {
        return;
    };
    if let Some(Value::String(r)) = m.get("$ref") {
        if let Some(name) = r.strip_prefix(SCHEMAS) {
            named.push(name.to_string());
        }
        return;
    }
    if m.contains_key("properties") {
        m.insert("additionalProperties".into(), json!(false));
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        props.values_mut().for_each(|p| close(p, named));
    }
    if let Some(items) = m.get_mut("items") {
        close(items, named);
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(variants)) = m.get_mut(combinator) {
            variants.iter_mut().for_each(|v| close(v, named));
        }
    }
}

/// Appends "Authentication: …" to the operation's description, from its `security`.
fn describe_auth(op: &mut Map<String, Value>) {
    let mut key = None;
    let mut session = false;
    let mut optional = false;
    for requirement in op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(requirement) = requirement.as_object() else {
            continue;
        };
        if requirement.is_empty() {
            optional = true;
        }
        if let Some(Value::Array(scopes)) = requirement.get("apiKey") {
            key = Some(
                scopes
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>(),
            );
        }
        session |= requirement.contains_key("session");
    }
    let who = match (key, session) {
        (None, false) => "none.".to_string(),
        (Some(scopes), session) => {
            let key = if scopes.is_empty() {
                "an API key (any scope)".to_string()
            } else {
                format!("an API key with scope {}", scopes.join(" and "))
            };
            if session {
                format!("{key}, or a browser session (which has every scope).")
            } else {
                format!("{key}.")
            }
        }
        (None, true) => "a browser session (the `pfn_session` cookie).".to_string(),
    };
    let who = if optional && who != "none." {
        format!("optional; {who}")
    } else {
        who
    };
    let line = format!("**Authentication:** {who}");
    let description = match op.get("description").and_then(Value::as_str) {
        Some(d) if !d.trim().is_empty() => format!("{}\n\n{line}", d.trim_end()),
        _ => line,
    };
    op.insert("description".into(), json!(description));
}

/// Key-authenticated answers carry `RateLimit-Limit`, `-Remaining` and `-Reset`; a 401 or 403
/// does not (the key was refused before it spent a token).
fn rate_limit_headers(op: &mut Map<String, Value>) {
    let by_key = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|r| r.get("apiKey").is_some()));
    if !by_key {
        return;
    }
    let header = |description: &str, example: u64| {
        json!({
            "description": description,
            "schema": {"type": "integer", "format": "int64", "minimum": 0, "example": example},
        })
    };
    // Short: they repeat on every answer. The document's introduction explains the bucket.
    let headers = [
        (
            "RateLimit-Limit",
            header("The key's bucket size (burst)", 60),
        ),
        (
            "RateLimit-Remaining",
            header("Requests left in the bucket now", 59),
        ),
        (
            "RateLimit-Reset",
            header("Seconds until the bucket is full", 1),
        ),
    ];
    let Some(Value::Object(responses)) = op.get_mut("responses") else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if status == "401" || status == "403" {
            continue;
        }
        let Value::Object(response) = response else {
            continue;
        };
        let Value::Object(h) = response.entry("headers").or_insert_with(|| json!({})) else {
            continue;
        };
        for (name, value) in &headers {
            h.entry(name.to_string()).or_insert_with(|| value.clone());
        }
    }
}

/// Adds `status` with `text` to the operation's answers, or appends `text` to the description
/// of the answer it already has for that status.
fn refusal(op: &mut Map<String, Value>, status: &str, code: &str, text: &str) {
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    match responses.get_mut(status) {
        Some(Value::Object(existing)) => {
            let description = existing
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if !description.contains(&format!("`{code}`")) {
                existing.insert(
                    "description".into(),
                    json!(format!("{description} Also {text}")),
                );
            }
        }
        _ => {
            responses[status] = json!({
                "description": text,
                "content": {"application/json": {"schema": {"$ref": format!("{SCHEMAS}ErrorBody")}}},
            });
        }
    }
}

fn common_refusals(op: &mut Map<String, Value>) {
    let by_key = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|r| r.get("apiKey").is_some()));
    if by_key {
        refusal(op, "429", "too_many_attempts", "`too_many_attempts`: too many refused API keys came from this address in the last minute; wait `Retry-After` seconds.");
    }
    // An operation that names no API key in its `security` refuses one (its extractor is
    // `access::SessionUser`, `Admin` or `Browser`; tests/api/access.rs checks every operation).
    let security: Vec<&Value> = op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    if !security.is_empty() && !security.iter().any(|r| r.get("apiKey").is_some()) {
        refusal(op, "403", "session_required", "`session_required`: a request with an API key (`Authorization: Bearer`); this route takes only a browser.");
    }
    let params: Vec<(String, String)> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            // `Option<i64>` is `["integer", "null"]`.
            let kind = match &p["schema"]["type"] {
                Value::String(t) => t.clone(),
                Value::Array(ts) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| *t != "null")
                    .unwrap_or("string")
                    .to_string(),
                _ => "string".to_string(),
            };
            (name, kind)
        })
        .collect();
    let has = |n: &str| params.iter().any(|(name, _)| name == n);
    if has("workspaceId") {
        refusal(op, "404", "not_found", "`not_found`: `workspaceId` names a workspace the caller is not a member of (or that does not exist).");
    }
    if has("cursor") {
        refusal(
            op,
            "400",
            "invalid_cursor",
            "`invalid_cursor`: `cursor` is not one this list gave out.",
        );
    }
    if !params.is_empty() {
        refusal(op, "422", "validation_failed", "`validation_failed`: a query parameter is malformed, out of range or holds a NUL character; `error.fields` names it.");
    }
}

/// Every operation with a body can refuse it in the JSON extractor's four ways, whatever the
/// operation's own answers for the same statuses say.
fn body_refusals(op: &mut Map<String, Value>) {
    if op.get("requestBody").is_none() {
        return;
    }
    for (status, code, text) in [
        ("400", "invalid_json", "`invalid_json`: the body is not one JSON object."),
        ("413", "payload_too_large", "`payload_too_large`: the body is over 2 MiB."),
        ("415", "unsupported_media_type", "`unsupported_media_type`: `Content-Type` is not `application/json`."),
        ("422", "validation_failed", "`validation_failed`: a field is missing, invalid or unknown; `error.fields` names each by JSON path."),
    ] {
        refusal(op, status, code, text);
    }
}

/// Every operation that reads or writes the database (all but the health checks) answers 503
/// `service_unavailable` while it cannot reach it.
fn unavailable(path: &str, op: &mut Map<String, Value>) {
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return;
    }
    refusal(op, "503", "service_unavailable", "`service_unavailable`: the database cannot be reached just now (nothing was changed); retry after `Retry-After` seconds.");
}

fn error_headers(op: &mut Map<String, Value>) {
    let Some(Value::Object(responses)) = op.get_mut("responses") else {
        return;
    };
    let standard = [
        (
            "401",
            "WWW-Authenticate",
            json!({
                "description": "`Bearer realm=\"pfn\"`",
                "schema": {"type": "string"},
            }),
        ),
        (
            "429",
            "Retry-After",
            json!({
                "description": "Seconds to wait before retrying (at least 1)",
                "schema": {"type": "integer", "format": "int64", "minimum": 1},
            }),
        ),
        (
            "503",
            "Retry-After",
            json!({
                "description": "Seconds to wait before retrying (at least 1); sent with `service_unavailable`",
                "schema": {"type": "integer", "format": "int64", "minimum": 1},
            }),
        ),
    ];
    for (status, name, header) in standard {
        if let Some(Value::Object(response)) = responses.get_mut(status) {
            if let Value::Object(h) = response.entry("headers").or_insert_with(|| json!({})) {
                h.entry(name).or_insert(header);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "paths": {"/x": {"get": {
                "security": [{"apiKey": ["read:x"]}, {"session": []}],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema":
                        {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "example": "A"}}}}}},
                    "401": {"description": "no"}
                }
            }}},
            "components": {"schemas": {
                "A": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "example": "A"}}},
                "Page_A": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "items": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "example": "A"}}}},
                    "nextCursor": {"type": ["string", "null"]}
                }},
                "NoExample": {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}}
            }}
        })
    }

    #[test]
    fn inline_copies_of_named_schemas_become_refs() {
        let mut d = doc();
        finish(&mut d);
        let ok =
            &d["paths"]["/x"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(ok, &json!({"$ref": "#/components/schemas/A"}));
        assert_eq!(
            d["components"]["schemas"]["Page_A"]["properties"]["items"]["items"],
            json!({"$ref": "#/components/schemas/A"})
        );
        // The named schema itself stays.
        assert_eq!(
            d["components"]["schemas"]["A"]["properties"]["a"]["example"],
            "A"
        );
    }

    #[test]
    fn examples_are_assembled_only_from_field_examples() {
        let mut d = doc();
        finish(&mut d);
        assert_eq!(
            d["components"]["schemas"]["A"]["example"],
            json!({"a": "A"})
        );
        assert_eq!(
            d["components"]["schemas"]["Page_A"]["example"],
            json!({"items": [{"a": "A"}]})
        );
        assert!(d["components"]["schemas"]["NoExample"]
            .get("example")
            .is_none());
    }

    #[test]
    fn operations_say_who_may_call_them_and_document_rate_limit_headers() {
        let mut d = doc();
        finish(&mut d);
        let op = &d["paths"]["/x"]["get"];
        assert_eq!(
            op["description"],
            "**Authentication:** an API key with scope `read:x`, or a browser session (which has every scope)."
        );
        assert!(op["responses"]["200"]["headers"]["RateLimit-Remaining"].is_object());
        let refused = &op["responses"]["401"]["headers"];
        assert!(refused.get("RateLimit-Remaining").is_none());
        assert!(refused["WWW-Authenticate"].is_object());
    }

    #[test]
    fn refusals_made_before_handlers_are_documented() {
        let mut d = json!({
            "paths": {
                "/api/v1/keys": {"get": {
                    "security": [{"session": []}],
                    "parameters": [
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": ["integer", "null"]}}
                    ],
                    "responses": {"400": {"description": "`invalid_json`"}}
                }},
                "/api/v1/accounts": {"get": {
                    "security": [{"apiKey": ["read:accounts"]}, {"session": []}],
                    "parameters": [{"name": "workspaceId", "in": "query", "schema": {"type": "string"}}],
                    "responses": {}
                }}
            },
            "components": {"schemas": {}}
        });
        finish(&mut d);
        let text = |v: &Value| v["description"].as_str().unwrap_or_default().to_string();
        let keys = &d["paths"]["/api/v1/keys"]["get"]["responses"];
        assert!(text(&keys["403"]).starts_with("`session_required`"));
        assert!(text(&keys["400"]).starts_with("`invalid_json` Also `invalid_cursor`"));
        assert!(text(&keys["422"]).starts_with("`validation_failed`"));
        assert_eq!(
            keys["403"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        let accounts = &d["paths"]["/api/v1/accounts"]["get"]["responses"];
        assert!(text(&accounts["404"]).contains("`workspaceId`"));
        assert!(accounts.get("403").is_none());
        assert!(
            text(&accounts["422"]).contains("NUL"),
            "any query parameter may be refused"
        );
    }

    #[test]
    fn request_bodies_are_closed_at_every_depth_and_responses_are_not() {
        let mut d = json!({
            "paths": {"/x": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Res"}}}}}
            }}},
            "components": {"schemas": {
                "Req": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "inline": {"type": "object", "properties": {"a": {"type": "string"}}}
                }},
                "Item": {"type": "object", "properties": {"amount": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Money"}]}}},
                "Money": {"type": "object", "properties": {"amount": {"type": "string"}}},
                "Res": {"type": "object", "properties": {"b": {"type": "string"}}}
            }}
        });
        finish(&mut d);
        let schemas = &d["components"]["schemas"];
        for name in ["Req", "Item", "Money"] {
            assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
        }
        assert_eq!(
            schemas["Req"]["properties"]["inline"]["additionalProperties"],
            false
        );
        assert!(schemas["Res"].get("additionalProperties").is_none());
    }
}
