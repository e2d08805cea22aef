//! Documents, stored once by their SHA-256 (content-addressed): the same attachment sent to
//! a hundred recipients is kept once, and the hash recorded as proof names exactly the bytes
//! kept. Behind a small trait so an S3-compatible store can replace the filesystem.

use std::path::PathBuf;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("document store I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored document {0} does not match its hash")]
    Corrupt(String),
    #[error("not a SHA-256 hex digest")]
    BadDigest,
}

/// A SHA-256 digest as 64 lower-case hex characters, checked once when parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex(&Sha256::digest(bytes)))
    }

    pub fn parse(input: &str) -> Result<Self, BlobError> {
        let valid = input.len() == 64
            && input
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid
            .then(|| Self(input.to_string()))
            .ok_or(BlobError::BadDigest)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower-case hex, as hashes are written everywhere here.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` (once: storing the same bytes again changes nothing) and returns their hash.
    async fn put(&self, bytes: &[u8]) -> Result<Sha256Hex, BlobError>;
    /// The bytes, checked against their hash; `None` when nothing is stored under it.
    async fn get(&self, digest: &Sha256Hex) -> Result<Option<Vec<u8>>, BlobError>;
}

/// Files under `root/ab/cd/<digest>`, written to a temporary name, synced and renamed, so a
/// crash never leaves a half-written document under a real name.
pub struct FilesystemBlobStore {
    root: PathBuf,
}

impl FilesystemBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, digest: &Sha256Hex) -> PathBuf {
        let d = digest.as_str();
        self.root.join(&d[0..2]).join(&d[2..4]).join(d)
    }
}

#[async_trait]
impl BlobStore for FilesystemBlobStore {
    async fn put(&self, bytes: &[u8]) -> Result<Sha256Hex, BlobError> {
        let digest = Sha256Hex::of(bytes);
        let path = self.path(&digest);
        if tokio::fs::try_exists(&path).await? {
            return Ok(digest);
        }
        let dir = path.parent().expect("a blob path has a parent");
        tokio::fs::create_dir_all(dir).await?;
        let temporary = dir.join(format!(".{}.{}", digest, uuid::Uuid::new_v4()));
        let bytes = bytes.to_vec();
        let (temporary_path, final_path) = (temporary.clone(), path.clone());
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary_path)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary_path, &final_path)?;
            // The rename itself must survive a power cut, or the database could name a
            // document that is gone.
            if let Some(dir) = final_path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(std::io::Error::other)?;
        if let Err(error) = written {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(error.into());
        }
        Ok(digest)
    }

    async fn get(&self, digest: &Sha256Hex) -> Result<Option<Vec<u8>>, BlobError> {
        match tokio::fs::read(self.path(digest)).await {
            Ok(bytes) if Sha256Hex::of(&bytes) == *digest => Ok(Some(bytes)),
            Ok(_) => Err(BlobError::Corrupt(digest.to_string())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_bytes_are_stored_once_and_read_back_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemBlobStore::new(dir.path());
        let first = store.put(b"hello").await.unwrap();
        let again = store.put(b"hello").await.unwrap();
        assert_eq!(first, again);
        assert_eq!(
            first.as_str(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.get(&first).await.unwrap().unwrap(), b"hello");
        let files: Vec<_> = walk(dir.path());
        assert_eq!(files.len(), 1, "one file, no temporaries left: {files:?}");

        let missing = Sha256Hex::of(b"other");
        assert_eq!(store.get(&missing).await.unwrap(), None);

        std::fs::write(store.path(&first), b"tampered").unwrap();
        assert!(matches!(
            store.get(&first).await,
            Err(BlobError::Corrupt(_))
        ));
    }

    #[test]
    fn only_lower_case_sha256_hex_parses() {
        assert!(Sha256Hex::parse(&"a".repeat(64)).is_ok());
        assert!(Sha256Hex::parse(&"A".repeat(64)).is_err());
        assert!(Sha256Hex::parse(&"a".repeat(63)).is_err());
        assert!(Sha256Hex::parse("../../etc/passwd").is_err());
    }

    fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }
}
