//! Random tokens, hashing for storage, and sealing of outbox mail at rest.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit},
    ChaCha20Poly1305, Nonce,
};
use rand::{rngs::OsRng, RngCore};
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

const OUTBOX: &[u8] = b"pfn/outbox/v1";

/// One key per purpose, derived from the server secret.
fn cipher(label: &[u8], secret: &[u8]) -> ChaCha20Poly1305 {
    let key = Sha256::new()
        .chain_update(label)
        .chain_update(secret)
        .finalize();
    ChaCha20Poly1305::new(&key)
}

/// Encrypts a mail body for the outbox table: it carries single-use links, which must not sit in
/// the database in clear. Output: base64url(nonce || ciphertext).
pub fn seal(secret: &[u8], plaintext: &str) -> String {
    seal_with(OUTBOX, secret, plaintext)
}

/// [`seal`] under the key for `label` (e.g. the OAuth state cookie).
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

/// Reverses [`seal`]; `None` if the secret changed or the data was tampered with.
pub fn open(secret: &[u8], sealed: &str) -> Option<String> {
    open_with(OUTBOX, secret, sealed)
}

/// Reverses [`seal_with`] for the same label.
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
        let sealed = seal(b"secret-one", "https://x/reset?token=abc");
        assert!(!sealed.contains("token"));
        assert_eq!(
            open(b"secret-one", &sealed).as_deref(),
            Some("https://x/reset?token=abc")
        );
        assert_eq!(open(b"secret-two", &sealed), None);
    }
}
