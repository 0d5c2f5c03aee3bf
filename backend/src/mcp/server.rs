//! The MCP server behind `/mcp`: the tools a key may see and call (each a call to its REST
//! route, in-process: [`super::call`]), the workspace's accounts and categories as resources,
//! and a prompt.

use std::borrow::Cow;

use axum::http::{request::Parts, Method, StatusCode};
use rmcp::{
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, GetPromptRequestParams,
        GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult, ListResourcesResult,
        ListToolsResult, PaginatedRequestParams, Prompt, PromptArgument, PromptMessage,
        ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
        Resource, ResourceContents, Role, ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
    ErrorData as McpError, RoleServer, ServerHandler,
};
use serde_json::{json, Value};
use shared::keys::scope_allows;

use super::call::{refusal, Answer, Call, McpServer};
use crate::access::Vouched;

/// The MCP revision this server implements; clients of the earlier revisions are answered too.
pub const PROTOCOL: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// The key `/mcp` admitted, from the HTTP request rmcp hands each handler.
fn vouched(cx: &RequestContext<RoleServer>) -> Option<(&Parts, &Vouched)> {
    let parts = cx.extensions.get::<Parts>()?;
    Some((parts, parts.extensions.get::<Vouched>()?))
}

fn key_scopes(cx: &RequestContext<RoleServer>) -> Option<&[String]> {
    vouched(cx).map(|(_, v)| v.0.scopes.as_slice())
}

impl McpServer {
    /// Whether the key may use what needs `scope`; a refusal is recorded as a route records it.
    fn permits(&self, cx: &RequestContext<RoleServer>, scope: Option<&str>) -> bool {
        let ok = allowed(key_scopes(cx), scope);
        if let (false, Some((parts, key))) = (ok, vouched(cx)) {
            key.refused_scope(&self.state, parts);
        }
        ok
    }
}

fn allowed(scopes: Option<&[String]>, needed: Option<&str>) -> bool {
    match (scopes, needed) {
        (Some(scopes), Some(needed)) => scope_allows(scopes, needed),
        (Some(_), None) => true,
        (None, _) => false,
    }
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
        // A key limited to some accounts does not see the tools that act on the whole
        // workspace (their routes would refuse it with `account_restricted`).
        let restricted = vouched(&cx).is_some_and(|(_, v)| v.0.limits.account_ids.is_some());
        let tools = self
            .tools
            .iter()
            .filter(|d| allowed(scopes, d.scope.as_deref()) && !(restricted && d.whole))
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
        if !self.permits(&cx, def.scope.as_deref()) {
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
        if !self.permits(&cx, Some(scope)) {
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
