//! `pfn backup` and `pfn restore`: an operator's copy of everything pfn keeps, and putting it
//! back.
//!
//! A backup is one ZIP file: `manifest.json` (format, database kind, when, what is inside), the
//! database — `pfn.db`, made by SQLite's `VACUUM INTO` (a consistent copy taken while the
//! server keeps serving), or `pfn.pgdump`, `pg_dump --format=custom` (one snapshot) — and the
//! development secret file (`<data dir>/secret`) when there is one. Sealed columns (TOTP
//! secrets, queued mail) are unreadable without the server secret, so when `PFN_SECRET` comes
//! from the environment it is not in the backup and the operator is told, loudly, to keep it
//! with the backup.
//!
//! `pfn restore` refuses a database that pfn has already used unless `--force`, then applies
//! the migrations a newer pfn brings. The server must be stopped while it runs.

use std::{
    fs,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, ensure, Context};
use serde::{Deserialize, Serialize};
use sqlx::Executor;

use crate::{
    clock::{rfc3339, Clock},
    config::Config,
    db::{sqlite_path, Backend, Db},
    files,
};

const FORMAT: &str = "pfn-backup/1";
const SQLITE_FILE: &str = "pfn.db";
const PG_FILE: &str = "pfn.pgdump";
const SECRET_FILE: &str = "secret";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    /// `sqlite` or `postgres`.
    database: String,
    created_at: String,
    /// Migrations applied to the database when it was copied.
    migrations: i64,
    /// The development secret file is inside; otherwise `PFN_SECRET` must be kept elsewhere.
    secret_included: bool,
    pfn_version: String,
}

/// What a backup holds, for the operator.
pub struct Report {
    pub database: &'static str,
    pub bytes: u64,
    pub secret_included: bool,
}

fn kind(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// A scratch directory beside `path` (same file system, so the final rename is atomic).
fn scratch(path: &Path) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .context("the backup path names no file")?
        .to_string_lossy();
    let dir = path.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
    files::private_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The major version a PostgreSQL tool (`pg_dump`, `pg_restore`) prints with `--version`.
fn tool_major(tool: &str) -> anyhow::Result<u32> {
    let out = Command::new(tool)
        .arg("--version")
        .output()
        .with_context(|| format!("running {tool}: install PostgreSQL's client tools"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.split('.').next()?.parse().ok())
        .with_context(|| format!("no version in `{tool} --version`: {text}"))
}

async fn server_major(db: &Db) -> anyhow::Result<u32> {
    let num: String = sqlx::query_scalar("select current_setting('server_version_num')")
        .fetch_one(&db.pool)
        .await?;
    Ok(num.trim().parse::<u32>()? / 10_000)
}

/// `pg_dump` of an older major version than the server refuses to dump (or dumps wrongly).
async fn check_tool(db: &Db, tool: &str) -> anyhow::Result<()> {
    let (tool_v, server_v) = (tool_major(tool)?, server_major(db).await?);
    ensure!(
        tool_v >= server_v,
        "{tool} is version {tool_v} but the server is PostgreSQL {server_v}: install the client \
         tools of version {server_v} or newer"
    );
    Ok(())
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    ensure!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

async fn migrations(db: &Db) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from _sqlx_migrations where success = true")
            .fetch_one(&db.pool)
            .await?,
    )
}

/// Copies the database (and the development secret file) into the ZIP file `to`.
pub async fn backup(config: &Config, to: &Path) -> anyhow::Result<Report> {
    let db = Db::connect(&config.database_url).await?;
    let work = scratch(to)?;
    let result = write_backup(config, &db, &work, to).await;
    let _ = fs::remove_dir_all(&work);
    // Closed before the process ends, not dropped half-way through the runtime's shutdown.
    db.close().await;
    result
}

async fn write_backup(config: &Config, db: &Db, work: &Path, to: &Path) -> anyhow::Result<Report> {
    let applied = migrations(db).await.context("is this a pfn database?")?;
    let file = match db.backend {
        Backend::Sqlite => {
            let copy = work.join(SQLITE_FILE);
            let target = copy.to_str().context("a backup path that is not UTF-8")?;
            sqlx::query("VACUUM INTO $1")
                .bind(target)
                .execute(&db.pool)
                .await
                .context("copying the SQLite database (VACUUM INTO)")?;
            copy
        }
        Backend::Postgres => {
            check_tool(db, "pg_dump").await?;
            let dump = work.join(PG_FILE);
            run(
                Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                    .arg(&dump)
                    .arg(&config.database_url),
                "pg_dump",
            )?;
            dump
        }
    };
    let secret = config.data_dir.join(SECRET_FILE);
    let secret_included = config.secret.is_none() && secret.is_file();
    let manifest = Manifest {
        format: FORMAT.into(),
        database: kind(db.backend).into(),
        created_at: rfc3339(Clock::default().now()),
        migrations: applied,
        secret_included,
        pfn_version: env!("CARGO_PKG_VERSION").into(),
    };
    let partial = work.join("backup.zip");
    {
        let out = fs::File::create(&partial)?;
        let mut zip = zip::ZipWriter::new(out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o600);
        zip.start_file("manifest.json", opts)?;
        zip.write_all(&serde_json::to_vec_pretty(&manifest)?)?;
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(SQLITE_FILE);
        zip.start_file(name, opts)?;
        io::copy(&mut fs::File::open(&file)?, &mut zip)?;
        if secret_included {
            zip.start_file(SECRET_FILE, opts)?;
            zip.write_all(&fs::read(&secret)?)?;
        }
        zip.finish()?;
    }
    files::private_file(&partial)?;
    fs::rename(&partial, to).with_context(|| format!("writing {}", to.display()))?;
    Ok(Report {
        database: kind(db.backend),
        bytes: fs::metadata(to)?.len(),
        secret_included,
    })
}

/// Whether pfn has used this database (it has pfn's migrations table).
async fn used(db: &Db) -> anyhow::Result<bool> {
    let sql = match db.backend {
        Backend::Sqlite => {
            "select count(*) from sqlite_master where type = 'table' and name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "select count(*) from information_schema.tables
             where table_schema = current_schema() and table_name = '_sqlx_migrations'"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&db.pool).await?;
    Ok(n > 0)
}

fn read_entry(zip: &mut zip::ZipArchive<fs::File>, name: &str) -> anyhow::Result<Vec<u8>> {
    let mut entry = zip
        .by_name(name)
        .with_context(|| format!("the backup has no {name}"))?;
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn extract(zip: &mut zip::ZipArchive<fs::File>, name: &str, to: &Path) -> anyhow::Result<()> {
    let mut entry = zip
        .by_name(name)
        .with_context(|| format!("the backup has no {name}"))?;
    files::private_file(to)?;
    let mut out = fs::OpenOptions::new().write(true).truncate(true).open(to)?;
    io::copy(&mut entry, &mut out)?;
    out.sync_all()?;
    Ok(())
}

/// Puts a backup back into the configured database (and data directory), then migrates.
pub async fn restore(config: &Config, from: &Path, force: bool) -> anyhow::Result<&'static str> {
    let file = fs::File::open(from).with_context(|| format!("opening {}", from.display()))?;
    let mut zip = zip::ZipArchive::new(file).context("not a pfn backup (not a ZIP file)")?;
    let manifest: Manifest = serde_json::from_slice(&read_entry(&mut zip, "manifest.json")?)
        .context("not a pfn backup (manifest.json)")?;
    ensure!(
        manifest.format == FORMAT,
        "a backup of format {}, this pfn reads {FORMAT}",
        manifest.format
    );
    let backend = if config.database_url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    ensure!(
        manifest.database == kind(backend),
        "the backup is of a {} database and PFN_DATABASE_URL is {}: restore into the same kind",
        manifest.database,
        kind(backend)
    );
    files::private_dir(&config.data_dir)?;
    if manifest.secret_included {
        let path = config.data_dir.join(SECRET_FILE);
        let secret = read_entry(&mut zip, SECRET_FILE)?;
        match fs::read(&path) {
            Ok(current) if current != secret && !force => bail!(
                "{} holds another secret: move it away, or restore with --force",
                path.display()
            ),
            _ => files::write_private(&path, &secret)?,
        }
    }
    match backend {
        Backend::Sqlite => {
            let path = PathBuf::from(
                sqlite_path(&config.database_url)
                    .context("an in-memory SQLite database cannot be restored into")?,
            );
            if path.is_file() && fs::metadata(&path)?.len() > 0 {
                let db = Db::connect(&config.database_url).await?;
                let in_use = used(&db).await?;
                db.close().await;
                ensure!(
                    !in_use || force,
                    "{} is a pfn database already: restore with --force to replace it",
                    path.display()
                );
            }
            let work = scratch(&path)?;
            let copy = work.join(SQLITE_FILE);
            let result = extract(&mut zip, SQLITE_FILE, &copy).and_then(|()| {
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    if side.exists() {
                        fs::remove_file(&side)?;
                    }
                }
                fs::rename(&copy, &path)?;
                Ok(())
            });
            let _ = fs::remove_dir_all(&work);
            result.with_context(|| format!("writing {}", path.display()))?;
        }
        Backend::Postgres => {
            let db = Db::connect(&config.database_url).await?;
            if used(&db).await? {
                ensure!(
                    force,
                    "the database is a pfn database already: restore with --force to replace it"
                );
                db.pool
                    .execute("drop schema public cascade; create schema public")
                    .await
                    .context("emptying the database")?;
            }
            check_tool(&db, "pg_restore").await?;
            db.close().await;
            let work = scratch(&config.data_dir.join("restore"))?;
            let dump = work.join(PG_FILE);
            let result = extract(&mut zip, PG_FILE, &dump).and_then(|()| {
                run(
                    Command::new("pg_restore")
                        .args([
                            "--no-owner",
                            "--no-privileges",
                            "--exit-on-error",
                            "--dbname",
                        ])
                        .arg(&config.database_url)
                        .arg(&dump),
                    "pg_restore",
                )
            });
            let _ = fs::remove_dir_all(&work);
            result?;
        }
    }
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    db.close().await;
    Ok(kind(backend))
}
