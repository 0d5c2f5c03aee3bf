//! Operational endpoints: liveness, readiness, Prometheus metrics.

use std::sync::OnceLock;

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
}

/// The process-wide recorder (one per process, however many apps a test starts).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
    })
}

/// Liveness of the process: `GET /healthz` answers with this.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`: the process answers. Dependencies are `/readyz`'s business.
    #[schema(example = "ok")]
    status: &'static str,
}

/// Readiness to serve, with each dependency's state: `GET /readyz` answers with this (200 or 503).
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok`, `degraded` (optional dependency down) or `unavailable` (database down).
    #[schema(example = "ok")]
    status: &'static str,
    checks: Checks,
}

/// The state of each dependency, inside `Readiness.checks`.
#[derive(Serialize, ToSchema)]
pub struct Checks {
    /// `ok` when the database answers and all migrations are applied.
    #[schema(example = "ok")]
    database: &'static str,
    /// `ok`, `down` (limits fall back to this replica's own; the service keeps answering) or
    /// `not_configured` (single replica, in-process limits).
    #[schema(example = "not_configured")]
    redis: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", operation_id = "healthz",
    responses((status = 200, description = "The process is up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database is reachable and migrated.
#[utoipa::path(get, path = "/readyz", tag = "ops", operation_id = "readyz",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database is unreachable or not migrated", body = Readiness)))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db_ok = state.db.ready().await;
    let redis = match state.limiter.shared().await {
        None => "not_configured",
        Some(true) => "ok",
        Some(false) => "down",
    };
    let body = Readiness {
        status: match (db_ok, redis) {
            (false, _) => "unavailable",
            (true, "down") => "degraded",
            _ => "ok",
        },
        checks: Checks {
            database: if db_ok { "ok" } else { "unavailable" },
            redis,
        },
    };
    (
        if db_ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

/// Prometheus metrics in text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "ops", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain",
        example = json!("# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",route=\"/api/v1/whoami\",status=\"200\"} 42\n"))))]
async fn metrics_text() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_handle().render(),
    )
}
