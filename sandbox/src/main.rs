//! `tarabut-sandbox`: runs the sandbox until Ctrl-C, configured from the environment.

use std::{env, process::ExitCode};

use tarabut_sandbox::{ClientConfig, Sandbox, SandboxConfig};
use tracing_subscriber::EnvFilter;

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, errors: &mut Vec<String>) -> Option<T> {
    let raw = var(name)?;
    match raw.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(format!("{name}={raw} is not a valid number"));
            None
        }
    }
}

/// Reads every setting, collecting all problems so one run reports them all.
fn config_from_env() -> Result<(String, SandboxConfig), Vec<String>> {
    let mut errors = Vec::new();
    let mut config = SandboxConfig::default();
    let listen = var("SANDBOX_LISTEN").unwrap_or_else(|| "127.0.0.1:8090".to_string());
    let mut client = config
        .clients
        .first()
        .cloned()
        .unwrap_or_else(|| ClientConfig::new("pfn-dev", "pfn-dev-secret"));
    if let Some(id) = var("SANDBOX_CLIENT_ID") {
        client.client_id = id;
    }
    if let Some(secret) = var("SANDBOX_CLIENT_SECRET") {
        client.client_secret = secret;
    }
    if let Some(urls) = var("SANDBOX_REDIRECT_URLS") {
        client.redirect_urls = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .collect();
    }
    config.clients = vec![client];
    if let Some(n) = number("SANDBOX_TRANSACTIONS_PER_ACCOUNT", &mut errors) {
        config.transactions_per_account = n;
    }
    if let Some(n) = number::<u32>("SANDBOX_PAGE_SIZE", &mut errors) {
        if n == 0 {
            errors.push("SANDBOX_PAGE_SIZE must be at least 1".to_string());
        }
        config.page_size = n;
    }
    if let Some(n) = number("SANDBOX_SEED", &mut errors) {
        config.seed = n;
    }
    if let Some(n) = number::<i64>("SANDBOX_TOKEN_TTL_SECS", &mut errors) {
        if n < 1 {
            errors.push("SANDBOX_TOKEN_TTL_SECS must be at least 1".to_string());
        }
        config.token_ttl_secs = n;
    }
    config.public_url = var("SANDBOX_PUBLIC_URL");
    if errors.is_empty() {
        Ok((listen, config))
    } else {
        Err(errors)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let (listen, config) = match config_from_env() {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                eprintln!("tarabut-sandbox: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let sandbox = match Sandbox::start(&listen, config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tarabut-sandbox: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("tarabut sandbox listening on {}", sandbox.url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("tarabut-sandbox: cannot wait for Ctrl-C: {e}");
    }
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
