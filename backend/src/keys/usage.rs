//! Writing what the key extractor records: last use at most once a minute per key, audit rows
//! (`key.used` hourly, `key.denied` once a minute per reason), the networks each key is used
//! from (with a mail for a new one, at most daily), and each minute the requests per key and
//! day that `GET /api/v1/keys/{id}/usage` reports.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::sync::watch;

use crate::{
    db,
    mail::Template,
    request_meta::RequestMeta,
    state::AppState,
    usage::{Usage, OUTCOMES},
};

/// Writes usage: `last_used_*` at most once a minute per key, `key.used` at most once an hour
/// per key, `key.denied` at most once a minute per key and reason; adds the request counts to
/// the database at each whole minute. Drains and flushes what is left on stop.
pub async fn run_writer(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(mut rx) = state.usage.take_receiver() else {
        return;
    };
    let mut seen = Seen::default();
    // One deadline, kept across events: a steady stream of them must not keep pushing it on.
    let mut flush_at = tokio::time::Instant::now() + until_next_minute();
    loop {
        tokio::select! {
            usage = rx.recv() => match usage {
                Some(u) => seen.write(&state, u).await,
                None => return,
            },
            _ = tokio::time::sleep_until(flush_at) => {
                log_flush(&state).await;
                flush_at = tokio::time::Instant::now() + until_next_minute();
            }
            _ = stop.changed() => {
                rx.close();
                while let Ok(u) = rx.try_recv() {
                    seen.write(&state, u).await;
                }
                log_flush(&state).await;
                return;
            }
        }
    }
}

/// How long until the wall clock's next whole minute (so a day's counts end at midnight).
fn until_next_minute() -> Duration {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Duration::from_millis(60_000 - ms % 60_000 + 50)
}

async fn log_flush(state: &AppState) {
    if let Err(e) = flush_counts(state).await {
        tracing::warn!(error = %e, "recording key request counts failed");
    }
}

/// Adds every key's request counts since the last flush to its day's rows (one upsert per key
/// and outcome; replicas add to the same rows). The day is the one the minute that just ended
/// belongs to. Counts that could not be written are lost, never counted twice.
pub async fn flush_counts(state: &AppState) -> anyhow::Result<()> {
    let counts = state.usage.take_counts();
    if counts.is_empty() {
        return Ok(());
    }
    let day = crate::clock::utc_day(state.clock.now() - 30);
    let mut tx = state.db.begin().await?;
    for (key_id, by_outcome) in counts {
        for (outcome, n) in OUTCOMES.iter().zip(by_outcome) {
            if n > 0 {
                db::key_usage::add(&mut tx, &key_id, &day, outcome, n as i64).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// When each key's use was last written and audited, and the networks known to be stored.
#[derive(Default)]
struct Seen {
    written: HashMap<String, i64>,
    audited: HashMap<String, i64>,
    networks: HashSet<(String, String)>,
}

impl Seen {
    async fn write(&mut self, state: &AppState, usage: Usage) {
        if self.written.len() > 100_000 || self.networks.len() > 100_000 {
            self.written.clear();
            self.audited.clear();
            self.networks.clear();
        }
        if let Err(e) = self.apply(state, usage).await {
            tracing::warn!(error = %e, "recording key usage failed");
        }
    }

    async fn apply(&mut self, state: &AppState, usage: Usage) -> anyhow::Result<()> {
        let due = |map: &mut HashMap<String, i64>, key: String, at: i64, every: i64| {
            let last = map.get(&key).copied();
            let due = last.is_none_or(|t| at - t >= every);
            if due {
                map.insert(key, at);
            }
            due
        };
        let (written, audited) = (&mut self.written, &mut self.audited);
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
            Usage::Network {
                key_id,
                user_id,
                at,
                network,
                meta,
            } => {
                if self.networks.insert((key_id.clone(), network.clone())) {
                    new_network(state, &key_id, &user_id, at, &network, &meta).await?;
                }
            }
        }
        Ok(())
    }
}

/// Stores that the key was used from `network`; when that is new for a key already used from
/// elsewhere, audits `key.new_network` and mails the key's maker (at most once a day per key,
/// claimed in the database so replicas send it once).
async fn new_network(
    state: &AppState,
    key_id: &str,
    user_id: &str,
    at: i64,
    network: &str,
    meta: &RequestMeta,
) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    if !db::key_usage::note_network(&mut tx, key_id, network, at).await?
        || db::key_usage::network_count(&mut *tx, key_id).await? < 2
    {
        tx.commit().await?;
        return Ok(());
    }
    let ev = crate::audit::Event::own("key.new_network", user_id, crate::audit::Outcome::Success)
        .on("api_key", key_id)
        .by_key(key_id);
    crate::audit::record(&mut tx, &state.clock, meta, ev).await?;
    let mut mailed = false;
    if db::key_usage::claim_network_alert(&mut *tx, key_id, at).await? {
        let key = db::keys::by_id(&mut *tx, key_id).await?;
        let user = db::users::by_id(&mut *tx, user_id).await?;
        if let (Some(key), Some(user)) = (key, user) {
            let template = Template::KeyNewNetwork {
                name: user.name,
                key: key.name,
                hint: key.hint,
                network: network.to_string(),
                ip: meta.ip.clone(),
                user_agent: meta.user_agent.clone(),
                at: crate::clock::rfc3339(at),
            };
            mailed = state.mail.enqueue(&mut tx, &user.email, template).await?;
        }
    }
    tx.commit().await?;
    if mailed {
        state.mail.wake();
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
