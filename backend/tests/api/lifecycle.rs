//! A shared workspace handed to another member, and deleted with everything in it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    complete_connect, consent_ids, consent_status, create_key, error_of, join, personal_workspace,
    shared_workspace, start_connect, wait_for_sync, with_key, TestApp,
};

async fn transfer(
    app: &TestApp,
    client: &reqwest::Client,
    ws: &str,
    to: &str,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/v1/workspaces/{ws}/transfer")))
        .json(&json!({"userId": to}))
        .send()
        .await
        .unwrap()
}

async fn role(app: &TestApp, client: &reqwest::Client, ws: &str) -> Value {
    let w: Value = app
        .get_json_as(client, &format!("/api/v1/workspaces/{ws}"))
        .await;
    w["workspace"]["role"].clone()
}

#[tokio::test]
async fn ownership_moves_to_another_member_and_the_keys_keep_working() {
    let app = TestApp::spawn().await;
    app.signed_in_user("first@example.com").await;
    let ws = shared_workspace(&app, "Household").await;
    let heir = app.other_user("heir@example.com").await;
    join(
        &app,
        &app.client,
        &heir,
        &ws,
        "heir@example.com",
        "member",
        2,
    )
    .await;
    let heir_id = app.user_id(&heir).await;
    let (_, key) = create_key(
        &app,
        json!({"name": "shared agent", "scopes": ["read:transactions"], "workspaceId": ws}),
    )
    .await;

    // Not to yourself, not to a stranger, not in a personal workspace.
    let me = app.user_id(&app.client).await;
    let (code, fields) = error_of(transfer(&app, &app.client, &ws, &me).await).await;
    assert_eq!(
        (code.as_str(), fields["userId"].is_string()),
        ("validation_failed", true)
    );
    let stranger = app.other_user("stranger@example.com").await;
    let stranger_id = app.user_id(&stranger).await;
    let (code, _) = error_of(transfer(&app, &app.client, &ws, &stranger_id).await).await;
    assert_eq!(code, "validation_failed");
    let personal_id = personal_workspace(&app, &app.client).await;
    let (code, _) = error_of(transfer(&app, &app.client, &personal_id, &heir_id).await).await;
    assert_eq!(code, "personal_workspace");
    // A member cannot give away what is not theirs.
    let res = transfer(&app, &heir, &ws, &heir_id).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Step-up first.
    app.clock.advance(11 * 60);
    let (code, _) = error_of(transfer(&app, &app.client, &ws, &heir_id).await).await;
    assert_eq!(code, "reauth_required");
    let res = app
        .post(
            "/api/v1/auth/reauth",
            json!({"password": crate::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = transfer(&app, &app.client, &ws, &heir_id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(role(&app, &app.client, &ws).await, "member");
    assert_eq!(role(&app, &heir, &ws).await, "owner");

    // The key belongs to the workspace: it works, and the new owner manages it.
    let res = with_key(&app, &key, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::OK);
    let keys: Value = app.get_json_as(&heir, "/api/v1/keys").await;
    assert!(
        keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "shared agent"),
        "{keys}"
    );
    let kinds = app.audit_kinds().await;
    assert!(
        kinds.iter().any(|k| k == "workspace.transferred"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn deleting_a_shared_workspace_revokes_its_bank_consent_and_removes_everything() {
    let app = TestApp::spawn().await;
    app.signed_in_user("deleter@example.com").await;
    let ws = shared_workspace(&app, "Old flat").await;
    let member = app.other_user("flatmate@example.com").await;
    join(
        &app,
        &app.client,
        &member,
        &ws,
        "flatmate@example.com",
        "member",
        2,
    )
    .await;
    let (_, key) = create_key(
        &app,
        json!({"name": "flat agent", "scopes": ["read:transactions"], "workspaceId": ws}),
    )
    .await;
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    let query = format!("?workspaceId={ws}");
    let intent = start_connect(&app, &app.client, &query, "BLUE").await;
    let location =
        complete_connect(&app, &app.client, &sandbox, &intent, "BLUE", "SUCCESSFUL").await;
    let conn_id = location
        .strip_prefix("/connections?connected=")
        .unwrap()
        .to_string();
    wait_for_sync(&app, &format!("{conn_id}?workspaceId={ws}")).await;
    let consent = consent_ids(&app, &conn_id).await;
    let count = |table: &'static str| {
        let (pool, ws) = (app.state.db.pool.clone(), ws.clone());
        async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "select count(*) from {table} where workspace_id = $1"
            ))
            .bind(ws)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(count("transactions").await > 0);

    // A member may not; the personal workspace may not be deleted this way.
    let res = member
        .delete(app.url(&format!("/api/v1/workspaces/{ws}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let personal_id = personal_workspace(&app, &app.client).await;
    let (code, _) = error_of(
        app.delete(&format!("/api/v1/workspaces/{personal_id}"))
            .await,
    )
    .await;
    assert_eq!(code, "personal_workspace");

    let res = app.delete(&format!("/api/v1/workspaces/{ws}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Revoked at Tarabut, before anything here went.
    assert_eq!(
        consent_status(&app, &consent).await.as_deref(),
        Some("REVOKED")
    );
    for table in [
        "workspace_members",
        "api_keys",
        "accounts",
        "transactions",
        "budgets",
        "invitations",
        "bank_connections",
        "idempotency_keys",
    ] {
        assert_eq!(count(table).await, 0, "{table}");
    }
    // Gone for everyone; the key stopped at once.
    for client in [&app.client, &member] {
        let res = client
            .get(app.url(&format!("/api/v1/workspaces/{ws}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let res = with_key(&app, &key, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Both members' audit logs say so.
    let theirs: Value = app.get_json_as(&member, "/api/v1/audit-log").await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "workspace.deleted"),
        "{theirs}"
    );
}
