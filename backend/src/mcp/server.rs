//! The MCP server behind `/mcp`: tools (each a call to its REST route, in-process), the
//! workspace's accounts and categories as resources, and a prompt.

use std::{borrow::Cow, sync::Arc};

use axum::{
    body::{Body, Bytes},
    http::{header, request::Parts, HeaderValue, Method, Request, StatusCode},
    Router,
};
use rmcp::{
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
        GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, JsonObject,
        ListPromptsResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams, Prompt,
        PromptArgument, PromptMessage, ProtocolVersion, ReadResourceRequestParams,
        ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, Role,
        ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
    ErrorData as McpError, RoleServer, ServerHandler,
};
use serde_json::{json, Map, Value};
use shared::keys::scope_allows;
use tower::ServiceExt;

use super::tools::{Operation, Place, Route, ToolDef};
use crate::{access::Vouched, request_meta::ClientIp, state::AppState, web::DryRun};

/// The MCP revision this server implements; clients of the earlier revisions are answered too.
pub const PROTOCOL: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// The largest answer a tool passes on (a page of 200 transactions is far below it).
const ANSWER_LIMIT: usize = 16 * 1024 * 1024;

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

/// A route's answer to a tool's call: its JSON, and its bytes (the text content, as sent).
struct Answer {
    status: StatusCode,
    body: Value,
    raw: Bytes,
}

impl Answer {
    fn of(status: StatusCode, body: Value) -> Self {
        let raw = Bytes::from(body.to_string());
        Self { status, body, raw }
    }
}

/// The key `/mcp` admitted, from the HTTP request rmcp hands each handler.
fn key_scopes(cx: &RequestContext<RoleServer>) -> Option<&[String]> {
    let parts = cx.extensions.get::<Parts>()?;
    parts
        .extensions
        .get::<Vouched>()
        .map(|v| v.0.scopes.as_slice())
}

fn allowed(scopes: Option<&[String]>, needed: Option<&str>) -> bool {
    match (scopes, needed) {
        (Some(scopes), Some(needed)) => scope_allows(scopes, needed),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn refusal(message: impl Into<String>) -> CallToolResult {
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
struct Call {
    method: Method,
    uri: String,
    body: Option<Value>,
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
    async fn send(
        &self,
        parts: &Parts,
        call: Call,
        idempotency_key: Option<HeaderValue>,
        dry: bool,
    ) -> Answer {
        let mut request = Request::builder().method(call.method).uri(&call.uri);
        for name in [header::AUTHORIZATION, header::USER_AGENT] {
            if let Some(v) = parts.headers.get(&name) {
                request = request.header(name, v);
            }
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
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            request.extensions_mut().insert(*ip);
        }
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
            let asked = Value::Object(args.clone());
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

    async fn run(&self, def: &ToolDef, parts: &Parts, args: JsonObject) -> CallToolResult {
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
                Ok(v)
                    if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Some(v)
                }
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

/// The read-only context: (uri, name, description, scope).
const RESOURCES: &[(&str, &str, &str, &str)] = &[
    ("pfn://accounts", "accounts", "Every account of the workspace with its balance (the answer of list_accounts).", "read:accounts"),
    ("pfn://categories", "categories", "The categories the workspace's transactions used in the last year, money out and money in, from the spending and income insights.", "read:insights"),
];

const REVIEW: &str = "monthly-spending-review";

impl McpServer {
    async fn categories(&self, parts: &Parts) -> Answer {
        let mut names = std::collections::BTreeSet::new();
        let year_ago = self.state.clock.now() - 365 * 86_400;
        let from = time::OffsetDateTime::from_unix_timestamp(year_ago)
            .map(|t| t.date().to_string())
            .unwrap_or_default();
        for kind in ["spending", "income"] {
            let call = Call {
                method: Method::GET,
                uri: format!("/api/v1/insights/{kind}?from={from}"),
                body: None,
            };
            let answer = self.send(parts, call, None, false).await;
            if !answer.status.is_success() {
                return answer;
            }
            for currency in answer.body["currencies"].as_array().into_iter().flatten() {
                for c in currency["categories"].as_array().into_iter().flatten() {
                    if let Some(name) = c["category"].as_str() {
                        names.insert(name.to_string());
                    }
                }
            }
        }
        Answer::of(StatusCode::OK, json!({"since": from, "categories": names}))
    }
}

/// The server's capabilities, identity and instructions.
pub fn info() -> ServerConfig {
    ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_protocol_version(PROTOCOL)
        .with_server_info(
            Implementation::new("pfn", env!("CARGO_PKG_VERSION")).with_title("pfn personal finance"),
        )
        .with_instructions(
            "pfn holds a workspace's accounts, transactions, budgets and bank connections. Money is a decimal string with its ISO 4217 currency ({\"amount\": \"-12.500\", \"currency\": \"BHD\"}; negative = money out); times are RFC 3339. Lists come a page at a time: pass `nextCursor` back as `cursor`. Write tools take `dryRun` to show what would change first. Tools you do not see need scopes your key lacks.",
        )
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        (*self.info).clone()
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&PROTOCOL))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools
            .iter()
            .find(|d| d.tool.name == name)
            .map(|d| d.tool.clone())
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        cx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let scopes = key_scopes(&cx);
        let tools = self
            .tools
            .iter()
            .filter(|d| allowed(scopes, d.scope.as_deref()))
            .map(|d| d.tool.clone())
            .collect();
        Ok(ListToolsResult::with_all_items(tools).with_cache_scope(CacheScope::Private))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        cx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(def) = self.tools.iter().find(|d| d.tool.name == request.name) else {
            return Err(McpError::invalid_params(
                format!("Unknown tool: {}", request.name),
                None,
            ));
        };
        let Some(parts) = cx.extensions.get::<Parts>() else {
            return Err(McpError::internal_error("no HTTP request", None));
        };
        if !allowed(key_scopes(&cx), def.scope.as_deref()) {
            let scope = def.scope.as_deref().unwrap_or_default();
            return Ok(refusal(format!(
                "This key lacks the `{scope}` scope, which {} needs. Make a key with it (Keys in pfn, or POST /api/v1/keys).",
                def.tool.name
            ))
            .into());
        }
        Ok(self
            .run(def, parts, request.arguments.unwrap_or_default())
            .await
            .into())
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        cx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let scopes = key_scopes(&cx);
        let resources = RESOURCES
            .iter()
            .filter(|(.., scope)| allowed(scopes, Some(scope)))
            .map(|(uri, name, description, _)| {
                Resource::new(*uri, *name)
                    .with_description(*description)
                    .with_mime_type("application/json")
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources).with_cache_scope(CacheScope::Private))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        cx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let Some(&(uri, _, _, scope)) = RESOURCES.iter().find(|(uri, ..)| *uri == request.uri)
        else {
            return Err(McpError::resource_not_found(
                format!("No resource {}", request.uri),
                None,
            ));
        };
        if !allowed(key_scopes(&cx), Some(scope)) {
            return Err(McpError::invalid_params(
                format!("This key lacks the `{scope}` scope, which {uri} needs."),
                None,
            ));
        }
        let Some(parts) = cx.extensions.get::<Parts>() else {
            return Err(McpError::internal_error("no HTTP request", None));
        };
        let answer = if uri == "pfn://accounts" {
            let call = Call {
                method: Method::GET,
                uri: "/api/v1/accounts".into(),
                body: None,
            };
            self.send(parts, call, None, false).await
        } else {
            self.categories(parts).await
        };
        if !answer.status.is_success() {
            let message = answer.body["error"]["message"]
                .as_str()
                .unwrap_or("The resource could not be read.")
                .to_string();
            return Err(McpError::internal_error(message, None));
        }
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            String::from_utf8_lossy(&answer.raw),
            uri,
        )
        .with_mime_type("application/json")])
        .into())
    }

    async fn list_prompts(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let month = PromptArgument::new("month")
            .with_description("The month to review, YYYY-MM (default: the last full month).")
            .with_required(false);
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            REVIEW,
            Some("Review a month's spending against its budgets and the month before."),
            Some(vec![month]),
        )]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if request.name != REVIEW {
            return Err(McpError::invalid_params(
                format!("No prompt {}", request.name),
                None,
            ));
        }
        let month = match request.arguments.as_ref().and_then(|a| a.get("month")) {
            None | Some(Value::Null) => "the last full month".to_string(),
            Some(Value::String(m))
                if m.len() == 7
                    && m.as_bytes()[4] == b'-'
                    && m.bytes().filter(u8::is_ascii_digit).count() == 6 =>
            {
                m.clone()
            }
            Some(_) => return Err(McpError::invalid_params("`month` must be YYYY-MM.", None)),
        };
        let text = format!(
            "Review my spending for {month} with the pfn tools.\n\
             1. Call get_insights with kind \"spending\" for that month (from its first day, to the first day of the next), and again for the month before.\n\
             2. Call list_budgets and match each budget of that month to its category.\n\
             3. Tell me, per currency: the total, the five largest categories with the change from the month before, and each budget's limit, what was spent and whether it was exceeded.\n\
             4. Call list_transactions for that month with the largest category and name the three largest payments.\n\
             Keep amounts exactly as pfn gives them (decimal strings with their currency); do not round or convert currencies. Change nothing."
        );
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description("A monthly spending review")
                .into(),
        )
    }
}
