//! Router assembly: the API routes, the docs, and the layer every request passes through.

pub mod edge;
pub mod middleware;
pub mod ratelimit_headers;

use axum::{
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Router,
};
use tower::Layer;

use crate::{error::AppError, openapi, state::AppState};

pub use crate::web::BODY_LIMIT;

/// The whole application: the router inside pfn's one layer ([`edge::Edge`]), served with
/// [`crate::serve_app`].
pub type App = edge::Edge<Router>;

/// The routes outside the API's: the document and its viewer (`SwaggerUi` adds the viewer's
/// page, its directory and everything under it).
const OPENAPI_JSON: &str = "/api/openapi.json";
const DOCS: &str = "/api/docs";
const DOCS_ROUTES: [&str; 3] = [DOCS, "/api/docs/", "/api/docs/{*rest}"];

/// The whole application.
pub fn app(state: AppState) -> App {
    let (router, edge) = router_and_edge(state);
    edge.layer(router)
}

/// [`app`]'s router and the layer that wraps it, apart (the API suite checks that the layer
/// names routes as the router does).
pub fn router_and_edge(state: AppState) -> (Router, edge::EdgeLayer) {
    let (api, doc) = openapi::api_routes().split_for_parts();
    let spec = openapi::json();
    // What `/mcp`'s tools call: the API routes. The tools refuse NUL characters themselves (the
    // route guard's rule) and read any answer that is not JSON as a failure.
    let tool_routes = api.clone().with_state(state.clone());
    let mcp = crate::mcp::service(&state, tool_routes, &spec);
    // The API's routes are its document's paths (`openapi::api_routes` derives both).
    let routes = doc.paths.paths.keys().map(String::as_str);
    let routes = routes.chain([OPENAPI_JSON]).chain(DOCS_ROUTES);
    // One layer (`edge`: request id, span, metrics, error reshaping, security headers, client
    // IP, route guards, CSRF, `RateLimit-*`, sessions), around the router rather than given to
    // it: axum boxes and clones each layer a router is given, inside every route, on every
    // request. The 2 MiB body limit is axum's own default (`DefaultBodyLimit` would only say
    // so again, at an extension per request); a test below holds axum to it.
    let edge = edge::EdgeLayer::new(state.clone(), mcp, routes);
    let router = Router::new()
        .merge(api)
        .route(
            OPENAPI_JSON,
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], spec) }),
        )
        .merge(
            utoipa_swagger_ui::SwaggerUi::new(DOCS)
                .config(utoipa_swagger_ui::Config::from(OPENAPI_JSON)),
        )
        .fallback(crate::spa::fallback)
        .method_not_allowed_fallback(|| async {
            AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed here.",
            )
            .into_response()
        })
        .with_state(state);
    (router, edge)
}

#[cfg(test)]
mod tests {
    use axum::{
        body::{Body, Bytes},
        extract::Request,
        http::StatusCode,
        routing::post,
        Router,
    };
    use tower::ServiceExt;

    use super::BODY_LIMIT;

    /// `app` sets no body limit of its own: axum's default must be [`BODY_LIMIT`].
    #[tokio::test]
    async fn axums_default_body_limit_is_ours() {
        let app = Router::new().route(
            "/",
            post(|body: Bytes| async move { body.len().to_string() }),
        );
        for (size, status) in [
            (BODY_LIMIT, StatusCode::OK),
            (BODY_LIMIT + 1, StatusCode::PAYLOAD_TOO_LARGE),
        ] {
            let req = Request::post("/")
                .body(Body::from(vec![b' '; size]))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), status, "a body of {size} bytes");
        }
    }
}
