//! When to try a failed delivery again: exponential backoff with full jitter, capped, and
//! never sooner than Suomi.fi's own `Retry-After`.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after which a retryable failure becomes "needs attention".
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    /// About two days of retries (5 s doubling to a 1 h cap, 60 attempts): a Suomi.fi
    /// outage of a working day never turns into a failed notice.
    fn default() -> Self {
        Self {
            max_attempts: 60,
            initial_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, after `attempt` failures (1-based), with
    /// `jitter` in 0.0..=1.0 picking a point in the window (full jitter: spreads a crowd of
    /// retries after an outage). `retry_after` is a floor.
    pub fn delay(&self, attempt: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(63) as i32;
        let window = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        let window = window.min(self.max_delay.as_secs_f64());
        let jittered = Duration::from_secs_f64(window * jitter.clamp(0.0, 1.0));
        let floor = retry_after.unwrap_or(Duration::ZERO).min(self.max_delay);
        jittered.max(floor).max(Duration::from_millis(100))
    }

    pub fn gives_up_after(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 1.0, None), Duration::from_secs(5));
        assert_eq!(policy.delay(2, 1.0, None), Duration::from_secs(10));
        assert_eq!(policy.delay(3, 1.0, None), Duration::from_secs(20));
        assert_eq!(policy.delay(30, 1.0, None), Duration::from_secs(3600));
        assert_eq!(policy.delay(1000, 1.0, None), Duration::from_secs(3600));
    }

    #[test]
    fn jitter_picks_a_point_in_the_window_but_never_zero() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(2, 0.5, None), Duration::from_secs(5));
        assert_eq!(policy.delay(2, 0.0, None), Duration::from_millis(100));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, 0.1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            policy.delay(1, 0.1, Some(Duration::from_secs(99_999))),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn gives_up_only_at_the_limit() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(!policy.gives_up_after(2));
        assert!(policy.gives_up_after(3));
    }
}
