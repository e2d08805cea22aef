//! The attachments one Suomi.fi account uploaded lately, by what they hold, so that a
//! document sent to many — a notice's parties and guardians, a batch's shared attachment, a
//! paper letter whose bytes repeat — is uploaded once and its id carried by every message.
//! Every upload is also a paced request and 100 KB or more on the wire.
//!
//! Suomi.fi keeps an upload for 24 hours; an id is reused only within `reuse_for` of its
//! upload (an hour in production), far inside that. Should Suomi.fi refuse a message
//! carrying a reused id all the same, the sender forgets it and the next attempt uploads
//! afresh (`send.rs`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long an upload's id is reused in production.
pub const REUSE_UPLOADS_FOR: Duration = Duration::from_secs(60 * 60);

/// Entries kept at most; past it the expired go, and if that is not enough, all.
const MAX_ENTRIES: usize = 4_096;

/// What makes two uploads the same: the bytes (by SHA-256), the media type and, for a
/// document the recipient sees by name, the name. A paper letter's name is printed nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadKey {
    pub sha256: String,
    pub media_type: String,
    pub shown_name: Option<String>,
}

/// An upload Suomi.fi answered with an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub attachment_id: Uuid,
    /// The name it was uploaded under (for a paper letter, perhaps another notice's).
    pub filename: String,
    pub size_bytes: i64,
}

/// One document's slot: its upload once made. Attachers of the same document queue on it,
/// so that a notice's parties, sent at once, wait for one upload rather than each making one.
type Slot = Arc<tokio::sync::Mutex<Option<(Upload, Instant)>>>;

pub struct RecentUploads {
    reuse_for: Duration,
    slots: Mutex<HashMap<UploadKey, Slot>>,
}

impl RecentUploads {
    pub fn new(reuse_for: Duration) -> Self {
        Self {
            reuse_for,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The document's upload made within `reuse_for` (`true`: reused), or the one `upload`
    /// makes now, kept for those after. A failed upload is kept by nobody: the next tries.
    pub async fn upload_once<E, Uploading>(
        &self,
        key: UploadKey,
        upload: impl FnOnce() -> Uploading,
    ) -> Result<(Upload, bool), E>
    where
        Uploading: Future<Output = Result<Upload, E>>,
    {
        self.upload_once_at(key, upload, Instant::now).await
    }

    async fn upload_once_at<E, Uploading>(
        &self,
        key: UploadKey,
        upload: impl FnOnce() -> Uploading,
        uploaded_at: impl FnOnce() -> Instant,
    ) -> Result<(Upload, bool), E>
    where
        Uploading: Future<Output = Result<Upload, E>>,
    {
        let slot = self.slot(key);
        let mut kept = slot.lock().await;
        if let Some((upload, at)) = kept.as_ref() {
            if at.elapsed() < self.reuse_for {
                return Ok((upload.clone(), true));
            }
        }
        let made = upload().await?;
        *kept = Some((made.clone(), uploaded_at()));
        Ok((made, false))
    }

    fn slot(&self, key: UploadKey) -> Slot {
        let mut slots = self.slots.lock().expect("uploads lock");
        if !slots.contains_key(&key) && slots.len() >= MAX_ENTRIES {
            // Those in use or still fresh stay; should that be all, a holder keeps its own
            // slot through its `Arc` and only reuse is lost.
            slots.retain(|_, slot| {
                slot.try_lock().map_or(true, |kept| {
                    kept.as_ref()
                        .is_some_and(|(_, at)| at.elapsed() < self.reuse_for)
                })
            });
            if slots.len() >= MAX_ENTRIES {
                slots.clear();
            }
        }
        slots.entry(key).or_default().clone()
    }

    /// Forgets uploads Suomi.fi may no longer hold.
    pub fn forget(&self, keys: &[UploadKey]) {
        let mut slots = self.slots.lock().expect("uploads lock");
        for key in keys {
            slots.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(sha256: &str, shown_name: Option<&str>) -> UploadKey {
        UploadKey {
            sha256: sha256.into(),
            media_type: "application/pdf".into(),
            shown_name: shown_name.map(str::to_string),
        }
    }

    fn upload(filename: &str) -> Upload {
        Upload {
            attachment_id: Uuid::now_v7(),
            filename: filename.into(),
            size_bytes: 100,
        }
    }

    /// Uploads `key` through `uploads`, counting the uploads made.
    async fn attach(uploads: &RecentUploads, key: UploadKey, made: &AtomicUsize) -> (Upload, bool) {
        uploads
            .upload_once(key, || async move {
                made.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Infallible>(upload("a.pdf"))
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_same_document_is_uploaded_once_and_another_is_not() {
        let (uploads, made) = (RecentUploads::new(REUSE_UPLOADS_FOR), AtomicUsize::new(0));
        let (first, reused) = attach(&uploads, key("aa", None), &made).await;
        assert!(!reused);
        assert_eq!(
            attach(&uploads, key("aa", None), &made).await,
            (first, true)
        );
        assert!(
            !attach(&uploads, key("bb", None), &made).await.1,
            "other bytes"
        );
        assert!(
            !attach(&uploads, key("aa", Some("a.pdf")), &made).await.1,
            "a document shown by name is another upload"
        );
        assert_eq!(made.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn those_attaching_at_once_wait_for_one_upload() {
        let (uploads, made) = (RecentUploads::new(REUSE_UPLOADS_FOR), AtomicUsize::new(0));
        let made = &made;
        let slow_upload = || async move {
            made.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, Infallible>(upload("a.pdf"))
        };
        let (a, b) = tokio::join!(
            uploads.upload_once(key("aa", None), slow_upload),
            uploads.upload_once(key("aa", None), slow_upload),
        );
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(a.unwrap().0, b.unwrap().0);
    }

    #[tokio::test]
    async fn a_failed_upload_is_made_again_by_the_next() {
        let (uploads, made) = (RecentUploads::new(REUSE_UPLOADS_FOR), AtomicUsize::new(0));
        let failed = uploads
            .upload_once(
                key("aa", None),
                || async move { Err::<Upload, _>("refused") },
            )
            .await;
        assert_eq!(failed, Err("refused"));
        assert!(!attach(&uploads, key("aa", None), &made).await.1);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_upload_older_than_the_reuse_window_is_made_again() {
        // Short, so that the instants before it exist however lately the machine started.
        let window = Duration::from_secs(10);
        let (uploads, made) = (RecentUploads::new(window), AtomicUsize::new(0));
        let second = Duration::from_secs(1);
        for (sha256, age) in [("fresh", window - second), ("old", window + second)] {
            uploads
                .upload_once_at(
                    key(sha256, None),
                    || async move { Ok::<_, Infallible>(upload("a.pdf")) },
                    || Instant::now() - age,
                )
                .await
                .unwrap();
        }
        assert!(
            attach(&uploads, key("fresh", None), &made).await.1,
            "inside the window"
        );
        assert!(
            !attach(&uploads, key("old", None), &made).await.1,
            "past it"
        );
    }

    #[tokio::test]
    async fn a_forgotten_upload_is_made_again() {
        let (uploads, made) = (RecentUploads::new(REUSE_UPLOADS_FOR), AtomicUsize::new(0));
        attach(&uploads, key("aa", None), &made).await;
        attach(&uploads, key("bb", None), &made).await;
        uploads.forget(&[key("aa", None)]);
        assert!(!attach(&uploads, key("aa", None), &made).await.1);
        assert!(attach(&uploads, key("bb", None), &made).await.1);
    }

    #[tokio::test]
    async fn the_memory_stays_bounded() {
        let (uploads, made) = (RecentUploads::new(REUSE_UPLOADS_FOR), AtomicUsize::new(0));
        for n in 0..MAX_ENTRIES + 10 {
            attach(&uploads, key(&n.to_string(), None), &made).await;
        }
        assert!(uploads.slots.lock().unwrap().len() <= MAX_ENTRIES);
        let last = key(&(MAX_ENTRIES + 9).to_string(), None);
        assert!(attach(&uploads, last, &made).await.1);
    }
}
