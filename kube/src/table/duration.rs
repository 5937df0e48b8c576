//! Time in cells: kube's `duration.HumanDuration`, and RFC 3339 read as Go's `time.Parse`
//! reads it.

use crate::time::days_from_civil;

// ---------------------------------------------------------------------------------------
// Time.

pub(super) const MS_PER_SECOND: i64 = 1_000;
const SECONDS_PER_MINUTE: i64 = 60;
const MINUTES_PER_HOUR: i64 = 60;
const HOURS_PER_DAY: i64 = 24;
const DAYS_PER_YEAR: i64 = 365;
const SECONDS_PER_HOUR: i64 = 3_600;
const SECONDS_PER_DAY: i64 = 86_400;
/// Go's `time.Duration` saturates at ±2^63 ns, about 292 years.
const MAX_DURATION_MS: i64 = i64::MAX / 1_000_000;
/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which kube prints as "<unknown>".
pub(super) const ZERO_TIME_MS: i64 = -62_135_596_800_000;
/// Fractional-second digits that make up milliseconds.
const FRACTION_MS_DIGITS: usize = 3;

/// `HumanDuration` of a span more than a second negative.
const INVALID_DURATION: &str = "<invalid>";

/// `duration.HumanDuration` of a signed span: "<invalid>" for more than a second in the
/// future, "0s" for less (clock skew between machines). The unit thresholds (2 minutes,
/// 10 minutes, 3 hours, 8 hours, 2 days, 8 days, 2 years, 8 years) are kube's.
pub(super) fn human_duration_signed(ms: i64) -> String {
    let ms = ms.clamp(-MAX_DURATION_MS, MAX_DURATION_MS);
    let seconds = ms / MS_PER_SECOND;
    if seconds < -1 {
        return INVALID_DURATION.to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 2 * SECONDS_PER_MINUTE {
        return format!("{seconds}s");
    }
    let minutes = seconds / SECONDS_PER_MINUTE;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % SECONDS_PER_MINUTE, "s");
    }
    if minutes < 3 * MINUTES_PER_HOUR {
        return format!("{minutes}m");
    }
    let hours = minutes / MINUTES_PER_HOUR;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % MINUTES_PER_HOUR, "m");
    }
    if hours < 2 * HOURS_PER_DAY {
        return format!("{hours}h");
    }
    let days = hours / HOURS_PER_DAY;
    if hours < 8 * HOURS_PER_DAY {
        return with_remainder(days, "d", hours % HOURS_PER_DAY, "h");
    }
    if hours < 2 * DAYS_PER_YEAR * HOURS_PER_DAY {
        return format!("{days}d");
    }
    let years = days / DAYS_PER_YEAR;
    if hours < 8 * DAYS_PER_YEAR * HOURS_PER_DAY {
        return with_remainder(years, "y", days % DAYS_PER_YEAR, "d");
    }
    format!("{years}y")
}

/// "5m3s", or just "5m" when the smaller unit is zero.
fn with_remainder(whole: i64, unit: &str, remainder: i64, remainder_unit: &str) -> String {
    if remainder == 0 {
        format!("{whole}{unit}")
    } else {
        format!("{whole}{unit}{remainder}{remainder_unit}")
    }
}

/// RFC3339 ("2024-05-01T12:00:00Z", "…T12:00:00.123456+02:00") to unix milliseconds;
/// `None` for anything Go's `time.Parse(time.RFC3339, …)` would refuse.
pub(super) fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let field = |start: usize, len: usize| -> Option<i64> {
        let digits = bytes.get(start..start + len)?;
        digits.iter().try_fold(0_i64, |total, digit| {
            Some(total * 10 + digit_value(*digit)?)
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators
        .iter()
        .any(|(index, separator)| bytes.get(*index) != Some(separator))
    {
        return None;
    }
    let (year, month, day) = (field(0, 4)?, field(5, 2)?, field(8, 2)?);
    let (hour, minute, second) = (field(11, 2)?, field(14, 2)?, field(17, 2)?);
    let valid_date = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    let valid_time =
        hour < HOURS_PER_DAY && minute < MINUTES_PER_HOUR && second < SECONDS_PER_MINUTE;
    if !valid_date || !valid_time {
        return None;
    }
    let (fraction_ms, zone_start) = parse_fraction(bytes, 19)?;
    let offset_seconds = parse_zone(bytes.get(zone_start..)?)?;
    let day_seconds = hour * SECONDS_PER_HOUR + minute * SECONDS_PER_MINUTE + second;
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + day_seconds - offset_seconds;
    Some(seconds * MS_PER_SECOND + fraction_ms)
}

/// Optional ".digits" at `start`: the milliseconds it holds and where the zone begins.
fn parse_fraction(bytes: &[u8], start: usize) -> Option<(i64, usize)> {
    if bytes.get(start) != Some(&b'.') {
        return Some((0, start));
    }
    let digits = bytes
        .get(start + 1..)?
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let fraction_ms = (0..FRACTION_MS_DIGITS).fold(0_i64, |total, place| {
        let digit = bytes.get(start + 1 + place).filter(|_| place < digits);
        total * 10 + digit.and_then(|digit| digit_value(*digit)).unwrap_or(0)
    });
    Some((fraction_ms, start + 1 + digits))
}

/// "Z" or "±hh:mm" as seconds east of UTC.
fn parse_zone(zone: &[u8]) -> Option<i64> {
    match zone {
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let value = |tens: u8, ones: u8| Some(digit_value(tens)? * 10 + digit_value(ones)?);
            let (hours, minutes) = (value(*h1, *h2)?, value(*m1, *m2)?);
            if hours >= HOURS_PER_DAY || minutes >= MINUTES_PER_HOUR {
                return None;
            }
            let offset = hours * SECONDS_PER_HOUR + minutes * SECONDS_PER_MINUTE;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ => None,
    }
}

fn digit_value(byte: u8) -> Option<i64> {
    char::from(byte).to_digit(10).map(i64::from)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
