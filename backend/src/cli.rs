//! The `pfn` command line: `serve` (default), `migrate`, `admin create --email`, `openapi`.

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    config::{Config, LogFormat},
    crypto, db,
    state::Clock,
};

#[derive(Debug, Parser)]
#[command(
    name = "pfn",
    version,
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
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create (or promote) a verified admin and print a one-time set-password link. Idempotent.
    Create {
        #[arg(long)]
        email: String,
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
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email },
        } => admin_create(config, &email).await,
        Command::Openapi => unreachable!("handled above"),
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn,tower_sessions_core=warn".into());
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
    tracing::info!(url = %state.web.public_origin, "pfn is up");
    println!("pfn is running at {}{mode}", state.web.public_origin);
    crate::serve(listener, state, crate::shutdown_signal()).await
}

async fn admin_create(config: Config, email: &str) -> anyhow::Result<()> {
    let email =
        shared::validate::Email::parse(email).map_err(|m| anyhow::anyhow!("--email {m}"))?;
    let db = db::Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let now = Clock::default().now();
    let mut tx = db.begin().await?;
    let user_id = match db::users::by_email(&mut *tx, &email.normalized).await? {
        Some(u) => {
            db::users::set_role(&mut *tx, &u.id, "admin", now).await?;
            db::users::mark_verified(&mut *tx, &u.id, now).await?;
            u.id
        }
        None => {
            let id = db::new_id();
            let name = email
                .display
                .split('@')
                .next()
                .unwrap_or("admin")
                .to_string();
            db::users::insert(
                &mut *tx,
                db::users::NewUser {
                    id: &id,
                    email: &email.display,
                    email_normalized: &email.normalized,
                    name: &name,
                    password_hash: None,
                    role: "admin",
                    email_verified_at: Some(now),
                    now,
                },
            )
            .await?;
            db::workspaces::create_personal(&mut tx, &id, now).await?;
            id
        }
    };
    let token = crypto::random_token();
    db::tokens::insert(
        &mut *tx,
        &crypto::sha256_hex(token.as_bytes()),
        &user_id,
        db::tokens::Purpose::ResetPassword,
        now,
        24 * 3600,
    )
    .await?;
    tx.commit().await?;
    let web = crate::state::Web::new(&config, config.listen.port());
    println!(
        "{} is an admin. Set the password within 24 hours (the link works once):",
        email.display
    );
    println!("{}", web.link("/reset-password", &token));
    Ok(())
}
