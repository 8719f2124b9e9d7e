//! When and how long to wait before retrying an idempotent request.

use std::time::Duration;

/// Retry policy for GET requests: exponential backoff with full jitter, within
/// a total budget of waiting time.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff.
    pub base: Duration,
    /// The largest single backoff.
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

/// Parses a `Retry-After` value: delay seconds, or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`) compared with `now_unix` seconds.
pub fn parse_retry_after(value: &str, now_unix: u64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date_unix(value)?;
    Some(Duration::from_secs(at.saturating_sub(now_unix)))
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date_unix(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace().skip(1);
    let day: u64 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == month_name)? as u64
        + 1;
    let year: u64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || year < 1970 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant), for years from 1970.
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// Now, in seconds since the epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A small xorshift generator for jitter; seeded from the clock.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator seeded from the current time.
    pub fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Jitter(nanos | 1)
    }

    /// A generator with a fixed seed (for reproducible tests).
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
        assert_eq!(http_date_unix("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        let at = 1_445_412_480; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at - 30), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at + 30), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", 0), None);
    }
}
