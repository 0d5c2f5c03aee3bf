//! Where webhooks may go: only to globally routable addresses. The check is made on the
//! addresses the HTTP client dials, by resolving through [`GuardedResolver`] (a host name) or
//! by [`check_literal`] (an IP address in the URL, which the client dials without a lookup); a
//! check before a second, separate lookup could be answered differently by the second (DNS
//! rebinding). The client follows no redirects and uses no proxy from the environment.
//!
//! Refused: every range of the IANA IPv4 and IPv6 Special-Purpose Address Registries (whether
//! or not the registry calls it globally reachable: none of them is somewhere a webhook should
//! go), multicast, the IPv4 class E and broadcast space, IPv4-mapped, IPv4-compatible and NAT64
//! forms of IPv6, and everything outside IPv6 global unicast (`2000::/3`). Hand-written (std's
//! `is_global` is unstable and no maintained crate keeps the registry): see
//! `docs/architecture.md`.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, LazyLock, RwLock},
};

use ipnet::IpNet;

const REFUSED: &[&str] = &[
    // IPv4 special-purpose registry, plus multicast, class E and broadcast.
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.31.196.0/24",
    "192.52.193.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "192.175.48.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
    // IPv6 special-purpose registry, plus multicast and the deprecated site-local range.
    "::/128",
    "::1/128",
    "::/96",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

static REFUSED_NETS: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    REFUSED
        .iter()
        .map(|n| n.parse().expect("the refused ranges are networks"))
        .collect()
});

/// Whether `ip` is somewhere a webhook may go.
pub fn is_public(ip: IpAddr) -> bool {
    if let IpAddr::V6(v6) = ip {
        // Global unicast only.
        if v6.segments()[0] & 0xe000 != 0x2000 {
            return false;
        }
    }
    !REFUSED_NETS.iter().any(|n| n.contains(&ip))
}

/// [`is_public`], or loopback when `allow_loopback` (`PFN_WEBHOOK_ALLOW_PRIVATE=1`).
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    let loopback = match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback(),
    };
    (allow_loopback && loopback) || is_public(ip)
}

/// Why nothing was dialled.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0} is not a public address")]
pub struct Refused(pub String);

/// A URL whose host is an IP address: the client dials it without a lookup, so it is checked
/// here, just before the request.
pub fn check_literal(url: &url::Url, allow_loopback: bool) -> Result<(), Refused> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if allowed(ip, allow_loopback) {
        Ok(())
    } else {
        Err(Refused(ip.to_string()))
    }
}

pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Name resolution: the system's, or in tests one that answers what the test needs.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The system resolver (`getaddrinfo` through tokio).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// The lookup in use; tests swap it ([`crate::outbound::Outbound::set_lookup`]).
pub type SharedLookup = Arc<RwLock<Arc<dyn Lookup>>>;

/// The HTTP client's resolver: the addresses the lookup answers, minus every refused one; none
/// left is an error, and the client dials nothing.
pub struct GuardedResolver {
    pub lookup: SharedLookup,
    pub allow_loopback: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let lookup = self
            .lookup
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let answered = lookup.lookup(&host).await?;
            let usable: Vec<SocketAddr> = answered
                .iter()
                .filter(|ip| allowed(**ip, allow_loopback))
                .map(|ip| SocketAddr::new(*ip, 0))
                .collect();
            if usable.is_empty() {
                let shown = answered.first().map_or(host, |ip| ip.to_string());
                return Err(Box::new(Refused(shown)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    #[test]
    fn refuses_every_special_purpose_form() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:8.8.8.8",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:a9fe:a9fe::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "4000::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn allows_global_unicast_and_loopback_only_when_asked() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "172.32.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_public(ip), "{ip} is global");
        }
        assert!(allowed("127.0.0.1".parse().unwrap(), true));
        assert!(allowed("::1".parse().unwrap(), true));
        assert!(!allowed("127.0.0.1".parse().unwrap(), false));
        // Loopback only: the private ranges stay refused.
        assert!(!allowed("10.0.0.1".parse().unwrap(), true));
        assert!(!allowed("::ffff:127.0.0.1".parse().unwrap(), true));
    }

    struct Fixed(Vec<IpAddr>);
    impl Lookup for Fixed {
        fn lookup(&self, _host: &str) -> LookupFuture {
            let ips = self.0.clone();
            Box::pin(async move { Ok(ips) })
        }
    }

    fn resolver(ips: &[&str], allow_loopback: bool) -> GuardedResolver {
        let ips = ips.iter().map(|i| i.parse().unwrap()).collect();
        GuardedResolver {
            lookup: Arc::new(RwLock::new(Arc::new(Fixed(ips)))),
            allow_loopback,
        }
    }

    #[tokio::test]
    async fn the_resolver_hands_the_client_only_allowed_addresses() {
        let name = |h: &str| h.parse::<reqwest::dns::Name>().unwrap();
        let refused = resolver(&["169.254.169.254", "10.0.0.1"], true);
        let err = refused.resolve(name("hooks.example")).await.err().unwrap();
        assert!(err.to_string().starts_with("refused: 169.254.169.254"));
        let mixed = resolver(&["10.0.0.1", "127.0.0.1", "8.8.8.8"], true);
        let got: Vec<SocketAddr> = mixed
            .resolve(name("hooks.example"))
            .await
            .unwrap()
            .collect();
        assert_eq!(
            got,
            vec!["127.0.0.1:0".parse().unwrap(), "8.8.8.8:0".parse().unwrap()]
        );
    }

    #[test]
    fn literal_addresses_are_checked_before_the_request() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert!(check_literal(&url("http://169.254.169.254/latest"), true).is_err());
        assert!(check_literal(&url("http://[::ffff:a9fe:a9fe]/"), true).is_err());
        assert!(check_literal(&url("http://127.0.0.1:9/"), false).is_err());
        assert!(check_literal(&url("http://127.0.0.1:9/"), true).is_ok());
        assert!(check_literal(&url("https://hooks.example/"), false).is_ok());
    }
}
