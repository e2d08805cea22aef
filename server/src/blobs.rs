//! Documents, stored once by their SHA-256 (content-addressed): the same attachment sent to
//! a hundred recipients is kept once, and the hash recorded as proof names exactly the bytes
//! kept. Behind a small trait: a directory for one machine, an S3-compatible object store
//! for several.

use std::path::PathBuf;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("document store I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    Object(#[from] object_store::Error),
    #[error("TIEDOKSI_BLOB_URL: {0}")]
    Config(String),
    #[error("stored document {0} does not match its hash")]
    Corrupt(String),
    #[error("not a SHA-256 hex digest")]
    BadDigest,
}

impl BlobError {
    /// The document store is full: an upload is refused (nothing of it kept) until an
    /// operator makes room, and may then be tried again.
    pub fn is_passing(&self) -> bool {
        use std::io::ErrorKind::{QuotaExceeded, StorageFull};
        matches!(self, BlobError::Io(error) if matches!(error.kind(), StorageFull | QuotaExceeded))
    }
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
        self.root.join(relative_path(digest))
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

/// Where a digest lives: `ab/cd/abcd…`, the same in a directory and in a bucket.
fn relative_path(digest: &Sha256Hex) -> String {
    let d = digest.as_str();
    format!("{}/{}/{}", &d[0..2], &d[2..4], d)
}

/// Documents in an S3-compatible object store, for several instances
/// (`TIEDOKSI_BLOB_URL=s3://bucket/prefix`; credentials, region and endpoint from the usual
/// `AWS_*` variables). Each document is one object named by its hash and written by one PUT,
/// so an object is there whole or not at all; what is read is checked against its hash.
pub struct ObjectBlobStore {
    store: Box<dyn object_store::ObjectStore>,
}

impl ObjectBlobStore {
    /// From `s3://bucket[/prefix][?endpoint=…&region=…]`: options in the query (an
    /// S3-compatible server's `endpoint`, `region`, `allow_http`, …) over the `AWS_*`
    /// environment, where credentials belong.
    pub fn from_url(url: &str) -> Result<Self, BlobError> {
        use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
        let parsed = url::Url::parse(url).map_err(|error| BlobError::Config(error.to_string()))?;
        if parsed.scheme() != "s3" {
            // Not the URL itself in the message: its query may hold a secret key.
            return Err(BlobError::Config(format!(
                "{}: only s3:// URLs are object stores (a directory is TIEDOKSI_BLOB_DIR)",
                parsed.scheme()
            )));
        }
        let bucket = parsed
            .host_str()
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| BlobError::Config("no bucket named".into()))?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in parsed.query_pairs() {
            let key: AmazonS3ConfigKey = key
                .parse()
                .map_err(|error: object_store::Error| BlobError::Config(error.to_string()))?;
            builder = builder.with_config(key, value);
        }
        let s3 = builder.build()?;
        let prefix = parsed.path().trim_matches('/');
        let store: Box<dyn object_store::ObjectStore> = if prefix.is_empty() {
            Box::new(s3)
        } else {
            Box::new(object_store::prefix::PrefixStore::new(s3, prefix))
        };
        Ok(Self { store })
    }

    fn path(digest: &Sha256Hex) -> object_store::path::Path {
        object_store::path::Path::from(relative_path(digest))
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, bytes: &[u8]) -> Result<Sha256Hex, BlobError> {
        use object_store::ObjectStoreExt;
        let digest = Sha256Hex::of(bytes);
        let path = Self::path(&digest);
        match self.store.head(&path).await {
            Ok(_) => return Ok(digest),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        self.store
            .put(&path, object_store::PutPayload::from(bytes.to_vec()))
            .await?;
        Ok(digest)
    }

    async fn get(&self, digest: &Sha256Hex) -> Result<Option<Vec<u8>>, BlobError> {
        use object_store::ObjectStoreExt;
        let found = match self.store.get(&Self::path(digest)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let bytes = found.bytes().await?.to_vec();
        if Sha256Hex::of(&bytes) == *digest {
            Ok(Some(bytes))
        } else {
            Err(BlobError::Corrupt(digest.to_string()))
        }
    }
}

/// The configured document store: the object store `TIEDOKSI_BLOB_URL` names, else the
/// directory `TIEDOKSI_BLOB_DIR`.
pub fn configured(
    config: &crate::config::Config,
) -> Result<std::sync::Arc<dyn BlobStore>, BlobError> {
    Ok(match &config.blob_url {
        Some(url) => std::sync::Arc::new(ObjectBlobStore::from_url(url)?),
        None => std::sync::Arc::new(FilesystemBlobStore::new(&config.blob_dir)),
    })
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
