//! Shared workspaces: invitations, membership, roles, removal, tenancy.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

#[tokio::test]
async fn invited_members_share_data_until_removed_and_lose_their_keys() {
    let app = TestApp::spawn().await;
    app.signed_in_user("owner@example.com").await;
    let res = app
        .post("/api/v1/workspaces", json!({"name": "Household"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ws = res.json::<Value>().await.unwrap()["workspace"].clone();
    assert_eq!(
        (ws["role"].as_str(), ws["personal"].as_bool()),
        (Some("owner"), Some(false))
    );
    let ws_id = ws["id"].as_str().unwrap().to_string();

    let b = app.other_user("partner@example.com").await;
    let res = app
        .post(
            &format!("/api/v1/workspaces/{ws_id}/members"),
            json!({"email": "Partner@example.com", "role": "owner"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = app
        .token_from_mail("partner@example.com", "/invitations/accept", 2)
        .await; // #1 was verification
    let res = b
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = b
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "invalid_token", "single use");

    let members: Value = app
        .get_json(&format!("/api/v1/workspaces/{ws_id}/members"))
        .await;
    assert_eq!(members["items"].as_array().unwrap().len(), 2);
    let b_id = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "partner@example.com")
        .unwrap()["userId"]
        .as_str()
        .unwrap()
        .to_string();

    // Data in the shared workspace is shared.
    let acc: Value = app
        .post(
            &format!("/api/v1/accounts?workspaceId={ws_id}"),
            json!({"name": "Joint", "currency": "BHD"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let acc_id = acc["account"]["id"].as_str().unwrap();
    let push = json!({"transactions": [{"accountId": acc_id, "externalId": "rent", "amount": {"amount": "-300", "currency": "BHD"},
                                        "description": "Rent", "bookedAt": "2026-11-01T00:00:00Z"}]});
    let res = b
        .post(app.url(&format!("/api/v1/transactions?workspaceId={ws_id}")))
        .json(&push)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let seen: Value = app
        .get_json(&format!("/api/v1/transactions?workspaceId={ws_id}"))
        .await;
    assert_eq!(seen["items"][0]["externalId"], "rent");
    let personal: Value = app.get_json("/api/v1/transactions").await;
    assert_eq!(
        personal["items"],
        json!([]),
        "the personal workspace is separate"
    );

    // B, an owner, makes a key for the shared workspace; removing B revokes it at once.
    let res = b
        .post(app.url("/api/v1/keys"))
        .json(&json!({"name": "b", "scopes": ["read:transactions"], "workspaceId": ws_id}))
        .send()
        .await
        .unwrap();
    let b_key = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let with_b_key = || {
        reqwest::Client::new()
            .get(app.url("/api/v1/transactions"))
            .bearer_auth(&b_key)
            .send()
    };
    assert_eq!(with_b_key().await.unwrap().status(), StatusCode::OK);
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/workspaces/{ws_id}/members/{b_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(error_of(with_b_key().await.unwrap()).await.0, "key_revoked");
    let res = b
        .get(app.url(&format!("/api/v1/workspaces/{ws_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "not_found");
    let res = b
        .get(app.url(&format!("/api/v1/transactions?workspaceId={ws_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "not_found");
}

#[tokio::test]
async fn roles_last_owner_and_invitation_rules() {
    let app = TestApp::spawn().await;
    app.signed_in_user("boss@example.com").await;
    let me: Value = app.get_json("/api/v1/auth/me").await;
    let my_id = me["user"]["id"].as_str().unwrap().to_string();
    let ws: Value = app
        .post("/api/v1/workspaces", json!({"name": "Club"}))
        .await
        .json()
        .await
        .unwrap();
    let ws_id = ws["workspace"]["id"].as_str().unwrap().to_string();

    let res = app
        .client
        .delete(app.url(&format!("/api/v1/workspaces/{ws_id}/members/{my_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "last_owner");

    let personal = app
        .get("/api/v1/whoami")
        .await
        .json::<Value>()
        .await
        .unwrap()["workspaceId"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post(
            &format!("/api/v1/workspaces/{personal}/members"),
            json!({"email": "x@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(error_of(res).await.0, "personal_workspace");
    let res = app
        .post(
            &format!("/api/v1/workspaces/{ws_id}/members"),
            json!({"email": "x@example.com", "role": "king"}),
        )
        .await;
    assert!(error_of(res).await.1["role"].is_string());

    // A member cannot invite; an invitation for one address cannot be used by another.
    let member = app.other_user("member@example.com").await;
    app.post(
        &format!("/api/v1/workspaces/{ws_id}/members"),
        json!({"email": "member@example.com", "role": "member"}),
    )
    .await;
    let token = app
        .token_from_mail("member@example.com", "/invitations/accept", 2)
        .await;
    let stranger = app.other_user("stranger@example.com").await;
    let res = stranger
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "invitation_email_mismatch");
    let res = member
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["workspace"]["role"],
        "member"
    );
    let res = member
        .post(app.url(&format!("/api/v1/workspaces/{ws_id}/members")))
        .json(&json!({"email": "y@example.com", "role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "forbidden");
    let res = member
        .post(app.url("/api/v1/keys"))
        .json(&json!({"name": "k", "scopes": ["read:accounts"], "workspaceId": ws_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res).await.0,
        "not_found",
        "members cannot mint workspace keys"
    );

    // Outsiders see nothing.
    for path in [
        format!("/api/v1/workspaces/{ws_id}"),
        format!("/api/v1/workspaces/{ws_id}/members"),
    ] {
        let res = stranger.get(app.url(&path)).send().await.unwrap();
        assert_eq!(error_of(res).await.0, "not_found", "{path}");
    }
    let res = stranger
        .post(app.url(&format!("/api/v1/workspaces/{ws_id}/members")))
        .json(&json!({"email": "z@example.com", "role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "not_found");
    let res = stranger
        .delete(app.url(&format!("/api/v1/workspaces/{ws_id}/members/{my_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "not_found");

    // Members may leave.
    let member_me: Value = member
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member_id = member_me["user"]["id"].as_str().unwrap();
    let res = member
        .delete(app.url(&format!("/api/v1/workspaces/{ws_id}/members/{member_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list: Value = member
        .get(app.url("/api/v1/workspaces"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the personal workspace is left"
    );
}
