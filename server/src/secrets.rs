//! Personal data at rest: identity codes and addresses are sealed with AES-256-GCM, and
//! identity codes also get a keyed hash (HMAC-SHA-256) so a notice can be found by identity
//! code without decrypting every row. Suomi.fi and Posti passwords use the same sealing.
//!
//! One configured key (`TIEDOKSI_DATA_KEY`) is never used directly: HKDF derives a sealing
//! key, a lookup-hash key and a short key id from it. Each sealed value is
//! `0x02 ‖ key id (4) ‖ nonce (12) ‖ ciphertext ‖ tag`, with the table and column it belongs to
//! as associated data, so a value copied into another column does not open. The key id lets
//! a new key take over while values sealed under the previous one still open
//! (`TIEDOKSI_DATA_KEY_PREVIOUS`) until `tiedoksi rotate-data-key` has re-sealed them.
//! Values written before this format (`nonce ‖ ciphertext ‖ tag`, the key itself, no
//! associated data) still open, and rotation re-seals them too.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const NONCE_LEN: usize = 12;
const FORMAT: u8 = 0x02;
const KEY_ID_LEN: usize = 4;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error("the data key must be 32 bytes in base64")]
    BadKey,
    #[error("sealed data is damaged or was sealed under another key")]
    CannotOpen,
}

/// Where a sealed value lives: bound to it as associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    IdentityCode,
    PostalAddress,
    Credential,
    /// A notice being composed (its recipients' codes and addresses inside).
    Draft,
    /// An identity code searched for, carried in the list's URL instead of the code.
    SearchToken,
    /// The identity code of a citizen who wrote to us.
    ReplySender,
    /// A mail the SMTP bridge accepted, raw (its recipients are identity codes).
    InboundMail,
    /// The envelope recipients of such a mail.
    MailRecipients,
    /// A recipient of a batch (sending to many) until the row is queued.
    BatchRecipient,
}

impl Column {
    fn associated_data(self) -> &'static [u8] {
        match self {
            Column::IdentityCode => b"deliveries.identity_sealed",
            Column::PostalAddress => b"deliveries.address_sealed",
            Column::Credential => b"suomifi_services.password_sealed",
            Column::Draft => b"drafts.content_sealed",
            Column::SearchToken => b"notice_list.who",
            Column::ReplySender => b"citizen_replies.sender_sealed",
            Column::InboundMail => b"smtp_messages.raw",
            Column::MailRecipients => b"smtp_messages.recipients_sealed",
            Column::BatchRecipient => b"batch_rows.recipient_sealed",
        }
    }
}

/// One data key (base64 of 32 random bytes) and what HKDF derives from it.
#[derive(Clone)]
pub struct DataKey {
    master: [u8; 32],
    id: [u8; KEY_ID_LEN],
    seal: [u8; 32],
    lookup: [u8; 32],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    fn from_bytes(master: [u8; 32]) -> Self {
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"tiedoksi data key v2"), &master);
        let mut id = [0; KEY_ID_LEN];
        let mut seal = [0; 32];
        let mut lookup = [0; 32];
        hkdf.expand(b"key id", &mut id).expect("4 bytes");
        hkdf.expand(b"seal", &mut seal).expect("32 bytes");
        hkdf.expand(b"lookup", &mut lookup).expect("32 bytes");
        Self {
            master,
            id,
            seal,
            lookup,
        }
    }

    pub fn from_base64(encoded: &str) -> Result<Self, SecretsError> {
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SecretsError::BadKey)?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| SecretsError::BadKey)?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        Self::from_bytes(key.into())
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.master)
    }

    /// Four bytes that name the key in every value it sealed (not secret).
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn seal(&self, column: Column, plaintext: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.seal));
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: column.associated_data(),
                },
            )
            .expect("AES-GCM encryption does not fail for in-memory data");
        let mut sealed = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        sealed.push(FORMAT);
        sealed.extend_from_slice(&self.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    fn sealed_this(&self, sealed: &[u8]) -> bool {
        sealed.len() > HEADER_LEN && sealed[0] == FORMAT && sealed[1..1 + KEY_ID_LEN] == self.id
    }

    fn open_current(&self, column: Column, sealed: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let (nonce, ciphertext) = sealed[1 + KEY_ID_LEN..].split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.seal));
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: column.associated_data(),
                },
            )
            .map_err(|_| SecretsError::CannotOpen)
    }

    /// The format before key ids: `nonce ‖ ciphertext ‖ tag` under the key itself.
    fn open_legacy(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretsError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretsError::CannotOpen);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.master));
        cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretsError::CannotOpen)
    }

    fn lookup_hash(&self, value: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup).expect("any key length");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// The key that seals now, and the earlier keys whose values still open until re-sealed.
#[derive(Debug, Clone)]
pub struct DataKeys {
    current: DataKey,
    previous: Vec<DataKey>,
}

impl From<DataKey> for DataKeys {
    fn from(current: DataKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }
}

impl DataKeys {
    pub fn new(current: DataKey, previous: Vec<DataKey>) -> Self {
        Self { current, previous }
    }

    pub fn generate() -> Self {
        DataKey::generate().into()
    }

    pub fn current(&self) -> &DataKey {
        &self.current
    }

    fn all(&self) -> impl Iterator<Item = &DataKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// Sealed under the current key, bound to `column`; a fresh random nonce every time.
    pub fn seal(&self, column: Column, plaintext: &str) -> Vec<u8> {
        self.current.seal(column, plaintext.as_bytes())
    }

    pub fn open(&self, column: Column, sealed: &[u8]) -> Result<String, SecretsError> {
        String::from_utf8(self.open_bytes(column, sealed)?).map_err(|_| SecretsError::CannotOpen)
    }

    /// For bytes that need not be text (a raw mail).
    pub fn seal_bytes(&self, column: Column, plaintext: &[u8]) -> Vec<u8> {
        self.current.seal(column, plaintext)
    }

    pub fn open_bytes(&self, column: Column, sealed: &[u8]) -> Result<Vec<u8>, SecretsError> {
        if let Some(key) = self.all().find(|key| key.sealed_this(sealed)) {
            return key.open_current(column, sealed);
        }
        // A value from before key ids (its first byte is a random nonce byte).
        self.all()
            .find_map(|key| key.open_legacy(sealed).ok())
            .ok_or(SecretsError::CannotOpen)
    }

    /// Whether the value is sealed under the current key in the current format.
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        self.current.sealed_this(sealed)
    }

    /// A keyed hash for equality search under the current key; the same input always gives
    /// the same output under one key, and nothing without the key.
    pub fn lookup_hash(&self, value: &str) -> Vec<u8> {
        self.current.lookup_hash(value)
    }

    /// The hashes a search must match while a rotation is under way (current first, then
    /// each previous key, then the pre-v2 form of each).
    pub fn lookup_hashes(&self, value: &str) -> Vec<Vec<u8>> {
        let mut hashes: Vec<Vec<u8>> = self.all().map(|key| key.lookup_hash(value)).collect();
        hashes.extend(self.all().map(|key| legacy_lookup_hash(key, value)));
        hashes
    }
}

/// The lookup hash before HKDF: HMAC under the key itself with a fixed prefix.
fn legacy_lookup_hash(key: &DataKey, value: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.master).expect("any key length");
    mac.update(b"tiedoksi lookup v1\0");
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_key_and_in_its_column() {
        let keys = DataKeys::generate();
        let sealed = keys.seal(Column::IdentityCode, "131052-308T");
        assert!(
            !sealed.windows(4).any(|w| w == b"308T"),
            "no plaintext in the sealed bytes"
        );
        assert_eq!(
            keys.open(Column::IdentityCode, &sealed).unwrap(),
            "131052-308T"
        );
        assert_eq!(
            keys.open(Column::PostalAddress, &sealed),
            Err(SecretsError::CannotOpen),
            "bound to its column"
        );
        assert_ne!(keys.seal(Column::IdentityCode, "131052-308T"), sealed);
        assert_eq!(
            DataKeys::generate().open(Column::IdentityCode, &sealed),
            Err(SecretsError::CannotOpen)
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            keys.open(Column::IdentityCode, &tampered),
            Err(SecretsError::CannotOpen)
        );
    }

    #[test]
    fn the_sealing_and_lookup_keys_are_not_the_configured_key() {
        let key = DataKey::generate();
        assert_ne!(key.seal, key.master);
        assert_ne!(key.lookup, key.master);
        assert_ne!(key.lookup, key.seal);
        let keys = DataKeys::from(key.clone());
        let sealed = keys.seal(Column::IdentityCode, "x");
        assert_eq!(sealed[0], FORMAT);
        assert_eq!(&sealed[1..5], &key.id);
        assert_eq!(key.open_legacy(&sealed), Err(SecretsError::CannotOpen));
    }

    #[test]
    fn values_of_a_previous_key_and_of_the_old_format_still_open() {
        let old = DataKey::generate();
        let old_value = DataKeys::from(old.clone()).seal(Column::PostalAddress, "osoite");
        let legacy = {
            let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
            let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&old.master));
            let mut bytes = nonce.to_vec();
            bytes.extend(cipher.encrypt(&nonce, b"vanha".as_slice()).unwrap());
            bytes
        };
        let rotated = DataKeys::new(DataKey::generate(), vec![old.clone()]);
        assert_eq!(
            rotated.open(Column::PostalAddress, &old_value).unwrap(),
            "osoite"
        );
        assert_eq!(
            rotated.open(Column::PostalAddress, &legacy).unwrap(),
            "vanha"
        );
        assert!(!rotated.is_current(&old_value));
        assert!(!rotated.is_current(&legacy));
        assert!(rotated.is_current(&rotated.seal(Column::PostalAddress, "uusi")));
        assert!(rotated
            .lookup_hashes("131052-308T")
            .contains(&DataKeys::from(old).lookup_hash("131052-308T")));
    }

    #[test]
    fn lookup_hashes_are_stable_per_key() {
        let keys = DataKeys::generate();
        assert_eq!(
            keys.lookup_hash("131052-308T"),
            keys.lookup_hash("131052-308T")
        );
        assert_ne!(
            keys.lookup_hash("131052-308T"),
            keys.lookup_hash("131052-308U")
        );
        assert_ne!(
            DataKeys::generate().lookup_hash("131052-308T"),
            keys.lookup_hash("131052-308T")
        );
    }

    #[test]
    fn keys_round_trip_through_base64_and_never_print() {
        let key = DataKey::generate();
        let again = DataKeys::from(DataKey::from_base64(&key.to_base64()).unwrap());
        let sealed = DataKeys::from(key.clone()).seal(Column::Credential, "x");
        assert_eq!(again.open(Column::Credential, &sealed).unwrap(), "x");
        assert!(matches!(
            DataKey::from_base64("c2hvcnQ="),
            Err(SecretsError::BadKey)
        ));
        assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
    }
}
