//! Settings derived from the configuration once the listener is bound: the public origin,
//! the origins CSRF accepts, the cookie's name and flags.

use url::Url;

use super::Config;

/// Settings derived once the listener is bound (the dev public URL needs the port).
#[derive(Debug, Clone)]
pub struct Web {
    pub public_url: Url,
    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub public_origin: String,
    /// The public origin, plus `http://localhost:<port>` and `http://127.0.0.1:<port>` in dev.
    pub allowed_origins: Vec<String>,
    pub dev_mode: bool,
    pub cookie_name: &'static str,
    pub secure_cookies: bool,
    pub hsts: bool,
}

impl Web {
    pub fn new(config: &Config, bound_port: u16) -> Self {
        let dev_mode = config.dev_mode();
        let public_url = config.public_url.clone().unwrap_or_else(|| {
            Url::parse(&format!("http://127.0.0.1:{bound_port}")).expect("loopback URL parses")
        });
        let public_origin = public_url.origin().ascii_serialization();
        let mut allowed_origins = vec![public_origin.clone()];
        if dev_mode {
            let port = public_url.port_or_known_default().unwrap_or(bound_port);
            for host in ["localhost", "127.0.0.1"] {
                let o = format!("http://{host}:{port}");
                if !allowed_origins.contains(&o) {
                    allowed_origins.push(o);
                }
            }
        }
        let dev_cookie = dev_mode || config.insecure_cookies;
        Self {
            hsts: public_url.scheme() == "https",
            public_url,
            public_origin,
            allowed_origins,
            dev_mode,
            cookie_name: if dev_cookie {
                "pfn_session"
            } else {
                "__Host-pfn_session"
            },
            secure_cookies: !dev_cookie,
        }
    }

    /// An absolute link to an SPA route, e.g. `link("/verify-email", token)`.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{}?token={}", self.public_origin, path, token)
    }
}
