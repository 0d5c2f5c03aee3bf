//! The three ways mail leaves: the log (dev), SMTP (lettre), Resend (HTTP API).

use std::path::PathBuf;

use anyhow::Context;
use lettre::{
    message::{header::ContentTransferEncoding, header::ContentType, Body, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use secrecy::{ExposeSecret, SecretString};

use crate::config::{Config, MailTransport};

pub enum Transport {
    Log {
        outbox_dir: PathBuf,
        from: String,
    },
    Smtp {
        mailer: AsyncSmtpTransport<Tokio1Executor>,
        from: String,
    },
    Resend {
        client: reqwest::Client,
        url: String,
        api_key: SecretString,
        from: String,
    },
}

impl Transport {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(match &config.mail {
            MailTransport::Log => Self::Log {
                outbox_dir: super::outbox_dir(&config.data_dir),
                from: config.mail_from.clone(),
            },
            MailTransport::Smtp { url } => Self::Smtp {
                mailer: AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("PFN_SMTP_URL is not a valid SMTP URL")?
                    .build(),
                from: config.mail_from.clone(),
            },
            MailTransport::Resend { api_key, url } => Self::Resend {
                client: reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(15))
                    .build()
                    .context("building the HTTP client")?,
                url: format!("{}/emails", url.trim_end_matches('/')),
                api_key: api_key.clone(),
                from: config.mail_from.clone(),
            },
        })
    }

    pub async fn send(&self, id: &str, to: &str, subject: &str, body: &str) -> anyhow::Result<()> {
        match self {
            Self::Log { outbox_dir, from } => {
                // Dev only (config refuses it elsewhere): the links must be visible to a developer.
                tracing::info!(mail_id = %id, to, subject, "mail (log transport)\n{body}");
                let message = build_message(from, to, subject, body)?;
                write_eml(outbox_dir, id, &message.formatted()).await
            }
            Self::Smtp { mailer, from } => {
                mailer
                    .send(build_message(from, to, subject, body)?)
                    .await
                    .context("SMTP send")?;
                Ok(())
            }
            Self::Resend {
                client,
                url,
                api_key,
                from,
            } => {
                let res = client
                    .post(url)
                    .bearer_auth(api_key.expose_secret())
                    .json(&serde_json::json!({"from": from, "to": [to], "subject": subject, "text": body}))
                    .send()
                    .await
                    .context("Resend request")?;
                let status = res.status();
                anyhow::ensure!(status.is_success(), "Resend answered {status}");
                Ok(())
            }
        }
    }
}

fn build_message(from: &str, to: &str, subject: &str, body: &str) -> anyhow::Result<Message> {
    // 8bit as product.md asks (one unbroken link per line). RFC 5322 allows lines up to 998
    // bytes with CRLF ends and no NUL; lettre's chooser would pick quoted-printable past 78,
    // which breaks links for people reading raw mail, so check the RFC rule ourselves.
    let crlf = body.replace("\r\n", "\n").replace('\n', "\r\n");
    anyhow::ensure!(
        !crlf.contains('\0')
            && crlf
                .split("\r\n")
                .all(|l| l.len() <= 998 && !l.contains('\r')),
        "the body is not valid 8bit text"
    );
    let body = Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit);
    Message::builder()
        .from(from.parse().context("PFN_MAIL_FROM is not a mailbox")?)
        .to(to.parse().context("recipient is not a mailbox")?)
        .subject(subject)
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body),
        )
        .context("building the message")
}

/// `<dir>/<UTC yyyymmddThhmmssZ>-<id>.eml`, written to a temporary name and renamed, so a
/// reader never sees half a file.
async fn write_eml(dir: &std::path::Path, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
    crate::files::private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .context("formatting the timestamp")?;
    let final_path = dir.join(format!("{stamp}-{id}.eml"));
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    crate::files::write_private(&tmp, bytes).context("writing the .eml")?;
    tokio::fs::rename(&tmp, &final_path)
        .await
        .context("renaming the .eml")?;
    Ok(())
}
