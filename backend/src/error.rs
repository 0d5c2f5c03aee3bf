//! One error type, one JSON shape (`shared::ErrorBody`) for every failure.
//!
//! Database and internal errors are logged here and leave as an opaque 500: their text never
//! reaches a client.

use std::{borrow::Cow, collections::BTreeMap};

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use shared::{ErrorBody, ErrorDetail};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 422 `validation_failed` with `fields` keyed by JSON path.
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    /// Any other expected failure.
    #[error("{code}: {message}")]
    Api {
        status: StatusCode,
        code: &'static str,
        message: Cow<'static, str>,
        /// Seconds, for 429 `Retry-After`.
        retry_after: Option<u64>,
    },
    /// 403 `insufficient_scope`: an API key lacks the scope a route needs.
    #[error("insufficient_scope: {0}")]
    InsufficientScope(&'static str),
    /// 503 `service_unavailable`: the database cannot be reached just now (a restart, a
    /// network cut); the client should retry. Nothing was changed.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the CSRF middleware (`http::middleware::csrf`) says when it refuses; here, below both
/// `http` and `openapi`, so the OpenAPI document can show it as the example.
pub const CSRF_REJECTED: &str =
    "Cross-site request refused. Send Origin matching the server's public URL.";

impl AppError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Api {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn field(name: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(name.into(), problem.into())]))
    }
    pub fn too_many(code: &'static str, retry_after: u64) -> Self {
        Self::Api {
            status: StatusCode::TOO_MANY_REQUESTS,
            code,
            message: format!("Too many attempts. Try again in {retry_after} seconds.").into(),
            retry_after: Some(retry_after.max(1)),
        }
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign in to continue.",
        )
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "This link is invalid, used or expired.",
        )
    }
    pub fn code(&self) -> &str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::Api { code, .. } => code,
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if unreachable(&e) {
            Self::Unavailable(e)
        } else {
            Self::Internal(e.into())
        }
    }
}

/// Whether a database error means the database is out of reach (retry later) rather than
/// that something is wrong with the request or the server.
fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // PostgreSQL: connection exceptions (08), insufficient resources (53) and operator
        // intervention such as a shutdown (57P0x).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57P0")),
        _ => false,
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// Builds our error body; also used by the middleware that reshapes framework errors.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    fields: Option<BTreeMap<String, String>>,
) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message: message.into(),
            fields,
        },
    };
    let mut res = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"pfn\""),
        );
    }
    res
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::Validation(fields) => error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Some fields are invalid.",
                Some(fields),
            ),
            Self::Api {
                status,
                code,
                message,
                retry_after,
            } => {
                let mut res = error_response(status, code, &message, None);
                if let Some(secs) = retry_after {
                    res.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                res
            }
            Self::InsufficientScope(scope) => {
                let mut res = error_response(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    &format!("This key lacks the {scope} scope."),
                    Some(BTreeMap::from([("scope".to_string(), scope.to_string())])),
                );
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )) {
                    res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                res
            }
            Self::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                let mut res = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "The service cannot reach its database just now. Retry shortly.",
                    None,
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                res
            }
            Self::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Something went wrong on our side. Please try again.",
                    None,
                )
            }
        }
    }
}
