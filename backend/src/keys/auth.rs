//! Bearer-key authentication: checksum → SHA-256 → in-process cache → database, scopes, the
//! per-key rate limit, and last-used bookkeeping off the request path.

use std::{
    collections::HashMap,
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{FromRequestParts, Request},
    http::{header, request::Parts, HeaderName, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};
use sha2::{Digest, Sha256};
use shared::keys::{parse_key, scope_allows, KeyEnv, WhoAmI};
use tokio::sync::{mpsc, watch};

use crate::{
    auth::session::SessionUser,
    cache::keys::{CachedKey, KeyDigest},
    db::{self},
    error::{AppError, Result},
    ratelimit::{Decision, Rate},
    request_meta::RequestMeta,
    state::AppState,
};

/// Which scope a route needs from an API key (sessions have every scope), and whether only a
/// workspace owner may call it.
pub trait Need: Send + Sync + 'static {
    const SCOPE: Option<&'static str>;
    /// Only owners of the workspace the request acts in (a key acts with its maker's role).
    const OWNER: bool = false;
}

/// `N`, for owners of the workspace only: members get 403 `forbidden`.
pub struct Owner<N>(PhantomData<N>);
impl<N: Need> Need for Owner<N> {
    const SCOPE: Option<&'static str> = N::SCOPE;
    const OWNER: bool = true;
}

/// Any authenticated caller, whatever its scopes.
pub struct AnyScope;
impl Need for AnyScope {
    const SCOPE: Option<&'static str> = None;
}

macro_rules! scopes {
    ($($name:ident = $scope:literal),* $(,)?) => {$(
        #[doc = concat!("Routes that need `", $scope, "`.")]
        pub struct $name;
        impl Need for $name {
            const SCOPE: Option<&'static str> = Some($scope);
        }
    )*};
}

scopes!(
    ReadAccounts = "read:accounts",
    WriteAccounts = "write:accounts",
    ReadTransactions = "read:transactions",
    WriteTransactions = "write:transactions",
    ReadBudgets = "read:budgets",
    WriteBudgets = "write:budgets",
    ReadInsights = "read:insights",
    ReadConnections = "read:connections",
    WriteConnections = "write:connections",
);

/// A successful or refused key use, recorded off the request path.
pub enum Usage {
    Used {
        key_id: String,
        user_id: String,
        at: i64,
        meta: RequestMeta,
    },
    Denied {
        key_id: String,
        user_id: String,
        at: i64,
        meta: RequestMeta,
        reason: &'static str,
    },
}

/// A bounded queue of usage events; [`run_usage_writer`] (started by `serve`) drains it.
pub struct UsageRecorder {
    tx: mpsc::Sender<Usage>,
    rx: Mutex<Option<mpsc::Receiver<Usage>>>,
}

impl Default for UsageRecorder {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(10_000);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl UsageRecorder {
    /// Never blocks and never fails the request: when the queue is full the event is dropped.
    pub fn record(&self, usage: Usage) {
        let _ = self.tx.try_send(usage);
    }
}

/// Writes usage: `last_used_*` at most once a minute per key, `key.used` at most once an hour
/// per key, `key.denied` at most once a minute per key and reason. Drains what is queued on stop.
pub async fn run_usage_writer(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(mut rx) = state
        .usage
        .rx
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    else {
        return;
    };
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            usage = rx.recv() => match usage {
                Some(u) => seen.write(&state, u).await,
                None => return,
            },
            _ = stop.changed() => {
                rx.close();
                while let Ok(u) = rx.try_recv() {
                    seen.write(&state, u).await;
                }
                return;
            }
        }
    }
}

/// When each key's use was last written and audited.
#[derive(Default)]
struct Seen {
    written: HashMap<String, i64>,
    audited: HashMap<String, i64>,
}

impl Seen {
    async fn write(&mut self, state: &AppState, usage: Usage) {
        if self.written.len() > 100_000 {
            self.written.clear();
            self.audited.clear();
        }
        if let Err(e) = write_usage(state, usage, &mut self.written, &mut self.audited).await {
            tracing::warn!(error = %e, "recording key usage failed");
        }
    }
}

async fn write_usage(
    state: &AppState,
    usage: Usage,
    written: &mut HashMap<String, i64>,
    audited: &mut HashMap<String, i64>,
) -> anyhow::Result<()> {
    let due = |map: &mut HashMap<String, i64>, key: String, at: i64, every: i64| {
        let last = map.get(&key).copied();
        let due = last.is_none_or(|t| at - t >= every);
        if due {
            map.insert(key, at);
        }
        due
    };
    match usage {
        Usage::Used {
            key_id,
            user_id,
            at,
            meta,
        } => {
            if due(written, key_id.clone(), at, 60) {
                db::keys::record_use(
                    &state.db.pool,
                    &key_id,
                    at,
                    meta.ip.as_deref(),
                    meta.user_agent.as_deref(),
                )
                .await?;
            }
            if due(audited, format!("used:{key_id}"), at, 3600) {
                key_event(
                    state,
                    "key.used",
                    &key_id,
                    &user_id,
                    &meta,
                    crate::audit::Outcome::Success,
                )
                .await?;
            }
        }
        Usage::Denied {
            key_id,
            user_id,
            at,
            meta,
            reason,
        } => {
            if due(audited, format!("denied:{reason}:{key_id}"), at, 60) {
                key_event(
                    state,
                    "key.denied",
                    &key_id,
                    &user_id,
                    &meta,
                    crate::audit::Outcome::Denied,
                )
                .await?;
            }
        }
    }
    Ok(())
}

async fn key_event(
    state: &AppState,
    kind: &'static str,
    key_id: &str,
    user_id: &str,
    meta: &RequestMeta,
    outcome: crate::audit::Outcome,
) -> sqlx::Result<()> {
    let mut conn = state.db.pool.acquire().await?;
    let ev = crate::audit::Event::own(kind, user_id, outcome)
        .on("api_key", key_id)
        .by_key(key_id);
    crate::audit::record(&mut conn, &state.clock, meta, ev).await
}

/// Where the extractor leaves its rate-limit decision for [`rate_limit_headers`].
#[derive(Clone, Default)]
struct RateSlot(Arc<Mutex<Option<Decision>>>);

/// Adds `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` to key-authenticated
/// answers (the extractor decides; this layer writes the headers).
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

pub async fn rate_limit_headers(mut req: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    let decision = *slot.0.lock().unwrap_or_else(|e| e.into_inner());
    // No headers when key limits are turned off (limit 0).
    if let Some(d) = decision.filter(|d| d.limit > 0) {
        let h = res.headers_mut();
        // Room for these three and what the outer layers add (security headers, Cache-Control,
        // the request id) in one step: a map that grows later re-hashes every header in it.
        h.reserve(3 + LATER_HEADERS);
        h.insert(RATELIMIT_LIMIT, number_value(d.limit.into()));
        h.insert(RATELIMIT_REMAINING, number_value(d.remaining.into()));
        h.insert(RATELIMIT_RESET, number_value(d.reset_secs));
    }
    res
}

/// Headers the layers outside [`rate_limit_headers`] add to an API answer, at most.
const LATER_HEADERS: usize = 6;

/// Headers of a key-authenticated answer with a body: its `Content-Type`, the three
/// `RateLimit-*` and the later ones. A handler that makes its answer's header map this big
/// spares it from growing.
pub const ANSWER_HEADERS: usize = 1 + 3 + LATER_HEADERS;

/// A number as a header value. Numbers below 1024 (every `RateLimit-*` value under the default
/// limits) are static values made once: no formatting, allocating or freeing per answer.
fn number_value(n: u64) -> HeaderValue {
    const SMALL: usize = 1024;
    static TABLE: std::sync::LazyLock<Vec<HeaderValue>> = std::sync::LazyLock::new(|| {
        let digits: &'static str = (0..SMALL).map(|n| n.to_string()).collect::<String>().leak();
        let mut end = 0;
        (0..SMALL)
            .map(|n| {
                let start = end;
                end += n.checked_ilog10().unwrap_or(0) as usize + 1;
                HeaderValue::from_static(&digits[start..end])
            })
            .collect()
    });
    match usize::try_from(n).ok().and_then(|i| TABLE.get(i)) {
        Some(v) => v.clone(),
        None => HeaderValue::from(n),
    }
}

/// The server's key kind: `pfn_test_` keys while the bundled Tarabut sandbox is in use (their
/// data is sandbox data), `pfn_live_` against a real Tarabut. The other kind is `invalid_key`.
pub fn server_key_env(state: &AppState) -> KeyEnv {
    if state.banks.is_sandbox() {
        KeyEnv::Test
    } else {
        KeyEnv::Live
    }
}

/// An authenticated caller on a route that accepts keys: a browser session (every scope, the
/// personal workspace) or an API key (its scopes, its workspace). A request with a Bearer header
/// is judged by the key alone. Derefs to who it is ([`WhoAmI`]: user, scopes, workspace), which
/// a key builds once and shares with every request that uses it (no per-request copies).
pub struct Caller<N: Need = AnyScope> {
    principal: Arc<WhoAmI>,
    pub key: Option<Arc<CachedKey>>,
    _need: PhantomData<N>,
}

impl<N: Need> std::ops::Deref for Caller<N> {
    type Target = WhoAmI;
    fn deref(&self) -> &WhoAmI {
        &self.principal
    }
}

/// `?workspaceId=` on a key-accepting route.
fn requested_workspace(parts: &Parts) -> Option<String> {
    let query = parts.uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "workspaceId")
        .map(|(_, v)| v.into_owned())
}

/// 403 `forbidden` on an owners-only route for a member of the workspace.
fn owners_only<N: Need>(principal: &WhoAmI) -> Result<()> {
    if N::OWNER && principal.workspace_role != "owner" {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only owners of this workspace can do this.",
        ));
    }
    Ok(())
}

fn unauthorized(code: &'static str, message: &'static str) -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// Who a caller without a Bearer header is: the browser session's user, in the personal
/// workspace or (`?workspaceId=`) one they are a member of.
async fn session_principal(parts: &mut Parts, state: &AppState) -> Result<Arc<WhoAmI>> {
    let user = SessionUser::from_request_parts(parts, state)
        .await
        .map_err(|e| match e.code() {
            "unauthenticated" => unauthorized(
                "missing_key",
                "Send Authorization: Bearer <key>, or sign in.",
            ),
            _ => e,
        })?;
    let personal =
        user.user.principal.clone().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("user without a personal workspace"))
        })?;
    let principal = match requested_workspace(parts) {
        Some(ws) if ws != personal.workspace_id => {
            // A member may act in any of their workspaces; anything else does not exist.
            let Some(role) = db::workspaces::role_of(&state.db.pool, &ws, &user.user.id).await?
            else {
                return Err(AppError::not_found());
            };
            Arc::new(WhoAmI {
                workspace_id: ws,
                workspace_role: role,
                ..(*personal).clone()
            })
        }
        _ => personal,
    };
    Ok(principal)
}

/// The working key in `Authorization`, or the 401 that refuses it.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    auth: &HeaderValue,
    now: i64,
) -> Result<Arc<CachedKey>> {
    let malformed = || {
        unauthorized(
            "malformed_key",
            "The Authorization header does not hold a pfn API key.",
        )
    };
    let token = crate::request_meta::bearer_token(auth)
        .filter(|t| !t.is_empty())
        .ok_or_else(malformed)?;
    let digest: KeyDigest = Sha256::digest(token.as_bytes()).into();
    // Only digests of well-formed keys of this server's kind are ever cached, so a cached
    // answer needs no format check; anything else is checked before the database is asked.
    let found = match state.caches.keys.peek(&digest, now) {
        Some(found) => found,
        None => {
            let env = parse_key(token).map_err(|_| malformed())?;
            if env != server_key_env(state) {
                return Err(unauthorized(
                    "invalid_key",
                    "This key is not valid on this server.",
                ));
            }
            // An address that keeps failing gets no more database reads for a while.
            if let Some(wait) = state.caches.keys.failing(&failure_bucket(parts), now) {
                return Err(AppError::too_many("too_many_attempts", wait));
            }
            Box::pin(state.caches.keys.load(&state.db.pool, &digest)).await?
        }
    };
    let key = found.ok_or_else(|| unauthorized("invalid_key", "Unknown API key."))?;
    let deny = |reason| denied(&key, now, parts, reason);
    if key.revoked_at.is_some() {
        state.usage.record(deny("revoked"));
        return Err(unauthorized("key_revoked", "This API key was revoked."));
    }
    if key.expires_at.is_some_and(|t| t <= now) {
        state.usage.record(deny("expired"));
        return Err(unauthorized("key_expired", "This API key has expired."));
    }
    if key.owner_disabled {
        return Err(unauthorized(
            "account_disabled",
            "The account that owns this key is disabled.",
        ));
    }
    Ok(key)
}

/// A refused use of `key`, for the usage writer. Who asked (IP, user agent) is only read when
/// something is recorded.
fn denied(key: &CachedKey, now: i64, parts: &Parts, reason: &'static str) -> Usage {
    Usage::Denied {
        key_id: key.id.clone(),
        user_id: key.user_id.clone(),
        at: now,
        meta: RequestMeta::from_parts(parts),
        reason,
    }
}

/// The failed-authentication bucket of the request's client address.
fn failure_bucket(parts: &Parts) -> String {
    format!(
        "keyfail:{}",
        crate::request_meta::ip_key(&RequestMeta::from_parts(parts))
    )
}

/// Counts a refused key toward its address's limit (`PFN_KEY_FAILURES_PER_IP_PER_MIN`). Past
/// it the answer is 429 `too_many_attempts`, and until the bucket refills, unknown keys from
/// that address are refused without reading the database: the checksum is public, so a flood
/// of well-formed random keys would otherwise cost a read each.
async fn failed(parts: &Parts, state: &AppState, refused: AppError) -> AppError {
    let per_min = state.config.limits.key_failures_per_ip_per_min;
    if refused.code() == "too_many_attempts" || per_min == 0 {
        return refused;
    }
    let bucket = failure_bucket(parts);
    match state.limiter.hit(&bucket, Rate::per_minute(per_min)).await {
        Ok(()) => refused,
        Err(wait) => {
            state
                .caches
                .keys
                .fail_until(bucket, state.clock.now() + wait as i64);
            AppError::too_many("too_many_attempts", wait)
        }
    }
}

impl<N: Need> FromRequestParts<AppState> for Caller<N> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Some(auth) = parts.headers.get(header::AUTHORIZATION) else {
            // Boxed, like the database load below: the key path's future stays small, and
            // axum moves it around whole.
            let principal = Box::pin(session_principal(parts, state)).await?;
            owners_only::<N>(&principal)?;
            return Ok(Self {
                principal,
                key: None,
                _need: PhantomData,
            });
        };
        let now = state.clock.now();
        let key = match authenticate(parts, state, auth, now).await {
            Ok(key) => key,
            Err(refused) => return Err(Box::pin(failed(parts, state, refused)).await),
        };
        if requested_workspace(parts).is_some_and(|ws| ws != key.workspace_id) {
            return Err(AppError::not_found());
        }
        if let Some(scope) = N::SCOPE {
            if !scope_allows(&key.scopes, scope) {
                state.usage.record(denied(&key, now, parts, "scope"));
                return Err(AppError::InsufficientScope(scope));
            }
        }
        owners_only::<N>(&key.principal)?;
        // Only requests that pass authentication and scope checks spend tokens.
        let limits = &state.config.limits;
        let decision = if limits.key_burst == 0 || limits.key_per_min == 0 {
            Decision {
                allowed: true,
                limit: 0,
                remaining: 0,
                reset_secs: 0,
                retry_after: 0,
            }
        } else {
            state
                .limiter
                .take(
                    &key.bucket,
                    limits.key_burst,
                    f64::from(limits.key_per_min) / 60.0,
                )
                .await
        };
        if let Some(slot) = parts.extensions.get::<RateSlot>() {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(decision);
        }
        if !decision.allowed {
            return Err(AppError::too_many("rate_limited", decision.retry_after));
        }
        if key.report_due(now) {
            state.usage.record(Usage::Used {
                key_id: key.id.clone(),
                user_id: key.user_id.clone(),
                at: now,
                meta: RequestMeta::from_parts(parts),
            });
        }
        Ok(Self {
            principal: key.principal.clone(),
            key: Some(key),
            _need: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_values_are_the_decimal_numbers_inside_and_beyond_the_table() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            599,
            600,
            999,
            1000,
            1023,
            1024,
            86_400,
            u64::MAX,
        ] {
            assert_eq!(number_value(n).to_str().unwrap(), n.to_string(), "{n}");
        }
    }
}
