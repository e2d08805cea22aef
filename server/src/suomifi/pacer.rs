//! Politeness towards Suomi.fi: DVV publishes no rate limit, so we keep our own — requests are
//! spaced evenly at a configured rate, across every task sharing the client. (A burst of one:
//! the delivery worker is steady, and events or mailbox checks wait their turn.)
//!
//! Built on tokio's clock, so tests can check it in paused time.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `per_second` requests a second; `None` paces nothing.
    pub fn new(per_second: Option<u32>) -> Option<Self> {
        let per_second = per_second.filter(|rate| *rate > 0)?;
        Some(Self {
            interval: Duration::from_secs(1) / per_second,
            next_slot: Mutex::new(None),
        })
    }

    /// Waits for this request's slot.
    pub async fn wait_turn(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |next| next.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_at_the_rate_across_tasks() {
        let pacer = Arc::new(Pacer::new(Some(5)).unwrap());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.wait_turn().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap() - started);
        }
        times.sort();
        let expected: Vec<Duration> = (0..10).map(|n| Duration::from_millis(200 * n)).collect();
        assert_eq!(times, expected);

        // After a quiet spell the next request goes at once.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let before = Instant::now();
        pacer.wait_turn().await;
        assert_eq!(Instant::now(), before);
    }

    #[test]
    fn zero_or_none_means_no_pacing() {
        assert!(Pacer::new(None).is_none());
        assert!(Pacer::new(Some(0)).is_none());
    }
}
