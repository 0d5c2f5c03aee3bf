//! Health, readiness, metrics and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness_report_ok() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.db.close().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn().await;
    app.get("/healthz").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
        "{text}"
    );
}

/// pfn's layer names a request's route before the router sees it (`http::edge`); for every
/// route, with any parameters, for paths near them and for paths no route has, it must give
/// the name axum's router gives (`MatchedPath`), or none where the router has none.
#[tokio::test]
async fn metrics_name_routes_as_the_router_does() {
    use std::sync::{Arc, Mutex};

    use axum::{extract::MatchedPath, response::IntoResponse};
    use tower::ServiceExt;

    let app = TestApp::spawn().await;
    let (router, edge) = backend::http::router_and_edge(app.state.clone());
    // The router with a layer that records the route it matched and answers at once.
    let matched: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = matched.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, _: axum::middleware::Next| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_string());
            *seen.lock().unwrap() = route;
            async { StatusCode::NO_CONTENT.into_response() }
        },
    ));
    let doc: Value = serde_json::from_str(&backend::openapi::json()).unwrap();
    let mut paths: Vec<String> = vec![
        "/".into(),
        "".into(),
        "/nope".into(),
        "/api".into(),
        "/api/".into(),
        "/api/v1/nope".into(),
        "/api/openapi.json".into(),
        "/api/openapi.json/".into(),
        "/api/docs".into(),
        "/api/docs/".into(),
        "/api/docs/index.html".into(),
        "/api/docs/a/b".into(),
        "/healthz/".into(),
        "//healthz".into(),
        "/HEALTHZ".into(),
        "/mcp".into(),
        "/app/settings".into(),
    ];
    let templates: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(templates.len() > 50, "{templates:?}");
    for template in templates {
        let filled: Vec<String> = template
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "a%2Fb-1".to_string()
                } else {
                    s.to_string()
                }
            })
            .collect();
        let filled = filled.join("/");
        paths.extend([
            template.to_string(),
            filled.clone(),
            format!("{filled}/"),
            format!("{filled}/more"),
            filled.replacen("/api/v1/", "/api/v2/", 1),
        ]);
    }
    let mut named = 0;
    for path in &paths {
        let uri = if path.is_empty() {
            "/".to_string()
        } else {
            path.clone()
        };
        let req = axum::http::Request::get(&uri)
            .body(axum::body::Body::empty())
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        *matched.lock().unwrap() = None;
        router.clone().oneshot(req).await.unwrap();
        let by_router = matched.lock().unwrap().clone();
        let by_edge = edge.route_of(&uri).map(str::to_string);
        assert_eq!(by_edge, by_router, "{uri}");
        named += usize::from(by_router.is_some());
    }
    assert!(named > 100, "only {named} paths had a route");
}

/// `openapi/openapi.json` must be what the server serves, byte for byte.
/// Regenerate with `PFN_UPDATE_OPENAPI=1 cargo test -p backend --test api openapi`.
#[tokio::test]
async fn openapi_document_is_fresh_and_served_verbatim() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let generated = backend::openapi::json();
    if std::env::var("PFN_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `PFN_UPDATE_OPENAPI=1 cargo test -p backend --test api openapi` and commit it"
    );
    let app = TestApp::spawn().await;
    let served = app.get("/api/openapi.json").await.text().await.unwrap();
    assert_eq!(served, committed);
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/");
    let docs = app.get("/api/docs/").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
}
