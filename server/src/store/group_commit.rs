//! Group commit: writes that arrive while another is committing wait, and then go to the
//! database together, in one transaction and one durable flush.
//!
//! Each caller queues its write and takes its turn at the leader's lock (fair, in arrival
//! order). Whoever holds the lock commits everything queued so far, its own write and the
//! writes of those queued behind it; they find their answers ready when their turn comes. A
//! lone caller commits alone at once: nothing waits for company.

use std::future::Future;

use tokio::sync::{oneshot, Mutex};

pub struct GroupCommit<Write, Answer> {
    queued: std::sync::Mutex<Vec<(Write, oneshot::Sender<Answer>)>>,
    leader: Mutex<()>,
}

impl<Write, Answer> Default for GroupCommit<Write, Answer> {
    fn default() -> Self {
        Self {
            queued: std::sync::Mutex::new(Vec::new()),
            leader: Mutex::new(()),
        }
    }
}

/// The leader that took a caller's write was cancelled before it answered: whether the write
/// committed is not known (the caller treats it as any failed write: tries again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abandoned;

impl<Write, Answer> GroupCommit<Write, Answer> {
    /// Queues `write` and returns its answer. `commit` gets the writes of one group, in
    /// arrival order, and returns one answer for each, in the same order.
    pub async fn submit<Commit, Committed>(
        &self,
        write: Write,
        commit: Commit,
    ) -> Result<Answer, Abandoned>
    where
        Commit: FnOnce(Vec<Write>) -> Committed,
        Committed: Future<Output = Vec<Answer>>,
    {
        let (answer_to, mut answer) = oneshot::channel();
        self.lock_queue().push((write, answer_to));
        let _turn = self.leader.lock().await;
        match answer.try_recv() {
            Ok(answered) => return Ok(answered),
            Err(oneshot::error::TryRecvError::Closed) => return Err(Abandoned),
            // Still queued: ours to commit, with whatever queued behind it.
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let (writes, answers_to): (Vec<_>, Vec<_>) =
            std::mem::take(&mut *self.lock_queue()).into_iter().unzip();
        let answers = commit(writes).await;
        for (answer_to, answered) in answers_to.into_iter().zip(answers) {
            // A caller that stopped waiting has its write committed all the same.
            let _ = answer_to.send(answered);
        }
        answer.try_recv().map_err(|_| Abandoned)
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<(Write, oneshot::Sender<Answer>)>> {
        // A panic while holding it only pushes or takes the vector: it is whole either way.
        self.queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_lone_write_commits_alone_and_gets_its_answer() {
        let group = GroupCommit::default();
        let answer = group
            .submit(21, |writes: Vec<i32>| async move {
                writes.into_iter().map(|w| w * 2).collect::<Vec<_>>()
            })
            .await;
        assert_eq!(answer, Ok(42));
    }

    #[tokio::test]
    async fn writes_queued_behind_a_commit_go_together_and_each_gets_its_own_answer() {
        let group = Arc::new(GroupCommit::default());
        let commits = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let (committing, mut a_commit_started) = tokio::sync::mpsc::unbounded_channel();
        let caller = |n: i32| {
            let (group, commits, mut released, committing) = (
                group.clone(),
                commits.clone(),
                released.clone(),
                committing.clone(),
            );
            tokio::spawn(async move {
                group
                    .submit(n, |writes: Vec<i32>| async move {
                        commits.fetch_add(1, Ordering::SeqCst);
                        committing.send(()).unwrap();
                        let _ = released.wait_for(|go| *go).await;
                        writes.into_iter().map(|w| w * 10).collect::<Vec<_>>()
                    })
                    .await
            })
        };
        let mut callers = vec![caller(0)];
        a_commit_started.recv().await.unwrap();
        callers.extend((1..10).map(caller));
        while group.lock_queue().len() < 9 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for (n, caller) in callers.into_iter().enumerate() {
            assert_eq!(caller.await.unwrap(), Ok(n as i32 * 10));
        }
        assert_eq!(
            commits.load(Ordering::SeqCst),
            2,
            "the first alone, the nine queued behind it in one"
        );
    }

    #[tokio::test]
    async fn a_write_whose_leader_is_cancelled_is_told_so_and_later_writes_still_commit() {
        let group = Arc::new(GroupCommit::<i32, i32>::default());
        let (release, released) = tokio::sync::watch::channel(false);
        let (first_started, mut first_committing) = tokio::sync::mpsc::channel(1);
        let (started, mut committing) = tokio::sync::mpsc::channel(1);
        let first = {
            let (group, mut released) = (group.clone(), released.clone());
            tokio::spawn(async move {
                group
                    .submit(1, |writes| async move {
                        first_started.send(()).await.unwrap();
                        let _ = released.wait_for(|go| *go).await;
                        writes
                    })
                    .await
            })
        };
        first_committing.recv().await.unwrap();
        // Queued behind the first: the next leader, then a write it takes along.
        let cancelled_leader = {
            let group = group.clone();
            tokio::spawn(async move {
                group
                    .submit(2, |writes| async move {
                        started.send(()).await.unwrap();
                        std::future::pending::<()>().await;
                        writes
                    })
                    .await
            })
        };
        while group.lock_queue().is_empty() {
            tokio::task::yield_now().await;
        }
        let taken_along = {
            let group = group.clone();
            tokio::spawn(async move { group.submit(3, |writes| async move { writes }).await })
        };
        while group.lock_queue().len() < 2 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        assert_eq!(first.await.unwrap(), Ok(1));
        committing.recv().await.unwrap();
        cancelled_leader.abort();
        assert_eq!(taken_along.await.unwrap(), Err(Abandoned));
        let later = group.submit(4, |writes| async move { writes }).await;
        assert_eq!(later, Ok(4));
    }
}
