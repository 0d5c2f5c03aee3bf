//! The one `returnTo` rule, used by the server (OAuth start) and the SPA (after sign-in).

const MAX_LEN: usize = 2048;

/// Returns `input` when it is a safe same-origin relative path, else `/`.
///
/// Safe means: a single leading `/`, no `//` or `/\` prefix, and, after percent-decoding, no
/// scheme, backslash prefix or control characters; at most 2048 characters.
pub fn safe_return_to(input: &str) -> &str {
    if is_safe(input) {
        input
    } else {
        "/"
    }
}

fn is_safe(input: &str) -> bool {
    if input.len() > MAX_LEN || !input.starts_with('/') {
        return false;
    }
    let Some(decoded) = percent_decode(input) else {
        return false;
    };
    // A string that starts with one `/` (raw and decoded) is a path on this origin: it cannot
    // carry a scheme or host. Decoding guards against `/%2F%2Fevil.com` and `/%5Cevil.com`.
    [input, decoded.as_str()].iter().all(|s| {
        let b = s.as_bytes();
        b.first() == Some(&b'/')
            && !matches!(b.get(1), Some(b'/') | Some(b'\\'))
            && !s.chars().any(char::is_control)
    })
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
pub fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn relative_paths_pass() {
        for ok in [
            "/",
            "/keys",
            "/transactions?from=2026-01-01&cursor=abc",
            "/a/b#frag",
            "/a:b",
        ] {
            assert_eq!(safe_return_to(ok), ok);
        }
    }

    #[test]
    fn open_redirects_fall_back_to_root() {
        let long = format!("/{}", "a".repeat(2048));
        for bad in [
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "/%2F%2Fevil.com",
            "/%5Cevil.com",
            "%2F%2Fevil.com",
            "javascript:alert(1)",
            "/%0d%0aSet-Cookie:x",
            "evil.com",
            "",
            "/\tx",
            "/%ZZ",
            long.as_str(),
        ] {
            assert_eq!(safe_return_to(bad), "/", "{bad:?} must not pass");
        }
    }
}
