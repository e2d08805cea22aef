//! The paper letter of a notice. Composing freezes what it will say — its text, its day, the
//! sender's lines, the letterhead logo's hash — and renders it at once only when PDF
//! attachments go with it (the caseworker must hear now if one cannot be printed). Otherwise
//! it is rendered the first time it is needed (a paper send, a download, the API's answer)
//! and its hash kept by a compare-and-set, so every reader gets the same bytes: those the
//! preview showed, since the preview renders the same frozen parts.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::blobs::{BlobStore, Sha256Hex};
use crate::pdf::{Letter, LetterError, PdfAttachment, RenderedLetter};
use crate::pdf_worker::{PdfWorker, RenderFailure};
use crate::store::{Notice, Store};
use crate::suomifi::limits::Limits;

/// What a letter says, as frozen on its notice: the letter without the logo's bytes, and the
/// logo by its hash in the document store. Stored as JSON: a field added to `Letter` later
/// needs `#[serde(default)]`, or the letters frozen before it cannot be read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LetterInput {
    pub letter: Letter,
    pub logo_sha256: Option<String>,
}

/// Why a notice's letter could not be had now.
#[derive(Debug, thiserror::Error)]
pub enum LetterUnavailable {
    /// The database or the document store did not answer: worth another try.
    #[error("{0}")]
    Unreachable(String),
    /// What was frozen cannot be rendered (it was checked when composing, so this is a bug or
    /// a damaged record).
    #[error("the notice's letter cannot be rendered: {0}")]
    Broken(String),
}

#[derive(Clone)]
pub struct Letters {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub pdf: PdfWorker,
    pub limits: Limits,
}

impl Letters {
    /// The letter with the PDF attachments appended, the logo read by its hash (a missing
    /// logo only leaves it out: the letter matters more than its decoration).
    pub async fn render(
        &self,
        input: &LetterInput,
        attachments: &[PdfAttachment],
    ) -> Result<RenderedLetter, RenderFailure> {
        let logo = self.logo(input).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "the letterhead logo could not be read");
            None
        });
        self.render_with_logo(input, logo, attachments).await
    }

    async fn render_with_logo(
        &self,
        input: &LetterInput,
        logo: Option<String>,
        attachments: &[PdfAttachment],
    ) -> Result<RenderedLetter, RenderFailure> {
        let mut letter = input.letter.clone();
        letter.logo = logo;
        self.pdf.render(&letter, attachments, &self.limits).await
    }

    /// The logo as the letter embeds it; `None` when there is none or its file is gone.
    async fn logo(&self, input: &LetterInput) -> Result<Option<String>, crate::blobs::BlobError> {
        use base64::Engine;
        let Some(sha256) = input.logo_sha256.as_deref() else {
            return Ok(None);
        };
        let Ok(digest) = Sha256Hex::parse(sha256) else {
            return Ok(None);
        };
        Ok(match self.blobs.get(&digest).await? {
            Some(bytes) => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            None => {
                tracing::warn!("the letterhead logo is missing from the document store");
                None
            }
        })
    }

    /// The hash of the notice's letter, rendering and keeping it if it was frozen and not
    /// rendered yet; `None` when the notice has no letter.
    pub async fn ensure(&self, notice: &Notice) -> Result<Option<String>, LetterUnavailable> {
        if let Some(sha256) = &notice.paper_letter_sha256 {
            return Ok(Some(sha256.clone()));
        }
        let Some(frozen) = &notice.letter_input else {
            return Ok(None);
        };
        let input: LetterInput = serde_json::from_str(frozen)
            .map_err(|error| LetterUnavailable::Broken(error.to_string()))?;
        let attachments = self.pdf_attachments(notice).await?;
        // Kept for good once rendered: a logo the store could not read now is tried again
        // rather than left out.
        let logo = self
            .logo(&input)
            .await
            .map_err(|error| LetterUnavailable::Unreachable(error.to_string()))?;
        let rendered = self
            .render_with_logo(&input, logo, &attachments)
            .await
            .map_err(|failure| match failure {
                RenderFailure::NotPrintable(_) => {
                    LetterUnavailable::Broken("an attachment cannot be printed".into())
                }
                // The renderer's process or thread, not the letter: worth another try.
                RenderFailure::Letter(error @ LetterError::Worker(_)) => {
                    LetterUnavailable::Unreachable(error.to_string())
                }
                RenderFailure::Letter(error) => LetterUnavailable::Broken(error.to_string()),
            })?;
        let sha256 = self
            .blobs
            .put(&rendered.bytes)
            .await
            .map_err(|error| LetterUnavailable::Unreachable(error.to_string()))?;
        let kept = self
            .store
            .keep_notice_letter(notice.id, sha256.as_str())
            .await
            .map_err(|error| LetterUnavailable::Unreachable(error.to_string()))?;
        if kept.is_none() {
            return Err(LetterUnavailable::Unreachable(
                "the notice is gone".to_string(),
            ));
        }
        Ok(kept)
    }

    /// The notice's PDF attachments in order, as the letter appends them.
    async fn pdf_attachments(
        &self,
        notice: &Notice,
    ) -> Result<Vec<PdfAttachment>, LetterUnavailable> {
        let unreachable = |error: String| LetterUnavailable::Unreachable(error);
        let mut pdfs = Vec::new();
        for attachment in self
            .store
            .notice_attachments(notice.id)
            .await
            .map_err(|error| unreachable(error.to_string()))?
        {
            if attachment.media_type != "application/pdf" {
                continue;
            }
            let digest = Sha256Hex::parse(&attachment.sha256)
                .map_err(|error| LetterUnavailable::Broken(error.to_string()))?;
            let bytes = self
                .blobs
                .get(&digest)
                .await
                .map_err(|error| unreachable(error.to_string()))?
                .ok_or_else(|| unreachable(format!("attachment {digest} is missing")))?;
            pdfs.push(PdfAttachment {
                filename: attachment.filename,
                bytes,
            });
        }
        Ok(pdfs)
    }
}
