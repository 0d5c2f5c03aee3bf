//! `GET /api/v1/export`: everything the signed-in user can see, as a ZIP streamed while it is
//! written.
//!
//! The archive is written entry by entry into a pipe whose other end is the response body:
//! rows come from the database as a stream (one read-only transaction, so the archive is one
//! consistent picture), and nothing is held but the row being written and the pipe's buffer,
//! however many transactions a workspace has. The same data gives the same bytes on SQLite
//! and PostgreSQL: file times are fixed, rows are ordered by the bytes of their ids, JSON keys
//! come in a fixed order and amounts are written from integer minor units.

use std::sync::LazyLock;

use async_zip::{tokio::write::ZipFileWriter, Compression, ZipDateTimeBuilder, ZipEntryBuilder};
use axum::{
    body::Body,
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use futures_util::{io::AsyncWriteExt as _, StreamExt};
use serde_json::{Map, Value};
use shared::ErrorBody;
use sqlx::{any::AnyRow, Row};
use tokio::sync::Semaphore;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    access::{routes, Fresh, SessionUser},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    db::{
        export::{self as q, Bind, Col, Kind, Table},
        Backend, Db,
    },
    error::{AppError, Result},
    request_meta::RequestMeta,
    state::AppState,
    web::values::money,
};

/// Exports running at once on one replica; more answer 429 `export_busy`.
const AT_ONCE: usize = 2;
static RUNNING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(AT_ONCE));
/// What the pipe between the archive and the response holds at most.
const PIPE_BYTES: usize = 64 * 1024;
/// Rows written to an entry at a time.
const BATCH_BYTES: usize = 32 * 1024;

/// A ZIP archive: what `GET /api/v1/export` answers.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary, example = "(the ZIP's bytes)")]
#[allow(dead_code)]
struct ExportArchive(Vec<u8>);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// Download everything you can see, as a ZIP (step-up).
///
/// At the top: `README.txt` (what each file holds), `profile.json`, `workspaces.json` (each
/// workspace you belong to, with your role and its folder), `sessions.json`, `audit-log.json`.
/// Each workspace has a folder `workspaces/<id>/` with `workspace.json` (its members),
/// `accounts.json`, `transactions.csv` and `transactions.json` (your categories, notes, tags
/// and exclusions beside the source's), `budgets.json`, `connections.json` (no bank
/// credentials: pfn keeps none) and `keys.json` (names, scopes and use, never secrets; owners
/// see every key of the workspace, members their own). Streamed: the download starts at once
/// and takes as long as the data. Two exports at a time per server; more get 429.
#[utoipa::path(get, path = "/api/v1/export", tag = "auth", operation_id = "exportData",
    responses(
        (status = 200, description = "The archive", content_type = "application/zip", body = ExportArchive,
            example = json!("(the ZIP's bytes: pfn-export/README.txt, profile.json, …)")),
        (status = 429, description = "`export_busy`: other exports are running; try again in a minute", body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
) -> Result<Response> {
    let permit = RUNNING
        .try_acquire()
        .map_err(|_| AppError::too_many("export_busy", 60))?;
    let now = state.clock.now();
    let user_id = who.user.id.clone();
    let mut tx = state.db.begin().await?;
    let ev = Event::own("user.exported", &user_id, Outcome::Success);
    audit::record(&mut tx, &state.clock, &meta, ev).await?;
    tx.commit().await?;

    let (writer, reader) = tokio::io::duplex(PIPE_BYTES);
    let db = state.db.clone();
    let session = who.session_id.clone();
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(e) = write_archive(&db, &user_id, Some(&session), now, writer).await {
            // The answer has started: the client sees the download end early (no central
            // directory, so no tool takes it for a whole archive).
            tracing::warn!(error = %e, "export stopped");
        }
    });
    let date = &rfc3339(now)[..10];
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"pfn-export-{date}.zip\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(reader)),
    )
        .into_response())
}

/// Writes `user_id`'s archive at `now` into `out` (`session`: the public id of the session
/// asking, marked `current`).
pub async fn write_archive<W>(
    db: &Db,
    user_id: &str,
    session: Option<&str>,
    now: i64,
    out: W,
) -> anyhow::Result<W>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
    }
    let mut a = Archive {
        zip: ZipFileWriter::with_tokio(out),
        backend: db.backend,
    };
    let user = [Bind::Text(user_id)];
    a.file(
        "README.txt",
        README.replace("{NOW}", &rfc3339(now)).as_bytes(),
    )
    .await?;

    let mut profile = one(&mut tx, db.backend, &q::USER, &user)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no such user"))?;
    profile.insert(
        "identities".into(),
        all(&mut tx, db.backend, &q::IDENTITIES, &user)
            .await?
            .into(),
    );
    let factors = Map::from_iter([
        (
            "authenticatorApp".into(),
            one(&mut tx, db.backend, &q::AUTHENTICATOR, &user)
                .await?
                .map_or(Value::Null, Value::Object),
        ),
        (
            "passkeys".into(),
            all(&mut tx, db.backend, &q::PASSKEYS, &user).await?.into(),
        ),
        (
            "recoveryCodesLeft".into(),
            one(&mut tx, db.backend, &q::RECOVERY_CODES_LEFT, &user)
                .await?
                .and_then(|m| m.get("recoveryCodesLeft").cloned())
                .unwrap_or(Value::Null),
        ),
    ]);
    profile.insert("secondFactors".into(), factors.into());
    a.file("profile.json", &pretty(&Value::Object(profile)))
        .await?;

    let mut workspaces = all(&mut tx, db.backend, &q::WORKSPACES, &user).await?;
    for w in &mut workspaces {
        let id = w["id"].as_str().unwrap_or_default().to_string();
        if let Value::Object(m) = w {
            m.insert("folder".into(), format!("workspaces/{id}/").into());
        }
    }
    a.file(
        "workspaces.json",
        &pretty(&Value::Array(workspaces.clone())),
    )
    .await?;

    let mut sessions = all(&mut tx, db.backend, &q::SESSIONS, &user).await?;
    for s in &mut sessions {
        let current = session.is_some() && s["id"].as_str() == session;
        let device = crate::device::describe(s["userAgent"].as_str());
        if let Value::Object(m) = s {
            m.insert("device".into(), device.into());
            m.insert("current".into(), current.into());
        }
    }
    a.file("sessions.json", &pretty(&Value::Array(sessions)))
        .await?;
    a.rows(
        "audit-log.json",
        &mut tx,
        &q::AUDIT_LOG,
        &user,
        Format::Json,
    )
    .await?;

    for w in &workspaces {
        let id = w["id"].as_str().unwrap_or_default();
        let owner = w["role"].as_str() == Some("owner");
        let dir = format!("workspaces/{id}");
        let ws = [Bind::Text(id)];
        let mut info = w.as_object().cloned().unwrap_or_default();
        info.remove("folder");
        info.insert(
            "members".into(),
            all(&mut tx, db.backend, &q::MEMBERS, &ws).await?.into(),
        );
        a.file(
            &format!("{dir}/workspace.json"),
            &pretty(&Value::Object(info)),
        )
        .await?;
        a.rows(
            &format!("{dir}/accounts.json"),
            &mut tx,
            &q::ACCOUNTS,
            &ws,
            Format::Json,
        )
        .await?;
        a.rows(
            &format!("{dir}/transactions.csv"),
            &mut tx,
            &q::TRANSACTIONS,
            &ws,
            Format::Csv,
        )
        .await?;
        a.rows(
            &format!("{dir}/transactions.json"),
            &mut tx,
            &q::TRANSACTIONS,
            &ws,
            Format::Json,
        )
        .await?;
        a.rows(
            &format!("{dir}/budgets.json"),
            &mut tx,
            &q::BUDGETS,
            &ws,
            Format::Json,
        )
        .await?;
        a.rows(
            &format!("{dir}/connections.json"),
            &mut tx,
            &q::CONNECTIONS,
            &ws,
            Format::Json,
        )
        .await?;
        let keys = [
            Bind::Text(id),
            Bind::Text(user_id),
            Bind::Int(i64::from(owner)),
        ];
        a.rows(
            &format!("{dir}/keys.json"),
            &mut tx,
            &q::KEYS,
            &keys,
            Format::Json,
        )
        .await?;
        a.rows(
            &format!("{dir}/webhooks.json"),
            &mut tx,
            &q::WEBHOOKS,
            &[Bind::Text(id), Bind::Int(i64::from(owner))],
            Format::Json,
        )
        .await?;
    }
    tx.commit().await?;
    let mut out = a.zip.close().await?.into_inner();
    tokio::io::AsyncWriteExt::shutdown(&mut out).await?;
    Ok(out)
}

type Conn = sqlx::Transaction<'static, sqlx::Any>;

/// The archive being written.
struct Archive<W: tokio::io::AsyncWrite + Unpin> {
    zip: ZipFileWriter<W>,
    backend: Backend,
}

/// Every entry's time: 1980-01-01 00:00, the earliest a ZIP can say (the export's own time is
/// in `README.txt`), so the same data makes the same bytes.
fn entry(name: &str) -> ZipEntryBuilder {
    let when = ZipDateTimeBuilder::new().year(1980).month(1).day(1).build();
    ZipEntryBuilder::new(format!("pfn-export/{name}").into(), Compression::Deflate)
        .last_modification_date(when)
        .unix_permissions(0o644)
}

impl<W: tokio::io::AsyncWrite + Unpin> Archive<W> {
    async fn file(&mut self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let mut w = self.zip.write_entry_stream(entry(name)).await?;
        w.write_all(bytes).await?;
        w.close().await?;
        Ok(())
    }

    /// The rows of `table` as one entry, written as they come, in `format`.
    async fn rows(
        &mut self,
        name: &str,
        conn: &mut Conn,
        table: &Table,
        binds: &[Bind<'_>],
        format: Format,
    ) -> anyhow::Result<()> {
        let sql = table.sql_for(self.backend);
        let mut rows = q::rows(&mut **conn, &sql, binds);
        let mut w = self.zip.write_entry_stream(entry(name)).await?;
        let mut out = Encoder::start(format, table.cols)?;
        while let Some(row) = rows.next().await {
            out.row(&row?, table.cols)?;
            if out.buffered() >= BATCH_BYTES {
                w.write_all(&out.take()?).await?;
            }
        }
        w.write_all(&out.finish()?).await?;
        w.close().await?;
        Ok(())
    }
}

/// How a file of rows is written.
#[derive(Clone, Copy)]
enum Format {
    /// A JSON array, one object a line.
    Json,
    /// A header row, then a row each; lists as JSON, `null` empty.
    Csv,
}

/// Rows turned into a file's bytes, a batch at a time.
enum Encoder {
    Json { buf: Vec<u8>, first: bool },
    Csv(Box<csv::Writer<Vec<u8>>>),
}

impl Encoder {
    fn start(format: Format, cols: &[Col]) -> anyhow::Result<Self> {
        Ok(match format {
            Format::Json => Self::Json {
                buf: b"[".to_vec(),
                first: true,
            },
            Format::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(cols.iter().map(|c| c.key))?;
                Self::Csv(Box::new(w))
            }
        })
    }

    fn row(&mut self, row: &AnyRow, cols: &[Col]) -> anyhow::Result<()> {
        match self {
            Self::Json { buf, first } => {
                buf.extend_from_slice(if *first { b"\n  " } else { b",\n  " });
                *first = false;
                serde_json::to_writer(&mut *buf, &Value::Object(object(row, cols)?))?;
            }
            Self::Csv(w) => {
                let fields = cols
                    .iter()
                    .map(|c| value(row, c).map(|v| cell(&v)))
                    .collect::<sqlx::Result<Vec<_>>>()?;
                w.write_record(&fields)?;
            }
        }
        Ok(())
    }

    fn buffered(&self) -> usize {
        match self {
            Self::Json { buf, .. } => buf.len(),
            Self::Csv(w) => w.get_ref().len(),
        }
    }

    /// What is written so far, taken out.
    fn take(&mut self) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            Self::Json { buf, .. } => std::mem::take(buf),
            Self::Csv(w) => std::mem::replace(&mut **w, csv::Writer::from_writer(Vec::new()))
                .into_inner()
                .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))?,
        })
    }

    /// The rest, with the file's end.
    fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        if let Self::Json { buf, first } = &mut self {
            buf.extend_from_slice(if *first { b"]\n" } else { b"\n]\n" });
        }
        self.take()
    }
}

/// The rows of a small table, collected.
async fn all(
    conn: &mut Conn,
    backend: Backend,
    table: &Table,
    binds: &[Bind<'_>],
) -> anyhow::Result<Vec<Value>> {
    let sql = table.sql_for(backend);
    let mut rows = q::rows(&mut **conn, &sql, binds);
    let mut out = Vec::new();
    while let Some(row) = rows.next().await {
        out.push(Value::Object(object(&row?, table.cols)?));
    }
    Ok(out)
}

async fn one(
    conn: &mut Conn,
    backend: Backend,
    table: &Table,
    binds: &[Bind<'_>],
) -> anyhow::Result<Option<Map<String, Value>>> {
    Ok(all(conn, backend, table, binds)
        .await?
        .into_iter()
        .next()
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        }))
}

fn object(row: &AnyRow, cols: &[Col]) -> sqlx::Result<Map<String, Value>> {
    cols.iter()
        .map(|c| Ok((c.key.to_string(), value(row, c)?)))
        .collect()
}

/// One column's value as JSON (`null` when the column is).
fn value(row: &AnyRow, c: &Col) -> sqlx::Result<Value> {
    let int = || row.try_get::<Option<i64>, _>(c.column);
    let text = || row.try_get::<Option<String>, _>(c.column);
    Ok(match c.kind {
        Kind::Text => text()?.map_or(Value::Null, Value::String),
        Kind::Int => int()?.map_or(Value::Null, Value::from),
        Kind::Bool => int()?.map_or(Value::Null, |n| Value::Bool(n != 0)),
        Kind::Time => int()?.map_or(Value::Null, |t| Value::String(rfc3339(t))),
        Kind::Amount(currency) => match int()? {
            Some(minor) => {
                let currency: String = row.try_get(currency)?;
                Value::String(money(minor, &currency).amount)
            }
            None => Value::Null,
        },
        Kind::List => {
            let list: Vec<String> = text()?
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default();
            list.into()
        }
        // A NULL list stays null (a key's `allowedIps`: anywhere), never an empty one.
        Kind::Words => match text()? {
            Some(words) => words.split_whitespace().collect::<Vec<_>>().into(),
            None => Value::Null,
        },
    })
}

/// A value as a CSV cell: text as is, lists as JSON, `null` empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

const README: &str = "\
pfn export
==========

Everything your pfn account could see at {NOW} (UTC): your profile, the workspaces you belong
to and their data. Times are RFC 3339 in UTC; amounts are decimal strings in the currency
beside them (negative = money out); every list is ordered by id.

profile.json       You: name, email, role, when the address was verified, whether you have a
                   password, linked sign-ins (Google), second factors (authenticator app,
                   passkeys by name, how many recovery codes are left; never their secrets).
workspaces.json    Each workspace you belong to: its name, whether it is your personal one,
                   your role (owner or member), when you joined, and its folder here.
sessions.json      Where you are signed in: device, address, browser, sign-in method, times;
                   `current` marks the session that made this export.
audit-log.json     Your security events (sign-ins, keys, changes), as the audit log shows them.

workspaces/<id>/   One folder per workspace:
  workspace.json     The workspace, your role in it, and its members.
  accounts.json      Accounts: name, kind, currency, manual or bank; for bank accounts the
                     connection, a masked identifier and the last balance seen.
  transactions.csv   Every transaction, one row each (the same columns as the JSON; tags as a
                     JSON list). `category` is what the source said, `categoryOverride` what you
                     chose; `note`, `tags` and `excluded` (left out of budgets and insights)
                     are yours. `pending`: the bank had not booked it yet. `removedAt`: the
                     bank no longer shows it.
  transactions.json  The same, as JSON.
  budgets.json       Monthly limits per category.
  connections.json   Bank connections: bank, status, consent expiry, last sync. pfn keeps no
                     bank credentials, so none are here.
  keys.json          API keys: name, the last characters of the key, scopes, expiry, use.
                     Never the secret. Owners see every key of the workspace, members their own.
  webhooks.json      Webhook endpoints (owners only): address, events, whether enabled. Never
                     the signing secret.
";
