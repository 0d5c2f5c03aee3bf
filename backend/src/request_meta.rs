//! Who is asking: the client's address (proxy-aware, set by `http::middleware`), its user
//! agent, and the Bearer credential it carries, as sessions, the audit log and rate limits see
//! them.

use std::{convert::Infallible, net::IpAddr};

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderValue},
};
use tower_sessions::Session;

use crate::ratelimit::RateSlot;

/// What `http::edge` gives a request before its route, in one extension: each extension is a
/// box and a hash-map insert, and the map re-hashes when it passes three (axum adds two of its
/// own), so these share one (docs/benchmarks.md, "The request path").
#[derive(Clone, Default)]
pub struct Arrival {
    /// The client's address: the socket peer, or, behind trusted proxies, the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub ip: Option<IpAddr>,
    /// Where the key extractor leaves its rate-limit decision: requests with an
    /// `Authorization` header.
    pub rate: Option<RateSlot>,
    /// The browser session: requests without a Bearer key (which are never
    /// session-authenticated), read by `access::session`'s extractors.
    pub session: Option<Session>,
}

impl Arrival {
    /// The client's address, if the request came through `http::edge` (or an in-process call
    /// that passed it on).
    pub fn ip_of(parts: &Parts) -> Option<IpAddr> {
        parts.extensions.get::<Self>().and_then(|a| a.ip)
    }
}

/// Who is asking: client IP (proxy-aware) and user agent, for audit rows and sessions.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn from_parts(parts: &Parts) -> Self {
        Self {
            ip: Arrival::ip_of(parts).map(|ip| ip.to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().filter(|c| !c.is_control()).take(512).collect()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts))
    }
}

/// The per-IP throttle key: the address, or its /64 for IPv6 (one subscriber's allocation).
pub fn ip_key(meta: &RequestMeta) -> String {
    match meta
        .ip
        .as_deref()
        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
    {
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

const BEARER: &[u8] = b"bearer ";

/// The credential of an `Authorization: Bearer <token>` value (trimmed, possibly empty), or
/// `None` when the scheme is not Bearer.
pub fn bearer_token(value: &HeaderValue) -> Option<&str> {
    // On bytes: this runs on every key request, and `to_str` would first check every byte.
    let v = value.as_bytes();
    let (scheme, token) = v.split_at_checked(BEARER.len())?;
    if !scheme.eq_ignore_ascii_case(BEARER) {
        return None;
    }
    std::str::from_utf8(token.trim_ascii()).ok()
}

/// Whether the request carries `Authorization: Bearer …`, whatever the credential: such a
/// request is never session-authenticated, and the key extractor judges the credential.
pub fn has_bearer(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).is_some_and(|v| {
        v.as_bytes()
            .get(..BEARER.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(BEARER))
    })
}

/// The value of the cookie `name` in the request's `Cookie` headers (the first one, trimmed).
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}
