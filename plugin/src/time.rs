//! Timestamps: RFC 3339 from the wall clock, and dbt Cloud's two formats.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format_unix_millis(d.as_millis() as i64)
}

/// Milliseconds since the epoch as RFC 3339 in UTC.
pub fn format_unix_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// dbt Cloud writes run times as `2024-05-27 10:42:16.179903+00:00`; this gives
/// the RFC 3339 form (`T` separator). Other text is returned as is.
pub fn normalize(timestamp: &str) -> String {
    let t = timestamp.trim();
    if t.len() > 10 && t.as_bytes()[10] == b' ' { format!("{}T{}", &t[..10], &t[11..]) } else { t.to_string() }
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
}
