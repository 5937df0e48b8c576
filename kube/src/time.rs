//! Civil time as Kubernetes writes it: RFC 3339 in whole seconds with "Z" (Go's
//! `Time.UTC().Format(time.RFC3339)`, how `metav1.Time` serializes), and the proleptic
//! Gregorian calendar under it (Howard Hinnant's day-count algorithms).

const SECONDS_PER_MINUTE: i64 = 60;
const MINUTES_PER_HOUR: i64 = 60;
const SECONDS_PER_HOUR: i64 = 3_600;
const SECONDS_PER_DAY: i64 = 86_400;
const MS_PER_SECOND: i64 = 1_000;
/// Days in 400 Gregorian years, the calendar's repeat, and from 0000-03-01 (the start of
/// the civil-days algorithm's era 0) to 1970-01-01.
const DAYS_PER_ERA: i64 = 146_097;
const DAYS_FROM_ERA_START_TO_UNIX_EPOCH: i64 = 719_468;

/// `metav1.Time` of a Unix time in milliseconds (what the gateway stamps objects with).
pub fn timestamp(unix_ms: u64) -> String {
    format_rfc3339(i64::try_from(unix_ms).unwrap_or(i64::MAX))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - DAYS_FROM_ERA_START_TO_UNIX_EPOCH
}

/// The date of a day count since 1970-01-01: the inverse of `days_from_civil`.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + DAYS_FROM_ERA_START_TO_UNIX_EPOCH;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Go's `Time.UTC().Format(time.RFC3339)`: whole seconds, "Z".
pub fn format_rfc3339(ms: i64) -> String {
    let seconds = ms.div_euclid(MS_PER_SECOND);
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let day_seconds = seconds.rem_euclid(SECONDS_PER_DAY);
    let hour = day_seconds / SECONDS_PER_HOUR;
    let minute = day_seconds / SECONDS_PER_MINUTE % MINUTES_PER_HOUR;
    let second = day_seconds % SECONDS_PER_MINUTE;
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_in_whole_seconds() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
        for days in [-719_468, -1, 0, 1, 59, 365 * 400, 2_932_896] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
