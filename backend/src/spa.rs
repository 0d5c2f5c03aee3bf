//! Serves the SPA's release build (Trunk's `dist/`) from the same origin as the API:
//! files as they are (or their gzip-compressed `<file>.gz` twin, which the release build makes,
//! to browsers that accept gzip), hashed assets cached for a year, `index.html` never cached,
//! and every other path that is not under `/api/` and has no file extension answered with
//! `index.html` so deep links work. `/api/*` never falls back to the SPA. Where the files come
//! from (a directory or the binary itself): `crate::spa_build`.

use std::path::{Component, Path, PathBuf};

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};

use crate::{error::AppError, spa_build::Source, state::AppState};

/// The router's fallback: the SPA for browser paths, our JSON 404 for the API.
pub async fn fallback(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") || !matches!(method, Method::GET | Method::HEAD)
    {
        return AppError::not_found().into_response();
    }
    let Some(relative) = safe_relative(path) else {
        return AppError::not_found().into_response();
    };
    let Some(spa) = state.spa.current() else {
        return without_a_build(&relative, &headers);
    };
    let gzip_ok = accepts_gzip(&headers);
    if !relative.as_os_str().is_empty() && spa.is_file(&relative) {
        return serve(spa, &relative, cache_for(&relative), gzip_ok).await;
    }
    // A path that names a file (`/app-123.js`) and is missing is a 404, not the app: a stale
    // asset must fail loudly rather than come back as HTML.
    let last = relative
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if last.contains('.') {
        return AppError::not_found().into_response();
    }
    serve(spa, Path::new("index.html"), "no-cache", gzip_ok).await
}

/// No web app to serve: a browser opening a page (it asks for HTML) is told that the web app is
/// not built, possibly being built (the page reloads itself until it is), and where the API
/// and its documentation are; anything else gets our JSON 404, as on an API-only server.
fn without_a_build(relative: &Path, headers: &HeaderMap) -> Response {
    let page = relative.extension().is_none()
        && headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"));
    if !page {
        return AppError::not_found().into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        WITHOUT_A_BUILD,
    )
        .into_response()
}

const WITHOUT_A_BUILD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<title>pfn — the web app is not built yet</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#1f2933}code{background:#f1f3f5;padding:0 .25rem;border-radius:3px}</style>
</head>
<body>
<h1>The web app is being built</h1>
<p>The API is ready: its interactive documentation is at <a href="/api/docs">/api/docs</a>, the
OpenAPI document at <a href="/api/openapi.json">/api/openapi.json</a>, and API keys work
against <code>/api/v1</code>.</p>
<p>This page reloads every 10 seconds and becomes the web app as soon as its build is there
(<code>scripts/run</code> builds it beside the running server). A server that should serve the
app finds it in <code>PFN_SPA_DIR</code> or, built with the <code>embed-spa</code> feature,
inside its own binary.</p>
</body>
</html>
"#;

/// Whether `Accept-Encoding` allows gzip: listed without `q=0`, or not listed and `*` is.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    for coding in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.split_once('=').is_some_and(|(k, q)| {
                k.trim().eq_ignore_ascii_case("q")
                    && q.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
            })
        });
        if name.eq_ignore_ascii_case("gzip") {
            gzip = Some(!refused);
        } else if name == "*" {
            any = Some(!refused);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// The request path as a relative path inside the build directory; `None` for anything that
/// could leave it (`..`, absolute parts, NUL, backslashes, undecodable bytes).
fn safe_relative(path: &str) -> Option<PathBuf> {
    let decoded = shared::redirect::percent_decode(path)?;
    if decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut out = PathBuf::new();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Trunk names built assets `<name>-<16 hex digits>[_bg].<ext>`, and so does
/// `scripts/split-spa` the `.wasm` chunks and their loader: their content never changes under
/// that name, so browsers may keep them for a year. Anything else is revalidated.
fn cache_for(relative: &Path) -> &'static str {
    let name = relative
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = name.strip_suffix("_bg").unwrap_or(name);
    let hashed = name
        .rsplit_once('-')
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The file, or its `.gz` twin when there is one and the browser takes gzip. Files with a twin
/// answer `Vary: Accept-Encoding`, so shared caches keep both forms apart.
async fn serve(spa: &Source, file: &Path, cache: &'static str, gzip_ok: bool) -> Response {
    let mut gz = file.as_os_str().to_owned();
    gz.push(".gz");
    let gz = PathBuf::from(gz);
    let has_gz = spa.is_file(&gz);
    let (path, encoded) = if gzip_ok && has_gz {
        (gz.as_path(), true)
    } else {
        (file, false)
    };
    match spa.read(path).await {
        Ok(bytes) => {
            let mut res = (
                StatusCode::OK,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(content_type(file)),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                ],
                bytes,
            )
                .into_response();
            if has_gz {
                let h = res.headers_mut();
                h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                if encoded {
                    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
            }
            res
        }
        Err(e) => {
            tracing::warn!(file = %path.display(), from = %spa.describe(), error = %e, "SPA file unreadable");
            AppError::not_found().into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_build_directory() {
        for bad in [
            "/../secret",
            "/%2e%2e/secret",
            "/a/../../b",
            "/%00",
            "/a%5c..%5cb",
            "/%zz",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
        assert_eq!(safe_relative("/keys/abc"), Some(PathBuf::from("keys/abc")));
        assert_eq!(safe_relative("/"), Some(PathBuf::new()));
    }

    #[test]
    fn gzip_is_accepted_when_listed_without_q_zero() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br, zstd"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0, *"));
        assert!(!with("br, zstd"));
        assert!(!with("gzip;q=0"));
        assert!(!with("gzip; q=0.000, br"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn only_hashed_assets_are_cached_for_long() {
        assert_eq!(
            cache_for(Path::new("frontend-0123456789abcdef_bg.wasm")),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_for(Path::new("frontend-0123456789abcdef.js")),
            "public, max-age=31536000, immutable"
        );
        // scripts/split-spa's chunks and their loader.
        for chunk in [
            "split_money-0123456789abcdef.wasm",
            "chunk_12-0123456789abcdef.wasm",
            "split-0123456789abcdef.js",
        ] {
            assert_eq!(
                cache_for(Path::new(chunk)),
                "public, max-age=31536000, immutable",
                "{chunk}"
            );
        }
        assert_eq!(cache_for(Path::new("index.html")), "no-cache");
        assert_eq!(cache_for(Path::new("favicon.ico")), "no-cache");
        assert_eq!(cache_for(Path::new("style-notahash.css")), "no-cache");
    }
}
