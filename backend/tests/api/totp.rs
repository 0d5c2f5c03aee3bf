//! An authenticator app of the tests' own: RFC 6238 (HMAC-SHA1, 6 digits, 30-second steps)
//! written from the RFC, checked against its test vectors; the API and browser tests compute
//! codes with it from the secret pfn hands out.

use hmac::{Hmac, Mac};

use crate::helpers::TestApp;

/// An authenticator app: RFC 6238 with SHA-1, 6 digits, 30-second steps.
pub struct Authenticator {
    secret: Vec<u8>,
}

impl Authenticator {
    pub fn from_base32(secret: &str) -> Self {
        let secret = data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .expect("the secret is unpadded base32");
        Self { secret }
    }

    pub fn code_at(&self, unix: i64) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&self.secret).unwrap();
        mac.update(&((unix / 30) as u64).to_be_bytes());
        let h = mac.finalize().into_bytes();
        let offset = (h[19] & 0x0f) as usize;
        let bin = u32::from_be_bytes([h[offset], h[offset + 1], h[offset + 2], h[offset + 3]])
            & 0x7fff_ffff;
        format!("{:06}", bin % 1_000_000)
    }

    /// The code at the server's (test-controlled) clock.
    pub fn code(&self, app: &TestApp) -> String {
        self.code_at(app.clock.now())
    }
}

#[test]
fn the_tests_authenticator_matches_rfc_6238() {
    // RFC 6238 appendix B, SHA-1 (8-digit values; the last six digits are the 6-digit code).
    let a = Authenticator {
        secret: b"12345678901234567890".to_vec(),
    };
    for (t, want) in [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ] {
        assert_eq!(a.code_at(t), want[2..], "T = {t}");
    }
}
