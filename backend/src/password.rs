//! Password hashing (argon2id, off the async workers, bounded) and the password policy.

use std::{
    collections::HashSet,
    sync::{Arc, LazyLock, Mutex},
};

use anyhow::Context;
use argon2::{
    password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::Semaphore;

/// The first 10,000 entries of zxcvbn's password frequency list (see `data/*.LICENSE.txt`).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .collect()
});

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~19 ms on our machines).
const M_COST: u32 = 19_456;

fn params() -> Params {
    Params::new(M_COST, 2, 1, None).expect("static argon2 parameters are valid")
}

/// Argon2's 19 MiB of working memory, kept between hashes (at most one per permit). Allocating
/// and faulting it in for every hash made a hash's time depend on the allocator arena of the
/// thread that ran it: sign-in times fell into two clusters, 24 and 38 ms, and unknown and known
/// emails could be told apart by chance (tests/timing.rs).
#[derive(Default)]
struct Memory(Mutex<Vec<Vec<Block>>>);

impl Memory {
    fn with<T>(&self, blocks_needed: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let take = || self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut blocks = take().unwrap_or_default();
        if blocks.len() < blocks_needed {
            blocks.resize(blocks_needed, Block::default());
        }
        let out = f(&mut blocks);
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(blocks);
        out
    }
}

/// Hashes and verifies passwords in `spawn_blocking`, at most `concurrency` at once: hashing
/// inline would stall every other request, and unbounded hashing would let a sign-in flood take
/// all memory (19 MiB each).
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    memory: Arc<Memory>,
    /// Verified against when the email is unknown, so both cases cost the same.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub async fn new(concurrency: usize) -> anyhow::Result<Self> {
        let memory = Arc::new(Memory::default());
        let for_dummy = memory.clone();
        let dummy =
            tokio::task::spawn_blocking(move || hash_blocking("pfn dummy password", &for_dummy))
                .await
                .context("hashing task")??;
        LazyLock::force(&COMMON);
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            memory,
            dummy_hash: dummy.into(),
        })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = shared::validate::normalize_password(password);
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let memory = self.memory.clone();
        tokio::task::spawn_blocking(move || hash_blocking(&password, &memory))
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
        let memory = self.memory.clone();
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&password, &hash, &memory))
            .await
            .context("hashing task")?;
        Ok(real && ok)
    }
}

fn hash_blocking(password: &str, memory: &Memory) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    memory
        .with(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, blocks)
        })
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2: {e}"))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (whatever argon2 parameters it names).
fn verify_blocking(password: &str, hash: &str, memory: &Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = memory.with(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, blocks)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
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

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let memory = Memory::default();
        let upstream = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        // Hashes stored before memory reuse (and by other argon2 parameters) still verify.
        let salt = SaltString::generate(&mut OsRng);
        let old = upstream
            .hash_password(b"tangerine-vortex-41", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking("tangerine-vortex-41", &old, &memory));
        assert!(!verify_blocking("tangerine-vortex-42", &old, &memory));
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        );
        let small = cheap.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify_blocking("pw", &small, &memory));
        // And ours verify with the crate's verifier.
        let ours = hash_blocking("tangerine-vortex-41", &memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(upstream
            .verify_password(b"tangerine-vortex-41", &parsed)
            .is_ok());
        assert_eq!(memory.0.lock().unwrap().len(), 1, "one buffer, reused");
    }
}
