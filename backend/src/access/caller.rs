//! The caller of a route that takes API keys or a browser session: who they are, in which
//! workspace, with which scopes and role, checked once per request.

use std::{marker::PhantomData, sync::Arc};

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderValue, StatusCode},
};
use sha2::{Digest, Sha256};
use shared::keys::{parse_key, scope_allows, KeyEnv, WhoAmI};

use super::doc::{Access, Documented, Param, Who};
use crate::{
    access::session::SessionUser,
    cache::keys::{CachedKey, KeyDigest},
    db::{self, Reach},
    error::{AppError, Result},
    ratelimit::{Decision, Rate},
    request_meta::{Arrival, RequestMeta},
    state::AppState,
    usage::Usage,
};

/// Which scope a route needs from an API key (sessions have every scope), whether only a
/// workspace owner may call it, and whether it acts on the whole workspace.
pub trait Need: Send + Sync + 'static {
    const SCOPE: Option<&'static str>;
    /// Only owners of the workspace the request acts in (a key acts with its maker's role).
    const OWNER: bool = false;
    /// The route reads or changes the workspace as a whole (budgets, bank connections,
    /// webhooks, new accounts, the salary insight): a key restricted to some accounts gets 403
    /// `account_restricted`. Other routes see only the key's accounts ([`Caller::reach`]).
    const WHOLE: bool = false;
}

/// `N`, for owners of the workspace only: members get 403 `forbidden`.
pub struct Owner<N>(PhantomData<N>);
impl<N: Need> Need for Owner<N> {
    const SCOPE: Option<&'static str> = N::SCOPE;
    const OWNER: bool = true;
    const WHOLE: bool = N::WHOLE;
}

/// `N`, on the workspace as a whole: refused to keys restricted to some accounts.
pub struct Whole<N>(PhantomData<N>);
impl<N: Need> Need for Whole<N> {
    const SCOPE: Option<&'static str> = N::SCOPE;
    const OWNER: bool = N::OWNER;
    const WHOLE: bool = true;
}

/// Any authenticated caller, whatever its scopes.
pub struct AnyScope;
impl Need for AnyScope {
    const SCOPE: Option<&'static str> = None;
}

macro_rules! scopes {
    ($($name:ident = $scope:literal $(, $whole:ident)?);* $(;)?) => {$(
        #[doc = concat!("Routes that need `", $scope, "`.")]
        pub struct $name;
        impl Need for $name {
            const SCOPE: Option<&'static str> = Some($scope);
            $(const WHOLE: bool = scopes!(@$whole);)?
        }
    )*};
    (@whole) => { true };
}

// Budgets, bank connections and webhooks belong to the workspace as a whole.
scopes!(
    ReadAccounts = "read:accounts";
    WriteAccounts = "write:accounts";
    ReadTransactions = "read:transactions";
    WriteTransactions = "write:transactions";
    ReadBudgets = "read:budgets", whole;
    WriteBudgets = "write:budgets", whole;
    ReadInsights = "read:insights";
    ReadConnections = "read:connections", whole;
    WriteConnections = "write:connections", whole;
    ReadWebhooks = "read:webhooks", whole;
    WriteWebhooks = "write:webhooks", whole;
);

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
    /// A session caller's last authentication (unix seconds); `None` for a key.
    session_authenticated_at: Option<i64>,
    /// What is left of a key's quota after this request; `None` without a quota.
    pub quota_left: Option<i64>,
    _need: PhantomData<N>,
}

impl<N: Need> Caller<N> {
    /// When a session caller last authenticated (unix seconds); `None` for an API key.
    pub fn session_authenticated_at(&self) -> Option<i64> {
        self.session_authenticated_at
    }

    /// The accounts the caller reaches: `None`, the whole workspace (a session, an
    /// unrestricted key); `Some(ids)`, only those (a restricted key; ids of deleted accounts
    /// reach nothing, and an empty list nothing at all). Every query of account data takes it.
    pub fn reach(&self) -> Reach<'_> {
        self.principal.account_ids.as_deref()
    }
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
        return Err(super::not_an_owner());
    }
    Ok(())
}

pub(super) fn unauthorized(code: &'static str, message: &'static str) -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// Who a caller without a Bearer header is: the browser session's user, in the personal
/// workspace or (`?workspaceId=`) one they are a member of; and when the session last
/// authenticated.
async fn session_principal(parts: &mut Parts, state: &AppState) -> Result<(Arc<WhoAmI>, i64)> {
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
    Ok((principal, user.authenticated_at))
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
    if key.revoked_at.is_some() {
        refuse(state, &key, now, parts, "revoked");
        return Err(unauthorized("key_revoked", "This API key was revoked."));
    }
    if key.expires_at.is_some_and(|t| t <= now) {
        refuse(state, &key, now, parts, "expired");
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

/// A key that `/mcp` has already authenticated, checked and charged for this request. A tool
/// call reaches its route in-process with this in the request's extensions (which no client
/// can set): [`Caller`] then judges it by scope, workspace and role only, and spends no second
/// token of the key's rate limit.
#[derive(Clone)]
pub struct Vouched(pub Arc<CachedKey>);

impl Vouched {
    /// Records that the key was refused for lacking a scope (audit `key.denied`), as a route's
    /// [`Caller`] does: for a refusal `/mcp` answers itself, before any route runs.
    pub fn refused_scope(&self, state: &AppState, parts: &Parts) {
        refuse(state, &self.0, state.clock.now(), parts, "scope");
    }
}

/// What a key may do once it is known to work: act in its own workspace only, with its scope
/// and its maker's role, and on the whole workspace only when it is not restricted to some
/// accounts.
fn admit_key<N: Need>(parts: &Parts, state: &AppState, key: &CachedKey, now: i64) -> Result<()> {
    if requested_workspace(parts).is_some_and(|ws| ws != key.workspace_id) {
        return Err(AppError::not_found());
    }
    if let Some(scope) = N::SCOPE {
        if !scope_allows(&key.scopes, scope) {
            refuse(state, key, now, parts, "scope");
            return Err(AppError::InsufficientScope(scope));
        }
    }
    owners_only::<N>(&key.principal)?;
    if N::WHOLE && key.limits.account_ids.is_some() {
        refuse(state, key, now, parts, "accounts");
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "account_restricted",
            "This key is limited to some accounts; this operation acts on the whole workspace.",
        ));
    }
    Ok(())
}

/// Records a refusal of a working key: counted for its usage, audited `key.denied`.
fn refuse(state: &AppState, key: &CachedKey, now: i64, parts: &Parts, reason: &'static str) {
    key.counts(&state.usage).denied(reason);
    state.usage.record(denied(key, now, parts, reason));
}

/// Spends one use of the key's quota: what is left, or 429 `quota_exhausted` until the refill.
async fn take_quota(
    parts: &Parts,
    state: &AppState,
    key: &CachedKey,
    now: i64,
) -> Result<Option<i64>> {
    let Some(quota) = key.limits.quota else {
        return Ok(None);
    };
    let period = quota
        .refill
        .map_or(i64::MIN, |r| crate::clock::period_start(r, now));
    if let Some(left) = db::keys::take_quota(&state.db.pool, &key.id, period).await? {
        return Ok(Some(left));
    }
    refuse(state, key, now, parts, "quota");
    Err(match quota.refill {
        Some(refill) => {
            let at = crate::clock::next_refill(refill, now);
            AppError::Api {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "quota_exhausted",
                message: format!(
                    "This key's quota of {} requests is used up; it refills at {}.",
                    quota.limit,
                    crate::clock::rfc3339(at)
                )
                .into(),
                retry_after: Some((at - now).max(1) as u64),
            }
        }
        None => AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "quota_exhausted",
            format!(
                "This key's quota of {} requests is used up and does not refill.",
                quota.limit
            ),
        ),
    })
}

impl<N: Need> FromRequestParts<AppState> for Caller<N> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if let Some(Vouched(key)) = parts.extensions.get::<Vouched>() {
            admit_key::<N>(parts, state, key, state.clock.now())?;
            return Ok(Self {
                principal: key.principal.clone(),
                key: Some(key.clone()),
                session_authenticated_at: None,
                quota_left: None,
                _need: PhantomData,
            });
        }
        let Some(auth) = parts.headers.get(header::AUTHORIZATION) else {
            // Boxed, like the database load below: the key path's future stays small, and
            // axum moves it around whole.
            let (principal, authenticated_at) = Box::pin(session_principal(parts, state)).await?;
            owners_only::<N>(&principal)?;
            return Ok(Self {
                principal,
                key: None,
                session_authenticated_at: Some(authenticated_at),
                quota_left: None,
                _need: PhantomData,
            });
        };
        let now = state.clock.now();
        let key = match authenticate(parts, state, auth, now).await {
            Ok(key) => key,
            Err(refused) => return Err(Box::pin(failed(parts, state, refused)).await),
        };
        let ip = Arrival::ip_of(parts);
        if !key.allows_ip(ip) {
            refuse(state, &key, now, parts, "ip");
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "ip_not_allowed",
                "This key may not be used from this address.",
            ));
        }
        admit_key::<N>(parts, state, &key, now)?;
        // Only requests that pass authentication and scope checks spend tokens.
        let limits = &state.config.limits;
        let (burst, per_min) = match key.limits.rate {
            Some((per_min, burst)) => (burst as u32, per_min as u32),
            None => (limits.key_burst, limits.key_per_min),
        };
        let decision = if burst == 0 || per_min == 0 {
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
                .take(&key.bucket, burst, f64::from(per_min) / 60.0)
                .await
        };
        if let Some(slot) = parts
            .extensions
            .get::<Arrival>()
            .and_then(|a| a.rate.as_ref())
        {
            slot.set(decision);
        }
        let counts = key.counts(&state.usage);
        if !decision.allowed {
            counts.rate_limited();
            return Err(AppError::too_many("rate_limited", decision.retry_after));
        }
        // Boxed, and only for a key with a quota: the common path stays small.
        let quota_left = if key.limits.quota.is_some() {
            Box::pin(take_quota(parts, state, &key, now)).await?
        } else {
            None
        };
        counts.ok();
        if let Some(network) = ip.and_then(|ip| key.new_network(ip)) {
            state.usage.record(Usage::Network {
                key_id: key.id.clone(),
                user_id: key.user_id.clone(),
                at: now,
                network,
                meta: RequestMeta::from_parts(parts),
            });
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
            session_authenticated_at: None,
            quota_left,
            _need: PhantomData,
        })
    }
}

/// The refusals of a key that does not work (401), and of one used too often (429).
const KEY_REFUSALS: [(&str, &str); 5] = [
    ("malformed_key", "the `Authorization` header does not hold a pfn API key."),
    ("invalid_key", "an unknown key, or a key of the other kind than this server's (a test key where pfn talks to a real Tarabut, a live key on the sandbox)."),
    ("key_revoked", "the key was revoked."),
    ("key_expired", "the key has expired."),
    ("account_disabled", "the account that owns the key is disabled."),
];

pub(super) fn refuse_broken_keys(access: &mut Access) {
    for (code, text) in KEY_REFUSALS {
        access.refuse(401, code, text);
    }
}

pub(super) fn refuse_restricted_keys(access: &mut Access) {
    access.refuse(
        403,
        "ip_not_allowed",
        "the key has an address allowlist (`allowedIps`) that does not hold the client's address.",
    );
}

pub(super) fn refuse_busy_keys(access: &mut Access) {
    access.refuse(429, "rate_limited", "the key's rate limit (or the operation's own, where its description names one); wait `Retry-After` seconds.");
    access.refuse(429, "quota_exhausted", "the key's quota is used up; it refills at the time the message names (`Retry-After` seconds), or never if it has no refill.");
    access.refuse(429, "too_many_attempts", "too many refused API keys came from this address in the last minute; wait `Retry-After` seconds.");
}

impl<N: Need> Documented for Caller<N> {
    fn document(access: &mut Access) {
        access.admit(&[Who::Key(N::SCOPE), Who::Session]);
        access.read(Param {
            name: "workspaceId",
            description: "The workspace the request acts in. Defaults to your personal workspace (session) or the key's workspace; another workspace a key does not belong to is 404.",
            example: "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d",
        });
        access.refuse(
            401,
            "missing_key",
            "no `Authorization` header, and no browser session.",
        );
        refuse_broken_keys(access);
        if N::SCOPE.is_some() {
            access.refuse(
                403,
                "insufficient_scope",
                "the key lacks the operation's scope (`error.fields.scope` names it).",
            );
        }
        if N::OWNER {
            access.refuse(
                403,
                "forbidden",
                "a member of the workspace who is not an owner (a key acts with its maker's role).",
            );
        }
        if N::WHOLE {
            access.refuse(
                403,
                "account_restricted",
                "the key is limited to some accounts (`accountIds`), and this operation acts on the whole workspace.",
            );
        }
        refuse_restricted_keys(access);
        access.refuse(404, "not_found", "`workspaceId` names a workspace the caller is not a member of (or that does not exist).");
        refuse_busy_keys(access);
    }
}
