//! Random tokens, hashing for storage, and sealing under the server secret: outbox mail at
//! rest, the Google sign-in flow's cookie. The [`Keyring`] holds `PFN_SECRET` and, during a
//! rotation, `PFN_SECRET_PREVIOUS`: what the old secret sealed still opens, and is sealed again
//! under the new one (docs/deploy.md, "Rotating PFN_SECRET").

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit},
    ChaCha20Poly1305, Nonce,
};
use rand::{rngs::OsRng, RngCore};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url: the token that goes into an emailed link.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256: what we store instead of a token, session id or key.
pub fn sha256_hex(input: &[u8]) -> String {
    hex::encode(Sha256::digest(input))
}

/// The label of outbox mail bodies.
pub const OUTBOX: &[u8] = b"pfn/outbox/v1";
/// Label of webhook signing secrets sealed in `webhook_endpoints`.
pub const WEBHOOK_SECRET: &[u8] = b"pfn/webhook-secret/v1";

/// The server secret, and the previous one while a rotation is under way. `Debug` shows neither.
pub struct Keyring {
    current: SecretSlice<u8>,
    previous: Option<SecretSlice<u8>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("previous", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`Keyring::open`] read, and whether it was sealed under the previous secret (so it
/// should be sealed again).
pub struct Opened {
    pub text: String,
    pub stale: bool,
}

impl Keyring {
    pub fn new(current: Vec<u8>, previous: Option<Vec<u8>>) -> Self {
        Self {
            current: current.into(),
            previous: previous.map(Into::into),
        }
    }

    /// Seals under the current secret.
    pub fn seal(&self, label: &[u8], plaintext: &str) -> String {
        seal_with(label, self.current.expose_secret(), plaintext)
    }

    /// Opens what the current or the previous secret sealed; `None` if neither did (or it was
    /// tampered with).
    pub fn open(&self, label: &[u8], sealed: &str) -> Option<Opened> {
        if let Some(text) = open_with(label, self.current.expose_secret(), sealed) {
            return Some(Opened { text, stale: false });
        }
        let previous = self.previous.as_ref()?;
        open_with(label, previous.expose_secret(), sealed).map(|text| Opened { text, stale: true })
    }

    /// Whether a previous secret is configured (a rotation is under way).
    pub fn rotating(&self) -> bool {
        self.previous.is_some()
    }
}

/// One key per purpose, derived from the server secret.
fn cipher(label: &[u8], secret: &[u8]) -> ChaCha20Poly1305 {
    let key = Sha256::new()
        .chain_update(label)
        .chain_update(secret)
        .finalize();
    ChaCha20Poly1305::new(&key)
}

/// Encrypts under the key for `label` derived from `secret`: mail bodies carry single-use
/// links, which must not sit in the database in clear. Output: base64url(nonce || ciphertext).
pub fn seal_with(label: &[u8], secret: &[u8], plaintext: &str) -> String {
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let ct = cipher(label, secret)
        .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
        .expect("ChaCha20-Poly1305 encryption cannot fail for in-memory input");
    let mut out = nonce.to_vec();
    out.extend(ct);
    URL_SAFE_NO_PAD.encode(out)
}

/// Reverses [`seal_with`] for the same label and secret; `None` otherwise or when tampered with.
pub fn open_with(label: &[u8], secret: &[u8], sealed: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if raw.len() < 12 {
        return None;
    }
    let (nonce, ct) = raw.split_at(12);
    let pt = cipher(label, secret)
        .decrypt(Nonce::from_slice(nonce), ct)
        .ok()?;
    String::from_utf8(pt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn sealed_mail_opens_only_with_the_same_secret() {
        let sealed = seal_with(OUTBOX, b"secret-one", "https://x/reset?token=abc");
        assert!(!sealed.contains("token"));
        assert_eq!(
            open_with(OUTBOX, b"secret-one", &sealed).as_deref(),
            Some("https://x/reset?token=abc")
        );
        assert_eq!(open_with(OUTBOX, b"secret-two", &sealed), None);
        assert_eq!(open_with(b"pfn/other", b"secret-one", &sealed), None);
    }

    #[test]
    fn a_rotated_keyring_opens_the_old_secrets_seals_and_seals_with_the_new_one() {
        let old = Keyring::new(b"secret-one".to_vec(), None);
        let sealed_before = old.seal(OUTBOX, "before");
        let rotated = Keyring::new(b"secret-two".to_vec(), Some(b"secret-one".to_vec()));
        let opened = rotated.open(OUTBOX, &sealed_before).unwrap();
        assert_eq!((opened.text.as_str(), opened.stale), ("before", true));
        let sealed_after = rotated.seal(OUTBOX, "after");
        let opened = rotated.open(OUTBOX, &sealed_after).unwrap();
        assert_eq!((opened.text.as_str(), opened.stale), ("after", false));
        assert!(
            old.open(OUTBOX, &sealed_after).is_none(),
            "new seals use the new secret"
        );
        let done = Keyring::new(b"secret-two".to_vec(), None);
        assert!(
            done.open(OUTBOX, &sealed_before).is_none(),
            "once rotated, the old is gone"
        );
        assert!(!format!("{rotated:?}").contains("secret"));
    }
}
