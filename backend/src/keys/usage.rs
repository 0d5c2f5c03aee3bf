//! Writing what the key extractor records: last use at most once a minute per key, audit rows
//! (`key.used` hourly, `key.denied` once a minute per reason).

use std::collections::HashMap;

use tokio::sync::watch;

use crate::{db, request_meta::RequestMeta, state::AppState, usage::Usage};

/// Writes usage: `last_used_*` at most once a minute per key, `key.used` at most once an hour
/// per key, `key.denied` at most once a minute per key and reason. Drains what is queued on stop.
pub async fn run_writer(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(mut rx) = state.usage.take_receiver() else {
        return;
    };
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            usage = rx.recv() => match usage {
                Some(u) => seen.write(&state, u).await,
                None => return,
            },
            _ = stop.changed() => {
                rx.close();
                while let Ok(u) = rx.try_recv() {
                    seen.write(&state, u).await;
                }
                return;
            }
        }
    }
}

/// When each key's use was last written and audited.
#[derive(Default)]
struct Seen {
    written: HashMap<String, i64>,
    audited: HashMap<String, i64>,
}

impl Seen {
    async fn write(&mut self, state: &AppState, usage: Usage) {
        if self.written.len() > 100_000 {
            self.written.clear();
            self.audited.clear();
        }
        if let Err(e) = write_usage(state, usage, &mut self.written, &mut self.audited).await {
            tracing::warn!(error = %e, "recording key usage failed");
        }
    }
}

async fn write_usage(
    state: &AppState,
    usage: Usage,
    written: &mut HashMap<String, i64>,
    audited: &mut HashMap<String, i64>,
) -> anyhow::Result<()> {
    let due = |map: &mut HashMap<String, i64>, key: String, at: i64, every: i64| {
        let last = map.get(&key).copied();
        let due = last.is_none_or(|t| at - t >= every);
        if due {
            map.insert(key, at);
        }
        due
    };
    match usage {
        Usage::Used {
            key_id,
            user_id,
            at,
            meta,
        } => {
            if due(written, key_id.clone(), at, 60) {
                db::keys::record_use(
                    &state.db.pool,
                    &key_id,
                    at,
                    meta.ip.as_deref(),
                    meta.user_agent.as_deref(),
                )
                .await?;
            }
            if due(audited, format!("used:{key_id}"), at, 3600) {
                key_event(
                    state,
                    "key.used",
                    &key_id,
                    &user_id,
                    &meta,
                    crate::audit::Outcome::Success,
                )
                .await?;
            }
        }
        Usage::Denied {
            key_id,
            user_id,
            at,
            meta,
            reason,
        } => {
            if due(audited, format!("denied:{reason}:{key_id}"), at, 60) {
                key_event(
                    state,
                    "key.denied",
                    &key_id,
                    &user_id,
                    &meta,
                    crate::audit::Outcome::Denied,
                )
                .await?;
            }
        }
    }
    Ok(())
}

async fn key_event(
    state: &AppState,
    kind: &'static str,
    key_id: &str,
    user_id: &str,
    meta: &RequestMeta,
    outcome: crate::audit::Outcome,
) -> sqlx::Result<()> {
    let mut conn = state.db.pool.acquire().await?;
    let ev = crate::audit::Event::own(kind, user_id, outcome)
        .on("api_key", key_id)
        .by_key(key_id);
    crate::audit::record(&mut conn, &state.clock, meta, ev).await
}
