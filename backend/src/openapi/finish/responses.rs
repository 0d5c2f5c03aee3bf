//! The response half of the last pass: who may call each operation, the refusals made before
//! handlers run, and the headers that errors and key-authenticated answers carry.

use serde_json::{json, Map, Value};

use super::SCHEMAS;

/// Appends "Authentication: …" to the operation's description, from its `security`.
pub(super) fn describe_auth(op: &mut Map<String, Value>) {
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
pub(super) fn rate_limit_headers(op: &mut Map<String, Value>) {
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

/// What the handler's extractors said (`access::doc`): the operation's `security` (none: a
/// public operation), the refusals they make and the query parameters they read. An
/// operation registered without `access::routes!` has no record: that is a bug, and the
/// document is not served half-true.
pub(super) fn access(path: &str, method: &str, op: &mut Map<String, Value>) {
    // utoipa writes an operation's extensions as its own fields.
    let Some(record) = op.remove(crate::access::doc::EXTENSION) else {
        panic!("{method} {path} is not registered with access::routes!");
    };
    // `true`, or (for an operation where only some requests need it) which.
    if record["stepUp"] == true || record["stepUp"].is_string() {
        op.insert(crate::access::doc::STEP_UP.into(), record["stepUp"].clone());
    }
    match record["security"].as_array() {
        Some(security) if !security.is_empty() => {
            op.insert("security".into(), json!(security));
        }
        _ => {
            op.remove("security");
        }
    }
    for parameter in record["parameters"].as_array().into_iter().flatten().rev() {
        let Value::Array(parameters) = op.entry("parameters").or_insert_with(|| json!([])) else {
            continue;
        };
        if !parameters
            .iter()
            .any(|p| p["name"] == parameter["name"] && p["in"] == parameter["in"])
        {
            // After the path's parameters, before the handler's own query parameters.
            let at = parameters.iter().take_while(|p| p["in"] == "path").count();
            parameters.insert(at, parameter.clone());
        }
    }
    for refusal_ in record["refusals"].as_array().into_iter().flatten() {
        let (Some(status), Some(code), Some(text)) = (
            refusal_[0].as_u64(),
            refusal_[1].as_str(),
            refusal_[2].as_str(),
        ) else {
            continue;
        };
        refusal(op, &status.to_string(), code, &format!("`{code}`: {text}"));
    }
}

/// Adds `status` with `text` to the operation's answers, or appends `text` to the description
/// of the answer it already has for that status (as a paragraph of its own), unless that
/// description already names `code`.
pub(super) fn refusal(op: &mut Map<String, Value>, status: &str, code: &str, text: &str) {
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
                    json!(format!("{description}\n\n{text}")),
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

/// Refusals that middleware and shared extractors make before a handler runs.
pub(super) fn common_refusals(method: &str, op: &mut Map<String, Value>) {
    if method != "get" {
        refusal(op, "403", "csrf_rejected", "`csrf_rejected`: a request without `Authorization: Bearer` whose `Origin` is not this server's, or from a browser that says it is cross-site; with the session cookie, one that does not show it is same-origin (`Origin` or `Sec-Fetch-Site: same-origin`).");
        let content = &mut op["responses"]["403"]["content"]["application/json"];
        if content.get("example").is_none() && content.get("examples").is_none() {
            content["example"] = json!({"error": {
                "code": "csrf_rejected",
                "message": crate::error::CSRF_REJECTED,
            }});
        }
    }
    let params: Vec<(String, String)> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            (
                name,
                crate::web::json::schema_type(&p["schema"]).to_string(),
            )
        })
        .collect();
    let has = |n: &str| params.iter().any(|(name, _)| name == n);
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
pub(super) fn body_refusals(op: &mut Map<String, Value>) {
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
pub(super) fn unavailable(path: &str, op: &mut Map<String, Value>) {
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return;
    }
    refusal(op, "503", "service_unavailable", "`service_unavailable`: the database cannot be reached just now (nothing was changed); retry after `Retry-After` seconds.");
}

pub(super) fn error_headers(op: &mut Map<String, Value>) {
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
