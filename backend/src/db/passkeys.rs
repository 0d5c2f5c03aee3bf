//! Passkeys: `passkeys` (each account's WebAuthn credentials) and `webauthn_ceremonies`
//! (a registration or an assertion between its two requests).

use sqlx::{Any, AnyConnection, Executor, Row};

/// One of an account's passkeys.
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// webauthn-rs' `Passkey` as JSON.
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, name, credential, created_at, last_used_at";

fn row(r: sqlx::any::AnyRow) -> sqlx::Result<PasskeyRow> {
    Ok(PasskeyRow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        credential: r.try_get("credential")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

/// The account's passkeys, oldest first.
pub async fn list<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Vec<PasskeyRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from passkeys where user_id = $1 order by created_at, id"
    ))
    .bind(user_id)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(row)
    .collect()
}

pub async fn count<'c>(e: impl Executor<'c, Database = Any>, user_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from passkeys where user_id = $1")
        .bind(user_id)
        .fetch_one(e)
        .await
}

/// The passkey with this credential id, whoever owns it.
pub async fn by_credential<'c>(
    e: impl Executor<'c, Database = Any>,
    credential_id: &str,
) -> sqlx::Result<Option<PasskeyRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from passkeys where credential_id = $1"
    ))
    .bind(credential_id)
    .fetch_optional(e)
    .await?
    .map(row)
    .transpose()
}

/// Stores a new passkey; a unique violation means the credential is registered already.
pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    p: &PasskeyRow,
    credential_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into passkeys (id, user_id, credential_id, name, credential, created_at, last_used_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&p.id)
    .bind(&p.user_id)
    .bind(credential_id)
    .bind(&p.name)
    .bind(&p.credential)
    .bind(p.created_at)
    .bind(p.last_used_at)
    .execute(e)
    .await?;
    Ok(())
}

/// Renames one of the account's passkeys; None when it has no passkey with this id.
pub async fn rename<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    id: &str,
    name: &str,
) -> sqlx::Result<Option<PasskeyRow>> {
    sqlx::query(&format!(
        "update passkeys set name = $3 where user_id = $1 and id = $2 returning {COLUMNS}"
    ))
    .bind(user_id)
    .bind(id)
    .bind(name)
    .fetch_optional(e)
    .await?
    .map(row)
    .transpose()
}

/// Removes one of the account's passkeys; its name, or `None` when it has no passkey with
/// this id.
pub async fn delete<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("delete from passkeys where user_id = $1 and id = $2 returning name")
        .bind(user_id)
        .bind(id)
        .fetch_optional(e)
        .await
}

/// After an assertion: the credential as updated (its counter) and when it was used.
pub async fn used<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    credential: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update passkeys set last_used_at = $2, credential = coalesce($3, credential) where id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(credential)
    .execute(e)
    .await?;
    Ok(())
}

/// A ceremony between its two requests.
pub struct Ceremony {
    pub user_id: Option<String>,
    /// webauthn-rs' registration or authentication state, as JSON.
    pub state: String,
}

/// Keeps a new ceremony; expired ones (begun and never finished) are swept at the same time,
/// so the table stays as small as the ceremonies in flight.
pub async fn insert_ceremony(
    conn: &mut AnyConnection,
    id_hash: &str,
    purpose: &str,
    c: &Ceremony,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sweep_ceremonies(&mut *conn, now).await?;
    sqlx::query(
        "insert into webauthn_ceremonies (id_hash, purpose, user_id, state, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(purpose)
    .bind(&c.user_id)
    .bind(&c.state)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes the ceremonies that expired by `now`; how many.
pub async fn sweep_ceremonies<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from webauthn_ceremonies where expires_at <= $1")
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

/// Ends a live ceremony of this purpose and answers it — to one caller only, on any replica.
/// Expired ceremonies are swept at the same time.
pub async fn take_ceremony(
    conn: &mut AnyConnection,
    id_hash: &str,
    purpose: &str,
    now: i64,
) -> sqlx::Result<Option<Ceremony>> {
    let taken = sqlx::query(
        "delete from webauthn_ceremonies where id_hash = $1 and purpose = $2 and expires_at > $3
         returning user_id, state",
    )
    .bind(id_hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| {
        Ok::<_, sqlx::Error>(Ceremony {
            user_id: r.try_get("user_id")?,
            state: r.try_get("state")?,
        })
    })
    .transpose()?;
    sweep_ceremonies(conn, now).await?;
    Ok(taken)
}
