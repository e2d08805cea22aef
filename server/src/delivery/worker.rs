//! The outbox worker: claims due jobs, runs each through its handler, and settles it — done,
//! retried later with backoff (honouring Suomi.fi's `Retry-After`), or failed for a person to
//! look at. A job is settled only by the worker that holds its lease; a worker that dies
//! mid-job leaves a lease that runs out, and another worker claims the job again (safe: a
//! send is idempotent through its externalId).
//!
//! `run_step` is one pass a test can call until the queue is empty; `run` loops it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::StreamExt;
use rand::Rng;
use tokio::sync::watch;
use tracing::Instrument;

use super::retry::RetryPolicy;
use crate::store::{Job, JobKind, JobQueue, StoreResult, Timestamp};

/// Why a job did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// Try again later; `retry_after` is the other side's own wish, if it said one.
    Retryable {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Trying again will not help: a person must act.
    Fatal { error: String },
}

/// A failure that another attempt may get past.
pub fn retryable(error: impl std::fmt::Display) -> JobFailure {
    JobFailure::Retryable {
        error: error.to_string(),
        retry_after: None,
    }
}

/// A failure no attempt will get past.
pub fn fatal(error: impl std::fmt::Display) -> JobFailure {
    JobFailure::Fatal {
        error: error.to_string(),
    }
}

/// Carries out one kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure>;
    /// Called once when a job is given up on (fatal, or out of attempts), so the subject can
    /// show "needs attention" with the reason.
    async fn gave_up(&self, job: &Job, error: &str);
}

/// The outbox's one handler: each job goes to the handler of its kind (sending a delivery,
/// turning a mail into a notice, …), so one worker and one lease model serve them all.
#[derive(Default, Clone)]
pub struct JobsByKind {
    handlers: Vec<(JobKind, Arc<dyn JobHandler>)>,
}

impl JobsByKind {
    pub fn with(mut self, kind: JobKind, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.push((kind, handler));
        self
    }

    fn handler(&self, job: &Job) -> Option<&dyn JobHandler> {
        self.handlers
            .iter()
            .find(|(kind, _)| kind.as_str() == job.kind)
            .map(|(_, handler)| handler.as_ref())
    }
}

#[async_trait]
impl JobHandler for JobsByKind {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        match self.handler(job) {
            Some(handler) => handler.handle(job).await,
            None => Err(JobFailure::Fatal {
                error: format!("no handler for jobs of kind {:?}", job.kind),
            }),
        }
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        if let Some(handler) = self.handler(job) {
            handler.gave_up(job, error).await;
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub name: String,
    /// How long a claimed job stays ours; longer than the slowest job (Suomi.fi timeout ×
    /// the 401 retry, plus an upload).
    pub lease: Duration,
    pub batch_size: i64,
    /// Jobs of a batch running at once while nobody waits on the server's answers.
    pub concurrency: usize,
    /// Jobs running at once while people do (`Foreground::is_busy`): jobs share the cores
    /// and, on SQLite, the one writer with their requests, and a caseworker's compose should
    /// not wait behind a burst of deliveries.
    pub concurrency_beside_users: usize,
    /// Where the server's requests tell the worker that people are waiting on it.
    pub foreground: Arc<Foreground>,
    /// Sleep between passes when the queue is empty.
    pub idle_interval: Duration,
    pub retry: RetryPolicy,
}

impl WorkerSettings {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            lease: Duration::from_secs(300),
            batch_size: 32,
            concurrency: 8,
            concurrency_beside_users: 8,
            foreground: Arc::default(),
            idle_interval: Duration::from_millis(500),
            retry: RetryPolicy::default(),
        }
    }

    /// Jobs to run at once as things are now.
    fn concurrency_now(&self) -> usize {
        let limit = if self.foreground.is_busy() {
            self.concurrency_beside_users.min(self.concurrency)
        } else {
            self.concurrency
        };
        limit.max(1)
    }
}

/// Whether people are waiting on this server's answers: a request in flight, or one that
/// ended less than `Foreground::QUIET_AFTER` ago (a caseworker's next click follows soon).
#[derive(Debug)]
pub struct Foreground {
    origin: Instant,
    in_flight: AtomicUsize,
    /// When the last request ended, in milliseconds after `origin`; `u64::MAX` for never.
    last_ended_ms: AtomicU64,
}

impl Default for Foreground {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ended_ms: AtomicU64::new(u64::MAX),
        }
    }
}

impl Foreground {
    pub const QUIET_AFTER: Duration = Duration::from_secs(1);

    /// Marks a request as in flight until the returned guard is dropped.
    pub fn request_started(self: &Arc<Self>) -> RequestInFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        RequestInFlight(self.clone())
    }

    pub fn is_busy(&self) -> bool {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return true;
        }
        match self.last_ended_ms.load(Ordering::Relaxed) {
            u64::MAX => false,
            ended => self.elapsed_ms().saturating_sub(ended) < Self::QUIET_AFTER.as_millis() as u64,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }
}

/// A request people wait on; its end starts the quiet period.
pub struct RequestInFlight(Arc<Foreground>);

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        self.0
            .last_ended_ms
            .store(self.0.elapsed_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepOutcome {
    pub claimed: usize,
    pub done: usize,
    pub retried: usize,
    pub failed: usize,
    /// Jobs whose lease another worker had taken before we settled them.
    pub lost: usize,
}

impl StepOutcome {
    pub fn is_idle(&self) -> bool {
        self.claimed == 0
    }
}

fn after(now: Timestamp, duration: Duration) -> Timestamp {
    now + time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}

/// Batches one pass claims at most: `run` looks between passes whether it should stop.
const BATCHES_PER_STEP: usize = 8;

/// What a pass has counted so far.
#[derive(Default)]
struct StepTally {
    outcome: StepOutcome,
    /// Handled jobs not yet completed in the queue.
    done: Vec<(uuid::Uuid, String)>,
    first_error: Option<crate::store::StoreError>,
}

impl StepTally {
    fn settled(&mut self, settled: StoreResult<Settled>) {
        match settled {
            Ok(Settled::Done { id, kind }) => self.done.push((id, kind)),
            Ok(Settled::Retried) => self.outcome.retried += 1,
            Ok(Settled::Failed) => self.outcome.failed += 1,
            Ok(Settled::Lost) => self.outcome.lost += 1,
            Err(error) => self.failed(error),
        }
    }

    fn failed(&mut self, error: crate::store::StoreError) {
        self.first_error.get_or_insert(error);
    }

    fn completed(&mut self, done: &[(uuid::Uuid, String)], completed: StoreResult<u64>) {
        match completed {
            Ok(completed) => {
                let completed = (completed as usize).min(done.len());
                let lost = done.len() - completed;
                self.outcome.done += completed;
                self.outcome.lost += lost;
                if lost > 0 {
                    tracing::warn!(lost, "leases lost before the jobs were settled");
                }
                for (_, kind) in done {
                    crate::metrics::job_settled(kind, "done");
                }
            }
            Err(error) => self.failed(error),
        }
    }
}

/// One pass: claim a batch and settle every job in it, `concurrency` at a time (fewer while
/// people wait on the server: `concurrency_beside_users`); as soon as a slot is free and the
/// batch has no job left to start, complete the done ones in one write and claim the next
/// batch while the others run (up to `BATCHES_PER_STEP`, while batches come back full). Jobs
/// are independent (one delivery, one mail, …), and most of a job's time is spent waiting on
/// Suomi.fi and the database, so running several at once is what lets one worker keep up;
/// claiming the next batch before the last jobs of one end keeps every slot busy instead of
/// waiting for the slowest.
pub async fn run_step(
    queue: &dyn JobQueue,
    handler: &dyn JobHandler,
    settings: &WorkerSettings,
) -> StoreResult<StepOutcome> {
    step(queue, handler, settings, None).await
}

/// `run_step`, claiming no further batch once `stop` turns true: the jobs claimed already
/// run to their end (a claimed job left unstarted would wait for its lease to run out).
async fn step(
    queue: &dyn JobQueue,
    handler: &dyn JobHandler,
    settings: &WorkerSettings,
    stop: Option<&watch::Receiver<bool>>,
) -> StoreResult<StepOutcome> {
    let stopping = || stop.is_some_and(|stop| *stop.borrow());
    let mut tally = StepTally::default();
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut waiting = Vec::new().into_iter();
    let mut batches = 0;
    loop {
        // Looked at again after every job: people may have come or gone meanwhile.
        let concurrency = settings.concurrency_now();
        while running.len() < concurrency {
            let Some(job) = waiting.next() else { break };
            running.push(settle(queue, handler, settings, job));
        }
        if running.len() >= concurrency || batches == BATCHES_PER_STEP || stopping() {
            // Every started job runs to its end even when another's settling fails: a job
            // dropped half way would only wait for its lease to run out.
            match running.next().await {
                Some(settled) => tally.settled(settled),
                None => break,
            }
            continue;
        }
        let done = std::mem::take(&mut tally.done);
        let mut claiming = std::pin::pin!(complete_and_claim(queue, settings, &done));
        let (completed, claimed) = loop {
            tokio::select! {
                answered = &mut claiming => break answered,
                Some(settled) = running.next(), if !running.is_empty() => tally.settled(settled),
            }
        };
        if let Some(completed) = completed {
            tally.completed(&done, completed);
        }
        batches = match claimed {
            Ok(jobs) => {
                // A batch that came back short was all that was due: another claim would be
                // a write for nothing.
                let full = jobs.len() as i64 >= settings.batch_size;
                tally.outcome.claimed += jobs.len();
                waiting = jobs.into_iter();
                if full {
                    batches + 1
                } else {
                    BATCHES_PER_STEP
                }
            }
            Err(error) => {
                tally.failed(error);
                BATCHES_PER_STEP
            }
        };
    }
    let done = std::mem::take(&mut tally.done);
    if let Some(completed) = complete(queue, settings, &done).await {
        tally.completed(&done, completed);
    }
    match tally.first_error {
        Some(error) => Err(error),
        None => Ok(tally.outcome),
    }
}

/// The handled jobs in one write: a job's own effects are committed already, and one that is
/// run again after a crash before this is idempotent (a send answers 409 with its message).
/// `None` when there were none.
async fn complete(
    queue: &dyn JobQueue,
    settings: &WorkerSettings,
    done: &[(uuid::Uuid, String)],
) -> Option<StoreResult<u64>> {
    if done.is_empty() {
        return None;
    }
    let ids: Vec<_> = done.iter().map(|(id, _)| *id).collect();
    Some(
        queue
            .complete_jobs(&ids, &settings.name, Timestamp::now())
            .await,
    )
}

async fn complete_and_claim(
    queue: &dyn JobQueue,
    settings: &WorkerSettings,
    done: &[(uuid::Uuid, String)],
) -> (Option<StoreResult<u64>>, StoreResult<Vec<Job>>) {
    let completed = complete(queue, settings, done).await;
    let now = Timestamp::now();
    let claimed = queue
        .claim_jobs(
            &settings.name,
            now,
            after(now, settings.lease),
            settings.batch_size,
        )
        .await;
    (completed, claimed)
}

/// How one claimed job ended.
enum Settled {
    /// Handled: completed with the rest of the batch.
    Done {
        id: uuid::Uuid,
        kind: String,
    },
    Retried,
    Failed,
    /// Another worker took the job over (our lease ran out) before we settled it.
    Lost,
}

async fn settle(
    queue: &dyn JobQueue,
    handler: &dyn JobHandler,
    settings: &WorkerSettings,
    job: Job,
) -> StoreResult<Settled> {
    // Jobs wait their turn in the batch: once a tenth of the lease has gone by, renew it so
    // it covers this job's whole run, and skip a job another worker has taken over meanwhile.
    // (A job started straight after its claim has nine tenths of the lease: no write.)
    let now = Timestamp::now();
    let fresh = job.leased_until.is_some_and(|until| {
        let left = until.as_offset_date_time() - now.as_offset_date_time();
        left >= time::Duration::try_from(settings.lease.mul_f64(0.9)).unwrap_or(time::Duration::MAX)
    });
    if !fresh
        && !queue
            .extend_lease(job.id, &settings.name, after(now, settings.lease))
            .await?
    {
        return Ok(Settled::Lost);
    }
    // Every log line of the job names it (its id and kind, never its subject's data).
    let span = tracing::info_span!("job", job = %job.id, kind = %job.kind);
    let result = handler.handle(&job).instrument(span).await;
    let now = Timestamp::now();
    let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
    let (settled, held) = match result {
        Ok(()) => {
            return Ok(Settled::Done {
                id: job.id,
                kind: job.kind.clone(),
            })
        }
        Err(JobFailure::Retryable { error, .. }) if settings.retry.gives_up_after(attempts) => {
            let error = format!("gave up after {attempts} attempts: {error}");
            (
                Settled::Failed,
                give_up(queue, handler, &job, &settings.name, &error, now).await?,
            )
        }
        Err(JobFailure::Retryable { error, retry_after }) => {
            let jitter = rand::thread_rng().gen_range(0.0..=1.0);
            let delay = settings.retry.delay(attempts, jitter, retry_after);
            (
                Settled::Retried,
                queue
                    .retry_job(job.id, &settings.name, after(now, delay), &error)
                    .await?,
            )
        }
        Err(JobFailure::Fatal { error }) => (
            Settled::Failed,
            give_up(queue, handler, &job, &settings.name, &error, now).await?,
        ),
    };
    if held {
        crate::metrics::job_settled(&job.kind, settled.label());
        Ok(settled)
    } else {
        tracing::warn!(job = %job.id, "lease lost before the job was settled");
        crate::metrics::job_settled(&job.kind, "lost");
        Ok(Settled::Lost)
    }
}

impl Settled {
    /// The outcome as the metrics name it.
    fn label(&self) -> &'static str {
        match self {
            Settled::Done { .. } => "done",
            Settled::Retried => "retried",
            Settled::Failed => "failed",
            Settled::Lost => "lost",
        }
    }
}

/// Fails the job first, and tells the handler only if we still held it: a worker that lost
/// its lease must not mark as failed what another worker may have delivered.
async fn give_up(
    queue: &dyn JobQueue,
    handler: &dyn JobHandler,
    job: &Job,
    worker: &str,
    error: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let held = queue.fail_job(job.id, worker, error, now).await?;
    if held {
        handler.gave_up(job, error).await;
    }
    Ok(held)
}

/// Runs passes until `stop` turns true, sleeping when there is nothing to do.
pub async fn run(
    queue: Arc<dyn JobQueue>,
    handler: Arc<dyn JobHandler>,
    settings: WorkerSettings,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let pass = step(queue.as_ref(), handler.as_ref(), &settings, Some(&stop)).await;
        let pause = match pass {
            Ok(outcome) if !outcome.is_idle() => continue,
            Ok(_) => settings.idle_interval,
            Err(error) => {
                tracing::error!(%error, "outbox worker pass failed; retrying");
                settings.idle_interval * 4
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}
