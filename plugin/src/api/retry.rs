//! When and how long to wait before retrying an idempotent request.

use std::time::Duration;

/// Retry policy for GET requests: exponential backoff with full jitter, within
/// a total budget of waiting time.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The backoff after the first failure (doubling after each next one).
    pub base: Duration,
    /// The longest single backoff.
    pub cap: Duration,
    /// The most time spent waiting between attempts of one request.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(16),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt + 1` (attempt counts from 1), jittered
    /// with `random` (any u64).
    pub fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.cap).as_millis() as u64;
        // Full jitter, but never less than half, so that retries do not hammer.
        let low = ceiling / 2;
        Duration::from_millis(low + random % (ceiling - low + 1))
    }
}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date compared with
/// `now_unix` seconds (a date in the past means no wait).
pub fn parse_retry_after(value: &str, now_unix: u64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = crate::time::parse_http_date(value)?;
    Some(Duration::from_secs(at.saturating_sub(now_unix)))
}

/// A small xorshift generator for the jitter of backoffs.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator from `seed` (the client seeds it from its clock).
    pub fn seeded(seed: u64) -> Self {
        Jitter(seed | 1)
    }

    /// The next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        let b1 = p.backoff(1, 0);
        let b3 = p.backoff(3, 0);
        assert_eq!(b1, Duration::from_millis(250));
        assert_eq!(b3, Duration::from_millis(1000));
        for r in [0, 7, u64::MAX] {
            assert!(p.backoff(30, r) <= p.cap);
        }
        assert_eq!(parse_retry_after(" 2 ", 0), Some(Duration::from_secs(2)));
        let at = 1_445_412_480; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at - 30), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at + 30), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", 0), None);
    }
}
