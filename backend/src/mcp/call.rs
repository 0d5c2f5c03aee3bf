//! A tool call: its arguments checked against the tool's operation, the request built and sent
//! to the route in-process as the key `/mcp` admitted, and the route's answer turned into the
//! tool's result.

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    http::{header, request::Parts, HeaderValue, Method, Request, StatusCode},
    Router,
};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, ServerConfig};
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use super::tools::{Operation, Place, Route, ToolDef};
use crate::{
    access::Vouched,
    request_meta::Arrival,
    state::AppState,
    web::{values::idempotency_key_ok, DryRun},
};

/// One `/mcp` request's server: the tools, and the API router their calls go to.
#[derive(Clone)]
pub struct McpServer {
    pub tools: Arc<Vec<ToolDef>>,
    /// What `initialize` answers (rmcp asks for it on every request).
    pub info: Arc<ServerConfig>,
    /// The API routes (no session layer: a tool call carries its [`Vouched`] key).
    pub api: Router,
    pub state: AppState,
}

/// The largest answer a tool passes on (a page of 200 transactions is far below it).
const ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// A route's answer to a tool's call: its JSON, and its bytes (the text content, as sent).
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Value,
    pub(super) raw: Bytes,
}

impl Answer {
    pub(super) fn of(status: StatusCode, body: Value) -> Self {
        let raw = Bytes::from(body.to_string());
        Self { status, body, raw }
    }
}

pub(super) fn refusal(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// `s` as one path segment (RFC 3986 unreserved characters kept, every other byte escaped).
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path or query argument as text, if it has the type the route reads. A NUL character is
/// refused, as `http::middleware::route_guards` refuses it in a URL (no id holds one, and
/// PostgreSQL cannot store it).
fn scalar(name: &str, value: &Value, kind: &str) -> Result<String, String> {
    match (kind, value) {
        ("string", Value::String(s)) if s.contains('\0') => {
            Err(format!("`{name}` must not contain NUL characters."))
        }
        ("string", Value::String(s)) => Ok(s.clone()),
        ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        ("number", Value::Number(n)) => Ok(n.to_string()),
        ("boolean", Value::Bool(b)) => Ok(b.to_string()),
        _ => Err(format!(
            "`{name}` must be {}.",
            match kind {
                "integer" => "an integer",
                "number" => "a number",
                "boolean" => "true or false",
                _ => "a string",
            }
        )),
    }
}

/// What a tool call asks of one operation.
pub(super) struct Call {
    pub(super) method: Method,
    pub(super) uri: String,
    pub(super) body: Option<Value>,
}

/// The request for `op` from the tool's arguments (those the tool itself reads are skipped).
fn call_for(op: &Operation, args: &JsonObject, tool_args: &[&str]) -> Result<Call, String> {
    let mut path = op.path.clone();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut body = Map::new();
    for (name, value) in args {
        if tool_args.contains(&name.as_str()) {
            continue;
        }
        let Some((place, kind)) = op.args.get(name) else {
            return Err(format!("`{name}` does not apply here."));
        };
        match place {
            Place::Body => {
                body.insert(name.clone(), value.clone());
            }
            _ if value.is_null() => {}
            Place::Path => {
                let text = scalar(name, value, kind)?;
                path = path.replace(&format!("{{{name}}}"), &path_segment(&text));
            }
            Place::Query => {
                query.append_pair(name, &scalar(name, value, kind)?);
            }
        }
    }
    if let Some(missing) = op
        .args
        .iter()
        .find(|(name, (place, _))| *place == Place::Path && path.contains(&format!("{{{name}}}")))
    {
        return Err(format!("`{}` is required.", missing.0));
    }
    let query = query.finish();
    if !query.is_empty() {
        path = format!("{path}?{query}");
    }
    Ok(Call {
        method: op.method.clone(),
        uri: path,
        body: op.body.then_some(Value::Object(body)),
    })
}

impl McpServer {
    /// Sends `call` to its route in-process, as the key `/mcp` admitted.
    pub(super) async fn send(
        &self,
        parts: &Parts,
        call: Call,
        idempotency_key: Option<HeaderValue>,
        dry: bool,
    ) -> Answer {
        let mut request = Request::builder().method(call.method).uri(&call.uri);
        // The route judges the key `/mcp` vouched for (below), not the Authorization header;
        // the user agent goes along for the key's usage record.
        if let Some(v) = parts.headers.get(header::USER_AGENT) {
            request = request.header(header::USER_AGENT, v);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let body = match call.body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&body).unwrap_or_default())
            }
            None => Body::empty(),
        };
        let mut request = match request.body(body) {
            Ok(r) => r,
            Err(_) => {
                return Answer::of(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": {"code": "validation_failed", "message": "An argument cannot be sent."}}),
                )
            }
        };
        if let Some(v) = parts.extensions.get::<Vouched>() {
            request.extensions_mut().insert(v.clone());
        }
        request.extensions_mut().insert(Arrival {
            ip: Arrival::ip_of(parts),
            ..Arrival::default()
        });
        request.extensions_mut().insert(DryRun(dry));
        let response = match self.api.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let raw = axum::body::to_bytes(response.into_body(), ANSWER_LIMIT)
            .await
            .unwrap_or_default();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Answer { status, body, raw }
    }

    /// The budget `set_budget` replaces when it is given no `id`: the one with the same values
    /// at the `key` pointers (category, month and currency), if any.
    async fn find(
        &self,
        parts: &Parts,
        list: &Operation,
        key: &[&str],
        args: &JsonObject,
    ) -> Result<Option<String>, Answer> {
        let asked = Value::Object(args.clone());
        let mut cursor: Option<String> = None;
        loop {
            let mut uri = format!("{}?limit=200", list.path);
            if let Some(c) = &cursor {
                uri.push_str(&format!("&cursor={}", path_segment(c)));
            }
            let call = Call {
                method: Method::GET,
                uri,
                body: None,
            };
            let page = self.send(parts, call, None, false).await;
            if !page.status.is_success() {
                return Err(page);
            }
            let same = |item: &Value| {
                key.iter()
                    .all(|k| match (item.pointer(k), asked.pointer(k)) {
                        (Some(Value::String(a)), Some(Value::String(b))) => a.trim() == b.trim(),
                        _ => false,
                    })
            };
            if let Some(found) = page.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|item| same(item))
            {
                return Ok(found["id"].as_str().map(str::to_string));
            }
            match page.body["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return Ok(None),
            }
        }
    }

    pub(super) async fn run(
        &self,
        def: &ToolDef,
        parts: &Parts,
        args: JsonObject,
    ) -> CallToolResult {
        let name = def.tool.name.as_ref();
        if let Some(unknown) = args.keys().find(|k| !def.known.contains(*k)) {
            let takes: Vec<&str> = def.known.iter().map(String::as_str).collect();
            return refusal(format!(
                "`{unknown}` is not an argument of {name}; it takes: {}.",
                takes.join(", ")
            ));
        }
        if let Some(missing) = def.required.iter().find(|r| !args.contains_key(*r)) {
            return refusal(format!("`{missing}` is required."));
        }
        let write = def.write;
        let dry = match args.get("dryRun") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) if write.is_some_and(|w| w.dry_run) => *b,
            Some(_) => return refusal("`dryRun` must be true or false."),
        };
        let idempotency_key = match args.get("idempotencyKey") {
            None | Some(Value::Null) => None,
            // The route's rule for `Idempotency-Key`, said in the tool's words.
            Some(Value::String(k)) => match HeaderValue::from_str(k) {
                Ok(v) if idempotency_key_ok(k) => Some(v),
                _ => return refusal("`idempotencyKey` must be 1–255 printable ASCII characters."),
            },
            Some(_) => return refusal("`idempotencyKey` must be a string."),
        };
        const TOOL_ARGS: &[&str] = &["dryRun", "idempotencyKey", "kind"];
        let call = match &def.route {
            Route::One(op) => call_for(op, &args, TOOL_ARGS),
            Route::ByKind(kinds) => {
                let kind = args.get("kind").and_then(Value::as_str).unwrap_or_default();
                match kinds.iter().find(|(k, _)| *k == kind) {
                    Some((_, op)) => call_for(op, &args, TOOL_ARGS).map_err(|e| {
                        e.replace(
                            "does not apply here",
                            &format!("does not apply to kind `{kind}`"),
                        )
                    }),
                    None => Err(format!(
                        "`kind` must be one of: {}.",
                        kinds.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            Route::Upsert {
                create,
                replace,
                list,
                key,
            } => {
                let mut args = args.clone();
                if args.get("id").is_none_or(Value::is_null) {
                    args.remove("id");
                    match self.find(parts, list, key, &args).await {
                        Ok(Some(id)) => {
                            args.insert("id".into(), Value::String(id));
                        }
                        Ok(None) => {}
                        Err(failed) => return outcome(failed, false),
                    }
                }
                let op = if args.contains_key("id") {
                    replace
                } else {
                    create
                };
                call_for(op, &args, TOOL_ARGS)
            }
        };
        match call {
            Ok(call) => outcome(self.send(parts, call, idempotency_key, dry).await, dry),
            Err(message) => refusal(message),
        }
    }
}

/// A route's answer as the tool's result: its JSON as structured content (and as text, for
/// clients that read only text), or its error as a tool error an agent can act on.
fn outcome(answer: Answer, dry: bool) -> CallToolResult {
    if answer.status.is_success() {
        // The route's bytes are the text: no second serialisation.
        let text = String::from_utf8_lossy(&answer.raw).into_owned();
        let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
        result.structured_content = Some(answer.body);
        if dry {
            result
                .content
                .push(ContentBlock::text("Dry run: nothing was changed."));
        }
        return result;
    }
    let error = &answer.body["error"];
    let code = error["code"].as_str().unwrap_or("error");
    let mut text = format!(
        "{} ({code}, HTTP {})",
        error["message"].as_str().unwrap_or("The call failed."),
        answer.status.as_u16()
    );
    for (field, problem) in error["fields"].as_object().into_iter().flatten() {
        text.push_str(&format!(
            "\n- {field}: {}",
            problem.as_str().unwrap_or_default()
        ));
    }
    refusal(text)
}
