//! Input rules both sides enforce: the SPA for instant feedback, the server as the authority.
//!
//! Each function returns a short, human message suitable for `error.fields[...]`.

use unicode_normalization::UnicodeNormalization;

pub const EMAIL_MAX: usize = 254;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const NAME_MAX: usize = 100;

/// The shape of an email address: the trimmed address, or what is wrong with it. The server
/// adds its identity rules (look-alike characters, mixed scripts, the normalised key) in
/// `backend::email`; the SPA needs none of them, and so no Unicode tables.
pub fn check_email(input: &str) -> Result<&str, &'static str> {
    let email = input.trim();
    if email.is_empty() {
        return Err("is required");
    }
    if email.chars().count() > EMAIL_MAX {
        return Err("must be at most 254 characters");
    }
    if email.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("must be a valid email address");
    };
    let domain_ok = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
        return Err("must be a valid email address");
    }
    Ok(email)
}

/// NFC form: passwords are hashed and measured in this form, so the same password typed on
/// two keyboards (composed vs decomposed accents) is the same password.
pub fn normalize_password(password: &str) -> String {
    password.nfc().collect()
}

/// The policy of product.md §1/§8 minus the common-password list (the server holds that list):
/// 8–128 code points after NFC, no NUL, and not containing the email or its local part (when
/// that part has at least 4 characters), case-insensitively.
pub fn check_password(password: &str, email: &str) -> Result<(), &'static str> {
    check_password_with(password, email, normalize_password, str::to_lowercase)
}

/// [`check_password`] with the NFC and lower-casing steps supplied by the caller. The SPA passes
/// the browser's (`String.prototype.normalize`, `toLowerCase`), which keeps Unicode's tables
/// out of its `.wasm`; the rule itself is this one function on both sides.
pub fn check_password_with(
    password: &str,
    email: &str,
    nfc: impl Fn(&str) -> String,
    lower: impl Fn(&str) -> String,
) -> Result<(), &'static str> {
    let password = nfc(password);
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        return Err("must be at least 8 characters");
    }
    if len > PASSWORD_MAX {
        return Err("must be at most 128 characters");
    }
    if password.contains('\0') {
        return Err("must not contain NUL characters");
    }
    let (password, email) = (lower(&password), lower(email.trim()));
    if !email.is_empty() {
        let local = email.split('@').next().unwrap_or_default();
        if password.contains(&email) || (local.chars().count() >= 4 && password.contains(local)) {
            return Err("must not contain your email address");
        }
    }
    Ok(())
}

/// A display name: trimmed, 1–100 characters, no control characters.
pub fn check_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    if name.is_empty() {
        return Err("is required");
    }
    if name.chars().count() > NAME_MAX {
        return Err("must be at most 100 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_emails_are_rejected_with_a_reason() {
        let long = format!("{}@example.com", "a".repeat(10_000));
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@-bad.com",
            "a\0@example.com",
            "a@example..com",
            long.as_str(),
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(check_email("a.b+tag@sub.example.co").is_ok());
        assert!(check_email("名前@例え.jp").is_ok());
    }

    #[test]
    fn password_length_counts_code_points_after_nfc() {
        // "é" decomposed is two code points; NFC makes it one, so 7 of them are too short.
        let decomposed = "e\u{301}".repeat(7);
        assert_eq!(
            check_password(&decomposed, "x@example.com"),
            Err("must be at least 8 characters")
        );
        assert!(check_password(&"é".repeat(8), "x@example.com").is_ok());
        assert!(check_password(&"🔐".repeat(128), "x@example.com").is_ok());
        assert!(check_password(&"🔐".repeat(129), "x@example.com").is_err());
    }

    #[test]
    fn password_may_not_contain_the_email_or_its_local_part() {
        assert!(check_password("my LAYLA@example.com!", "layla@example.com").is_err());
        assert!(check_password("xxLaylaxxxx", "layla@example.com").is_err());
        // a local part shorter than 4 characters is too common a substring to forbid
        assert!(check_password("bobsleigh-99", "bob@example.com").is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Layla "), Ok("Layla".to_string()));
        assert!(check_name("").is_err());
        assert!(check_name(&"n".repeat(101)).is_err());
        assert!(check_name("a\u{0}b").is_err());
    }
}
