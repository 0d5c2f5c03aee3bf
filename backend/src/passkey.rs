//! The WebAuthn relying party: who passkeys are bound to. Its id and origin come from
//! `PFN_PUBLIC_URL`; the ceremonies themselves are `webauthn-rs`'.
//!
//! A relying-party id must be a domain: browsers refuse an IP address. A public URL on a domain
//! gives that domain; in development (no public URL, or a loopback one) passkeys live at
//! `http://localhost:<port>`, the one plain-http origin browsers accept; a public IP address
//! anywhere else leaves passkeys off (the routes answer 409 `passkeys_unavailable`).

use url::{Host, Url};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::config::Web;

pub struct RelyingParty {
    pub webauthn: Webauthn,
    /// The origin passkeys work on (`scheme://host[:port]`), which the SPA compares with its own.
    pub origin: String,
}

impl RelyingParty {
    pub fn new(web: &Web) -> Option<Self> {
        let url = &web.public_url;
        let origin = match url.host()? {
            Host::Domain(_) => url.clone(),
            Host::Ipv4(ip) if web.dev_mode && ip.is_loopback() => localhost(url)?,
            Host::Ipv6(ip) if web.dev_mode && ip.is_loopback() => localhost(url)?,
            _ => {
                tracing::info!(
                    public_url = %url,
                    "passkeys are off: a WebAuthn relying party needs a domain, not an IP address"
                );
                return None;
            }
        };
        let id = origin.domain()?.to_string();
        let webauthn = WebauthnBuilder::new(&id, &origin)
            .and_then(|b| b.rp_name("pfn").build())
            .map_err(|e| tracing::warn!(error = %e, %origin, "passkeys are off"))
            .ok()?;
        Some(Self {
            webauthn,
            origin: origin.origin().ascii_serialization(),
        })
    }
}

/// `http://localhost:<port>` for a loopback public URL.
fn localhost(url: &Url) -> Option<Url> {
    let port = url.port_or_known_default()?;
    Url::parse(&format!("{}://localhost:{port}", url.scheme())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(public: &str, dev: bool) -> Web {
        Web {
            public_url: Url::parse(public).unwrap(),
            public_origin: Url::parse(public).unwrap().origin().ascii_serialization(),
            allowed_origins: vec![],
            dev_mode: dev,
            cookie_name: "pfn_session",
            secure_cookies: false,
            hsts: false,
        }
    }

    #[test]
    fn the_relying_party_is_a_domain_or_nothing() {
        let rp = |u, dev| RelyingParty::new(&web(u, dev)).map(|r| r.origin);
        assert_eq!(
            rp("https://money.example.com", false).as_deref(),
            Some("https://money.example.com")
        );
        assert_eq!(
            rp("http://127.0.0.1:8080", true).as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(
            rp("http://localhost:3000", true).as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(rp("https://203.0.113.7", false), None);
        assert_eq!(rp("http://127.0.0.1:8080", false), None);
    }
}
