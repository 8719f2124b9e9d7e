//! Time: the [`Clock`] every wait and timestamp goes through (so that native
//! tests never sleep), the one civil-calendar routine, and the timestamp
//! formats dbt Cloud and HTTP use.

use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock, a monotonic clock and sleeping, as one seam. The component
/// uses [`SystemClock`]; tests use [`FakeClock`], whose sleeps return at once.
pub trait Clock {
    /// Milliseconds since the Unix epoch (for records and `Retry-After` dates).
    fn unix_millis(&self) -> u64;
    /// Time elapsed since an arbitrary fixed point; never goes backwards.
    fn monotonic(&self) -> Duration;
    /// Blocks the caller for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clocks (WASI's wall and monotonic clocks in the component).
pub struct SystemClock {
    start: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock { start: std::time::Instant::now() }
    }
}

impl Clock for SystemClock {
    fn unix_millis(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    fn monotonic(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock for tests: starts at a given instant, and each `sleep` advances it
/// instead of blocking; the sleeps are recorded so that tests can assert them.
pub struct FakeClock {
    now: Cell<Duration>,
    slept: RefCell<Vec<Duration>>,
}

impl FakeClock {
    /// A clock reading `unix_millis` on the wall clock.
    pub fn at_unix_millis(unix_millis: u64) -> Self {
        FakeClock { now: Cell::new(Duration::from_millis(unix_millis)), slept: RefCell::new(Vec::new()) }
    }

    /// Every pause asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.borrow().clone()
    }
}

impl Clock for FakeClock {
    fn unix_millis(&self) -> u64 {
        self.now.get().as_millis() as u64
    }

    fn monotonic(&self) -> Duration {
        self.now.get()
    }

    fn sleep(&self, duration: Duration) {
        self.slept.borrow_mut().push(duration);
        self.now.set(self.now.get() + duration);
    }
}

/// A date of the proleptic Gregorian calendar, converted to and from days
/// since 1970-01-01 (Howard Hinnant's algorithms; valid for any `i64` day
/// count a timestamp can hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilDate {
    /// The year, e.g. 2026.
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
}

impl CivilDate {
    /// The date `days` days after 1970-01-01 (before it, when negative).
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        CivilDate { year, month, day }
    }

    /// Days from 1970-01-01 to this date (negative before it).
    pub fn days(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = if month <= 2 { self.year - 1 } else { self.year };
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

/// RFC 3339 in UTC with milliseconds (`2026-11-22T23:21:41.966Z`).
pub fn format_unix_millis(millis: u64) -> String {
    let secs = (millis / 1000) as i64;
    let date = CivilDate::from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        date.year,
        date.month,
        date.day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis % 1000
    )
}

/// The clock's current time as RFC 3339 (see [`format_unix_millis`]).
pub fn now_rfc3339(clock: &dyn Clock) -> String {
    format_unix_millis(clock.unix_millis())
}

/// Seconds since the epoch of an HTTP date in the IMF-fixdate form
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the form `Retry-After` uses; none for
/// anything else.
pub fn parse_http_date(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace().skip(1);
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == month_name)? as u32
        + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT"
        || !(1..=31).contains(&day)
        || !(1970..=9999).contains(&year)
        || h > 23
        || m > 59
        || s > 60
    {
        return None;
    }
    let days = u64::try_from(CivilDate { year, month, day }.days()).ok()?;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// dbt Cloud writes run times as `2024-05-27 10:42:16.179903+00:00`; this gives
/// the RFC 3339 form (`T` separator). Other text is returned as is.
pub fn normalize(timestamp: &str) -> String {
    let t = timestamp.trim();
    if t.len() > 10 && t.as_bytes()[10] == b' ' && t.is_char_boundary(11) {
        format!("{}T{}", &t[..10], &t[11..])
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_normalizes() {
        assert_eq!(format_unix_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_unix_millis(1_795_389_701_966), "2026-11-22T23:21:41.966Z");
        assert_eq!(format_unix_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(normalize("2024-05-27 10:42:16.179903+00:00"), "2024-05-27T10:42:16.179903+00:00");
        assert_eq!(normalize("2024-05-27T10:42:16Z"), "2024-05-27T10:42:16Z");
    }

    #[test]
    fn the_calendar_round_trips_and_reads_http_dates() {
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_000, 2_932_896] {
            assert_eq!(CivilDate::from_days(days).days(), days, "{days}");
        }
        assert_eq!(CivilDate::from_days(11_016), CivilDate { year: 2000, month: 2, day: 29 });
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), Some(1_445_412_480));
        assert_eq!(parse_http_date("Wed, 32 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_http_date("soon"), None);
    }

    #[test]
    fn the_fake_clock_advances_instead_of_sleeping() {
        let clock = FakeClock::at_unix_millis(1_000);
        clock.sleep(Duration::from_secs(2));
        assert_eq!(clock.unix_millis(), 3_000);
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);
    }
}
