//! `workspaces` and `workspace_members`.

use sqlx::{Any, AnyConnection, Executor};

/// Creates the user's personal workspace with them as owner; returns its id.
pub async fn create_personal(
    conn: &mut AnyConnection,
    user_id: &str,
    now: i64,
) -> sqlx::Result<String> {
    let id = super::new_id();
    sqlx::query("insert into workspaces (id, name, personal_owner_id, created_at) values ($1, 'Personal', $2, $3)")
        .bind(&id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("insert into workspace_members (workspace_id, user_id, role, created_at) values ($1, $2, 'owner', $3)")
        .bind(&id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

pub async fn personal_of<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select id from workspaces where personal_owner_id = $1")
        .bind(user_id)
        .fetch_optional(e)
        .await
}

/// The shared workspaces whose only owner is `user_id`, by name.
pub async fn solely_owned<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select w.name from workspaces w join workspace_members m on m.workspace_id = w.id
         where m.user_id = $1 and m.role = 'owner' and w.personal_owner_id is null
           and (select count(*) from workspace_members o
                where o.workspace_id = w.id and o.role = 'owner') = 1
         order by w.created_at, w.id",
    )
    .bind(user_id)
    .fetch_all(e)
    .await
}

/// The shared workspaces the user owns, in id order (the order to lock them in).
pub async fn owned_shared<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select w.id from workspaces w join workspace_members m on m.workspace_id = w.id
         where m.user_id = $1 and m.role = 'owner' and w.personal_owner_id is null
         order by w.id",
    )
    .bind(user_id)
    .fetch_all(e)
    .await
}

/// The user's role in the workspace, if they are a member.
pub async fn role_of<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    user_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select role from workspace_members where workspace_id = $1 and user_id = $2",
    )
    .bind(workspace_id)
    .bind(user_id)
    .fetch_optional(e)
    .await
}

#[derive(Debug, Clone)]
pub struct WorkspaceRow {
    pub id: String,
    pub name: String,
    pub personal: bool,
    pub role: String,
    pub created_at: i64,
}

fn workspace(r: sqlx::any::AnyRow) -> sqlx::Result<WorkspaceRow> {
    use sqlx::Row;
    Ok(WorkspaceRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        personal: r
            .try_get::<Option<String>, _>("personal_owner_id")?
            .is_some(),
        role: r.try_get("role")?,
        created_at: r.try_get("created_at")?,
    })
}

const WS_COLUMNS: &str = "w.id, w.name, w.personal_owner_id, m.role, w.created_at";

pub async fn create_shared(
    conn: &mut AnyConnection,
    name: &str,
    owner: &str,
    now: i64,
) -> sqlx::Result<String> {
    let id = super::new_id();
    sqlx::query("insert into workspaces (id, name, created_at) values ($1, $2, $3)")
        .bind(&id)
        .bind(name)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    add_member(&mut *conn, &id, owner, "owner", now).await?;
    Ok(id)
}

/// Adds a member; false if they already were one (their role is unchanged).
pub async fn add_member<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    user_id: &str,
    role: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into workspace_members (workspace_id, user_id, role, created_at) values ($1, $2, $3, $4)
         on conflict (workspace_id, user_id) do nothing",
    )
    .bind(workspace_id)
    .bind(user_id)
    .bind(role)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The workspace as `user_id` sees it; `None` unless they are a member.
pub async fn get_for<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    user_id: &str,
) -> sqlx::Result<Option<WorkspaceRow>> {
    sqlx::query(&format!(
        "select {WS_COLUMNS} from workspaces w join workspace_members m on m.workspace_id = w.id and m.user_id = $2
         where w.id = $1"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(e)
    .await?
    .map(workspace)
    .transpose()
}

pub async fn list_for<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<WorkspaceRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(&format!(
        "select {WS_COLUMNS} from workspaces w join workspace_members m on m.workspace_id = w.id and m.user_id = $1
         where w.created_at < $2 or (w.created_at = $2 and w.id < $3)
         order by w.created_at desc, w.id desc limit $4"
    ))
    .bind(user_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(workspace)
    .collect()
}

pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub joined_at: i64,
}

pub async fn members<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<MemberRow>> {
    use sqlx::Row;
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    let rows = sqlx::query(
        "select m.user_id, u.email, u.name, m.role, m.created_at from workspace_members m join users u on u.id = m.user_id
         where m.workspace_id = $1 and (m.created_at < $2 or (m.created_at = $2 and m.user_id < $3))
         order by m.created_at desc, m.user_id desc limit $4",
    )
    .bind(workspace_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(MemberRow {
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                joined_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn owner_count<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from workspace_members where workspace_id = $1 and role = 'owner'",
    )
    .bind(workspace_id)
    .fetch_one(e)
    .await
}

pub async fn remove_member<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    user_id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from workspace_members where workspace_id = $1 and user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_role<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    user_id: &str,
    role: &str,
) -> sqlx::Result<()> {
    sqlx::query("update workspace_members set role = $3 where workspace_id = $1 and user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .bind(role)
        .execute(e)
        .await?;
    Ok(())
}

/// Everyone in the workspace, for telling them it is gone.
pub async fn member_ids<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select user_id from workspace_members where workspace_id = $1 order by user_id",
    )
    .bind(workspace_id)
    .fetch_all(e)
    .await
}

/// Deletes a workspace and, through the foreign keys, everything in it (members, keys,
/// accounts, transactions, budgets, invitations, bank connections and their synced data; on
/// PostgreSQL an account's transactions and rollups go by the accounts' trigger,
/// `finance::account_rows_without_keys_on_postgres`); answers the deleted keys' hashes (to
/// drop from caches).
pub async fn delete(conn: &mut AnyConnection, workspace_id: &str) -> sqlx::Result<Vec<String>> {
    let hashes = sqlx::query_scalar("select key_hash from api_keys where workspace_id = $1")
        .bind(workspace_id)
        .fetch_all(&mut *conn)
        .await?;
    // The one table that neither a foreign key nor the accounts' trigger reaches.
    sqlx::query("delete from idempotency_keys where workspace_id = $1")
        .bind(workspace_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from workspaces where id = $1")
        .bind(workspace_id)
        .execute(&mut *conn)
        .await?;
    Ok(hashes)
}

/// Revokes the keys `user_id` made for the workspace; returns their hashes (to evict from caches).
pub async fn revoke_member_keys<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "update api_keys set revoked_at = $3 where workspace_id = $1 and user_id = $2 and revoked_at is null
         returning key_hash",
    )
    .bind(workspace_id)
    .bind(user_id)
    .bind(now)
    .fetch_all(e)
    .await
}

/// Deletes the pending invitations `invited_by` sent, in one workspace or (`None`) in all;
/// how many.
pub async fn delete_invitations_by<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: Option<&str>,
    invited_by: &str,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "delete from invitations where invited_by = $1 and accepted_at is null
           and ($2 = '' or workspace_id = $2)",
    )
    .bind(invited_by)
    .bind(workspace_id.unwrap_or_default())
    .execute(e)
    .await?;
    Ok(r.rows_affected())
}

pub struct NewInvitation<'a> {
    pub workspace_id: &'a str,
    pub email_normalized: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub invited_by: &'a str,
    pub now: i64,
    pub ttl: i64,
}

pub async fn insert_invitation<'c>(
    e: impl Executor<'c, Database = Any>,
    i: NewInvitation<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into invitations (id, workspace_id, email_normalized, role, token_hash, invited_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(super::new_id())
    .bind(i.workspace_id)
    .bind(i.email_normalized)
    .bind(i.role)
    .bind(i.token_hash)
    .bind(i.invited_by)
    .bind(i.now)
    .bind(i.now + i.ttl)
    .execute(e)
    .await?;
    Ok(())
}

/// A live invitation, without using it.
pub struct PendingInvitation {
    pub workspace_id: String,
    pub email_normalized: String,
    pub role: String,
    pub invited_by: String,
}

pub async fn peek_invitation<'c>(
    e: impl Executor<'c, Database = Any>,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<PendingInvitation>> {
    use sqlx::Row;
    let row = sqlx::query(
        "select workspace_id, email_normalized, role, invited_by from invitations
         where token_hash = $1 and accepted_at is null and expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(e)
    .await?;
    row.map(|r| {
        Ok(PendingInvitation {
            workspace_id: r.try_get("workspace_id")?,
            email_normalized: r.try_get("email_normalized")?,
            role: r.try_get("role")?,
            invited_by: r.try_get("invited_by")?,
        })
    })
    .transpose()
}

pub struct InvitationRow {
    pub id: String,
    pub email_normalized: String,
    pub role: String,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The workspace's pending invitations (not accepted, not expired), newest first.
pub async fn pending_invitations<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    now: i64,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<InvitationRow>> {
    use sqlx::Row;
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(
        "select id, email_normalized, role, invited_by, created_at, expires_at from invitations
         where workspace_id = $1 and accepted_at is null and expires_at > $2
           and (created_at < $3 or (created_at = $3 and id < $4))
         order by created_at desc, id desc limit $5",
    )
    .bind(workspace_id)
    .bind(now)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(|r| {
        Ok(InvitationRow {
            id: r.try_get("id")?,
            email_normalized: r.try_get("email_normalized")?,
            role: r.try_get("role")?,
            invited_by: r.try_get("invited_by")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .collect()
}

/// Deletes a pending invitation of the workspace; false if there is none with that id.
pub async fn delete_invitation<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "delete from invitations where workspace_id = $1 and id = $2 and accepted_at is null",
    )
    .bind(workspace_id)
    .bind(id)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Takes the workspace's row lock until the transaction ends (PostgreSQL; on SQLite the write
/// transaction already holds the database's), so changes to its members are serialised: two
/// owners removing each other at once cannot both see another owner left.
pub async fn lock(conn: &mut AnyConnection, backend: super::Backend, id: &str) -> sqlx::Result<()> {
    if backend == super::Backend::Postgres {
        sqlx::query("select id from workspaces where id = $1 for update")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Uses an invitation; false if it was used meanwhile.
pub async fn accept_invitation<'c>(
    e: impl Executor<'c, Database = Any>,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query("update invitations set accepted_at = $2 where token_hash = $1 and accepted_at is null and expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}
