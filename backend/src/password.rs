//! Password hashing (argon2id, off the async workers, bounded) and the password policy.

use std::{collections::HashSet, sync::Arc, sync::LazyLock};

use anyhow::Context;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use tokio::sync::Semaphore;

/// The first 10,000 entries of zxcvbn's password frequency list (see `data/*.LICENSE.txt`).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .collect()
});

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~19 ms on our machines).
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords in `spawn_blocking`, at most `concurrency` at once: hashing
/// inline would stall every other request, and unbounded hashing would let a sign-in flood take
/// all memory (19 MiB each).
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so both cases cost the same.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub async fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy = tokio::task::spawn_blocking(|| hash_blocking("pfn dummy password"))
            .await
            .context("hashing task")??;
        LazyLock::force(&COMMON);
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy.into(),
        })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = shared::validate::normalize_password(password);
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .context("hashing task")?
    }

    /// Verifies against `hash`, or against the dummy hash when there is none, so unknown
    /// accounts take as long as known ones. Always false without a real hash.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let password = shared::validate::normalize_password(password);
        let real = hash.is_some();
        let hash: Arc<str> = hash.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .context("hashing task")?;
        Ok(real && ok)
    }
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// The full policy: the shared rules plus the common-password list (case-insensitive).
pub fn check_policy(password: &str, email: &str) -> Result<(), &'static str> {
    shared::validate::check_password(password, email)?;
    let lower = shared::validate::normalize_password(password).to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err("is too common; choose a longer or less predictable password");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        assert_eq!(COMMON.len(), 10_000);
        assert!(check_policy("password", "a@example.com").is_err());
        assert!(
            check_policy("PassWord1", "a@example.com").is_err() == COMMON.contains("password1")
        );
        assert!(check_policy("Qwertyuiop", "a@example.com").is_err());
        assert!(check_policy("tangerine-vortex-41", "a@example.com").is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let p = Passwords::new(2).await.unwrap();
        let h = p.hash("Crème brûlée 42").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        // NFC: the decomposed spelling is the same password
        assert!(p
            .verify("Cre\u{300}me bru\u{302}le\u{301}e 42", Some(&h))
            .await
            .unwrap());
        assert!(!p.verify("creme brulee 42", Some(&h)).await.unwrap());
        assert!(!p.verify("pfn dummy password", None).await.unwrap());
        assert!(!p.verify("x", Some("not a phc string")).await.unwrap());
    }
}
