//! The OpenAPI document is a contract: every error the server answers while the API suite runs
//! must be listed, status and code, on the operation that answered it. Each test server is
//! wrapped in [`watch`], and a test whose server answered an undocumented error fails when its
//! `TestApp` is dropped.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, LazyLock, Mutex},
    task::{Context, Poll},
};

use axum::{body::Body, extract::Request, response::Response};
use backend::http::{edge::PerConnection, App};
use futures_util::future::BoxFuture;
use serde_json::Value;
use tower::{Service, ServiceExt};

struct Operation {
    method: String,
    template: String,
    /// `None` for a `{parameter}` segment.
    segments: Vec<Option<String>>,
    responses: Value,
}

static OPERATIONS: LazyLock<Vec<Operation>> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(&backend::openapi::json()).expect("the document is JSON");
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let segments = template
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect();
            ops.push(Operation {
                method: method.clone(),
                template: template.clone(),
                segments,
                responses: op["responses"].clone(),
            });
        }
    }
    ops
});

/// The operation `method path` reaches: the matching template with the most literal segments.
fn operation(method: &str, path: &str) -> Option<&'static Operation> {
    let parts: Vec<&str> = path.split('/').collect();
    OPERATIONS
        .iter()
        .filter(|op| op.method == method && op.segments.len() == parts.len())
        .filter(|op| {
            op.segments
                .iter()
                .zip(&parts)
                .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
        })
        .max_by_key(|op| op.segments.iter().filter(|s| s.is_some()).count())
}

pub type Violations = Arc<Mutex<Vec<String>>>;

/// `app`, with every error answer checked against the document; violations are collected.
pub fn watch(app: App, violations: Violations) -> Watched {
    Watched { app, violations }
}

/// The application with its answers checked: around pfn's own layer, so it sees the answers
/// clients see.
#[derive(Clone)]
pub struct Watched {
    app: App,
    violations: Violations,
}

impl Service<Request> for Watched {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (app, violations) = (self.app.clone(), self.violations.clone());
        Box::pin(async move { Ok(check(req, app, violations).await) })
    }
}

impl PerConnection for Watched {
    fn for_peer(&self, peer: SocketAddr) -> Self {
        Self {
            app: self.app.for_peer(peer),
            violations: self.violations.clone(),
        }
    }
}

async fn check(req: Request, app: App, violations: Violations) -> Response {
    let method = req.method().as_str().to_ascii_lowercase();
    let path = req.uri().path().to_string();
    let Ok(res) = app.oneshot(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || !path.starts_with("/api/") {
        return res;
    }
    let Some(op) = operation(&method, &path) else {
        return res; // no such operation: 404 and 405 are every path's
    };
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 8 << 20)
        .await
        .unwrap_or_default();
    let code = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string));
    let described = op.responses[status.as_str()]["description"]
        .as_str()
        .unwrap_or_default();
    // A 500 is a bug whatever the document says.
    let documented = status != axum::http::StatusCode::INTERNAL_SERVER_ERROR
        && code
            .as_deref()
            .is_some_and(|c| described.contains(&format!("`{c}`")));
    if !documented {
        violations.lock().unwrap().push(format!(
            "{} {} answered {} {}, which the OpenAPI document does not list for it",
            method.to_uppercase(),
            op.template,
            status.as_u16(),
            code.as_deref().unwrap_or("(no error code)")
        ));
    }
    Response::from_parts(parts, Body::from(bytes))
}
