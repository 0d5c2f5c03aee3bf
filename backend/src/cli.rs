//! The `pfn` command line: `serve` (default), `migrate`, `admin create --email`, `openapi`,
//! `backup --to`, `restore --from`.

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    clock::Clock,
    config::{Config, LogFormat},
    db::{self, invalidations::Kind},
};

/// `pfn --version`: the version, the commit it was built from and the build date (`build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PFN_COMMIT"),
    ", built ",
    env!("PFN_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "pfn",
    version = VERSION,
    about = "pfn: a self-hostable backend for personal-finance apps.\n\
Settings come from the environment (and ./.env); see .env.example."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Administer accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Copy the database (and the development secret) into one file, while the server runs.
    ///
    /// SQLite is copied with `VACUUM INTO`, PostgreSQL with `pg_dump` (its version must be the
    /// server's or newer). When PFN_SECRET comes from the environment it is not in the backup:
    /// keep it with the backup, or the sealed columns cannot be read after a restore.
    Backup {
        /// The backup file to write (a ZIP; replaced if it exists).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Put a backup back into the configured database (stop the server first), then migrate.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a database (and a development secret) pfn has already used.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create (or promote) a verified admin and print a one-time set-password link.
    ///
    /// An existing account is promoted with nothing of what it held before: its password,
    /// sessions, linked Google sign-in, API keys, pending links and sent invitations are
    /// removed, so the printed link is the only way in. (Anyone can sign up with an address that
    /// is not theirs; promoting such an account as it is would hand its maker an admin.) An
    /// account that is already admin keeps everything and gets a fresh link.
    Create {
        #[arg(long)]
        email: String,
        /// The account exists, its address is verified, and its password, sessions, sign-ins
        /// and keys are yours: promote it and keep them (no link is printed).
        #[arg(long)]
        keep_credentials: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Openapi) = cli.command {
        print!("{}", crate::openapi::json());
        return Ok(());
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(problems) => {
            eprintln!("pfn: invalid configuration:");
            for p in &problems {
                eprintln!("  - {p}");
            }
            std::process::exit(2);
        }
    };
    init_tracing(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = db::Db::connect(&config.database_url).await?;
            for (task, report) in db.migrate().await? {
                for line in report.lines() {
                    println!("{task}: {line}");
                }
            }
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    keep_credentials,
                },
        } => admin_create(config, &email, keep_credentials).await,
        Command::Backup { to } => {
            let report = crate::backup::backup(&config, &to).await?;
            println!(
                "backed up the {} database to {} ({} bytes)",
                report.database,
                to.display(),
                report.bytes
            );
            if report.secret_included {
                println!("the development secret is in the backup");
            } else {
                eprintln!(
                    "WARNING: PFN_SECRET is not in the backup. Keep it with the backup: without \
                     it the authenticator-app secrets and queued mail in it cannot be read."
                );
            }
            Ok(())
        }
        Command::Restore { from, force } => {
            let kind = crate::backup::restore(&config, &from, force).await?;
            println!(
                "restored the {kind} database from {}; migrations applied",
                from.display()
            );
            Ok(())
        }
        Command::Openapi => unreachable!("handled above"),
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        "info,sqlx=warn,tower_sessions=warn,tower_sessions_core=warn,rmcp=warn".into()
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let port = listener.local_addr()?.port();
    let state = crate::build(config, port, Clock::default()).await?;
    let mode = if state.web.dev_mode {
        " (development mode: mail goes to the log and data/outbox)"
    } else {
        ""
    };
    tracing::info!(url = %state.web.public_origin, version = VERSION, "pfn is up");
    println!("pfn is running at {}{mode}", state.web.public_origin);
    if let Some(rp) = state
        .passkeys
        .as_ref()
        .filter(|rp| rp.origin != state.web.public_origin)
    {
        println!(
            "passkeys work at {} (browsers refuse them on an IP address)",
            rp.origin
        );
    }
    crate::serve(listener, state, crate::shutdown_signal()).await
}

async fn admin_create(config: Config, email: &str, keep_credentials: bool) -> anyhow::Result<()> {
    let email = crate::email::Email::parse(email).map_err(|m| anyhow::anyhow!("--email {m}"))?;
    let db = db::Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let now = Clock::default().now();
    let mut tx = db.begin().await?;
    let promoted = crate::auth::credentials::make_admin(&mut tx, &email, keep_credentials, now)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", email.display))?;
    tx.commit().await?;
    // A running server drops what it cached of the account and its keys.
    let feed = [(Kind::User, promoted.user_id.clone())]
        .into_iter()
        .chain(promoted.key_hashes.iter().map(|h| (Kind::Key, h.clone())));
    for (kind, target) in feed {
        db::invalidations::insert(&db.pool, db.backend, &db::new_id(), kind, &target).await?;
    }
    let web = crate::config::Web::new(&config, config.listen.port());
    let Some(token) = promoted.set_password_token else {
        println!(
            "{} is an admin; its password, sessions, sign-ins and keys were kept.",
            email.display
        );
        return Ok(());
    };
    if promoted.created || promoted.already_admin {
        println!(
            "{} is an admin. Set the password within 24 hours (the link works once):",
            email.display
        );
    } else {
        println!(
            "{} is an admin. Everything it held before was removed (password, sessions, linked \
             sign-ins, {} API keys). Set the password within 24 hours (the link works once):",
            email.display,
            promoted.key_hashes.len()
        );
    }
    println!("{}", web.link("/reset-password", &token));
    Ok(())
}
