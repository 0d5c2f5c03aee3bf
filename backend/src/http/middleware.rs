//! The rules of the request path: client IP, route guards, CSRF, security headers, error
//! reshaping. Plain functions over a request's parts or an answer; `http::edge` applies them
//! to every request, in this order, in one layer.

use std::net::{IpAddr, SocketAddr};

use axum::{
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use ipnet::IpNet;

use crate::{
    config::Web,
    error::{error_response, AppError},
    request_meta::has_bearer,
};

/// The client's address: the socket peer, or, behind trusted proxies, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // Walk from the right (the entries our proxies appended) to the first untrusted address;
    // anything left of it is client-supplied and may be forged. Stop at an unparsable entry.
    let mut client = peer;
    for entry in entries.iter().rev() {
        match forwarded_ip(entry) {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            None => break,
        }
    }
    client
}

/// An `X-Forwarded-For` entry as proxies write it: `1.2.3.4`, `2001:db8::1`, or with a port or
/// brackets (`1.2.3.4:5678`, `[2001:db8::1]:443`, `[2001:db8::1]`).
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        })
}

/// Refuses what no handler should see: an encoded NUL in the path (PostgreSQL cannot store it;
/// no id contains one) is 404, and one in a query parameter is 422 naming the parameter (for
/// every route, whatever extractor reads its query). Who may call a route is its extractors'
/// business (`crate::access`). `None`: the request may go on.
pub fn route_guards(uri: &Uri) -> Option<Response> {
    if has_encoded_nul(uri.path()) {
        return Some(AppError::not_found().into_response());
    }
    let param = uri.query().and_then(nul_parameter)?;
    Some(AppError::field(param, "must not contain NUL characters").into_response())
}

/// Whether `text` holds `%00`, an encoded NUL. Every request's path is looked at: a scan for
/// `%` (digits have no case, so no lower-cased copy, and no substring searcher to set up).
fn has_encoded_nul(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'%' && b.get(i + 1..i + 3) == Some(b"00"))
}

/// The name of the first query parameter whose name or value holds a NUL character (`%00`, the
/// only way a NUL can reach a URI), or `query` when the name itself holds one.
fn nul_parameter(query: &str) -> Option<String> {
    if !has_encoded_nul(query) {
        return None;
    }
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| {
            if k.contains('\0') {
                "query".to_string()
            } else {
                k.into_owned()
            }
        })
}

/// product.md §8: a state-changing request without a Bearer header is refused when its
/// `Origin` is foreign or `Sec-Fetch-Site` says cross-site/same-site; with a session cookie it
/// must also prove same-origin (`Origin` or `Sec-Fetch-Site: same-origin`). `None`: the
/// request may go on.
pub fn csrf(web: &Web, method: &Method, h: &HeaderMap) -> Option<Response> {
    let safe = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if safe || has_bearer(h) {
        return None;
    }
    let origin = h
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("invalid"));
    let fetch_site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let has_cookie = crate::request_meta::cookie(h, web.cookie_name).is_some();
    let refused = origin.is_some_and(|o| !web.allowed_origins.iter().any(|a| a == o))
        || matches!(fetch_site, Some("cross-site") | Some("same-site"))
        || (has_cookie && origin.is_none() && fetch_site != Some("same-origin"));
    if !refused {
        return None;
    }
    tracing::debug!(?origin, ?fetch_site, has_cookie, "csrf: refused");
    Some(
        AppError::new(
            StatusCode::FORBIDDEN,
            "csrf_rejected",
            crate::error::CSRF_REJECTED,
        )
        .into_response(),
    )
}

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

// Made once, at compile time: `from_static` in a constant checks the bytes while building.
const CSP_VALUE: HeaderValue = HeaderValue::from_static(CSP);
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const REFERRER: HeaderValue = HeaderValue::from_static("strict-origin-when-cross-origin");
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The security headers of every answer; `api`: the request's path is under `/api/`. Out of
/// line for `bench/layers.py`.
#[inline(never)]
pub fn security_headers(h: &mut HeaderMap, api: bool, web: &Web) {
    // Room for these and the request id, at once: a map that grows re-hashes every header in
    // it. (axum's `Content-Length` is in the map already: `http::edge` wraps the router.) A
    // map the handler made holds six headers before it first grows, so room for more than it
    // needs would cost a growth of its own.
    h.reserve(3 + usize::from(web.hsts) + usize::from(api) + 1);
    h.insert(header::CONTENT_SECURITY_POLICY, CSP_VALUE);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    h.insert(header::REFERRER_POLICY, REFERRER);
    if web.hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    if api {
        // API answers are per-user: never let a shared cache keep one.
        h.entry(header::CACHE_CONTROL).or_insert(NO_STORE);
    }
    if h.contains_key(header::SET_COOKIE) {
        complete_session_removal(h, web);
    }
}

/// tower-sessions ends a session with a bare `name=; Path=/; Max-Age=0` cookie. Browsers ignore
/// a `__Host-` cookie without `Secure`, so that deletion would never reach them and the dead
/// cookie would stay: the deletion carries the session cookie's own attributes instead.
fn complete_session_removal(headers: &mut HeaderMap, web: &Web) {
    let removal = format!("{}=;", web.cookie_name);
    let mut cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    let mut changed = false;
    for cookie in &mut cookies {
        if cookie.as_bytes().starts_with(removal.as_bytes()) {
            *cookie = session_removal_cookie(web);
            changed = true;
        }
    }
    if changed {
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
}

/// The deletion of the session cookie, with the attributes the cookie was set with.
pub fn session_removal_cookie(web: &Web) -> HeaderValue {
    let secure = if web.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax{secure}",
        web.cookie_name
    ))
    .expect("cookie names are ASCII")
}

/// Any error that did not come from our handlers (framework rejections, 405s, layer failures)
/// leaves in our JSON shape too, headers such as `Allow` kept. Out of line for
/// `bench/layers.py`.
#[inline(never)]
pub fn reshape_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "Not found."),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "This method is not allowed here.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The body is larger than 2 MiB."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "Unsupported content type.")
        }
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request took too long."),
        s if s.is_server_error() => (
            "internal_error",
            "Something went wrong on our side. Please try again.",
        ),
        _ => ("bad_request", "The request could not be understood."),
    };
    let (mut parts, _) = res.into_parts();
    let fresh = error_response(status, code, message, None);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(fresh.headers().clone());
    Response::from_parts(parts, fresh.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request_meta::{bearer_token, has_bearer};

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_trimmed() {
        let token =
            |v: &[u8]| bearer_token(&HeaderValue::from_bytes(v).unwrap()).map(str::to_owned);
        assert_eq!(
            token(b"Bearer pfn_test_abc").as_deref(),
            Some("pfn_test_abc")
        );
        assert_eq!(
            token(b"bEaReR   pfn_test_abc \t").as_deref(),
            Some("pfn_test_abc")
        );
        assert_eq!(token(b"Bearer ").as_deref(), Some(""));
        assert_eq!(token(b"Bearer"), None);
        assert_eq!(token(b"Basic dXNlcjpwYXNz"), None);
        assert_eq!(token(b"Bearerpfn_test_abc"), None);
        assert_eq!(token(b"Bearer \xff\xfe"), None, "not UTF-8");

        let has = |v: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
            has_bearer(&h)
        };
        assert!(has(b"BEARER pfn_test_abc"));
        assert!(
            has(b"Bearer \xff\xfe"),
            "a Bearer header, even with a bad credential"
        );
        assert!(!has(b"Basic dXNlcjpwYXNz"));
        assert!(!has_bearer(&HeaderMap::new()));
    }

    #[test]
    fn forwarded_for_is_only_believed_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 1.2.3.4, 10.0.0.7".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let direct: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_ip(proxy, &h, &trusted).to_string(), "1.2.3.4");
        assert_eq!(
            client_ip(direct, &h, &trusted),
            direct,
            "spoofed header from an untrusted peer"
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        let mut forged = HeaderMap::new();
        forged.insert("x-forwarded-for", "garbage, 1.2.3.4".parse().unwrap());
        assert_eq!(
            client_ip(proxy, &forged, &trusted).to_string(),
            "1.2.3.4",
            "a forged prefix is ignored"
        );
    }

    #[test]
    fn forwarded_for_entries_with_ports_or_brackets_name_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        for (entry, client) in [
            ("1.2.3.4:5678", "1.2.3.4"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("5.6.7.8, 10.0.0.9:8080", "5.6.7.8"),
        ] {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", entry.parse().unwrap());
            assert_eq!(
                client_ip(proxy, &h, &trusted).to_string(),
                client,
                "{entry}"
            );
        }
        for junk in ["[2001:db8::1", "1.2.3.4:port", "unknown"] {
            assert_eq!(forwarded_ip(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_nul_in_any_query_parameter_is_named() {
        assert_eq!(nul_parameter("a=1&b=2"), None);
        assert_eq!(
            nul_parameter("workspaceId=%00").as_deref(),
            Some("workspaceId")
        );
        assert_eq!(
            nul_parameter("a=1&intentId=x%00y").as_deref(),
            Some("intentId")
        );
        assert_eq!(nul_parameter("a%00b=1").as_deref(), Some("query"));
        assert_eq!(
            nul_parameter("a=%2500"),
            None,
            "an encoded percent sign is no NUL"
        );
    }
}
