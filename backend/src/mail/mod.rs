//! Mail: written to the database outbox in the caller's transaction, sent by a worker with
//! retries. Nothing is sent on the request path, and a sending failure is never visible to the
//! requester (which would reveal whether an account exists).

mod templates;
mod transport;

pub use templates::Template;
pub use transport::Transport;

use std::{path::PathBuf, sync::Arc, time::Duration};

use sqlx::AnyConnection;
use tokio::sync::{watch, Notify};

use crate::{
    clock::Clock,
    config::Web,
    crypto::{self, Keyring},
    db::{self, Db},
};

/// At most this many mails per recipient per hour (product.md §8); further ones are dropped.
const PER_RECIPIENT_PER_HOUR: i64 = 5;
const MAX_ATTEMPTS: i64 = 8;
const LEASE_SECS: i64 = 120;

/// The outbox: what mail is queued with and sent by (its links' origin, the secret that seals
/// bodies at rest, the clock, the transport).
#[derive(Clone)]
pub struct MailQueue {
    wake: Arc<Notify>,
    transport: Arc<Transport>,
    web: Arc<Web>,
    secrets: Arc<Keyring>,
    clock: Clock,
}

impl MailQueue {
    pub fn new(transport: Transport, web: Web, secrets: Arc<Keyring>, clock: Clock) -> Self {
        Self {
            wake: Arc::new(Notify::new()),
            transport: Arc::new(transport),
            web: Arc::new(web),
            secrets,
            clock,
        }
    }

    /// Sends `template` to `to` now, without the outbox: for the last mail to an address pfn is
    /// forgetting (a deleted account's), which must leave no row behind. Not retried.
    pub async fn send_once(&self, to: &str, template: Template) -> anyhow::Result<()> {
        let (subject, body) = template.render(&self.web);
        let id = crate::db::new_id();
        self.transport.send(&id, to, &subject, &body).await
    }

    /// Queues `template` for `to` inside the caller's transaction. Returns false when the
    /// recipient's hourly cap is reached (the mail is dropped; callers answer the same anyway).
    pub async fn enqueue(
        &self,
        conn: &mut AnyConnection,
        to: &str,
        template: Template,
    ) -> sqlx::Result<bool> {
        let now = self.clock.now();
        let recipient_key = crate::email::normalize(to);
        if !template.security_notice()
            && db::outbox::count_recent(&mut *conn, &recipient_key, now - 3600).await?
                >= PER_RECIPIENT_PER_HOUR
        {
            tracing::warn!(
                kind = template.kind(),
                "mail dropped: recipient reached the hourly cap"
            );
            return Ok(false);
        }
        let (subject, body) = template.render(&self.web);
        let sealed = self.secrets.seal(crypto::OUTBOX, &body);
        let id = db::new_id();
        db::outbox::insert(
            &mut *conn,
            db::outbox::NewMail {
                id: &id,
                recipient: to,
                recipient_key: &recipient_key,
                subject: &subject,
                body_sealed: &sealed,
                now,
            },
        )
        .await?;
        Ok(true)
    }

    /// Tells the worker to look now (call after the enqueuing transaction commits).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Sends due mail until `shutdown` flips; wakes on [`MailQueue::wake`] or every 5 s.
pub async fn run_worker(db: Db, mail: MailQueue, mut shutdown: watch::Receiver<bool>) {
    loop {
        // Each pass in its own task: a bug that panics in one pass must not stop delivery.
        match tokio::spawn(send_due(db.clone(), mail.clone())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = ?e, "mail worker pass failed"),
            Err(e) => tracing::error!(error = %e, "mail worker pass panicked"),
        }
        tokio::select! {
            _ = mail.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn send_due(db: Db, mail: MailQueue) -> anyhow::Result<()> {
    let now = mail.clock.now();
    for id in db::outbox::due_ids(&db.pool, now, 20).await? {
        let Some(claimed) = db::outbox::claim(&db.pool, &id, now, LEASE_SECS).await? else {
            continue;
        };
        let result = match mail.secrets.open(crypto::OUTBOX, &claimed.body_sealed) {
            Some(crypto::Opened { text: body, .. }) => {
                mail.transport
                    .send(&id, &claimed.recipient, &claimed.subject, &body)
                    .await
            }
            None => Err(anyhow::anyhow!(
                "cannot open the sealed body (was PFN_SECRET changed?)"
            )),
        };
        let now = mail.clock.now();
        match result {
            Ok(()) => db::outbox::mark_sent(&db.pool, &id, now).await?,
            Err(e) => {
                let attempts = claimed.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| now + backoff_secs(attempts));
                tracing::warn!(mail_id = %id, attempts, error = %e, gives_up = retry_at.is_none(), "mail send failed");
                db::outbox::mark_failed(&db.pool, &id, now, retry_at, &format!("{e:#}")).await?;
            }
        }
    }
    Ok(())
}

/// After a `PFN_SECRET` rotation: seals every unsent mail that the previous secret sealed
/// under the current one, so the previous secret can be dropped once this has run. Returns
/// how many; mail that neither secret opens is left for the worker to report as failed.
pub async fn reseal_outbox(db: &Db, mail: &MailQueue) -> anyhow::Result<u64> {
    if !mail.secrets.rotating() {
        return Ok(0);
    }
    let mut resealed = 0;
    for (id, sealed) in db::outbox::unsent_bodies(&db.pool).await? {
        if let Some(opened) = mail
            .secrets
            .open(crypto::OUTBOX, &sealed)
            .filter(|o| o.stale)
        {
            let fresh = mail.secrets.seal(crypto::OUTBOX, &opened.text);
            db::outbox::replace_body(&db.pool, &id, &sealed, &fresh).await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// 30 s, 1 min, 2 min, … capped at 1 h.
fn backoff_secs(attempts: i64) -> i64 {
    (30i64 << (attempts - 1).clamp(0, 7)).min(3600)
}

/// Where the log transport writes `.eml` files.
pub fn outbox_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("outbox")
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(super::backoff_secs(1), 30);
        assert_eq!(super::backoff_secs(2), 60);
        assert_eq!(super::backoff_secs(20), 3600);
    }
}
