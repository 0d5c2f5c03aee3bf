//! Finance-grade trust: no way to take over an account (squatted addresses, look-alike emails,
//! admin promotion), what pfn writes to disk is private, secrets rotate, cookies die properly.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    cli::pfn,
    helpers::{create_key, error_of, with_key, TestApp, PASSWORD},
};

/// What a squatter chose when signing up with someone else's address.
const SQUAT: &str = "squatters-own-secret-77";

/// The set-password link `pfn admin create` printed.
fn printed_token(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("/reset-password?token="))
        .unwrap_or_else(|| panic!("no set-password link in:\n{stdout}"));
    line.split("token=").nth(1).unwrap().trim().to_string()
}

/// Sets the password with a reset token; asserts it worked.
async fn set_password(app: &TestApp, token: &str, password: &str) {
    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Retries `check` for up to two seconds (caches of a running server learn of changes made
/// by the command line through the invalidation feed).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..40 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 2 s");
}

#[tokio::test]
async fn admin_create_on_a_squatted_address_leaves_the_squatter_nothing() {
    let app = TestApp::spawn().await;
    // Someone who does not own root@ signs up with it first; unverified, they cannot sign in.
    assert_eq!(
        app.signup("root@example.com", SQUAT).await.status(),
        StatusCode::ACCEPTED
    );
    app.wait_for_mail("root@example.com", 1).await;
    let out = pfn(
        &app,
        &["admin", "create", "--email", "root@example.com"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The operator's command verified the account and made it admin: the squatter's password
    // must not be a way in.
    let res = app.login("root@example.com", SQUAT).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Nor the verification link the squatter's signup sent.
    let verify = app
        .token_from_mail("root@example.com", "/verify-email", 1)
        .await;
    let res = app
        .post("/api/v1/auth/verify-email", json!({"token": verify}))
        .await;
    assert_eq!(error_of(res).await.0, "invalid_token");
    // The printed link is the only way in.
    set_password(&app, &printed_token(&out), PASSWORD).await;
    assert_eq!(
        app.login("root@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["linkedProviders"], json!([]));
}

#[tokio::test]
async fn promoting_a_verified_account_removes_what_it_held_unless_the_operator_keeps_it() {
    let app = TestApp::spawn().await;
    app.signed_in_user("chief@example.com").await;
    let (_, key) = create_key(&app, json!({"name": "ci", "scopes": ["read:accounts"]})).await;
    assert_eq!(
        with_key(&app, &key, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    let user_id: String = sqlx::query_scalar("select id from users where email_normalized = $1")
        .bind("chief@example.com")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::query("insert into identities (provider, subject, user_id, email, created_at) values ('google', 'sub-chief', $1, 'chief@example.com', 0)")
        .bind(&user_id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();

    let out = pfn(
        &app,
        &["admin", "create", "--email", "chief@example.com"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("removed"), "the operator is told: {said}");
    // The running server drops the session and the key it had cached.
    eventually("the session ends", async || {
        app.get("/api/v1/auth/me").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    eventually("the key is revoked", async || {
        with_key(&app, &key, "/api/v1/whoami").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(
        app.login("chief@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "the password is gone"
    );
    let identities: i64 = sqlx::query_scalar("select count(*) from identities where user_id = $1")
        .bind(&user_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(identities, 0, "linked sign-ins are gone");
    set_password(&app, &printed_token(&out), PASSWORD).await;
    assert_eq!(
        app.login("chief@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    // --keep-credentials: the operator vouches for a verified account, which keeps everything.
    let kept = app.other_user("deputy@example.com").await;
    let out = pfn(
        &app,
        &[
            "admin",
            "create",
            "--email",
            "deputy@example.com",
            "--keep-credentials",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("token="));
    eventually("the deputy is admin and still signed in", async || {
        let me = kept.get(app.url("/api/v1/auth/me")).send().await.unwrap();
        me.status() == StatusCode::OK
            && me.json::<Value>().await.unwrap()["user"]["role"] == "admin"
    })
    .await;

    // ...which an unverified account cannot have: its credentials may be anyone's.
    app.signup("unproven@example.com", SQUAT).await;
    app.wait_for_mail("unproven@example.com", 1).await;
    let out = pfn(
        &app,
        &[
            "admin",
            "create",
            "--email",
            "unproven@example.com",
            "--keep-credentials",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not verified"));
    let role: String = sqlx::query_scalar("select role from users where email_normalized = $1")
        .bind("unproven@example.com")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(role, "user");
}

#[tokio::test]
async fn the_bootstrap_email_gives_a_squatter_nothing_either() {
    let app = TestApp::spawn().await;
    app.signup("boss@example.com", SQUAT).await;
    app.wait_for_mail("boss@example.com", 1).await;
    // The operator names the address as the administrator and restarts.
    let app = app
        .restart_with(&[("PFN_BOOTSTRAP_ADMIN_EMAIL", "boss@example.com")])
        .await;
    assert_eq!(
        app.login("boss@example.com", SQUAT).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The owner clicks the verification mail the squatter's signup triggered: that changes
    // nothing any more.
    let verify = app
        .token_from_mail("boss@example.com", "/verify-email", 1)
        .await;
    let res = app
        .post("/api/v1/auth/verify-email", json!({"token": verify}))
        .await;
    assert_eq!(error_of(res).await.0, "invalid_token");
    assert_eq!(
        app.login("boss@example.com", SQUAT).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The owner sets the password with the administrator mail (#2) and is admin.
    let token = app
        .token_from_mail("boss@example.com", "/reset-password", 2)
        .await;
    set_password(&app, &token, PASSWORD).await;
    assert_eq!(
        app.login("boss@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["role"], "admin");
    // Another start changes nothing and sends nothing.
    let app = app
        .restart_with(&[("PFN_BOOTSTRAP_ADMIN_EMAIL", "boss@example.com")])
        .await;
    assert_eq!(
        app.login("boss@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.mails_to("boss@example.com").len(),
        3,
        "verify, admin, reset confirmation"
    );
}

#[tokio::test]
async fn look_alike_addresses_are_refused_and_case_alone_is_one_account() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.signup("Kevin@Corp.com", PASSWORD).await.status(),
        StatusCode::ACCEPTED,
        "case is fine"
    );
    for look_alike in [
        "\u{212A}evin@corp.com", // KELVIN SIGN
        "ke\u{017F}in@corp.com", // LATIN SMALL LETTER LONG S
        "ｋｅｖｉｎ@corp.com",   // fullwidth
        "kevin@ｃｏｒｐ.com",
        "k\u{0435}vin@corp.com", // a Cyrillic е among Latin letters
        "kevin@c\u{043E}rp.com", // a Cyrillic о in the domain
    ] {
        for (path, body) in [
            (
                "/api/v1/auth/signup",
                json!({"email": look_alike, "password": PASSWORD, "name": "K"}),
            ),
            ("/api/v1/auth/password/forgot", json!({"email": look_alike})),
            (
                "/api/v1/auth/verify-email/resend",
                json!({"email": look_alike}),
            ),
        ] {
            let res = app.post(path, body).await;
            assert_eq!(
                res.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {look_alike:?}"
            );
            let (code, fields) = error_of(res).await;
            assert_eq!(code, "validation_failed");
            assert!(fields["email"].is_string(), "{fields}");
        }
    }
    // Another spelling of the same address is the same account: the mail goes to the address
    // as stored, never to the spelling someone typed.
    app.signup("KEVIN@corp.COM", PASSWORD).await;
    let second = app.wait_for_mail("Kevin@Corp.com", 2).await;
    assert!(second.contains("already has an account"), "{second}");
    for mail in app.mails_to("kevin@corp.com") {
        assert!(mail.lines().any(|l| l == "To: Kevin@Corp.com"), "{mail}");
    }
}

#[tokio::test]
async fn stored_email_keys_are_recomputed_and_collisions_reported_not_merged() {
    let app = TestApp::spawn().await;
    let pool = &app.state.db.pool;
    // Rows written under the old rule (lower-casing only), before this release's migration.
    for (id, email, key) in [
        ("u-real", "kevin@corp.com", "kevin@corp.com"),
        ("u-fullwidth", "ｋevin@corp.com", "ｋevin@corp.com"),
        ("u-strasse", "Straße@example.com", "straße@example.com"),
    ] {
        sqlx::query("insert into users (id, email, email_normalized, name, role, created_at, updated_at) values ($1, $2, $3, 'x', 'user', 0, 0)")
            .bind(id)
            .bind(email)
            .bind(key)
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query("delete from maintenance where name = '0006_email_keys_nfkc_casefold'")
        .execute(pool)
        .await
        .unwrap();
    let reports = app.state.db.migrate().await.unwrap();
    let report = &reports
        .iter()
        .find(|(task, _)| *task == "0006_email_keys_nfkc_casefold")
        .expect("the task ran and reported")
        .1;
    assert!(
        report.contains("u-real") && report.contains("u-fullwidth"),
        "{report}"
    );
    let key = async |id: &'static str| {
        sqlx::query_scalar::<_, String>("select email_normalized from users where id = $1")
            .bind(id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
    };
    assert_eq!(
        key("u-real").await,
        "kevin@corp.com",
        "not merged, not changed"
    );
    assert_eq!(key("u-fullwidth").await, "ｋevin@corp.com");
    assert_eq!(key("u-strasse").await, "strasse@example.com", "recomputed");
    // It runs once.
    assert!(app.state.db.migrate().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_owner_of_an_address_takes_a_squatted_account_back_with_a_reset() {
    let app = TestApp::spawn().await;
    app.signup("owner@example.com", SQUAT).await;
    app.wait_for_mail("owner@example.com", 1).await;
    let res = app
        .post(
            "/api/v1/auth/password/forgot",
            json!({"email": "owner@example.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = app
        .token_from_mail("owner@example.com", "/reset-password", 2)
        .await;
    set_password(&app, &token, PASSWORD).await;
    assert_eq!(
        app.login("owner@example.com", SQUAT).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let verify = app
        .token_from_mail("owner@example.com", "/verify-email", 1)
        .await;
    let res = app
        .post("/api/v1/auth/verify-email", json!({"token": verify}))
        .await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "the squatter's links are retired"
    );
    assert_eq!(
        app.login("owner@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let confirmation = app.wait_for_mail("owner@example.com", 3).await;
    assert!(confirmation.contains("password of your pfn account was just reset"));
}

#[tokio::test]
async fn a_reset_mail_lists_the_sign_ins_and_keys_that_still_reach_the_account() {
    let app = TestApp::spawn().await;
    app.signed_in_user("listed@example.com").await;
    create_key(
        &app,
        json!({"name": "home-server", "scopes": ["read:accounts"]}),
    )
    .await;
    sqlx::query("insert into identities (provider, subject, user_id, email, created_at) select 'google', 'sub-listed', id, email, 0 from users where email_normalized = 'listed@example.com'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    app.post(
        "/api/v1/auth/password/forgot",
        json!({"email": "listed@example.com"}),
    )
    .await;
    let token = app
        .token_from_mail("listed@example.com", "/reset-password", 2)
        .await;
    set_password(&app, &token, "another-password-of-42").await;
    let confirmation = app.wait_for_mail("listed@example.com", 3).await;
    assert!(confirmation.contains("google"), "{confirmation}");
    assert!(confirmation.contains("home-server"), "{confirmation}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_the_database_and_the_outbox_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    app.signed_in_user("private@example.com").await;
    let mode = |p: std::path::PathBuf| {
        std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(app.data_dir.clone()), 0o700);
    assert_eq!(mode(app.data_dir.join("secret")), 0o600);
    assert_eq!(mode(app.data_dir.join("outbox")), 0o700);
    for mail in std::fs::read_dir(app.data_dir.join("outbox")).unwrap() {
        assert_eq!(mode(mail.unwrap().path()), 0o600);
    }
    if !crate::helpers::on_postgres() {
        for file in ["pfn.db", "pfn.db-wal", "pfn.db-shm"] {
            assert_eq!(mode(app.data_dir.join(file)), 0o600, "{file}");
        }
    }
}

/// An https server (outside development), reached over plain http on loopback by the tests.
async fn public_app(extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("PFN_PUBLIC_URL", "https://pfn.example.com"),
        ("PFN_SECRET", "a-secret-of-at-least-thirty-two-bytes-0000"),
        ("PFN_MAIL_TRANSPORT", "smtp"),
        ("PFN_SMTP_URL", "smtp://127.0.0.1:9"),
    ];
    settings.extend_from_slice(extra);
    TestApp::spawn_with(&settings).await
}

#[tokio::test]
async fn signing_out_over_https_deletes_the_host_cookie_with_its_own_attributes() {
    let app = public_app(&[]).await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/logout"))
        .header("Origin", "https://pfn.example.com")
        .header("Cookie", "__Host-pfn_session=0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let deletion = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-pfn_session="))
        .expect("the cookie is deleted")
        .to_string();
    for part in ["Max-Age=0", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(deletion.contains(part), "{part} missing: {deletion}");
    }
}

#[tokio::test]
async fn admins_see_one_user_with_their_sessions_and_keys() {
    let app = TestApp::spawn_with(&[("PFN_BOOTSTRAP_ADMIN_EMAIL", "root@example.com")]).await;
    app.bootstrap_admin_signs_in("root@example.com").await;
    let member = app.other_user("someone@example.com").await;
    let id = &app.user_id(&member).await;
    let res = member
        .post(app.url("/api/v1/keys"))
        .json(&json!({"name": "a", "scopes": ["read:accounts"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let detail: Value = app.get_json(&format!("/api/v1/admin/users/{id}")).await;
    assert_eq!(detail["user"]["email"], "someone@example.com");
    assert_eq!(detail["activeSessions"], 1);
    assert_eq!(detail["activeKeys"], 1);
    assert_eq!(detail["hasPassword"], true);
    let res = app.get("/api/v1/admin/users/no-such-user").await;
    assert_eq!(error_of(res).await.0, "not_found");
    let res = member
        .get(app.url(&format!("/api/v1/admin/users/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "admin_required");
}

/// A Tarabut sandbox of the test's own, which outlives pfn restarts; returns it and the
/// settings that point pfn at it.
async fn own_sandbox() -> (tarabut_sandbox::Sandbox, Vec<(&'static str, String)>) {
    let sandbox = tarabut_sandbox::Sandbox::start(
        "127.0.0.1:0",
        tarabut_sandbox::SandboxConfig {
            clients: vec![tarabut_sandbox::ClientConfig {
                client_id: "rotation".into(),
                client_secret: "rotation-secret".into(),
                redirect_urls: vec![],
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let settings = vec![
        ("PFN_TARABUT_URL", sandbox.url().to_string()),
        ("PFN_TARABUT_CLIENT_ID", "rotation".to_string()),
        ("PFN_TARABUT_CLIENT_SECRET", "rotation-secret".to_string()),
    ];
    (sandbox, settings)
}

#[tokio::test]
async fn the_server_secret_rotates_without_losing_mail_or_bank_connections() {
    use backend::crypto::{open_with, seal_with, OUTBOX};
    let (old, new) = (
        "old-secret-of-at-least-thirty-two-bytes-0000",
        "new-secret-of-at-least-thirty-two-bytes-1111",
    );
    let (sandbox, tarabut) = own_sandbox().await;
    let mut settings: Vec<(&str, &str)> = tarabut.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.push(("PFN_SECRET", old));
    let app = TestApp::spawn_with(&settings).await;
    app.signed_in_user("rotate@example.com").await;
    let connection = crate::helpers::connect_and_sync(&app, sandbox.url(), "BLUE").await;
    // A mail queued under the old secret and not sent yet (due in ten minutes).
    let now = app.clock.now();
    sqlx::query(
        "insert into mail_outbox (id, recipient, recipient_key, subject, body_sealed, created_at, next_attempt_at)
         values ('queued-before', 'later@example.com', 'later@example.com', 'Later', $1, $2, $3)",
    )
    .bind(seal_with(OUTBOX, old.as_bytes(), "Hello,\n\nqueued before the rotation\n"))
    .bind(now)
    .bind(now + 600)
    .execute(&app.state.db.pool)
    .await
    .unwrap();

    let app = app
        .restart_with(&[("PFN_SECRET", new), ("PFN_SECRET_PREVIOUS", old)])
        .await;
    let sealed: String =
        sqlx::query_scalar("select body_sealed from mail_outbox where id = 'queued-before'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(
        open_with(OUTBOX, new.as_bytes(), &sealed).is_some(),
        "sealed again"
    );
    assert!(open_with(OUTBOX, old.as_bytes(), &sealed).is_none());

    // The previous secret may go now: everything still works without it.
    let app = app.restart_with(&[("PFN_SECRET_PREVIOUS", "")]).await;
    app.clock.advance(601);
    app.state.mail.wake();
    let mail = app.wait_for_mail("later@example.com", 1).await;
    assert!(mail.contains("queued before the rotation"), "{mail}");
    assert_eq!(
        app.login("rotate@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let res = app
        .post(
            &format!("/api/v1/banks/connections/{connection}/sync"),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let c = crate::helpers::wait_for_sync(&app, &connection).await;
    assert_eq!(c["lastSyncStatus"], "succeeded", "{c}");
    assert_eq!(
        c["status"], "active",
        "the consent still belongs to the same customer: {c}"
    );
}

#[tokio::test]
async fn customer_ids_are_random_per_workspace_and_the_migration_keeps_existing_ones() {
    let app = TestApp::spawn().await;
    app.signed_in_user("customer@example.com").await;
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    let connection = crate::helpers::connect_and_sync(&app, &sandbox, "BLUE").await;
    let pool = &app.state.db.pool;
    let (workspace, carried): (String, String) =
        sqlx::query_as("select workspace_id, customer_user_id from bank_connections where id = $1")
            .bind(&connection)
            .fetch_one(pool)
            .await
            .unwrap();
    let stored: String =
        sqlx::query_scalar("select tarabut_customer_id from workspaces where id = $1")
            .bind(&workspace)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(stored, carried);
    assert!(stored.starts_with("pfn") && stored.len() == 35, "{stored}");

    // As before this release: no stored id, the connection carries the derived one. The
    // migration's statements give the workspace the id its connection carries.
    sqlx::query("update workspaces set tarabut_customer_id = null")
        .execute(pool)
        .await
        .unwrap();
    let migration = include_str!("../../../migrations/0006_trust.sql");
    let statements: Vec<String> = migration
        .split(';')
        .map(str::trim)
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| s.trim_start().starts_with("update workspaces"))
        .collect();
    assert_eq!(statements.len(), 2, "{statements:?}");
    for statement in &statements {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
    let migrated: String =
        sqlx::query_scalar("select tarabut_customer_id from workspaces where id = $1")
            .bind(&workspace)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(migrated, carried);
    // Another workspace gets an id of its own.
    let other = app.other_user("other-customer@example.com").await;
    let res = other
        .post(app.url("/api/v1/banks/connect"))
        .json(&json!({"providerId": "BLUE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let ids: Vec<String> = sqlx::query_scalar(
        "select tarabut_customer_id from workspaces where tarabut_customer_id is not null",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}
