//! Reading uploaded PDFs safely. Checking an attachment and appending its pages to the letter
//! decompress what the file says to decompress, and a 10 MiB file can ask for gigabytes
//! (a "PDF bomb"); the PDF library has no limit of its own. So that work runs in a child
//! process — this same binary, `tiedoksi pdf-worker` — under an address-space and CPU-time
//! limit and a wall-clock timeout, a few at a time: a bomb ends that process, never the server.
//!
//! The protocol on the child's stdin and stdout: a 4-byte big-endian length, that many bytes
//! of JSON, then the raw bytes the JSON announces (the attachments in, the letter out).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::pdf::{self, Letter, LetterError, PdfAttachment};
use crate::suomifi::limits::Limits;

/// The name of the subcommand the child runs.
pub const SUBCOMMAND: &str = "pdf-worker";

/// What the child is asked to do.
#[derive(Debug, Serialize, Deserialize)]
enum Job {
    /// Check each attachment can be printed, then render the letter with them appended.
    Render {
        letter: Box<Letter>,
        max_bytes: usize,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    job: Job,
    /// `(filename, length)` of each attachment, whose bytes follow the JSON in order.
    attachments: Vec<(String, usize)>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    /// Attachments that cannot be printed, by position; nothing was rendered.
    NotPrintable(Vec<(usize, LetterError)>),
    /// The letter's bytes follow the JSON.
    Rendered {
        letter_pages: usize,
        total_pages: usize,
        has_landscape_pages: bool,
        len: usize,
    },
    Failed(LetterError),
}

/// Why a render did not give a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderFailure {
    /// These attachments (by position) cannot be printed.
    NotPrintable(Vec<(usize, LetterError)>),
    Letter(LetterError),
}

#[derive(Debug, Clone)]
pub struct PdfWorkerSettings {
    /// The `tiedoksi` binary (the running one unless configured).
    pub program: PathBuf,
    /// Address space of one worker process.
    pub memory_bytes: u64,
    /// Wall-clock (and, rounded up, CPU) time of one worker process.
    pub timeout: Duration,
    /// How many run at once.
    pub concurrency: usize,
}

#[derive(Clone)]
pub struct PdfWorker {
    settings: Arc<PdfWorkerSettings>,
    permits: Arc<Semaphore>,
}

impl PdfWorker {
    /// Refuses a program that is not there: every paper notice would fail otherwise.
    pub fn checked(settings: PdfWorkerSettings) -> Result<Self, String> {
        match std::fs::metadata(&settings.program) {
            Ok(metadata) if metadata.is_file() => Ok(Self::new(settings)),
            _ => Err(format!(
                "the PDF worker {} is not a file (set TIEDOKSI_PDF_WORKER to the tiedoksi binary)",
                settings.program.display()
            )),
        }
    }

    pub fn new(settings: PdfWorkerSettings) -> Self {
        let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        Self {
            settings: Arc::new(settings),
            permits,
        }
    }

    /// The letter with the attachments appended, as `pdf::render` makes it.
    pub async fn render(
        &self,
        letter: &Letter,
        attachments: &[PdfAttachment],
        limits: &Limits,
    ) -> Result<pdf::RenderedLetter, RenderFailure> {
        if attachments.is_empty() {
            return self.render_here(letter, limits).await;
        }
        let job = Job::Render {
            letter: Box::new(letter.clone()),
            max_bytes: limits.max_paper_pdf_bytes.min(limits.max_upload_bytes),
        };
        match self
            .run(job, attachments)
            .await
            .map_err(RenderFailure::Letter)?
        {
            (
                Reply::Rendered {
                    letter_pages,
                    total_pages,
                    has_landscape_pages,
                    ..
                },
                bytes,
            ) => Ok(pdf::RenderedLetter {
                bytes,
                letter_pages,
                total_pages,
                has_landscape_pages,
            }),
            (Reply::NotPrintable(problems), _) => Err(RenderFailure::NotPrintable(problems)),
            (Reply::Failed(error), _) => Err(RenderFailure::Letter(error)),
        }
    }

    /// A letter with nothing uploaded to open is our own text and fonts (and the logo checked
    /// when it was set): it renders in this process, as few at a time as the workers, without
    /// a process's start — the most of a caseworker's wait when composing a paper notice.
    async fn render_here(
        &self,
        letter: &Letter,
        limits: &Limits,
    ) -> Result<pdf::RenderedLetter, RenderFailure> {
        let _permit = self.permits.acquire().await.map_err(|_| {
            RenderFailure::Letter(LetterError::Worker("the PDF workers are shut down".into()))
        })?;
        let (letter, limits) = (letter.clone(), limits.clone());
        tokio::task::spawn_blocking(move || pdf::render(&letter, &[], &limits))
            .await
            .map_err(|error| {
                RenderFailure::Letter(LetterError::Worker(format!(
                    "the letter renderer stopped: {error}"
                )))
            })?
            .map_err(RenderFailure::Letter)
    }

    async fn run(
        &self,
        job: Job,
        attachments: &[PdfAttachment],
    ) -> Result<(Reply, Vec<u8>), LetterError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| LetterError::Worker("the PDF workers are shut down".into()))?;
        let request = Request {
            job,
            attachments: attachments
                .iter()
                .map(|a| (a.filename.clone(), a.bytes.len()))
                .collect(),
        };
        let mut input = frame(&request);
        for attachment in attachments {
            input.extend_from_slice(&attachment.bytes);
        }
        let settings = self.settings.clone();
        let output = tokio::time::timeout(settings.timeout, spawn_and_talk(&settings, input))
            .await
            .map_err(|_| LetterError::Limits("the PDF worker ran out of time".into()))??;
        let (reply, rest): (Reply, &[u8]) = unframe(&output)
            .ok_or_else(|| LetterError::Worker("the PDF worker's answer is unreadable".into()))?;
        Ok((reply, rest.to_vec()))
    }
}

async fn spawn_and_talk(
    settings: &PdfWorkerSettings,
    input: Vec<u8>,
) -> Result<Vec<u8>, LetterError> {
    let failed =
        |what: &str, error: std::io::Error| LetterError::Limits(format!("{what}: {error}"));
    let mut command = tokio::process::Command::new(&settings.program);
    command
        .arg(SUBCOMMAND)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    #[cfg(unix)]
    {
        let memory = settings.memory_bytes;
        let cpu_seconds = settings.timeout.as_secs().max(1) + 1;
        // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = |resource, value: u64| {
                    let rlimit = libc::rlimit {
                        rlim_cur: value as libc::rlim_t,
                        rlim_max: value as libc::rlim_t,
                    };
                    if libc::setrlimit(resource, &rlimit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                };
                limit(libc::RLIMIT_AS, memory)?;
                limit(libc::RLIMIT_CPU, cpu_seconds)?;
                limit(libc::RLIMIT_CORE, 0)
            });
        }
    }
    let mut child = command
        .spawn()
        .map_err(|e| failed("the PDF worker did not start", e))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    // Written while the answer is read: neither pipe may fill up and stall the other side.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
        drop(stdin);
    });
    let mut output = Vec::new();
    stdout
        .read_to_end(&mut output)
        .await
        .map_err(|e| failed("reading the PDF worker", e))?;
    let _ = writer.await;
    let status = child
        .wait()
        .await
        .map_err(|e| failed("waiting for the PDF worker", e))?;
    // Killed by a signal (memory refused, CPU time out) or stopped by a panic on the file.
    if !status.success() {
        return Err(LetterError::Limits(format!(
            "the PDF worker stopped ({status}): the file needs more memory or time than a PDF may"
        )));
    }
    Ok(output)
}

fn frame<T: Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_vec(value).expect("plain data serialises");
    let mut out = Vec::with_capacity(4 + json.len());
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out
}

fn unframe<T: for<'de> Deserialize<'de>>(input: &[u8]) -> Option<(T, &[u8])> {
    let len = u32::from_be_bytes(input.get(..4)?.try_into().ok()?) as usize;
    let json = input.get(4..4 + len)?;
    Some((serde_json::from_slice(json).ok()?, &input[4 + len..]))
}

/// The child: one request from stdin, one answer to stdout. Any failure — a panic, memory
/// refused by the limit — ends the process, which the parent reads as "not within limits".
pub fn serve_stdio() -> std::process::ExitCode {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return std::process::ExitCode::FAILURE;
    }
    let Some((request, mut rest)) = unframe::<Request>(&input) else {
        return std::process::ExitCode::FAILURE;
    };
    let mut attachments = Vec::with_capacity(request.attachments.len());
    for (filename, len) in request.attachments {
        let Some(bytes) = rest.get(..len) else {
            return std::process::ExitCode::FAILURE;
        };
        attachments.push(PdfAttachment {
            filename,
            bytes: bytes.to_vec(),
        });
        rest = &rest[len..];
    }
    let (reply, bytes) = answer(request.job, &attachments);
    let mut output = frame(&reply);
    output.extend_from_slice(&bytes);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&output)
        .and_then(|_| stdout.flush())
        .is_err()
    {
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

fn answer(job: Job, attachments: &[PdfAttachment]) -> (Reply, Vec<u8>) {
    let checked: Vec<_> = attachments
        .iter()
        .map(|a| pdf::check_attachment(&a.filename, &a.bytes))
        .collect();
    match job {
        Job::Render { letter, max_bytes } => {
            let problems: Vec<(usize, LetterError)> = checked
                .into_iter()
                .enumerate()
                .filter_map(|(index, result)| result.err().map(|error| (index, error)))
                .collect();
            if !problems.is_empty() {
                return (Reply::NotPrintable(problems), Vec::new());
            }
            let limits = Limits {
                max_paper_pdf_bytes: max_bytes,
                max_upload_bytes: max_bytes,
                ..Limits::default()
            };
            match pdf::render(&letter, attachments, &limits) {
                Ok(rendered) => (
                    Reply::Rendered {
                        letter_pages: rendered.letter_pages,
                        total_pages: rendered.total_pages,
                        has_landscape_pages: rendered.has_landscape_pages,
                        len: rendered.bytes.len(),
                    },
                    rendered.bytes,
                ),
                Err(error) => (Reply::Failed(error), Vec::new()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_json_and_the_bytes_after_it() {
        let mut framed = frame(&Reply::Failed(LetterError::NoPages("a.pdf".into())));
        framed.extend_from_slice(b"tail");
        let (reply, rest): (Reply, &[u8]) = unframe(&framed).unwrap();
        assert!(matches!(reply, Reply::Failed(LetterError::NoPages(name)) if name == "a.pdf"));
        assert_eq!(rest, b"tail");
        assert!(unframe::<Reply>(&[0, 0, 0, 9, b'{']).is_none());
    }
}
