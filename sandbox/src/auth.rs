//! Access tokens: the client-credentials token endpoint (§2) and the extractors that put the
//! caller in each handler's signature. Tokens are opaque random strings looked up in the store,
//! so expiry follows the sandbox clock and a token can never be forged or decoded.

use axum::{
    extract::{FromRequestParts, State},
    http::{header, request::Parts, HeaderMap},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::Duration;

use crate::{
    error::{ApiError, ApiResult, Body},
    state::{AppState, Shared},
    store::Token,
};

/// The header that binds a token to one end user (§2.1).
pub(crate) const CUSTOMER_HEADER: &str = "x-tg-customeruserid";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    /// One sample app sends `scopes`; accept both since the docs do not show the key.
    #[serde(alias = "scopes")]
    scope: Option<String>,
}

/// `POST /sandbox/token` and `POST /auth/v1/token`.
pub(crate) async fn post_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(req): Body<TokenRequest>,
) -> ApiResult<Json<Value>> {
    let required = |v: Option<String>, name: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("{name} is required")))
    };
    let client_id = required(req.client_id, "clientId")?;
    let client_secret = required(req.client_secret, "clientSecret")?;
    let grant_type = required(req.grant_type, "grantType")?;
    if grant_type != "client_credentials" {
        return Err(ApiError::invalid("grantType must be client_credentials"));
    }
    let customer = match headers.get(CUSTOMER_HEADER) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .ok()
                .filter(|s| valid_customer_id(s))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "X-TG-CustomerUserId must be 1-40 characters of A-Z, a-z, 0-9, '_' or '-'",
                    )
                })?;
            Some(v.to_string())
        }
    };
    let known = state
        .client(&client_id)
        .is_some_and(|c| constant_time_eq(c.client_secret.as_bytes(), client_secret.as_bytes()));
    if !known {
        return Err(ApiError::invalid_client());
    }
    let ttl = state.token_ttl_secs();
    let now = state.clock.now();
    let expires_at = now.checked_add(Duration::seconds(ttl)).unwrap_or(now);
    // 64 hex characters from two v4 UUIDs: opaque, unguessable, and clearly not a JWT, so a
    // client that tries to decode it finds out in tests rather than in production.
    let access_token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let scope = req.scope.unwrap_or_else(|| "accounts".to_string());
    state.write().add_token(
        access_token.clone(),
        Token {
            client_id,
            customer,
            expires_at,
        },
        now,
    );
    Ok(Json(json!({
        "accessToken": access_token,
        "tokenType": "Bearer",
        "expiresIn": ttl,
        "scope": scope,
    })))
}

/// 1-40 characters, no separators or spaces: the docs cap the length at 40 and warn against
/// PII, and a restricted alphabet keeps ids safe to echo into URLs and HTML.
pub(crate) fn valid_customer_id(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Compares secrets without an early exit, so response timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Any live token, with or without a customer (e.g. for the provider list).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub client_id: String,
    pub customer: Option<String>,
}

/// A live token minted with `X-TG-CustomerUserId`. The customer comes only from the token:
/// the header on data calls is ignored (§2.1 [P]).
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub client_id: String,
    pub id: String,
}

fn caller(parts: &Parts, state: &Shared) -> ApiResult<Caller> {
    let value = bearer(&parts.headers)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
    let now = state.clock.now();
    let store = state.read();
    let token = store.token(value, now)?;
    Ok(Caller {
        client_id: token.client_id.clone(),
        customer: token.customer.clone(),
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        caller(parts, state)
    }
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let c = caller(parts, state)?;
        let id = c.customer.ok_or_else(|| {
            ApiError::unauthorized(
                "this token has no customer; request one with the X-TG-CustomerUserId header",
            )
        })?;
        Ok(Customer {
            client_id: c.client_id,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids() {
        assert!(valid_customer_id("user_1-A"));
        assert!(valid_customer_id(&"a".repeat(40)));
        for bad in ["", "a b", "é", "a@b.c", &"a".repeat(41)] {
            assert!(!valid_customer_id(bad), "{bad}");
        }
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            "bearer  abc ".parse().expect("header"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().expect("header"));
        assert_eq!(bearer(&h), None);
    }
}
