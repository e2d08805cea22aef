//! Personal data at rest: identity codes and addresses are sealed with AES-256-GCM under the
//! data key, and identity codes also get a keyed hash (HMAC-SHA-256) so a notice can be found
//! by identity code without decrypting every row. Suomi.fi and Posti passwords use the same
//! sealing.

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error("the data key must be 32 bytes in base64")]
    BadKey,
    #[error("sealed data is damaged or was sealed under another key")]
    CannotOpen,
}

/// The key personal data is sealed with (`TIEDOKSI_DATA_KEY`, base64 of 32 random bytes).
#[derive(Clone)]
pub struct DataKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    pub fn from_base64(encoded: &str) -> Result<Self, SecretsError> {
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SecretsError::BadKey)?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| SecretsError::BadKey)?;
        Ok(Self { bytes })
    }

    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        Self { bytes: key.into() }
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.bytes))
    }

    /// `nonce ‖ ciphertext ‖ tag`; a fresh random nonce every time.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher()
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("AES-GCM encryption does not fail for in-memory data");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, SecretsError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretsError::CannotOpen);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plaintext = self
            .cipher()
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretsError::CannotOpen)?;
        String::from_utf8(plaintext).map_err(|_| SecretsError::CannotOpen)
    }

    /// A keyed hash for equality search; the same input always gives the same output under
    /// one key, and nothing without the key.
    pub fn lookup_hash(&self, value: &str) -> Vec<u8> {
        // A separate derivation so the hash key is never the encryption key itself.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes).expect("any key length");
        mac.update(b"tiedoksi lookup v1\0");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_key() {
        let key = DataKey::generate();
        let sealed = key.seal("131052-308T");
        assert!(
            !sealed.windows(4).any(|w| w == b"308T"),
            "no plaintext in the sealed bytes"
        );
        assert_eq!(key.open(&sealed).unwrap(), "131052-308T");
        assert_ne!(key.seal("131052-308T"), sealed, "a fresh nonce each time");
        assert_eq!(
            DataKey::generate().open(&sealed),
            Err(SecretsError::CannotOpen)
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&tampered), Err(SecretsError::CannotOpen));
    }

    #[test]
    fn lookup_hashes_are_stable_per_key() {
        let key = DataKey::generate();
        assert_eq!(
            key.lookup_hash("131052-308T"),
            key.lookup_hash("131052-308T")
        );
        assert_ne!(
            key.lookup_hash("131052-308T"),
            key.lookup_hash("131052-308U")
        );
        assert_ne!(
            DataKey::generate().lookup_hash("131052-308T"),
            key.lookup_hash("131052-308T")
        );
    }

    #[test]
    fn keys_round_trip_through_base64_and_never_print() {
        let key = DataKey::generate();
        let again = DataKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.open(&key.seal("x")).unwrap(), "x");
        assert!(matches!(
            DataKey::from_base64("c2hvcnQ="),
            Err(SecretsError::BadKey)
        ));
        assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
    }
}
