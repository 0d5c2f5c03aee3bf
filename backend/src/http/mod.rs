//! Router assembly: the API routes, the docs, and the layers every request passes through.

pub mod middleware;
pub mod ratelimit_headers;

use axum::{
    extract::DefaultBodyLimit,
    http::{header, StatusCode},
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::get,
    Extension, Router,
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, SessionManagerLayer};

use crate::{access::session::DbSessionStore, error::AppError, openapi, state::AppState};

pub use crate::web::BODY_LIMIT;

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, _) = openapi::api_routes().split_for_parts();
    let spec = openapi::json();
    // What `/mcp`'s tools call: the API routes. The tools refuse NUL characters themselves (the
    // route guard's rule) and read any answer that is not JSON as a failure.
    let tool_routes = api.clone().with_state(state.clone());
    let mcp = crate::mcp::service(&state, tool_routes, &spec);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.clone()))
        .with_name(state.web.cookie_name)
        .with_same_site(SameSite::Lax)
        .with_secure(state.web.secure_cookies)
        .with_http_only(true)
        .with_path("/");

    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], spec) }),
        )
        .merge(utoipa_swagger_ui::SwaggerUi::new("/api/docs").config(utoipa_swagger_ui::Config::from("/api/openapi.json")))
        .fallback(crate::spa::fallback)
        .method_not_allowed_fallback(|| async {
            AppError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This method is not allowed here.")
                .into_response()
        })
        .layer(sessions)
        .layer(Extension(mcp))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(from_fn_with_state(state.clone(), middleware::track_metrics))
                .layer(from_fn(middleware::reshape_errors))
                .layer(from_fn_with_state(state.clone(), middleware::security_headers))
                .layer(from_fn_with_state(state.clone(), middleware::resolve_client_ip))
                .layer(from_fn(middleware::route_guards))
                .layer(from_fn_with_state(state.clone(), middleware::csrf))
                .layer(from_fn(ratelimit_headers::rate_limit_headers)),
        )
        .with_state(state)
}
