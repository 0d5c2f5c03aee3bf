//! Google sign-in end to end against a fake OpenID provider (in-process, port 0, real RSA
//! signatures): sign-up, sign-in, linking rules, and every way a flow can be forged.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Form, Query, State},
    http::{header, HeaderMap, StatusCode as AxumStatus},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{error_of, TestApp};

const CLIENT_ID: &str = "pfn-test-client";
const CLIENT_SECRET: &str = "pfn-test-secret";
const KEY_1: &str = include_str!("../fixtures/oidc-test-key-1.pem");
const KEY_2: &str = include_str!("../fixtures/oidc-test-key-2.pem");
const MODULUS_1: &str = include_str!("../fixtures/oidc-test-key-1.modulus");

/// Who the provider says signs in next, and how the next ID token is bent for a test.
#[derive(Clone)]
struct Next {
    sub: String,
    email: String,
    email_verified: bool,
    nonce: Option<String>,
    exp_offset: i64,
    other_key: bool,
    /// `auth_time` when the flow asked for `max_age` (default: now).
    auth_time: Option<i64>,
}

struct Issued {
    challenge: String,
    nonce: String,
    /// The flow asked for a fresh login (`prompt=login`, `max_age=0`).
    fresh_login: bool,
}

#[derive(Clone)]
struct Fake {
    base: String,
    next: Arc<Mutex<Next>>,
    codes: Arc<Mutex<HashMap<String, Issued>>>,
}

impl Fake {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fake = Fake {
            base,
            next: Arc::new(Mutex::new(Next {
                sub: "google-sub-1".into(),
                email: "someone@example.com".into(),
                email_verified: true,
                nonce: None,
                exp_offset: 0,
                other_key: false,
                auth_time: None,
            })),
            codes: Arc::new(Mutex::new(HashMap::new())),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    fn set(&self, f: impl FnOnce(&mut Next)) {
        f(&mut self.next.lock().unwrap());
    }
}

async fn discovery(State(f): State<Fake>) -> Json<Value> {
    Json(json!({
        "issuer": f.base,
        "authorization_endpoint": format!("{}/authorize", f.base),
        "token_endpoint": format!("{}/token", f.base),
        "jwks_uri": format!("{}/jwks", f.base),
        "userinfo_endpoint": format!("{}/userinfo", f.base),
    }))
}

async fn jwks() -> Json<Value> {
    let n = hex::decode(MODULUS_1.trim()).unwrap();
    Json(
        json!({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"}]}),
    )
}

async fn authorize(State(f): State<Fake>, Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256", "PKCE S256 is used");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let code = uuid::Uuid::new_v4().simple().to_string();
    f.codes.lock().unwrap().insert(
        code.clone(),
        Issued {
            challenge: q["code_challenge"].clone(),
            nonce: q["nonce"].clone(),
            fresh_login: q.get("max_age").map(String::as_str) == Some("0")
                && q.get("prompt").map(String::as_str) == Some("login"),
        },
    );
    let location = format!("{}?code={code}&state={}", q["redirect_uri"], q["state"]);
    (AxumStatus::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn token(
    State(f): State<Fake>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let client_ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(basic.as_str())
        || (form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET));
    let bad = |e: &str| (AxumStatus::BAD_REQUEST, Json(json!({"error": e}))).into_response();
    if !client_ok {
        return bad("invalid_client");
    }
    // single use: a replayed code is refused
    let Some(issued) = form
        .get("code")
        .and_then(|c| f.codes.lock().unwrap().remove(c))
    else {
        return bad("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != issued.challenge {
        return bad("invalid_grant");
    }
    let next = f.next.lock().unwrap().clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut claims = json!({
        "iss": f.base, "aud": CLIENT_ID, "sub": next.sub, "email": next.email,
        "email_verified": next.email_verified, "name": "Google Person",
        "nonce": next.nonce.unwrap_or(issued.nonce),
        "iat": now, "exp": now + 600 + next.exp_offset,
    });
    if issued.fresh_login {
        claims["auth_time"] = json!(next.auth_time.unwrap_or(now));
    }
    let mut head = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    head.kid = Some("k1".into());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(
        if next.other_key { KEY_2 } else { KEY_1 }.as_bytes(),
    )
    .unwrap();
    let id_token = jsonwebtoken::encode(&head, &claims, &key).unwrap();
    Json(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": id_token})).into_response()
}

async fn app_with_google() -> (TestApp, Fake) {
    let fake = Fake::start().await;
    let discovery = format!("{}/.well-known/openid-configuration", fake.base);
    let app = TestApp::spawn_with(&[
        ("PFN_GOOGLE_CLIENT_ID", CLIENT_ID),
        ("PFN_GOOGLE_CLIENT_SECRET", CLIENT_SECRET),
        ("PFN_GOOGLE_DISCOVERY_URL", &discovery),
    ])
    .await;
    (app, fake)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// The browser side of a flow: start → provider → callback. Returns the callback's `Location`.
async fn flow(app: &TestApp, browser: &reqwest::Client, start: &str) -> String {
    let res = browser.get(app.url(start)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "{start}");
    let to_provider = location(&res);
    let res = browser.get(&to_provider).send().await.unwrap();
    let back = location(&res);
    assert!(
        back.starts_with(&app.url("/api/v1/auth/google/callback")),
        "{back}"
    );
    let res = browser.get(&back).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    location(&res)
}

async fn me(app: &TestApp, browser: &reqwest::Client) -> Option<Value> {
    let res = browser
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    if res.status() != StatusCode::OK {
        return None;
    }
    Some(res.json::<Value>().await.unwrap()["user"].clone())
}

#[tokio::test]
async fn a_new_google_user_is_created_verified_and_comes_back_as_the_same_user() {
    let (app, fake) = app_with_google().await;
    let providers: Value = app.get_json("/api/v1/auth/providers").await;
    assert_eq!(
        providers["providers"],
        json!(["password", "google", "passkey"])
    );
    fake.set(|n| n.email = "newcomer@example.com".into());
    let browser = app.browser();
    assert_eq!(
        flow(&app, &browser, "/api/v1/auth/google/start?returnTo=/keys").await,
        "/keys"
    );
    let user = me(&app, &browser).await.expect("signed in");
    assert_eq!(user["email"], "newcomer@example.com");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["hasPassword"], false);
    assert_eq!(user["linkedProviders"], json!(["google"]));
    // a personal workspace, like any signup
    let ws: Value = app.get_json_as(&browser, "/api/v1/workspaces").await;
    assert_eq!(ws["items"].as_array().unwrap().len(), 1);

    let again = app.browser();
    assert_eq!(flow(&app, &again, "/api/v1/auth/google/start").await, "/");
    assert_eq!(me(&app, &again).await.unwrap()["id"], user["id"]);
    // Google-only accounts cannot unlink their only way in
    let res = again
        .delete(app.url("/api/v1/auth/identities/google"))
        .header("Origin", &app.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(res).await.0, "last_sign_in_method");
}

#[tokio::test]
async fn a_verified_account_is_linked_and_an_unverified_one_goes_to_the_address_owner() {
    let (app, fake) = app_with_google().await;
    app.signed_in_user("verified@example.com").await;
    let owner = me(&app, &app.client).await.unwrap();
    fake.set(|n| {
        n.sub = "sub-verified".into();
        n.email = "Verified@Example.com".into();
    });
    let browser = app.browser();
    assert_eq!(flow(&app, &browser, "/api/v1/auth/google/start").await, "/");
    let user = me(&app, &browser).await.unwrap();
    assert_eq!(user["id"], owner["id"]);
    assert_eq!(user["linkedProviders"], json!(["google"]));

    // an account that was never verified may have been signed up by anyone: the address's
    // owner, proven by Google, takes it over, and what was set on it goes
    const SQUAT: &str = "squatters-own-secret-77";
    assert_eq!(
        app.signup("unproven@example.com", SQUAT).await.status(),
        StatusCode::ACCEPTED
    );
    // Sign-up answers before it creates the account (enumeration safety); its verification
    // mail says the account is there.
    app.wait_for_mail("unproven@example.com", 1).await;
    fake.set(|n| {
        n.sub = "sub-unproven".into();
        n.email = "unproven@example.com".into();
    });
    let browser = app.browser();
    assert_eq!(flow(&app, &browser, "/api/v1/auth/google/start").await, "/");
    let user = me(&app, &browser).await.expect("signed in with Google");
    assert_eq!(user["email"], "unproven@example.com");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(
        user["hasPassword"], false,
        "the squatter's password is gone"
    );
    assert_eq!(user["linkedProviders"], json!(["google"]));
    assert_eq!(
        app.login("unproven@example.com", SQUAT).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // email_verified=false at Google is refused outright
    fake.set(|n| {
        n.sub = "sub-unverified-at-google".into();
        n.email = "fresh@example.com".into();
        n.email_verified = false;
    });
    assert_eq!(
        flow(&app, &app.browser(), "/api/v1/auth/google/start").await,
        "/login?error=google_email_unverified"
    );
}

#[tokio::test]
async fn linking_from_settings_and_unlinking() {
    let (app, fake) = app_with_google().await;
    app.signed_in_user("linker@example.com").await;
    fake.set(|n| {
        n.sub = "sub-linker".into();
        n.email = "other-address@example.com".into();
    });
    assert_eq!(
        flow(&app, &app.client, "/api/v1/auth/google/link").await,
        "/settings?linked=google"
    );
    assert_eq!(
        me(&app, &app.client).await.unwrap()["linkedProviders"],
        json!(["google"])
    );
    // that Google account now signs in to this account
    let browser = app.browser();
    flow(&app, &browser, "/api/v1/auth/google/start").await;
    assert_eq!(
        me(&app, &browser).await.unwrap()["email"],
        "linker@example.com"
    );
    // someone else cannot link the same Google account
    let other = app.other_user("second@example.com").await;
    assert_eq!(
        flow(&app, &other, "/api/v1/auth/google/link").await,
        "/settings?error=google_already_linked"
    );
    // unlink (the account has a password)
    let res = app
        .client
        .delete(app.url("/api/v1/auth/identities/google"))
        .header("Origin", &app.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        me(&app, &app.client).await.unwrap()["linkedProviders"],
        json!([])
    );
    let log: Value = app
        .get_json("/api/v1/audit-log?type=identity.unlinked")
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn forged_or_bent_flows_are_refused() {
    let (app, fake) = app_with_google().await;
    fake.set(|n| n.email = "target@example.com".into());

    // tampered state
    let browser = app.browser();
    let res = browser
        .get(app.url("/api/v1/auth/google/start"))
        .send()
        .await
        .unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    let back = location(&res).replace("state=", "state=x");
    let res = browser.get(&back).send().await.unwrap();
    assert_eq!(location(&res), "/login?error=google_state_invalid");
    // no flow cookie at all (a callback URL sent to a victim)
    let res = app.browser().get(&back).send().await.unwrap();
    assert_eq!(location(&res), "/login?error=google_state_invalid");

    // a replayed code: the first use signs in, the second is refused
    let browser = app.browser();
    let res = browser
        .get(app.url("/api/v1/auth/google/start"))
        .send()
        .await
        .unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    let back = location(&res);
    assert_eq!(location(&browser.get(&back).send().await.unwrap()), "/");
    let replay = app.browser();
    let res = replay
        .get(app.url("/api/v1/auth/google/start"))
        .send()
        .await
        .unwrap();
    let fresh = location(&res);
    // the replay carries a valid flow cookie of its own but someone else's used code
    let fresh_state = fresh
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let code = back
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let res = replay
        .get(app.url(&format!(
            "/api/v1/auth/google/callback?code={code}&state={fresh_state}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?error=google_exchange_failed");

    for (what, bend) in [
        (
            "wrong nonce",
            Box::new(|n: &mut Next| n.nonce = Some("not-the-flows-nonce".into()))
                as Box<dyn Fn(&mut Next)>,
        ),
        ("expired", Box::new(|n: &mut Next| n.exp_offset = -3600)),
        ("another key", Box::new(|n: &mut Next| n.other_key = true)),
    ] {
        fake.set(|n| {
            n.nonce = None;
            n.exp_offset = 0;
            n.other_key = false;
            bend(n);
        });
        let browser = app.browser();
        assert_eq!(
            flow(&app, &browser, "/api/v1/auth/google/start").await,
            "/login?error=google_token_invalid",
            "{what}"
        );
        assert!(me(&app, &browser).await.is_none(), "{what}");
    }
}

#[tokio::test]
async fn return_to_never_leaves_the_site() {
    let (app, _fake) = app_with_google().await;
    for evil in [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "%2F%2Fevil.com",
        "/%2F%2Fevil.com",
        "/%5Cevil.com",
        "javascript:alert(1)",
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(evil.as_bytes()).collect();
        let landed = flow(
            &app,
            &app.browser(),
            &format!("/api/v1/auth/google/start?returnTo={encoded}"),
        )
        .await;
        assert_eq!(landed, "/", "{evil}");
    }
}

#[tokio::test]
async fn without_google_settings_the_routes_do_not_exist() {
    let app = TestApp::spawn().await;
    let providers: Value = app.get_json("/api/v1/auth/providers").await;
    assert_eq!(providers["providers"], json!(["password", "passkey"]));
    assert_eq!(
        app.get("/api/v1/auth/google/start").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn outside_development_the_flow_cookie_is_a_host_cookie() {
    let fake = Fake::start().await;
    let discovery = format!("{}/.well-known/openid-configuration", fake.base);
    let app = TestApp::spawn_with(&[
        ("PFN_PUBLIC_URL", "https://pfn.example.com"),
        ("PFN_SECRET", "a-secret-of-at-least-thirty-two-bytes-0000"),
        ("PFN_MAIL_TRANSPORT", "smtp"),
        ("PFN_SMTP_URL", "smtp://127.0.0.1:9"),
        ("PFN_GOOGLE_CLIENT_ID", CLIENT_ID),
        ("PFN_GOOGLE_CLIENT_SECRET", CLIENT_SECRET),
        ("PFN_GOOGLE_DISCOVERY_URL", &discovery),
    ])
    .await;
    let res = app.get("/api/v1/auth/google/start").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("__Host-pfn_oauth="), "{cookie}");
    for part in ["Path=/;", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn a_google_sign_in_of_an_account_with_an_authenticator_app_waits_for_its_code() {
    let (app, fake) = app_with_google().await;
    fake.set(|n| n.email = "google-2fa@example.com".into());
    let browser = app.browser();
    assert_eq!(flow(&app, &browser, "/api/v1/auth/google/start").await, "/");
    let res = browser
        .post(app.url("/api/v1/auth/mfa/totp"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let secret = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = crate::totp::Authenticator::from_base32(&secret);
    let res = browser
        .post(app.url("/api/v1/auth/mfa/totp/confirm"))
        .json(&json!({"code": auth.code(&app)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.clock.advance(30);

    // Google is the first step only: no session, the SPA's second step instead.
    let again = app.browser();
    assert_eq!(
        flow(&app, &again, "/api/v1/auth/google/start?returnTo=/keys").await,
        "/login?mfa=1&returnTo=%2Fkeys"
    );
    assert!(me(&app, &again).await.is_none());
    let res = again
        .post(app.url("/api/v1/auth/mfa/verify"))
        .json(&json!({"code": auth.code(&app)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        me(&app, &again).await.unwrap()["email"],
        "google-2fa@example.com"
    );
    let current = app.current_session(&again).await;
    assert_eq!(current["signInMethod"], "google+totp");

    // Without a password, the app's code re-authenticates.
    app.clock.advance(10 * 60 + 1);
    let res = again
        .post(app.url("/api/v1/auth/reauth"))
        .json(&json!({"code": auth.code(&app)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_google_account_confirms_it_is_them_with_a_fresh_google_login() {
    let (app, fake) = app_with_google().await;
    fake.set(|n| n.email = "google-reauth@example.com".into());
    let browser = app.browser();
    assert_eq!(flow(&app, &browser, "/api/v1/auth/google/start").await, "/");
    let create = || async {
        browser
            .post(app.url("/api/v1/keys"))
            .json(&json!({"name": "k", "scopes": ["read:transactions"]}))
            .send()
            .await
            .unwrap()
    };
    app.clock.advance(10 * 60 + 1);
    assert_eq!(error_of(create().await).await.0, "reauth_required");

    // A login Google made before the flow began (its remembered session) is not a step-up.
    let long_ago = app.clock.now() - 3600;
    fake.set(|n| n.auth_time = Some(long_ago));
    assert_eq!(
        flow(&app, &browser, "/api/v1/auth/google/reauth?returnTo=/keys").await,
        "/keys?error=google_reauth_failed"
    );
    assert_eq!(error_of(create().await).await.0, "reauth_required");
    // Another Google account is not this user.
    let now = app.clock.now();
    fake.set(|n| {
        n.auth_time = Some(now);
        n.sub = "google-sub-someone-else".into();
    });
    assert_eq!(
        flow(&app, &browser, "/api/v1/auth/google/reauth?returnTo=/keys").await,
        "/keys?error=google_reauth_failed"
    );
    // A fresh login of the same account: the step-up operations are open.
    fake.set(|n| n.sub = "google-sub-1".into());
    assert_eq!(
        flow(&app, &browser, "/api/v1/auth/google/reauth?returnTo=/keys").await,
        "/keys"
    );
    assert_eq!(create().await.status(), StatusCode::CREATED);
    // Signed out, the route is refused.
    let res = app
        .browser()
        .get(app.url("/api/v1/auth/google/reauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
