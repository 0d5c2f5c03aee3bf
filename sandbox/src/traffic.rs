//! The middleware on every wire route: it counts the call, applies the fault rules and the
//! per-client rate limit kept in [`faults::Controls`](crate::faults::Controls).

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{auth::bearer, error::ApiError, state::AppState};

/// The middleware on every wire route: count, then faults, then the rate limit.
pub(crate) async fn wire(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_string(), |m| m.as_str().to_string());
    let verdict = {
        let mut controls = state.controls();
        *controls
            .calls
            .entry(format!("{} {route}", req.method()))
            .or_default() += 1;
        controls.evaluate(req.uri().path())
    };
    if verdict.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(verdict.delay_ms)).await;
    }
    if let Some((status, retry_after)) = verdict.fail {
        let mut err = ApiError::injected(status);
        if let Some(secs) = retry_after {
            err = err.with_retry_after(secs);
        }
        return err.into_response();
    }
    let req = if state.controls().rate_limit().is_some() {
        let (client, req) = match client_of(&state, req, &route).await {
            Ok(found) => found,
            Err(res) => return res,
        };
        if let Some(client) = client {
            if let Err(wait) = state.controls().take(&client, Instant::now()) {
                return ApiError::rate_limited(wait).into_response();
            }
        }
        req
    } else {
        req
    };
    next.run(req).await
}

/// The client a request is charged to: the token's client, or at the token endpoint the
/// `clientId` in the body (which is read and put back). Requests with neither (the Connect
/// pages, garbage tokens) are not limited; they fail on their own.
async fn client_of(
    state: &AppState,
    req: Request,
    route: &str,
) -> Result<(Option<String>, Request), Response> {
    if let Some(token) = bearer(req.headers()) {
        let client = state.read().tokens.get(token).map(|t| t.client_id.clone());
        return Ok((client, req));
    }
    if route != "/sandbox/token" && route != "/auth/v1/token" {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::invalid("request body too large").into_response())?;
    let client = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("clientId")?.as_str().map(str::to_string));
    Ok((client, Request::from_parts(parts, Body::from(bytes))))
}
