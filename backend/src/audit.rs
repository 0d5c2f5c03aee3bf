//! Security events (product.md §2): written through [`record`], in the caller's transaction
//! where there is one, so an event exists exactly when the change it describes does. Reading
//! them is `crate::audit_log`.

use sqlx::AnyConnection;

use crate::{clock::Clock, db, request_meta::RequestMeta};

#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

/// One event. `user_id` is whose log shows it.
pub struct Event<'a> {
    pub kind: &'static str,
    pub user_id: Option<&'a str>,
    pub actor_user_id: Option<&'a str>,
    pub actor_key_id: Option<&'a str>,
    pub target: Option<(&'static str, &'a str)>,
    pub outcome: Outcome,
}

impl<'a> Event<'a> {
    /// A user acting on their own account.
    pub fn own(kind: &'static str, user_id: &'a str, outcome: Outcome) -> Self {
        Self {
            kind,
            user_id: Some(user_id),
            actor_user_id: Some(user_id),
            actor_key_id: None,
            target: Some(("user", user_id)),
            outcome,
        }
    }

    /// The same event about another object.
    pub fn on(self, target_type: &'static str, target_id: &'a str) -> Self {
        Self {
            target: Some((target_type, target_id)),
            ..self
        }
    }

    /// The same event, done with an API key.
    pub fn by_key(self, key_id: &'a str) -> Self {
        Self {
            actor_key_id: Some(key_id),
            ..self
        }
    }
}

pub async fn record(
    conn: &mut AnyConnection,
    clock: &Clock,
    meta: &RequestMeta,
    ev: Event<'_>,
) -> sqlx::Result<()> {
    record_at(conn, clock.now(), meta, ev).await
}

/// [`record`] at `now` (unix seconds), for the command line, which has no server state.
pub async fn record_at(
    conn: &mut AnyConnection,
    now: i64,
    meta: &RequestMeta,
    ev: Event<'_>,
) -> sqlx::Result<()> {
    let id = db::new_id();
    db::audit::insert(
        conn,
        db::audit::AuditRow {
            id: &id,
            kind: ev.kind,
            occurred_at: now,
            user_id: ev.user_id,
            actor_user_id: ev.actor_user_id,
            actor_key_id: ev.actor_key_id,
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            target_type: ev.target.map(|t| t.0),
            target_id: ev.target.map(|t| t.1),
            outcome: match ev.outcome {
                Outcome::Success => "success",
                Outcome::Failure => "failure",
                Outcome::Denied => "denied",
            },
        },
    )
    .await
}
