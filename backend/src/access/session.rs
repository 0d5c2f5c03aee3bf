//! Browser sessions: tower-sessions over our own store in the application database.
//!
//! The cookie carries the tower-sessions id (128 bits from a CSPRNG); the `sessions` table keys
//! rows by its SHA-256, so a copy of the database cannot be replayed as cookies. Idle expiry
//! (7 days) is enforced on read; `last_seen_at` is written at most once an hour, so ordinary
//! reads never write. Absolute expiry is 30 days from sign-in. Sessions and their users are
//! read through this replica's cache ([`super::cache`]), so an ordinary request reads no rows.

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use axum::{extract::FromRequestParts, http::request::Parts};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, SessionStore},
    Expiry, Session,
};

use sha2::{Digest, Sha256};

use shared::{Role, User};

use super::doc::{Access, Documented, Who};
use crate::cache::sessions::{
    password_fingerprint, AuthData, CachedRecord, CachedUser, SessionDigest,
};
use crate::clock::rfc3339;
use crate::{
    db::{self, users::UserRow},
    error::{AppError, Result},
    request_meta::{Arrival, RequestMeta},
    state::AppState,
};

pub const IDLE_SECS: i64 = 7 * 24 * 3600;
pub const ABSOLUTE_SECS: i64 = 30 * 24 * 3600;
/// `last_seen_at` granularity: the most a session row is written by reads.
const TOUCH_SECS: i64 = 3600;
const KEY: &str = "auth";

#[derive(Clone)]
pub struct DbSessionStore {
    state: AppState,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The SHA-256 of the id as its cookie shows it (22 characters of base64, as tower-sessions
/// displays an `Id`: its little-endian bytes in URL-safe base64 without padding), written
/// into a buffer on the stack without the formatting machinery: every signed-in request
/// hashes it.
fn digest_of(id: &Id) -> SessionDigest {
    use base64::Engine;
    let mut text = [0; 22];
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode_slice(id.0.to_le_bytes(), &mut text)
        .expect("a session id is 22 characters");
    Sha256::digest(text).into()
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn auth_of(record: &Record) -> session_store::Result<(AuthData, String)> {
    let auth = record
        .data
        .get(KEY)
        .ok_or_else(|| session_store::Error::Encode("session without user".into()))?;
    let auth: AuthData = serde_json::from_value(auth.clone())
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let data = serde_json::to_string(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok((auth, data))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let (auth, data) = auth_of(record)?;
        loop {
            let id_hash = hex::encode(digest_of(&record.id));
            let session = db::sessions::NewSession {
                id_hash: &id_hash,
                public_id: &auth.sid,
                user_id: &auth.uid,
                data: &data,
                ip: auth.ip.as_deref(),
                user_agent: auth.ua.as_deref(),
                sign_in_method: Some(auth.how.as_str()).filter(|h| !h.is_empty()),
                created_at: auth.created,
                last_seen_at: auth.seen,
                expires_at: record.expiry_date.unix_timestamp(),
            };
            if db::sessions::insert(&self.state.db.pool, session)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default(); // a collision of 128 random bits: draw again
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // UPDATE only: a session revoked while this request ran must stay revoked.
        let (auth, data) = auth_of(record)?;
        let digest = digest_of(&record.id);
        db::sessions::save(
            &self.state.db.pool,
            &hex::encode(digest),
            &data,
            auth.ip.as_deref(),
            auth.ua.as_deref(),
            auth.seen,
            record.expiry_date.unix_timestamp(),
        )
        .await
        .map_err(backend)?;
        self.state.forget_session(&digest).await;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let digest = digest_of(id);
        let now = self.state.clock.now();
        let cache = &self.state.caches.sessions;
        if let Some(hit) = cache.record(&digest, now).filter(|r| r.expires_at > now) {
            return Ok(Some(Record {
                id: *id,
                data: hit.data.clone(),
                expiry_date: OffsetDateTime::from_unix_timestamp(hit.expires_at)
                    .map_err(backend)?,
            }));
        }
        let epoch = cache.epoch();
        let row = db::sessions::load(&self.state.db.pool, &hex::encode(digest), now)
            .await
            .map_err(backend)?;
        let Some((data, expires, user_id)) = row else {
            return Ok(None);
        };
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let record = Record {
            id: *id,
            data,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires).map_err(backend)?,
        };
        cache.put_record(
            epoch,
            digest,
            CachedRecord {
                user_id,
                auth: record
                    .data
                    .get(KEY)
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .map(Arc::new),
                data: record.data.clone(),
                expires_at: expires,
            },
        );
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let digest = digest_of(id);
        db::sessions::delete_by_hash(&self.state.db.pool, &hex::encode(digest))
            .await
            .map_err(backend)?;
        self.state.forget_session(&digest).await;
        Ok(())
    }
}

fn expiry_at(ts: i64) -> Option<Expiry> {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .map(Expiry::AtDateTime)
}

/// Signs `user_id` in on this request's session under a fresh id (no fixation); `how` is the
/// sign-in method (`password`, `google`) the sessions list shows.
pub async fn start(
    session: &Session,
    state: &AppState,
    user: &UserRow,
    meta: &RequestMeta,
    how: &'static str,
) -> Result<()> {
    if session.id().is_some() {
        // Drop whatever the old session held and move to a new id; the old row is deleted.
        // (`flush` alone would re-create the session under the old id: fixation.)
        session.clear().await;
        session.cycle_id().await?;
    }
    let now = state.clock.now();
    let auth = AuthData {
        uid: user.id.clone(),
        sid: db::new_id(),
        ip: meta.ip.clone(),
        ua: meta.user_agent.clone(),
        created: now,
        seen: now,
        pw: password_fingerprint(user.password_hash.as_deref()),
        authed: now,
        how: how.into(),
    };
    session.insert(KEY, &auth).await?;
    session.set_expiry(expiry_at(now + ABSOLUTE_SECS));
    Ok(())
}

/// A request from a browser, signed in or not: API keys are refused with 403
/// `session_required` (the sign-in, sign-up and password routes are the browser's; a key has
/// no business there). Operations that take it declare `security((), ("session" = []))`.
pub struct Browser;

impl<S: Send + Sync> FromRequestParts<S> for Browser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        if crate::request_meta::has_bearer(&parts.headers) {
            return Err(session_required());
        }
        Ok(Self)
    }
}

/// The browser session `http::edge` gave the request (none for a request with a Bearer key, or
/// one that did not come through it).
fn request_session(parts: &Parts) -> Option<Session> {
    parts.extensions.get::<Arrival>()?.session.clone()
}

/// The browser's session, signed in or not, for the routes that sign in or out: a [`Browser`]
/// (API keys get 403 `session_required`) with its tower-sessions [`Session`]. (Not
/// tower-sessions' own extractor: `http::edge` keeps the session in the request's
/// [`Arrival`].)
pub struct BrowserSession(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for BrowserSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Browser::from_request_parts(parts, state).await?;
        request_session(parts).map(Self).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "a browser request without a session: it did not come through http::edge"
            ))
        })
    }
}

/// 403 `session_required`: an API key on a route that only a browser may use.
fn session_required() -> AppError {
    AppError::new(
        axum::http::StatusCode::FORBIDDEN,
        "session_required",
        "This route needs a browser session; API keys cannot use it.",
    )
}

/// A signed-in browser user. Rejects Bearer requests (these routes are session-only) with 403
/// `session_required`, and anything else without a live session with 401 `unauthenticated`.
/// `user` derefs to the user's row.
pub struct SessionUser {
    pub user: Arc<CachedUser>,
    pub session_id: String,
    pub session: Session,
    /// When the user last proved who they are on this session (unix seconds): sign-in or
    /// re-authentication.
    pub authenticated_at: i64,
}

/// A user, how a session acts for them and their `me` answer, from this replica's cache or read
/// afresh (and cached). `now`: unix seconds.
pub async fn cached_user(
    state: &AppState,
    user_id: &str,
    now: i64,
) -> Result<Option<Arc<CachedUser>>> {
    if let Some(hit) = state.caches.sessions.user(user_id, now) {
        return Ok(Some(hit));
    }
    let epoch = state.caches.sessions.epoch();
    let mut conn = state.db.pool.acquire().await?;
    let Some(row) = db::users::by_id(&mut *conn, user_id).await? else {
        return Ok(None);
    };
    let me = shared::auth::UserBody {
        user: view_of(
            &row,
            db::users::linked_providers(&mut *conn, user_id).await?,
        ),
    };
    let user = Arc::new(CachedUser {
        principal: db::workspaces::personal_of(&mut *conn, user_id)
            .await?
            .map(|workspace_id| {
                Arc::new(shared::keys::WhoAmI {
                    user_id: row.id.clone(),
                    email: row.email.clone(),
                    auth: "session".into(),
                    key_id: None,
                    scopes: shared::keys::SCOPES
                        .iter()
                        .map(|(s, _)| s.to_string())
                        .collect(),
                    workspace_id,
                    workspace_role: "owner".into(),
                    allowed_ips: None,
                    account_ids: None,
                    quota: None,
                    rate_limit: None,
                })
            }),
        password_fingerprint: password_fingerprint(row.password_hash.as_deref()),
        second_factor: db::mfa::has_factor(&mut *conn, user_id).await?,
        me_json: serde_json::to_vec(&me)
            .map_err(|e| AppError::Internal(e.into()))?
            .into(),
        row,
    });
    state.caches.sessions.put_user(epoch, user.clone());
    Ok(Some(user))
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if crate::request_meta::has_bearer(&parts.headers) {
            return Err(session_required());
        }
        let session = request_session(parts).ok_or_else(AppError::unauthenticated)?;
        let now = state.clock.now();
        // The cached record's parsed sign-in, without loading the session through
        // tower-sessions (which would copy and re-parse it); the store's own path otherwise.
        let cached = session
            .id()
            .and_then(|id| state.caches.sessions.record(&digest_of(&id), now))
            .filter(|r| r.expires_at > now)
            .and_then(|r| r.auth.clone());
        let auth = match cached {
            Some(auth) => auth,
            None => match session.get::<AuthData>(KEY).await? {
                Some(auth) => Arc::new(auth),
                None => return Err(AppError::unauthenticated()),
            },
        };
        if now >= auth.created + ABSOLUTE_SECS || now >= auth.seen + IDLE_SECS {
            tracing::debug!("session expired");
            session.flush().await?;
            return Err(AppError::unauthenticated());
        }
        let user = match cached_user(state, &auth.uid, now).await? {
            Some(u) if u.disabled_at.is_none() && u.password_fingerprint == auth.pw => u,
            _ => {
                session.flush().await?;
                return Err(AppError::unauthenticated());
            }
        };
        if now - auth.seen >= TOUCH_SECS {
            let meta = RequestMeta::from_parts(parts);
            let touched = AuthData {
                seen: now,
                ip: meta.ip,
                ua: meta.user_agent,
                ..(*auth).clone()
            };
            session.insert(KEY, &touched).await?;
            session.set_expiry(expiry_at(auth.created + ABSOLUTE_SECS));
        }
        Ok(Self {
            user,
            session_id: auth.sid.clone(),
            session,
            authenticated_at: auth.authed,
        })
    }
}

/// Who a live browser session is signed in as, and which of their sessions it is.
pub struct SignIn {
    pub user_id: String,
    /// The session's public id (as in `GET /api/v1/auth/sessions`).
    pub session_id: String,
}

/// The sign-in this browser session carries, if it is live (for flows that must not fail when
/// signed out, like the Google callback or an emailed link).
pub async fn live_sign_in(session: &Session, state: &AppState) -> Option<SignIn> {
    let auth = session.get::<AuthData>(KEY).await.ok().flatten()?;
    let now = state.clock.now();
    (now < auth.created + ABSOLUTE_SECS && now < auth.seen + IDLE_SECS).then_some(SignIn {
        user_id: auth.uid,
        session_id: auth.sid,
    })
}

/// The user this browser session belongs to, if it is live.
pub async fn live_user_id(session: &Session, state: &AppState) -> Option<String> {
    live_sign_in(session, state).await.map(|s| s.user_id)
}

/// The user proved who they are again on this session, at `now` (step-up).
pub async fn reauthenticated(session: &Session, now: i64) -> Result<()> {
    if let Some(mut auth) = session.get::<AuthData>(KEY).await? {
        auth.authed = now;
        session.insert(KEY, &auth).await?;
    }
    Ok(())
}

/// After the signed-in user changed their own password: keep this session valid.
pub async fn refresh_fingerprint(session: &Session, new_hash: &str) -> Result<()> {
    if let Some(mut auth) = session.get::<AuthData>(KEY).await? {
        auth.pw = password_fingerprint(Some(new_hash));
        session.insert(KEY, &auth).await?;
    }
    Ok(())
}

/// How the API shows a user.
pub fn view_of(u: &UserRow, linked_providers: Vec<String>) -> User {
    User {
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role: if u.role == "admin" {
            Role::Admin
        } else {
            Role::User
        },
        email_verified: u.email_verified_at.is_some(),
        created_at: rfc3339(u.created_at),
        has_password: u.password_hash.is_some(),
        linked_providers,
    }
}

/// Who [`SessionUser`] admits and how it refuses (also the first part of every extractor built
/// on it).
impl Documented for SessionUser {
    fn document(access: &mut Access) {
        access.admit(&[Who::Session]);
        access.refuse(
            401,
            "unauthenticated",
            "no session cookie, or the session ended or expired.",
        );
        refuse_keys(access);
    }
}

impl Documented for Browser {
    fn document(access: &mut Access) {
        access.admit(&[Who::Anyone, Who::Session]);
        refuse_keys(access);
    }
}

impl Documented for BrowserSession {
    fn document(access: &mut Access) {
        Browser::document(access);
    }
}

fn refuse_keys(access: &mut Access) {
    access.refuse(
        403,
        "session_required",
        "a request with an API key (`Authorization: Bearer`); this route takes only a browser.",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest is taken over the id exactly as its cookie shows it (`Id`'s `Display`).
    #[test]
    fn the_digest_is_of_the_id_as_its_cookie_shows_it() {
        let ids = [
            0,
            1,
            -1,
            i128::MIN,
            i128::MAX,
            0x0123_4567_89ab_cdef_0011_2233_4455_6677,
        ]
        .into_iter()
        .map(Id)
        .chain((0..100).map(|_| Id::default()));
        for id in ids {
            let shown = id.to_string();
            assert_eq!(shown.len(), 22);
            let expected: SessionDigest = Sha256::digest(shown.as_bytes()).into();
            assert_eq!(digest_of(&id), expected, "{shown}");
        }
    }
}
