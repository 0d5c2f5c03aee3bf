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

use crate::{error::AppError, openapi, state::AppState};

pub use crate::web::BODY_LIMIT;

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, _) = openapi::api_routes().split_for_parts();
    let spec = openapi::json();
    // What `/mcp`'s tools call: the API routes. The tools refuse NUL characters themselves (the
    // route guard's rule) and read any answer that is not JSON as a failure.
    let tool_routes = api.clone().with_state(state.clone());
    let mcp = crate::mcp::service(&state, tool_routes, &spec);

    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], spec) }),
        )
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/api/docs")
                .config(utoipa_swagger_ui::Config::from("/api/openapi.json")),
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
        // One layer (`edge`: request id, span, metrics, error reshaping, security headers,
        // client IP, route guards, CSRF, `RateLimit-*`, sessions): axum boxes and clones each
        // layer it is given on every request. The 2 MiB body limit is axum's own default
        // (`DefaultBodyLimit` would only say so again, at an extension per request); the test
        // below holds axum to it.
        .layer(edge::EdgeLayer::new(state.clone(), mcp))
        .with_state(state)
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
