//! The SPA's release build served by the backend: deep links, caching, and the API untouched.

use reqwest::{header, StatusCode};

use crate::helpers::TestApp;

const INDEX: &str = "<!DOCTYPE html><html><body>pfn app</body></html>";

async fn app_with_spa() -> TestApp {
    let dist = std::env::temp_dir().join(format!("pfn-dist-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    std::fs::write(
        dist.join("frontend-0123456789abcdef_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(
        dist.join("frontend-0123456789abcdef.js"),
        "export default 1;",
    )
    .unwrap();
    // The release build's gzip twin of the .wasm (any bytes will do: served as they are).
    std::fs::write(
        dist.join("frontend-0123456789abcdef_bg.wasm.gz"),
        b"\x1f\x8bgzipped wasm",
    )
    .unwrap();
    TestApp::spawn_with(&[("PFN_SPA_DIR", dist.to_str().unwrap())]).await
}

#[tokio::test]
async fn deep_links_get_the_app_and_are_never_cached() {
    let app = app_with_spa().await;
    for path in [
        "/",
        "/keys",
        "/connections?connected=abc",
        "/reset-password?token=x",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        assert_eq!(res.text().await.unwrap(), INDEX);
    }
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_with_their_types() {
    let app = app_with_spa().await;
    let res = app.get("/frontend-0123456789abcdef_bg.wasm").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        res.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let res = app.get("/frontend-0123456789abcdef.js").await;
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    // a missing asset is a 404, never the app's HTML
    assert_eq!(
        app.get("/frontend-ffffffffffffffff.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn browsers_that_take_gzip_get_the_precompressed_twin() {
    let app = app_with_spa().await;
    let wasm = "/frontend-0123456789abcdef_bg.wasm";
    let get = |accept: &'static str| {
        app.client
            .get(app.url(wasm))
            .header(header::ACCEPT_ENCODING, accept)
            .send()
    };
    let res = get("gzip, deflate, br").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(res.headers()[header::VARY], "accept-encoding");
    assert_eq!(
        res.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&res.bytes().await.unwrap()[..], b"\x1f\x8bgzipped wasm");

    for refuses in ["br", "gzip;q=0", "identity"] {
        let res = get(refuses).await.unwrap();
        assert!(
            res.headers().get(header::CONTENT_ENCODING).is_none(),
            "{refuses}"
        );
        assert_eq!(res.headers()[header::VARY], "accept-encoding", "{refuses}");
        assert_eq!(
            &res.bytes().await.unwrap()[..],
            b"\0asm\x01\0\0\0",
            "{refuses}"
        );
    }
    // Without a twin, a file is served as it is, whatever the browser takes.
    let res = app
        .client
        .get(app.url("/frontend-0123456789abcdef.js"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    assert!(res.headers().get(header::VARY).is_none());
    assert_eq!(res.text().await.unwrap(), "export default 1;");
}

#[tokio::test]
async fn the_api_never_falls_back_to_the_app_and_paths_stay_inside_dist() {
    let app = app_with_spa().await;
    for path in ["/api/v1/nope", "/api", "/api/"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    for path in [
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e/Cargo.toml",
        "/a%5c..%5cb",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // a POST to a browser path is not the app either
    let res = app.post("/keys", serde_json::json!({})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_a_build_the_server_is_api_only() {
    let app = TestApp::spawn_with(&[("PFN_SPA_DIR", "/nonexistent-pfn-dist")]).await;
    let res = app.get("/keys").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

/// `scripts/run` starts the API before the web app is built: until the build is there a
/// browser opening a page is told so (and where the API is), an API client still gets the
/// JSON 404; once the build writes its `index.html` it is served, without a restart.
#[tokio::test]
async fn a_build_that_appears_later_is_served_without_a_restart() {
    let dist = std::env::temp_dir().join(format!("pfn-dist-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dist).unwrap();
    let app = TestApp::spawn_with(&[("PFN_SPA_DIR", dist.to_str().unwrap())]).await;
    let page = |path: &'static str| {
        reqwest::Client::new()
            .get(app.url(path))
            .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
    };

    let waiting = page("/keys").await.unwrap();
    assert_eq!(waiting.status(), StatusCode::OK);
    assert_eq!(waiting.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        waiting.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let text = waiting.text().await.unwrap();
    assert!(text.contains("The web app is being built"), "{text}");
    assert!(text.contains(r#"href="/api/docs""#), "{text}");
    let api_client = app.get("/keys").await;
    assert_eq!(
        api_client.status(),
        StatusCode::NOT_FOUND,
        "no Accept: text/html"
    );
    let asset = page("/frontend-0123456789abcdef.js").await.unwrap();
    assert_eq!(
        asset.status(),
        StatusCode::NOT_FOUND,
        "a file is never the page"
    );

    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    let app_page = page("/keys").await.unwrap();
    assert_eq!(app_page.status(), StatusCode::OK);
    assert_eq!(app_page.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(app_page.text().await.unwrap(), INDEX);
}
