//! Security events (product.md §2): written through [`record`], in the caller's transaction
//! where there is one, so an event exists exactly when the change it describes does.

use sqlx::AnyConnection;

use crate::{db, http::RequestMeta, state::AppState};

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
            target: Some(("user", user_id)),
            outcome,
        }
    }
}

pub async fn record(
    conn: &mut AnyConnection,
    state: &AppState,
    meta: &RequestMeta,
    ev: Event<'_>,
) -> sqlx::Result<()> {
    let id = db::new_id();
    db::audit::insert(
        conn,
        db::audit::AuditRow {
            id: &id,
            kind: ev.kind,
            occurred_at: state.clock.now(),
            user_id: ev.user_id,
            actor_user_id: ev.actor_user_id,
            actor_key_id: None,
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
