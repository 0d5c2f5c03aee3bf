//! `cache_invalidations`: the feed every replica reads to drop what its caches hold of a key,
//! a user or a session that changed elsewhere (`crate::invalidation`). Stamped with the
//! database's own clock, so replicas with skewed clocks still agree on what is new.

use sqlx::{Any, Executor, Row};

use super::Backend;

/// What an invalidation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An API key, by the hex SHA-256 the `api_keys` table stores.
    Key,
    /// A user and every session of theirs, by user id.
    User,
    /// One session, by the hex SHA-256 of its id.
    Session,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::User => "user",
            Self::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "key" => Some(Self::Key),
            "user" => Some(Self::User),
            "session" => Some(Self::Session),
            _ => None,
        }
    }
}

/// The database's clock in unix milliseconds, as SQL.
fn now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "cast((julianday('now') - 2440587.5) * 86400000.0 as bigint)",
        Backend::Postgres => "cast(extract(epoch from clock_timestamp()) * 1000 as bigint)",
    }
}

pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    backend: Backend,
    id: &str,
    kind: Kind,
    target: &str,
) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "insert into cache_invalidations (id, kind, target, at_ms) values ($1, $2, $3, {})",
        now_ms(backend)
    ))
    .bind(id)
    .bind(kind.as_str())
    .bind(target)
    .execute(e)
    .await?;
    Ok(())
}

/// The database's clock now (unix milliseconds).
pub async fn clock<'c>(
    e: impl Executor<'c, Database = Any>,
    backend: Backend,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(&format!("select {}", now_ms(backend)))
        .fetch_one(e)
        .await
}

pub struct Invalidation {
    pub id: String,
    pub kind: Option<Kind>,
    pub target: String,
    pub at_ms: i64,
}

/// Invalidations stamped at or after `since_ms`, oldest first.
pub async fn since<'c>(
    e: impl Executor<'c, Database = Any>,
    since_ms: i64,
) -> sqlx::Result<Vec<Invalidation>> {
    sqlx::query(
        "select id, kind, target, at_ms from cache_invalidations where at_ms >= $1 order by at_ms",
    )
    .bind(since_ms)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Invalidation {
            id: r.try_get("id")?,
            kind: Kind::parse(r.try_get::<String, _>("kind")?.as_str()),
            target: r.try_get("target")?,
            at_ms: r.try_get("at_ms")?,
        })
    })
    .collect()
}

/// Drops invalidations older than `before_ms`: every cache entry they concern has expired.
pub async fn prune<'c>(e: impl Executor<'c, Database = Any>, before_ms: i64) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from cache_invalidations where at_ms < $1")
        .bind(before_ms)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}
