//! Which device a request comes from, as people name it ("Firefox on Linux"), and a
//! fingerprint of device and network for "a sign-in from a new device" notices.
//!
//! Written here rather than taken from a user-agent parser crate: pfn needs only a browser
//! family and an operating system, for a label and a coarse fingerprint; the parsers carry
//! thousands of patterns (or a YAML database) to name versions and models we do not show. The
//! tests below pin the labels for the user agents of current browsers.

use std::net::IpAddr;

use crate::crypto::sha256_hex;

/// "Firefox on Linux", "Safari on iOS", "curl"; "Unknown device" without a user agent.
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let has = |s: &str| ua.contains(s);
    // Order matters: Edge and Opera say "Chrome", Chrome says "Safari", iOS says "Mac OS X",
    // Android says "Linux".
    let browser = if has("Edg/") || has("Edge/") || has("EdgiOS") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else if let Some(tool) = ua.split('/').next().filter(|t| {
        !t.is_empty()
            && t.len() <= 24
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    }) {
        if tool == "Mozilla" {
            "A browser"
        } else {
            return tool.to_string();
        }
    } else {
        "A browser"
    };
    let os = if has("iPhone") || has("iPad") || has("iPod") {
        Some("iOS")
    } else if has("Android") {
        Some("Android")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Macintosh") || has("Mac OS X") {
        Some("macOS")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Linux") || has("X11") {
        Some("Linux")
    } else {
        None
    };
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_string(),
    }
}

/// The network a client address belongs to for "have we seen this device": its /24 (IPv4) or
/// /48 (IPv6), so a home router's changing address within its provider's block stays the same.
fn network(ip: Option<&str>) -> String {
    match ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        None => String::new(),
    }
}

/// A device and network: browser family and operating system, and the address's /24 or /48.
/// Not a secret and not an identifier across users (the user id is stored beside it).
pub fn fingerprint(user_agent: Option<&str>, ip: Option<&str>) -> String {
    sha256_hex(format!("{}|{}", describe(user_agent), network(ip)).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_browsers_are_named_by_family_and_system() {
        for (ua, want) in [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", "Safari on macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on ChromeOS"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera on Windows"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Chrome on Linux"),
            ("curl/8.5.0", "curl"),
            ("python-requests/2.32.3", "python-requests"),
            ("Mozilla/5.0 (compatible; Something)", "A browser"),
        ] {
            assert_eq!(describe(Some(ua)), want, "{ua}");
        }
        assert_eq!(describe(None), "Unknown device");
        assert_eq!(describe(Some("  ")), "Unknown device");
    }

    #[test]
    fn a_fingerprint_is_the_device_and_its_network() {
        let firefox =
            Some("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
        let newer = Some("Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0");
        let chrome = Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36");
        let at = |ua, ip| fingerprint(ua, Some(ip));
        assert_eq!(
            at(firefox, "203.0.113.7"),
            at(newer, "203.0.113.200"),
            "an update, the same /24"
        );
        assert_ne!(
            at(firefox, "203.0.113.7"),
            at(chrome, "203.0.113.7"),
            "another browser"
        );
        assert_ne!(
            at(firefox, "203.0.113.7"),
            at(firefox, "198.51.100.7"),
            "another network"
        );
        assert_eq!(
            at(firefox, "2001:db8:1:2::1"),
            at(firefox, "2001:db8:1:ffff::9"),
            "the same /48"
        );
        assert_ne!(at(firefox, "2001:db8:1::1"), at(firefox, "2001:db8:2::1"));
    }
}
