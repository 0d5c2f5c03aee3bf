//! Email addresses as identities: what an account's address may look like, and the one key
//! (`email_normalized`) under which it is unique, looked up, locked out and rate limited.
//!
//! The key is NFKC with Unicode case folding for the part before `@`, and the domain in its
//! IDNA ASCII form, so `Kevin@Corp.com`, `kevin@corp.com` and `KEVIN@CORP.COM` are one account
//! and `例え.jp` is `xn--r8jz45g.jp`. A new address must be the way its owner's mail server
//! sees it: one that NFKC would change (KELVIN SIGN for `K`, long s for `s`, fullwidth letters)
//! or that mixes scripts in its local part or in a domain label (a Cyrillic `а` in a Latin
//! name, UTS #39) is refused, because it would share a key with the address it imitates while
//! mail for it goes to another mailbox. Mail is only ever sent to an account's stored address.

use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

/// An address as the user typed it (trimmed) and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub display: String,
    pub normalized: String,
}

impl Email {
    /// The shape check that the SPA also runs ([`shared::validate::check_email`]), then the
    /// identity rules above. The message suits `error.fields["email"]`.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = shared::validate::check_email(input)?;
        if !email.nfkc().eq(email.chars()) {
            return Err("must be written with plain characters (it holds look-alike or compatibility characters)");
        }
        let (local, domain) = email
            .rsplit_once('@')
            .ok_or("must be a valid email address")?;
        if !local.is_single_script() || !domain.split('.').all(|label| label.is_single_script()) {
            return Err("must not mix alphabets (such as Latin and Cyrillic) within a name");
        }
        let domain =
            idna::domain_to_ascii_strict(domain).map_err(|_| "must have a valid domain name")?;
        Ok(Self {
            display: email.to_string(),
            normalized: format!("{}@{domain}", fold(local)),
        })
    }
}

/// The key of any input, also one [`Email::parse`] refuses: a sign-in with a look-alike of an
/// address finds the account it imitates (and still needs that account's password).
pub fn normalize(input: &str) -> String {
    let email = input.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| fold(domain));
            format!("{}@{domain}", fold(local))
        }
        None => fold(email),
    }
}

/// NFKC_Casefold (approximated as NFKC, full case folding, NFKC again).
fn fold(s: &str) -> String {
    let nfkc: String = s.nfkc().collect();
    caseless::default_case_fold_str(&nfkc).nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_alone_is_one_account() {
        let e = Email::parse("  Kevin@Corp.COM ").unwrap();
        assert_eq!(e.display, "Kevin@Corp.COM");
        assert_eq!(e.normalized, "kevin@corp.com");
        assert_eq!(normalize("KEVIN@corp.com"), e.normalized);
        assert_eq!(
            Email::parse("Straße@example.com").unwrap().normalized,
            "strasse@example.com"
        );
    }

    #[test]
    fn look_alikes_are_refused_but_find_what_they_imitate() {
        for (bad, imitates) in [
            ("\u{212A}evin@corp.com", "kevin@corp.com"), // KELVIN SIGN
            ("ke\u{017F}in@corp.com", "kesin@corp.com"), // LATIN SMALL LETTER LONG S
            ("ｋｅｖｉｎ@corp.com", "kevin@corp.com"),   // fullwidth
            ("kevin@ｃｏｒｐ.com", "kevin@corp.com"),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} must be refused");
            assert_eq!(normalize(bad), imitates, "{bad:?}");
        }
    }

    #[test]
    fn mixed_scripts_are_refused_within_the_local_part_or_a_domain_label() {
        for bad in ["k\u{0430}ren@corp.com", "karen@c\u{043E}rp.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} must be refused");
        }
        // One script per part is fine, and so is a Japanese name under a Latin top-level domain.
        for good in [
            "иван@почта.рф",
            "名前@例え.jp",
            "a.b+tag@sub.example.co",
            "user42@example.com",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?} must be accepted");
        }
    }

    #[test]
    fn internationalised_domains_are_keyed_by_their_ascii_form() {
        assert_eq!(
            Email::parse("名前@例え.jp").unwrap().normalized,
            Email::parse("名前@xn--r8jz45g.jp").unwrap().normalized
        );
    }
}
