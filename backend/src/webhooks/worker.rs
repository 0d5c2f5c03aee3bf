//! The delivery worker, on every replica. Each pass claims endpoints with work (a lease in the
//! database: one worker per endpoint at a time, across replicas) and tries, in event order,
//! its stored deliveries that are due, then the workspace's events after its cursor; each
//! message is stored with its outcome in the transaction that moves the cursor past it (one
//! write per message when it is accepted at once):
//!
//! - a message waits while an earlier message about the same resource is still pending, so a
//!   receiver sees each resource's events in order; one that failed 3 times while the endpoint
//!   accepted other messages is *set aside* (retried on its own schedule) and stops holding the
//!   later ones back;
//! - a failure schedules that message's retry (exponential backoff with jitter, or the
//!   receiver's `Retry-After`); a pass ends at a connection failure or timeout, at a
//!   `Retry-After`, or after 3 failures in a row, and an endpoint whose pass delivered nothing
//!   rests (backoff by passes failed in a row) before the next;
//! - a message is given up 3 days after it was first due; an endpoint failing for 5 days is
//!   disabled, its pending messages given up and its owners mailed;
//! - while the server is answering requests the worker gives way ([`crate::load`]): it pauses
//!   128 ms after every 8 messages, so webhooks do not slow the API down.

use std::{collections::HashSet, time::Instant};

use shared::webhooks::EVENT_TYPES;
use tokio::sync::watch;

use crate::{
    crypto,
    db::{
        self,
        webhooks::{
            deliveries::{self, DeliveryRow},
            EndpointRow,
        },
    },
    mail::Template,
    outbound::{guard, message_id, payload, signature, DISABLE_AFTER_MS, GIVE_UP_MS},
    state::AppState,
};

/// How long a worker holds an endpoint; a pass ends well before.
const LEASE_MS: i64 = 60_000;
/// A pass over one endpoint stops starting attempts after this long.
const PASS_MS: u128 = 20_000;
/// Endpoints claimed per pass, served concurrently.
const ENDPOINTS_PER_PASS: i64 = 32;
/// Stored deliveries looked at per endpoint and pass, and about as many fresh events.
const WINDOW: i64 = 500;

/// Runs passes until `stop`: at once while there is work, otherwise when woken or each second.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let holder = uuid::Uuid::new_v4().to_string();
    let mut chores_at: Option<Instant> = None;
    loop {
        if chores_at.is_none_or(|t| t.elapsed().as_secs() >= 60) {
            chores_at = Some(Instant::now());
            if let Err(e) = chores(&state).await {
                tracing::warn!(error = %e, "webhook housekeeping failed");
            }
        }
        let busy = match tokio::spawn(pass(state.clone(), holder.clone())).await {
            Ok(Ok(busy)) => busy,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "webhook worker pass failed");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "webhook worker pass panicked");
                false
            }
        };
        if busy {
            if *stop.borrow() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = state.outbound.woken() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Each minute: `key.expiring` events and mails (to the key's maker), and events and
/// deliveries no longer needed go. The notice is claimed in the same transaction, so one
/// replica sends it once.
pub async fn chores(state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now();
    let now_ms = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let mut events = false;
    let mut mails = false;
    // The 1-day notice first: a key found within a day gets that one only.
    for days in [1, 7] {
        for (id, ws, expires, key, hint, user_id) in
            db::webhooks::events::keys_expiring(&mut tx, now, days).await?
        {
            let expires_at = crate::clock::rfc3339(expires);
            if let Some(user) = db::users::by_id(&mut *tx, &user_id).await? {
                let template = Template::KeyExpiring {
                    name: user.name,
                    key,
                    hint,
                    expires_at: expires_at.clone(),
                };
                mails |= state.mail.enqueue(&mut tx, &user.email, template).await?;
            }
            let detail = serde_json::json!({ "expiresAt": expires_at });
            events |= db::webhooks::events::record_one(
                &mut tx,
                &ws,
                "key.expiring",
                &id,
                Some(&detail),
                now_ms,
            )
            .await?;
        }
    }
    tx.commit().await?;
    if events {
        state.outbound.wake();
    }
    if mails {
        state.mail.wake();
    }
    db::webhooks::events::prune(&state.db.pool).await?;
    db::webhooks::deliveries::prune(&state.db.pool, now_ms - KEEP_LOG_MS).await?;
    Ok(())
}

/// How long finished deliveries stay in the log.
const KEEP_LOG_MS: i64 = 30 * 86_400_000;

/// One pass: whether it did anything (then another follows at once). Tests call it directly.
pub async fn pass(state: AppState, holder: String) -> anyhow::Result<bool> {
    let now = state.clock.now_ms();
    let mut claimed = Vec::new();
    for id in db::webhooks::with_work(&state.db.pool, now, ENDPOINTS_PER_PASS).await? {
        if db::webhooks::claim(&state.db.pool, &id, &holder, now, now + LEASE_MS).await? {
            claimed.push(id);
        }
    }
    let served = futures_util::future::join_all(claimed.iter().map(|id| serve(&state, id))).await;
    let mut busy = false;
    for (id, result) in claimed.iter().zip(served) {
        match result {
            Ok(progress) => busy |= progress,
            Err(e) => tracing::warn!(endpoint = %id, error = %e, "webhook endpoint pass failed"),
        }
        db::webhooks::release(&state.db.pool, id, &holder).await?;
    }
    Ok(busy)
}

/// Delivers for one endpoint this worker holds, unless it rests. Whether anything moved.
async fn serve(state: &AppState, id: &str) -> anyhow::Result<bool> {
    let Some(ep) = db::webhooks::by_id(&state.db.pool, id).await? else {
        return Ok(false);
    };
    if !ep.enabled || state.clock.now_ms() < ep.paused_until {
        return Ok(false);
    }
    deliver(state, &ep).await
}

/// What one attempt got.
struct Attempt {
    status: Option<u16>,
    error: Option<String>,
    retry_after_ms: Option<i64>,
    duration_ms: i64,
}

impl Attempt {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A delivery in a pass: stored already (a retry, a ping, a message held back) or fresh from
/// its event, and whether the pass tried it.
struct Item {
    d: DeliveryRow,
    stored: bool,
    tried: bool,
}

/// One pass over an endpoint: its stored deliveries that are due, then (when those are few)
/// the events after its cursor, in event order. Every fresh message ends up stored, tried or
/// not, in the one transaction that moves the cursor past it.
async fn deliver(state: &AppState, ep: &EndpointRow) -> anyhow::Result<bool> {
    let secrets = open_secrets(state, ep)?;
    let url = url::Url::parse(&ep.url)?;
    let now = state.clock.now_ms();
    let pool = &state.db.pool;
    let stored = deliveries::pending(pool, &ep.id, now, ep.last_success_at, WINDOW).await?;
    // A full window of stored ones may hide older messages about a fresh event's resource.
    let (fresh, upto) = if (stored.len() as i64) < WINDOW {
        deliveries::fresh(pool, ep, now, state.outbound.scaled(GIVE_UP_MS), WINDOW).await?
    } else {
        (Vec::new(), None)
    };
    let mut items: Vec<Item> = stored
        .into_iter()
        .map(|d| Item {
            d,
            stored: true,
            tried: false,
        })
        .chain(fresh.into_iter().map(|d| Item {
            d,
            stored: false,
            tried: false,
        }))
        .collect();
    let started = Instant::now();
    let mut blocked: HashSet<String> = HashSet::new();
    let mut last_success = ep.last_success_at;
    let set_aside = |attempts: i64, first_failed: Option<i64>, last_success: Option<i64>| {
        attempts >= 3 && matches!((last_success, first_failed), (Some(s), Some(f)) if s > f)
    };
    let (mut delivered, mut failed_in_row, mut failed) = (0, 0, 0);
    let mut rest_until: Option<i64> = None;
    let mut pacer = state.load.pacer();
    for item in &mut items {
        let d = &mut item.d;
        if blocked.contains(&d.key.resource_id) {
            continue;
        }
        if d.next_attempt_at > state.clock.now_ms() {
            if d.attempts > 0 && !set_aside(d.attempts, d.first_failed_at, last_success) {
                blocked.insert(d.key.resource_id.clone());
            }
            continue;
        }
        if !EVENT_TYPES.iter().any(|(t, _)| *t == d.key.event_type) && d.key.event_type != "ping" {
            continue;
        }
        let attempt = attempt(state, &url, &secrets, d).await;
        let at = state.clock.now_ms();
        item.tried = true;
        d.attempts += 1;
        d.last_attempt_at = Some(at);
        d.response_status = attempt.status.map(i64::from);
        d.duration_ms = Some(attempt.duration_ms);
        d.error = attempt.error.clone();
        if attempt.ok() {
            delivered += 1;
            failed_in_row = 0;
            last_success = Some(at);
            d.status = "delivered".into();
            d.delivered_at = Some(at);
            d.next_attempt_at = at;
        } else {
            failed += 1;
            failed_in_row += 1;
            let mut next = at + state.outbound.backoff_ms(d.attempts);
            if let Some(ra) = attempt.retry_after_ms {
                next = next.max(at + ra);
                rest_until = Some(at + ra);
            }
            d.next_attempt_at = next;
            d.delivered_at = None;
            d.first_failed_at = d.first_failed_at.or(Some(at));
            d.status = if at >= d.expires_at {
                "failed"
            } else {
                "pending"
            }
            .into();
            if d.status == "pending" && !set_aside(d.attempts, d.first_failed_at, last_success) {
                blocked.insert(d.key.resource_id.clone());
            }
            if attempt.status.is_none() || attempt.retry_after_ms.is_some() || failed_in_row >= 3 {
                break;
            }
        }
        if started.elapsed().as_millis() > PASS_MS {
            break;
        }
        // Requests come first: while some are in flight, pause now and then.
        pacer.after_one().await;
    }
    let (stored, fresh): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|i| i.stored);
    let tried: Vec<DeliveryRow> = stored
        .into_iter()
        .filter(|i| i.tried)
        .map(|i| i.d)
        .collect();
    let fresh: Vec<DeliveryRow> = fresh.into_iter().map(|i| i.d).collect();
    let mut tx = state.db.begin().await?;
    deliveries::record(&mut tx, &ep.id, &tried).await?;
    if let Some(upto) = upto {
        deliveries::store(&mut tx, &ep.id, &fresh, upto).await?;
    }
    tx.commit().await?;
    let now = state.clock.now_ms();
    if delivered > 0 {
        db::webhooks::record_pass(pool, &ep.id, true, 0, now).await?;
    } else if failed > 0 {
        let rest = rest_until.unwrap_or(now + state.outbound.backoff_ms(ep.fail_streak + 1));
        let since = db::webhooks::record_pass(pool, &ep.id, false, rest, now).await?;
        if since.is_some_and(|s| now - s >= state.outbound.scaled(DISABLE_AFTER_MS)) {
            disable(state, ep).await?;
        }
    }
    Ok(delivered + failed > 0 || upto.is_some())
}

/// The endpoint's signing secrets: the current one, and the previous one while it still signs.
fn open_secrets(state: &AppState, ep: &EndpointRow) -> anyhow::Result<Vec<String>> {
    let now_secs = state.clock.now();
    let mut secrets = Vec::new();
    for (sealed, live) in [
        (Some(&ep.secret_sealed), true),
        (
            ep.previous_secret_sealed.as_ref(),
            ep.previous_until.is_some_and(|u| u > now_secs),
        ),
    ] {
        if let (Some(sealed), true) = (sealed, live) {
            let opened = state
                .secrets
                .open(crypto::WEBHOOK_SECRET, sealed)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "cannot open the endpoint's sealed secret (was PFN_SECRET changed?)"
                    )
                })?;
            secrets.push(opened.text);
        }
    }
    Ok(secrets)
}

/// Sends one message. Never follows a redirect; an IP address in the URL is checked here, a
/// host name by the client's resolver (`guard`).
async fn attempt(state: &AppState, url: &url::Url, secrets: &[String], d: &DeliveryRow) -> Attempt {
    let failed = |error: String, started: Instant| Attempt {
        status: None,
        error: Some(error),
        retry_after_ms: None,
        duration_ms: started.elapsed().as_millis() as i64,
    };
    let started = Instant::now();
    if let Err(refused) = guard::check_literal(url, state.outbound.allow_private) {
        return failed(refused.to_string(), started);
    }
    let id = message_id(&d.workspace_id, &d.key);
    let body = match payload(&d.workspace_id, &d.key, d.detail.as_deref(), d.event_at) {
        Ok(b) => b,
        Err(e) => return failed(format!("the event could not be written: {e}"), started),
    };
    // Wall-clock time, as receivers compare it with theirs (not the tests' movable clock).
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let signature = match signature(secrets, &id, timestamp, &body) {
        Ok(s) => s,
        Err(e) => return failed(e.to_string(), started),
    };
    let sent = state
        .outbound
        .client()
        .post(url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after_ms = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after_ms(v, state.clock.now_ms()));
            drain(resp).await;
            let error = match status {
                200..=299 => None,
                300..=399 => Some(format!("HTTP {status} (redirects are not followed)")),
                _ => Some(format!("HTTP {status}")),
            };
            Attempt {
                status: Some(status),
                error,
                retry_after_ms: retry_after_ms.filter(|_| !(200..300).contains(&status)),
                duration_ms: started.elapsed().as_millis() as i64,
            }
        }
        Err(e) => failed(describe(&e), started),
    }
}

/// Reads and drops up to 64 KiB of the answer (for 2 s at most), so a short answer leaves the
/// connection reusable and a long or endless one costs nothing: nobody reads it.
async fn drain(mut resp: reqwest::Response) {
    let mut left: usize = 64 * 1024;
    let read = async {
        while let Ok(Some(chunk)) = resp.chunk().await {
            left = left.saturating_sub(chunk.len());
            if left == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), read).await;
}

/// A transport error in a line, without the URL (it may hold a token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out after 10 s".into();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut deepest = None;
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<guard::Refused>() {
            return refused.to_string();
        }
        deepest = Some(s.to_string());
        source = s.source();
    }
    let kind = if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match deepest {
        Some(d) => format!("{kind}: {d}"),
        None => kind.into(),
    }
}

/// `Retry-After` (seconds or an HTTP date) as milliseconds from `now_ms`, at most a day.
fn retry_after_ms(value: &str, now_ms: i64) -> Option<i64> {
    let ms = match value.trim().parse::<i64>() {
        Ok(secs) => secs.checked_mul(1000)?,
        Err(_) => {
            let at = httpdate::parse_http_date(value.trim()).ok()?;
            let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
            at - now_ms
        }
    };
    Some(ms.clamp(0, 86_400_000))
}

/// Disables the endpoint (once), gives up its pending messages and mails the workspace's owners.
async fn disable(state: &AppState, ep: &EndpointRow) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    if !db::webhooks::disable_failing(&mut tx, &ep.id, state.clock.now()).await? {
        return Ok(());
    }
    let host = url::Url::parse(&ep.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    for (email, name) in db::webhooks::owners(&mut *tx, &ep.workspace_id).await? {
        let template = Template::WebhookDisabled {
            name,
            host: host.clone(),
        };
        state.mail.enqueue(&mut tx, &email, template).await?;
    }
    tx.commit().await?;
    state.mail.wake();
    tracing::warn!(endpoint = %ep.id, "webhook endpoint disabled after failing for 5 days");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after_takes_seconds_and_dates_and_caps_at_a_day() {
        assert_eq!(super::retry_after_ms("120", 0), Some(120_000));
        assert_eq!(super::retry_after_ms("999999", 0), Some(86_400_000));
        let at = 1_445_412_480_000; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(
            super::retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", at),
            Some(30_000)
        );
        assert_eq!(super::retry_after_ms("soon", 0), None);
    }
}
