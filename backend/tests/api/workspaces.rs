//! Shared workspaces: invitations, membership, roles, removal, tenancy.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{complete_connect, error_of, join, start_connect, TestApp};

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
        .delete(&format!("/api/v1/workspaces/{ws_id}/members/{b_id}"))
        .await;
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
        .delete(&format!("/api/v1/workspaces/{ws_id}/members/{my_id}"))
        .await;
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
    let member_me: Value = app.get_json_as(&member, "/api/v1/auth/me").await;
    let member_id = member_me["user"]["id"].as_str().unwrap();
    let res = member
        .delete(app.url(&format!("/api/v1/workspaces/{ws_id}/members/{member_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list: Value = app.get_json_as(&member, "/api/v1/workspaces").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the personal workspace is left"
    );
}

/// A shared workspace made by `app.client`'s user; returns its id.
async fn shared_workspace(app: &TestApp, name: &str) -> String {
    let ws: Value = app
        .post("/api/v1/workspaces", json!({"name": name}))
        .await
        .json()
        .await
        .unwrap();
    ws["workspace"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn members_read_and_sync_banks_but_only_owners_connect_and_disconnect() {
    let app = TestApp::spawn().await;
    app.signed_in_user("owner@example.com").await;
    let ws = shared_workspace(&app, "Household").await;
    let member = app.other_user("member@example.com").await;
    join(
        &app,
        &app.client,
        &member,
        &ws,
        "member@example.com",
        "member",
        2,
    )
    .await;
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();

    // The owner connects a bank into the shared workspace.
    let query = format!("?workspaceId={ws}");
    let intent = start_connect(&app, &app.client, &query, "BLUE").await;
    let location =
        complete_connect(&app, &app.client, &sandbox, &intent, "BLUE", "SUCCESSFUL").await;
    let id = location
        .strip_prefix("/connections?connected=")
        .unwrap_or_else(|| panic!("{location}"))
        .to_string();

    // The member reads it...
    let res = member
        .get(app.url(&format!("/api/v1/banks/connections/{id}?workspaceId={ws}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // ...but cannot connect, disconnect or delete the data.
    let res = member
        .post(app.url(&format!("/api/v1/banks/connect?workspaceId={ws}")))
        .json(&json!({"providerId": "RED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "forbidden");
    for delete_data in ["true", "false"] {
        let res = member
            .delete(app.url(&format!(
                "/api/v1/banks/connections/{id}?workspaceId={ws}&deleteData={delete_data}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(error_of(res).await.0, "forbidden");
    }
    let whoami: Value = app
        .get_json_as(&member, &format!("/api/v1/whoami?workspaceId={ws}"))
        .await;
    assert_eq!(whoami["workspaceRole"], "member");

    // Syncs: the member may ask; while one is open the answer is that one; starting a new one
    // is allowed once a minute per connection.
    crate::helpers::wait_for_sync(&app, &format!("{id}?workspaceId={ws}")).await;
    let sync = async |who: &reqwest::Client| {
        who.post(app.url(&format!(
            "/api/v1/banks/connections/{id}/sync?workspaceId={ws}"
        )))
        .send()
        .await
        .unwrap()
    };
    let first = sync(&member).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first_id = first.json::<Value>().await.unwrap()["syncId"].clone();
    let again = sync(&app.client).await;
    if again.status() == StatusCode::ACCEPTED {
        assert_eq!(
            again.json::<Value>().await.unwrap()["syncId"],
            first_id,
            "the open sync"
        );
    } else {
        assert_eq!(
            again.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "it finished already"
        );
    }
    crate::helpers::wait_for_sync(&app, &format!("{id}?workspaceId={ws}")).await;
    let limited = sync(&member).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(error_of(limited).await.0, "rate_limited");
    app.clock.advance(61);
    assert_eq!(sync(&member).await.status(), StatusCode::ACCEPTED);
    crate::helpers::wait_for_sync(&app, &format!("{id}?workspaceId={ws}")).await;

    // The owner disconnects.
    let res = app
        .delete(&format!(
            "/api/v1/banks/connections/{id}?workspaceId={ws}&deleteData=true"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_connect_flow_completes_only_while_its_starter_is_still_an_owner() {
    let app = TestApp::spawn().await;
    app.signed_in_user("first@example.com").await;
    let ws = shared_workspace(&app, "Firm").await;
    let second = app.other_user("second@example.com").await;
    join(
        &app,
        &app.client,
        &second,
        &ws,
        "second@example.com",
        "owner",
        2,
    )
    .await;
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    let intent = start_connect(&app, &second, &format!("?workspaceId={ws}"), "BLUE").await;
    // While the second owner is at the bank, the first removes them.
    let second_id = app.user_id(&second).await;
    let res = app
        .delete(&format!("/api/v1/workspaces/{ws}/members/{second_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let location = complete_connect(&app, &second, &sandbox, &intent, "BLUE", "SUCCESSFUL").await;
    assert_eq!(location, "/connections?error=forbidden");
    let count: i64 = sqlx::query_scalar("select count(*) from bank_connections")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "no connection was made");
}

#[tokio::test]
async fn owners_list_and_revoke_invitations_and_they_die_with_their_sender() {
    let app = TestApp::spawn().await;
    app.signed_in_user("lead@example.com").await;
    let ws = shared_workspace(&app, "Team").await;
    let co = app.other_user("co@example.com").await;
    join(&app, &app.client, &co, &ws, "co@example.com", "owner", 2).await;

    // The co-owner invites a second address of theirs as owner, and a friend as member.
    for (email, role) in [
        ("co.alt@example.com", "owner"),
        ("friend@example.com", "member"),
    ] {
        let res = co
            .post(app.url(&format!("/api/v1/workspaces/{ws}/members")))
            .json(&json!({"email": email, "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    let list: Value = app
        .get_json(&format!("/api/v1/workspaces/{ws}/invitations"))
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let co_id = app.user_id(&co).await;
    assert!(items.iter().all(|i| i["invitedBy"] == co_id.as_str()));
    let friend = items
        .iter()
        .find(|i| i["email"] == "friend@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Revoking one kills its link.
    let res = app
        .delete(&format!("/api/v1/workspaces/{ws}/invitations/{friend}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(&format!("/api/v1/workspaces/{ws}/invitations/{friend}"))
        .await;
    assert_eq!(error_of(res).await.0, "not_found");
    let friend_browser = app.other_user("friend@example.com").await;
    let token = app
        .token_from_mail("friend@example.com", "/invitations/accept", 1)
        .await;
    let res = friend_browser
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "invalid_token");

    // Members can see neither list nor revoke.
    let res = friend_browser
        .get(app.url(&format!("/api/v1/workspaces/{ws}/invitations")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "not_found");

    // The co-owner is removed: the invitation to their second address dies with them.
    let res = app
        .delete(&format!("/api/v1/workspaces/{ws}/members/{co_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list: Value = app
        .get_json(&format!("/api/v1/workspaces/{ws}/invitations"))
        .await;
    assert_eq!(list["items"], json!([]));
    let alt = app.other_user("co.alt@example.com").await;
    let token = app
        .token_from_mail("co.alt@example.com", "/invitations/accept", 1)
        .await;
    let res = alt
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "the removed owner stays out"
    );
}

#[tokio::test]
async fn an_owner_invitation_from_someone_no_longer_an_owner_makes_nobody_owner() {
    let app = TestApp::spawn().await;
    app.signed_in_user("head@example.com").await;
    let ws = shared_workspace(&app, "Board").await;
    let deputy = app.other_user("deputy@example.com").await;
    join(
        &app,
        &app.client,
        &deputy,
        &ws,
        "deputy@example.com",
        "owner",
        2,
    )
    .await;
    let res = deputy
        .post(app.url(&format!("/api/v1/workspaces/{ws}/members")))
        .json(&json!({"email": "newcomer@example.com", "role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    // The deputy is no longer an owner (roles can only be lowered by the database today).
    let deputy_id = app.user_id(&deputy).await;
    sqlx::query(
        "update workspace_members set role = 'member' where workspace_id = $1 and user_id = $2",
    )
    .bind(&ws)
    .bind(&deputy_id)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let newcomer = app.other_user("newcomer@example.com").await;
    let token = app
        .token_from_mail("newcomer@example.com", "/invitations/accept", 1)
        .await;
    let res = newcomer
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_removing_each_other_at_once_leave_one_owner_every_time() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alpha@example.com").await;
    let beta = app.other_user("beta@example.com").await;
    let alpha_id = app.user_id(&app.client).await;
    let beta_id = app.user_id(&beta).await;
    for round in 0..50 {
        let ws = shared_workspace(&app, &format!("Round {round}")).await;
        // Beta joins as owner (the invitation by mail is exercised elsewhere; here the race is
        // the point, so the membership is written directly).
        sqlx::query("insert into workspace_members (workspace_id, user_id, role, created_at) values ($1, $2, 'owner', 0)")
            .bind(&ws)
            .bind(&beta_id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let remove = |who: &reqwest::Client, whom: &str| {
            who.delete(app.url(&format!("/api/v1/workspaces/{ws}/members/{whom}")))
                .send()
        };
        let (a, b) = tokio::join!(remove(&app.client, &beta_id), remove(&beta, &alpha_id));
        let statuses = [a.unwrap().status(), b.unwrap().status()];
        let owners: i64 = sqlx::query_scalar(
            "select count(*) from workspace_members where workspace_id = $1 and role = 'owner'",
        )
        .bind(&ws)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(owners, 1, "round {round}: {statuses:?}");
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::NO_CONTENT)
                .count(),
            1,
            "round {round}: {statuses:?}"
        );
    }
}
