//! The outbox worker over both databases, with a handler that records what it was given.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tiedoksi::delivery::retry::RetryPolicy;
use tiedoksi::delivery::worker::{run_step, Foreground, JobFailure, JobHandler, WorkerSettings};
use tiedoksi::store::{Job, JobKind, Store, Timestamp};
use uuid::Uuid;

use crate::helpers::{fresh_store, TestBackend, TestDatabase};
use crate::on_both_backends;

on_both_backends!(
    successful_jobs_are_done_once,
    retryable_failures_wait_and_then_give_up,
    fatal_failures_are_given_up_at_once,
    a_slow_job_does_not_hold_up_the_next_batch,
    a_stopping_worker_claims_no_further_batch,
    the_worker_runs_fewer_jobs_at_once_while_people_wait,
    requests_tell_the_worker_people_are_waiting_but_health_checks_do_not,
);

/// Answers each subject with a scripted list of results, and records every call.
#[derive(Default)]
struct ScriptedHandler {
    script: Mutex<HashMap<Uuid, Vec<Result<(), JobFailure>>>>,
    calls: Mutex<Vec<Uuid>>,
    given_up: Mutex<Vec<(Uuid, String)>>,
}

#[async_trait]
impl JobHandler for ScriptedHandler {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        self.calls.lock().unwrap().push(job.subject_id);
        let mut script = self.script.lock().unwrap();
        match script.get_mut(&job.subject_id) {
            Some(results) if !results.is_empty() => results.remove(0),
            _ => Ok(()),
        }
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        self.given_up
            .lock()
            .unwrap()
            .push((job.subject_id, error.to_string()));
    }
}

fn settings(max_attempts: u32) -> WorkerSettings {
    WorkerSettings {
        retry: RetryPolicy {
            max_attempts,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            multiplier: 1.0,
        },
        ..WorkerSettings::named("test-worker")
    }
}

/// A fresh store with `n` send jobs queued, due one after another in the order returned
/// (claims go by due time).
async fn queued_jobs(backend: TestBackend, n: usize) -> (Arc<dyn Store>, TestDatabase, Vec<Uuid>) {
    let (store, db) = fresh_store(backend).await;
    let organisation = store.create_organisation("Kunta").await.unwrap().id;
    let subjects: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    for subject in &subjects {
        tokio::time::sleep(Duration::from_millis(2)).await;
        store
            .enqueue_job(
                organisation,
                JobKind::SendDelivery,
                *subject,
                Timestamp::now(),
            )
            .await
            .unwrap();
    }
    (store, db, subjects)
}

async fn successful_jobs_are_done_once(backend: TestBackend) {
    let (store, _db, subjects) = queued_jobs(backend, 20).await;
    let handler = ScriptedHandler::default();
    let settings = settings(5);

    let mut done = 0;
    loop {
        let outcome = run_step(store.as_ref(), &handler, &settings).await.unwrap();
        if outcome.is_idle() {
            break;
        }
        done += outcome.done;
    }
    assert_eq!(done, 20);
    let mut calls = handler.calls.lock().unwrap().clone();
    calls.sort();
    let mut expected = subjects.clone();
    expected.sort();
    assert_eq!(calls, expected, "each job handled exactly once");
    assert_eq!(store.job_counts().await.unwrap().done, 20);
}

async fn retryable_failures_wait_and_then_give_up(backend: TestBackend) {
    let (store, _db, subjects) = queued_jobs(backend, 2).await;
    let (recovers, never) = (subjects[0], subjects[1]);
    let handler = ScriptedHandler::default();
    let unavailable = || {
        Err(JobFailure::Retryable {
            error: "503".into(),
            retry_after: None,
        })
    };
    handler
        .script
        .lock()
        .unwrap()
        .insert(recovers, vec![unavailable(), unavailable()]);
    handler
        .script
        .lock()
        .unwrap()
        .insert(never, (0..10).map(|_| unavailable()).collect());
    let settings = settings(3);

    for _ in 0..200 {
        run_step(store.as_ref(), &handler, &settings).await.unwrap();
        let counts = store.job_counts().await.unwrap();
        if counts.pending == 0 && counts.running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let counts = store.job_counts().await.unwrap();
    assert_eq!((counts.done, counts.failed), (1, 1));
    let calls = handler.calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().filter(|s| **s == recovers).count(),
        3,
        "two failures, then success"
    );
    assert_eq!(
        calls.iter().filter(|s| **s == never).count(),
        3,
        "max_attempts"
    );
    let given_up = handler.given_up.lock().unwrap().clone();
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0].0, never);
    assert!(
        given_up[0].1.contains("gave up after 3 attempts: 503"),
        "{}",
        given_up[0].1
    );
}

async fn fatal_failures_are_given_up_at_once(backend: TestBackend) {
    let (store, _db, subjects) = queued_jobs(backend, 1).await;
    let subject = subjects[0];
    let handler = ScriptedHandler::default();
    handler.script.lock().unwrap().insert(
        subject,
        vec![Err(JobFailure::Fatal {
            error: "400: title too long".into(),
        })],
    );

    let outcome = run_step(store.as_ref(), &handler, &settings(5))
        .await
        .unwrap();
    assert_eq!((outcome.claimed, outcome.failed), (1, 1));
    assert!(run_step(store.as_ref(), &handler, &settings(5))
        .await
        .unwrap()
        .is_idle());
    assert_eq!(handler.given_up.lock().unwrap()[0].1, "400: title too long");
    assert_eq!(store.job_counts().await.unwrap().failed, 1);
}

/// The first job waits until every later job has been handled; the rest finish at once.
struct FirstWaitsForTheRest {
    first: Uuid,
    rest_handled: tokio::sync::Semaphore,
    rest: u32,
}

#[async_trait]
impl JobHandler for FirstWaitsForTheRest {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        if job.subject_id == self.first {
            let _all = self.rest_handled.acquire_many(self.rest).await.unwrap();
        } else {
            self.rest_handled.add_permits(1);
        }
        Ok(())
    }

    async fn gave_up(&self, _job: &Job, _error: &str) {}
}

async fn a_slow_job_does_not_hold_up_the_next_batch(backend: TestBackend) {
    // Due in this order: the first job is in the first batch.
    let (store, _db, subjects) = queued_jobs(backend, 7).await;
    let handler = FirstWaitsForTheRest {
        first: subjects[0],
        rest_handled: tokio::sync::Semaphore::new(0),
        rest: 6,
    };
    // Batches of two, two at a time: the first job ends only after the six others, so they
    // must be claimed (three more batches) while it still runs.
    let settings = WorkerSettings {
        batch_size: 2,
        concurrency: 2,
        ..settings(5)
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        run_step(store.as_ref(), &handler, &settings),
    )
    .await
    .expect("the later batches were claimed while the first job ran")
    .unwrap();
    assert_eq!((outcome.claimed, outcome.done), (7, 7), "{outcome:?}");
    assert_eq!(store.job_counts().await.unwrap().done, 7);
}

/// Asks the worker to stop as it handles its first job.
struct StopsAtFirstJob {
    stop: tokio::sync::watch::Sender<bool>,
}

#[async_trait]
impl JobHandler for StopsAtFirstJob {
    async fn handle(&self, _job: &Job) -> Result<(), JobFailure> {
        let _ = self.stop.send(true);
        Ok(())
    }

    async fn gave_up(&self, _job: &Job, _error: &str) {}
}

async fn a_stopping_worker_claims_no_further_batch(backend: TestBackend) {
    let (store, _db, _) = queued_jobs(backend, 5).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = WorkerSettings {
        batch_size: 2,
        concurrency: 1,
        ..settings(5)
    };
    tokio::time::timeout(
        Duration::from_secs(20),
        tiedoksi::delivery::worker::run(
            store.clone(),
            Arc::new(StopsAtFirstJob { stop }),
            settings,
            stopped,
        ),
    )
    .await
    .expect("the worker stops");
    // The batch claimed when the stop came ran to its end; nothing more was claimed.
    let counts = store.job_counts().await.unwrap();
    assert_eq!((counts.done, counts.pending), (2, 3), "{counts:?}");
}

/// Counts the jobs it is handling at once, each taking a moment.
#[derive(Default)]
struct CountsJobsAtOnce {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl JobHandler for CountsJobsAtOnce {
    async fn handle(&self, _job: &Job) -> Result<(), JobFailure> {
        use std::sync::atomic::Ordering;
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    async fn gave_up(&self, _job: &Job, _error: &str) {}
}

async fn the_worker_runs_fewer_jobs_at_once_while_people_wait(backend: TestBackend) {
    let foreground = Arc::new(Foreground::default());
    let settings = WorkerSettings {
        batch_size: 8,
        concurrency: 4,
        concurrency_beside_users: 1,
        foreground: foreground.clone(),
        ..settings(5)
    };
    let most_at_once =
        |handler: &CountsJobsAtOnce| handler.most.load(std::sync::atomic::Ordering::SeqCst);

    let (store, _db, _) = queued_jobs(backend, 8).await;
    let alone = CountsJobsAtOnce::default();
    let outcome = run_step(store.as_ref(), &alone, &settings).await.unwrap();
    assert_eq!(outcome.done, 8, "{outcome:?}");
    assert_eq!(most_at_once(&alone), 4, "nobody waiting: all its slots");

    let (store, _db, _) = queued_jobs(backend, 8).await;
    let request = foreground.request_started();
    let beside_people = CountsJobsAtOnce::default();
    let outcome = run_step(store.as_ref(), &beside_people, &settings)
        .await
        .unwrap();
    drop(request);
    assert_eq!(outcome.done, 8, "{outcome:?}");
    assert_eq!(
        most_at_once(&beside_people),
        1,
        "a request in flight: one at a time"
    );
    assert!(
        foreground.is_busy(),
        "a request that just ended still counts for a moment"
    );
}

async fn requests_tell_the_worker_people_are_waiting_but_health_checks_do_not(
    backend: TestBackend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let quiet = || async {
        tokio::time::timeout(Duration::from_secs(10), async {
            while app.foreground.is_busy() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the instance falls quiet");
    };
    let get = |path: &str| {
        app.client
            .get(format!("http://{}{path}", app.address))
            .send()
    };
    quiet().await;

    for health in ["/healthz", "/readyz"] {
        get(health).await.unwrap();
        assert!(!app.foreground.is_busy(), "{health} is a machine's");
    }
    let answered = get("/api/v1/notices").await.unwrap();
    assert_eq!(
        answered.status(),
        401,
        "a caller without a key, but a caller"
    );
    assert!(app.foreground.is_busy(), "a request just answered");
}
