//! Typed configuration from the environment (and an optional `.env`), validated in one pass so
//! an operator sees every problem at once, one clear line each.

use std::{net::SocketAddr, path::PathBuf};

mod tarabut;
mod web;
mod webhooks;

use ipnet::IpNet;
use secrecy::SecretString;
use url::Url;

use tarabut::tarabut_config;
pub use tarabut::{TarabutConfig, TarabutTarget};
pub use web::Web;
use webhooks::webhook_config;
pub use webhooks::WebhookConfig;

/// How mail leaves the server.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// Dev only: print to the log and write `.eml` files under `<data dir>/outbox/`.
    Log,
    /// `PFN_SMTP_URL`, e.g. `smtps://user:pass@smtp.example.com:465` (lettre URL syntax); it
    /// holds the password, so it is a secret as a whole.
    Smtp { url: SecretString },
    /// Resend's HTTP API.
    Resend { api_key: SecretString, url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Per-IP and per-account sign-in throttles. `0` turns a limit off (benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub login_per_ip_per_min: u32,
    pub login_per_account_per_min: u32,
    pub signup_per_ip_per_hour: u32,
    pub forgot_per_ip_per_hour: u32,
    pub resend_per_ip_per_hour: u32,
    /// Concurrent argon2 computations; defaults to the number of cores.
    pub hash_concurrency: usize,
    /// Per-API-key token bucket: sustained rate and burst (bucket size).
    pub key_per_min: u32,
    pub key_burst: u32,
    /// Refused API keys per client address and minute before 429 (`0` = no limit).
    pub key_failures_per_ip_per_min: u32,
}

#[derive(Debug, Clone)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The OpenID discovery document (`PFN_GOOGLE_DISCOVERY_URL`): Google's by default; tests
    /// and self-hosters point it at another provider.
    pub discovery_url: Url,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// `None`: dev mode on `http://127.0.0.1:<bound port>`.
    pub public_url: Option<Url>,
    /// `PFN_SECRET`. Every secret here is a `SecretString`, whose `Debug` is redacted, so the
    /// configuration can be logged whole.
    pub secret: Option<SecretString>,
    /// `PFN_SECRET_PREVIOUS`: the secret before a rotation, for reading (never writing) what
    /// was sealed with it (docs/deploy.md, "Rotating PFN_SECRET").
    pub secret_previous: Option<SecretString>,
    pub mail: MailTransport,
    pub mail_from: String,
    /// May hold a password (`redis://:password@host`).
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key and channel (`PFN_REDIS_PREFIX`, default `pfn`), so several
    /// deployments can share one Redis.
    pub redis_prefix: String,
    pub google: Option<GoogleConfig>,
    pub insecure_cookies: bool,
    pub trusted_proxies: Vec<IpNet>,
    pub limits: Limits,
    pub log_format: LogFormat,
    pub bootstrap_admin_email: Option<String>,
    /// `PFN_BOOTSTRAP_ADMIN_KEEP_CREDENTIALS`: promote an existing, verified bootstrap account
    /// as it is (`pfn admin create --keep-credentials`).
    pub bootstrap_admin_keep_credentials: bool,
    /// `PFN_ADMIN_REQUIRE_MFA`: admin routes refuse an administrator without two-step sign-in
    /// (`None`: on outside development; see [`Config::admin_require_mfa`]).
    pub admin_require_mfa_setting: Option<bool>,
    pub tarabut: TarabutConfig,
    /// `PFN_SPA_DIR`: the SPA's release build (Trunk's `dist/`), served when it holds an
    /// `index.html`. Unset: the build inside the binary (`embed-spa`), else `./dist`.
    pub spa_dir: Option<PathBuf>,
    /// `PFN_AUDIT_RETENTION_DAYS`: audit rows older than this are deleted (0 keeps them).
    pub audit_retention_days: u32,
    /// `PFN_CHANGES_RETENTION_DAYS`: how long the change feed remembers deletions (default 90;
    /// 0 keeps them); an older cursor answers 410 `cursor_expired`.
    pub changes_retention_days: u32,
    pub webhooks: WebhookConfig,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Vec<String>> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (tests pass a map). Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut errors = Vec::new();
        let parse_u32 = |key: &str, default: u32, errors: &mut Vec<String>| match get(key) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                errors.push(format!(
                    "{key}={v:?} is not a whole number (0 turns the limit off)"
                ));
                default
            }),
        };

        let listen = match get("PFN_LISTEN") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.parse().unwrap_or_else(|_| {
                errors.push(format!(
                    "PFN_LISTEN={v:?} is not an address like 127.0.0.1:8080"
                ));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
        };
        let data_dir = PathBuf::from(get("PFN_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = get("PFN_DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/pfn.db", data_dir.display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            errors.push("PFN_DATABASE_URL must start with sqlite: or postgres://".into());
        }

        let public_url = get("PFN_PUBLIC_URL").and_then(|v| match Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some()
                && (u.path() == "/" || u.path().is_empty()) && u.query().is_none() =>
            {
                Some(u)
            }
            _ => {
                errors.push(format!(
                    "PFN_PUBLIC_URL={v:?} must be an http(s) origin without a path, e.g. https://pfn.example.com"
                ));
                None
            }
        });
        let dev = public_url.as_ref().is_none_or(is_dev_url);

        let secret = get("PFN_SECRET");
        let secret_previous = get("PFN_SECRET_PREVIOUS");
        for (key, value) in [
            ("PFN_SECRET", &secret),
            ("PFN_SECRET_PREVIOUS", &secret_previous),
        ] {
            if value.as_ref().is_some_and(|s| s.len() < 32) {
                errors.push(format!(
                    "{key} must be at least 32 bytes (try: openssl rand -base64 48)"
                ));
            }
        }
        if secret_previous.is_some() && secret.is_none() {
            errors.push(
                "PFN_SECRET_PREVIOUS is set but PFN_SECRET is not: rotate to a new PFN_SECRET"
                    .into(),
            );
        }
        if secret.is_none() && !dev {
            errors.push(
                "PFN_SECRET is required when PFN_PUBLIC_URL is not a loopback http:// URL".into(),
            );
        }

        let mail = match get("PFN_MAIL_TRANSPORT").as_deref().unwrap_or("log") {
            "log" => MailTransport::Log,
            "smtp" => match get("PFN_SMTP_URL") {
                Some(url) => MailTransport::Smtp { url: url.into() },
                None => {
                    errors.push("PFN_MAIL_TRANSPORT=smtp needs PFN_SMTP_URL".into());
                    MailTransport::Log
                }
            },
            "resend" => match get("PFN_RESEND_API_KEY") {
                Some(api_key) => MailTransport::Resend {
                    api_key: api_key.into(),
                    url: get("PFN_RESEND_URL").unwrap_or_else(|| "https://api.resend.com".into()),
                },
                None => {
                    errors.push("PFN_MAIL_TRANSPORT=resend needs PFN_RESEND_API_KEY".into());
                    MailTransport::Log
                }
            },
            other => {
                errors.push(format!(
                    "PFN_MAIL_TRANSPORT={other:?} must be one of log, smtp, resend"
                ));
                MailTransport::Log
            }
        };
        if matches!(mail, MailTransport::Log) && !dev {
            errors.push(
                "PFN_MAIL_TRANSPORT=log (the default) is only for development; set smtp or resend"
                    .into(),
            );
        }

        let google = match (get("PFN_GOOGLE_CLIENT_ID"), get("PFN_GOOGLE_CLIENT_SECRET")) {
            (Some(client_id), Some(client_secret)) => {
                let raw = get("PFN_GOOGLE_DISCOVERY_URL").unwrap_or_else(|| {
                    "https://accounts.google.com/.well-known/openid-configuration".into()
                });
                match Url::parse(&raw) {
                    Ok(discovery_url) if matches!(discovery_url.scheme(), "http" | "https") => {
                        Some(GoogleConfig {
                            client_id,
                            client_secret: client_secret.into(),
                            discovery_url,
                        })
                    }
                    _ => {
                        errors.push(format!(
                            "PFN_GOOGLE_DISCOVERY_URL={raw:?} is not an http(s) URL"
                        ));
                        None
                    }
                }
            }
            (None, None) => None,
            (Some(_), None) => {
                errors
                    .push("PFN_GOOGLE_CLIENT_ID is set but PFN_GOOGLE_CLIENT_SECRET is not".into());
                None
            }
            (None, Some(_)) => {
                errors
                    .push("PFN_GOOGLE_CLIENT_SECRET is set but PFN_GOOGLE_CLIENT_ID is not".into());
                None
            }
        };

        let mut flag = |key: &str| match get(key).as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(v) => {
                errors.push(format!("{key}={v:?} must be 0 or 1"));
                false
            }
        };
        let insecure_cookies = flag("PFN_INSECURE_COOKIES");
        let bootstrap_admin_keep_credentials = flag("PFN_BOOTSTRAP_ADMIN_KEEP_CREDENTIALS");
        let admin_require_mfa_setting = get("PFN_ADMIN_REQUIRE_MFA")
            .is_some()
            .then(|| flag("PFN_ADMIN_REQUIRE_MFA"));

        let trusted_proxies = get("PFN_TRUSTED_PROXIES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| {
                        s.parse::<IpNet>()
                            .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                            .map_err(|_| {
                                errors.push(format!("PFN_TRUSTED_PROXIES: {s:?} is not a CIDR"))
                            })
                            .ok()
                    })
                    .collect()
            })
            .unwrap_or_default();

        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let limits = Limits {
            login_per_ip_per_min: parse_u32("PFN_LOGIN_RATE_PER_IP_PER_MIN", 30, &mut errors),
            login_per_account_per_min: parse_u32(
                "PFN_LOGIN_RATE_PER_ACCOUNT_PER_MIN",
                10,
                &mut errors,
            ),
            signup_per_ip_per_hour: parse_u32("PFN_SIGNUP_RATE_PER_IP_PER_HOUR", 20, &mut errors),
            forgot_per_ip_per_hour: parse_u32("PFN_FORGOT_RATE_PER_IP_PER_HOUR", 20, &mut errors),
            resend_per_ip_per_hour: parse_u32("PFN_RESEND_RATE_PER_IP_PER_HOUR", 20, &mut errors),
            hash_concurrency: parse_u32("PFN_HASH_CONCURRENCY", cores as u32, &mut errors).max(1)
                as usize,
            key_per_min: parse_u32("PFN_KEY_RATE_LIMIT_PER_MIN", 600, &mut errors),
            key_burst: parse_u32("PFN_KEY_RATE_BURST", 60, &mut errors),
            key_failures_per_ip_per_min: parse_u32(
                "PFN_KEY_FAILURES_PER_IP_PER_MIN",
                60,
                &mut errors,
            ),
        };

        let log_format = match get("PFN_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(v) => {
                errors.push(format!("PFN_LOG_FORMAT={v:?} must be text or json"));
                LogFormat::Text
            }
        };

        let tarabut = tarabut_config(&get, &mut errors);
        let webhooks = webhook_config(&get, &mut errors);
        let audit_retention_days = match get("PFN_AUDIT_RETENTION_DAYS") {
            None => 400,
            Some(v) => v.parse().unwrap_or_else(|_| {
                errors.push(format!(
                    "PFN_AUDIT_RETENTION_DAYS={v:?} is not a whole number of days (0 keeps audit rows forever)"
                ));
                400
            }),
        };

        let changes_retention_days = match get("PFN_CHANGES_RETENTION_DAYS") {
            None => 90,
            Some(v) => v.parse().unwrap_or_else(|_| {
                errors.push(format!(
                    "PFN_CHANGES_RETENTION_DAYS={v:?} is not a whole number of days (0 keeps deletions forever)"
                ));
                90
            }),
        };

        let bootstrap_admin_email = get("PFN_BOOTSTRAP_ADMIN_EMAIL");
        if let Some(e) = &bootstrap_admin_email {
            if crate::email::Email::parse(e).is_err() {
                errors.push(format!(
                    "PFN_BOOTSTRAP_ADMIN_EMAIL={e:?} is not an email address"
                ));
            }
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            listen,
            data_dir,
            database_url,
            public_url,
            secret: secret.map(Into::into),
            secret_previous: secret_previous.map(Into::into),
            mail,
            mail_from: get("PFN_MAIL_FROM").unwrap_or_else(|| "pfn <no-reply@localhost>".into()),
            redis_url: get("PFN_REDIS_URL").map(Into::into),
            redis_prefix: get("PFN_REDIS_PREFIX").unwrap_or_else(|| "pfn".into()),
            google,
            insecure_cookies,
            trusted_proxies,
            limits,
            log_format,
            bootstrap_admin_email,
            bootstrap_admin_keep_credentials,
            admin_require_mfa_setting,
            tarabut,
            spa_dir: get("PFN_SPA_DIR").map(PathBuf::from),
            audit_retention_days,
            changes_retention_days,
            webhooks,
        })
    }

    /// Dev mode: no public URL, or plain http on a loopback host (product.md §8).
    pub fn dev_mode(&self) -> bool {
        self.public_url.as_ref().is_none_or(is_dev_url)
    }

    /// Whether administrators must have two-step sign-in to use admin routes:
    /// `PFN_ADMIN_REQUIRE_MFA`, on by default outside development.
    pub fn admin_require_mfa(&self) -> bool {
        self.admin_require_mfa_setting
            .unwrap_or_else(|| !self.dev_mode())
    }
}

fn is_dev_url(u: &Url) -> bool {
    u.scheme() == "http"
        && match u.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, Vec<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_a_dev_server_on_sqlite() {
        let c = config(&[]).unwrap();
        assert!(c.dev_mode());
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./data/pfn.db");
        assert!(matches!(c.mail, MailTransport::Log));
    }

    #[test]
    fn production_needs_a_secret_and_a_real_mail_transport() {
        let errors = config(&[("PFN_PUBLIC_URL", "https://pfn.example.com")]).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("PFN_SECRET"));
        assert!(errors[1].contains("PFN_MAIL_TRANSPORT"));
        let ok = config(&[
            ("PFN_PUBLIC_URL", "https://pfn.example.com"),
            ("PFN_SECRET", &"x".repeat(32)),
            ("PFN_MAIL_TRANSPORT", "smtp"),
            ("PFN_SMTP_URL", "smtp://localhost:25"),
        ]);
        assert!(!ok.unwrap().dev_mode());
    }

    #[test]
    fn every_problem_is_reported_once() {
        let errors = config(&[
            ("PFN_LISTEN", "nope"),
            ("PFN_GOOGLE_CLIENT_ID", "id"),
            ("PFN_LOGIN_RATE_PER_IP_PER_MIN", "-1"),
            ("PFN_TRUSTED_PROXIES", "10.0.0.0/8, bogus"),
            ("PFN_PUBLIC_URL", "http://localhost:8080/app"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 5, "{errors:#?}");
    }

    #[test]
    fn tarabut_is_the_bundled_sandbox_unless_fully_configured() {
        assert!(matches!(
            config(&[]).unwrap().tarabut.target,
            TarabutTarget::Bundled { .. }
        ));
        let errors = config(&[("PFN_TARABUT_CLIENT_ID", "id")]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("PFN_TARABUT_URL")
                && errors[0].contains("PFN_TARABUT_CLIENT_SECRET")
        );
        let c = config(&[
            ("PFN_TARABUT_URL", "https://api.sandbox.tarabutgateway.io"),
            ("PFN_TARABUT_CLIENT_ID", "id"),
            ("PFN_TARABUT_CLIENT_SECRET", "very-secret"),
        ])
        .unwrap();
        let TarabutTarget::Remote { token_url, .. } = &c.tarabut.target else {
            panic!("expected a remote Tarabut")
        };
        assert_eq!(
            token_url.as_str(),
            "https://api.sandbox.tarabutgateway.io/auth/v1/token"
        );
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        // (variable, value, the part of it that is secret)
        let secrets = [
            (
                "PFN_SECRET",
                "server-secret-0123456789abcdefghijklmnop",
                "server-secret",
            ),
            (
                "PFN_SECRET_PREVIOUS",
                "previous-secret-0123456789abcdefghijklm",
                "previous-secret",
            ),
            (
                "PFN_GOOGLE_CLIENT_SECRET",
                "google-client-secret",
                "google-client-secret",
            ),
            (
                "PFN_REDIS_URL",
                "redis://:redis-password@127.0.0.1:6379",
                "redis-password",
            ),
            (
                "PFN_TARABUT_CLIENT_SECRET",
                "tarabut-client-secret",
                "tarabut-client-secret",
            ),
        ];
        let transports = [
            (
                "smtp",
                (
                    "PFN_SMTP_URL",
                    "smtps://u:smtp-password@smtp.example.com:465",
                    "smtp-password",
                ),
            ),
            (
                "resend",
                ("PFN_RESEND_API_KEY", "re_resend-api-key", "resend-api-key"),
            ),
        ];
        for (transport, credential) in transports {
            let mut vars = vec![
                ("PFN_PUBLIC_URL", "https://pfn.example.com"),
                ("PFN_GOOGLE_CLIENT_ID", "google-id"),
                ("PFN_TARABUT_URL", "https://api.sandbox.tarabutgateway.io"),
                ("PFN_TARABUT_CLIENT_ID", "tarabut-id"),
                ("PFN_MAIL_TRANSPORT", transport),
                (credential.0, credential.1),
            ];
            vars.extend(secrets.iter().map(|(k, v, _)| (*k, *v)));
            let shown = format!("{:?}", config(&vars).unwrap());
            for (key, _, secret) in secrets.iter().chain([&credential]) {
                assert!(!shown.contains(secret), "{key} leaks into Debug: {shown}");
            }
            assert!(
                shown.contains("google-id"),
                "what is not secret stays readable"
            );
        }
    }

    #[test]
    fn admins_need_two_step_sign_in_outside_development_unless_told_otherwise() {
        let secret = "x".repeat(32);
        let at = |url: &str, setting: Option<&str>| {
            let mut vars = vec![
                ("PFN_PUBLIC_URL", url),
                ("PFN_SECRET", secret.as_str()),
                ("PFN_MAIL_TRANSPORT", "smtp"),
                ("PFN_SMTP_URL", "smtp://localhost:25"),
            ];
            vars.extend(setting.map(|v| ("PFN_ADMIN_REQUIRE_MFA", v)));
            config(&vars).unwrap().admin_require_mfa()
        };
        assert!(!at("http://127.0.0.1:8080", None));
        assert!(at("http://127.0.0.1:8080", Some("1")));
        assert!(at("https://pfn.example.com", None));
        assert!(!at("https://pfn.example.com", Some("0")));
        assert!(config(&[("PFN_ADMIN_REQUIRE_MFA", "yes")]).is_err());
    }

    #[test]
    fn loopback_http_is_dev_mode() {
        for url in [
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
        ] {
            assert!(
                config(&[("PFN_PUBLIC_URL", url)]).unwrap().dev_mode(),
                "{url}"
            );
        }
    }
}
