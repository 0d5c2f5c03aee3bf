//! `POST /mcp`: the Model Context Protocol's Streamable HTTP transport, through the official
//! Rust SDK (`rmcp`), stateless (no MCP session: any replica answers any request), JSON
//! answers. Only API keys get in, checked, charged and recorded as on the REST routes
//! ([`KeyCaller`]); each tool calls its REST route in-process with the key already vouched
//! for, so a tool answers exactly what its route does ([`tools`], [`server`]).

pub mod call;
pub mod server;
pub mod tools;

use std::sync::Arc;

use axum::{
    body::Body,
    extract::Request,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Extension, Router,
};
use rmcp::transport::streamable_http_server::{
    session::never::NeverSessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use serde::{de::IgnoredAny, Deserialize, Serialize};
use serde_json::Value;
use shared::ErrorBody;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    access::{routes, KeyCaller, Vouched},
    error::AppError,
    state::AppState,
    web::BODY_LIMIT,
};
use call::McpServer;

/// The MCP endpoint's service (rmcp's, stateless).
pub type Mcp = StreamableHttpService<McpServer, NeverSessionManager>;

/// The MCP service over `api` (the API routes, with their state), its tools read from the
/// served OpenAPI document `spec`.
pub fn service(state: &AppState, api: Router, spec: &str) -> Arc<Mcp> {
    let doc: Value = serde_json::from_str(spec).expect("the OpenAPI document is JSON");
    let server = McpServer {
        tools: Arc::new(tools::catalog(&doc)),
        info: Arc::new(server::info()),
        api,
        state: state.clone(),
    };
    // Host and Origin checks guard unauthenticated local servers against DNS rebinding; every
    // request here carries a key a rebinding page does not have, and replicas answer behind
    // whatever name the operator's proxy uses.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(BODY_LIMIT);
    Arc::new(StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mcp))
}

/// A JSON-RPC request id: an integer or a string.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(example = 1)]
pub enum RpcId {
    Number(i64),
    Text(String),
}

/// A JSON-RPC 2.0 message of the Model Context Protocol (a request, or a notification without
/// `id`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
    "params": {"name": "list_transactions", "arguments": {"from": "2026-11-01", "limit": 20}}}))]
pub struct McpRequest {
    /// Always `2.0`.
    #[schema(example = "2.0")]
    pub jsonrpc: String,
    /// The request's id; absent on a notification.
    #[schema(example = 1)]
    pub id: Option<RpcId>,
    /// `initialize`, `tools/list`, `tools/call`, `resources/list`, `resources/read`,
    /// `prompts/list`, `prompts/get`, `ping`, or a notification.
    #[schema(example = "tools/call")]
    pub method: String,
    /// The method's parameters.
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
}

/// A JSON-RPC 2.0 answer: `result` (a tool's failure is a result with `isError: true`) or
/// `error` (an unknown tool or method, arguments that are not an object).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"jsonrpc": "2.0", "id": 1, "result": {
    "content": [{"type": "text", "text": "{\"items\":[],\"nextCursor\":null}"}],
    "structuredContent": {"items": [], "nextCursor": null}, "isError": false}}))]
pub struct McpAnswer {
    #[schema(example = "2.0")]
    pub jsonrpc: String,
    #[schema(example = 1)]
    pub id: RpcId,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// `{"code": -32602, "message": "Unknown tool: x"}`.
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
}

/// The Model Context Protocol (Streamable HTTP, stateless; revision 2025-11-25).
///
/// For AI agents: tools for accounts, transactions, budgets, insights and bank syncs, the
/// workspace's accounts and categories as resources, and a monthly review prompt. Only API
/// keys; a key sees the tools its scopes allow. Send `Accept: application/json,
/// text/event-stream`; answers are JSON. `GET` is 405 (there are no server-sent streams).
/// See `docs/mcp.md`.
#[utoipa::path(post, path = "/mcp", tag = "mcp", operation_id = "mcp",
    params(("Accept" = String, Header, description = "Must list both `application/json` and `text/event-stream` (the answer is JSON)", example = "application/json, text/event-stream"),
        ("MCP-Protocol-Version" = Option<String>, Header, description = "The negotiated revision, on every request after `initialize`", example = "2025-11-25")),
    request_body = McpRequest,
    responses(
        (status = 200, description = "The JSON-RPC answer", body = McpAnswer),
        (status = 202, description = "A notification (or a JSON-RPC answer) was accepted; no body"),
        (status = 400, description = "`bad_request`: not a JSON-RPC message, or a protocol version header this server does not speak", body = ErrorBody),
        (status = 406, description = "`not_acceptable`: `Accept` must list both `application/json` and `text/event-stream`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is larger than 2 MiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body must be `application/json`", body = ErrorBody)))]
async fn mcp(
    KeyCaller(key): KeyCaller,
    Extension(service): Extension<Arc<Mcp>>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The body is larger than 2 MiB.",
        )
        .into_response();
    };
    if let Some(unknown) = unknown_member(&bytes) {
        return AppError::new(StatusCode::BAD_REQUEST, "bad_request", unknown).into_response();
    }
    parts.extensions.insert(Vouched(key));
    let request = Request::from_parts(parts, Body::from(bytes));
    in_our_shape(service.handle(request).await.map(Body::new)).await
}

/// The members a JSON-RPC message may have; anything else is refused, as every body of the API
/// refuses fields it does not know (the SDK would ignore them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Envelope {
    jsonrpc: IgnoredAny,
    id: Option<IgnoredAny>,
    method: Option<IgnoredAny>,
    params: Option<IgnoredAny>,
    result: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
}

/// Why a JSON object that is otherwise a message has a member JSON-RPC does not define.
fn unknown_member(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Envelope>(body) {
        Err(e) => {
            let why = e.to_string();
            let what = why
                .strip_prefix("unknown field")?
                .split(", expected")
                .next()?;
            Some(format!("Not an MCP JSON-RPC message: unknown field{what}."))
        }
        Ok(_) => None,
    }
}

/// rmcp's HTTP-level refusals are plain text: they are answered in the one error shape, with
/// rmcp's explanation as the message.
async fn in_our_shape(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    // rmcp answers a body that is not a JSON-RPC message with 415; it is a bad request.
    if let Some(why) = text.strip_prefix("fail to deserialize request body") {
        let message = format!("The body is not an MCP JSON-RPC message:{why}.");
        return AppError::new(StatusCode::BAD_REQUEST, "bad_request", message).into_response();
    }
    let code = match status {
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => {
            tracing::error!(%status, text, "the MCP service failed");
            return AppError::Internal(anyhow::anyhow!("mcp: {text}")).into_response();
        }
        _ => "bad_request",
    };
    let message = if text.is_empty() {
        "The request could not be understood.".to_string()
    } else {
        text
    };
    AppError::new(status, code, message).into_response()
}
