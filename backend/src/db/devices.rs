//! `known_devices`: the devices (browser family, system and network, hashed) each account
//! signed in from.

use sqlx::AnyConnection;

/// What remembering a sign-in's device found.
pub struct Seen {
    /// The account had not signed in from this device before.
    pub new: bool,
    /// The account had signed in from some device before this one.
    pub had_any: bool,
}

/// Remembers that `user_id` signed in from `fingerprint` at `now`. Of two sign-ins from the same
/// new device at once, one finds it new.
pub async fn remember(
    conn: &mut AnyConnection,
    user_id: &str,
    fingerprint: &str,
    now: i64,
) -> sqlx::Result<Seen> {
    let before: i64 = sqlx::query_scalar("select count(*) from known_devices where user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    let inserted = sqlx::query(
        "insert into known_devices (user_id, fingerprint, first_seen_at, last_seen_at)
         values ($1, $2, $3, $3)
         on conflict (user_id, fingerprint) do nothing",
    )
    .bind(user_id)
    .bind(fingerprint)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        sqlx::query(
            "update known_devices set last_seen_at = $3 where user_id = $1 and fingerprint = $2",
        )
        .bind(user_id)
        .bind(fingerprint)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Seen {
        new: inserted,
        had_any: before > 0,
    })
}
