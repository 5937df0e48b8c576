//! AGE and durations at kube's unit boundaries, and RFC 3339 read and written as Go does.

use super::*;

// --- Durations and timestamps -------------------------------------------------------

#[test]
fn human_duration_follows_kube_boundaries() {
    let cases = [
        (0, "0s"),
        (59, "59s"),
        (90, "90s"),
        (119, "119s"),
        (2 * MINUTE, "2m"),
        (5 * MINUTE + 3, "5m3s"),
        (9 * MINUTE + 59, "9m59s"),
        (10 * MINUTE + 30, "10m"),
        (179 * MINUTE, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + 5 * MINUTE, "3h5m"),
        (8 * HOUR + 5 * MINUTE, "8h"),
        (47 * HOUR, "47h"),
        (2 * DAY, "2d"),
        (2 * DAY + 5 * HOUR, "2d5h"),
        (8 * DAY + 5 * HOUR, "8d"),
        (729 * DAY, "729d"),
        (730 * DAY, "2y"),
        (3 * 365 * DAY + 45 * DAY, "3y45d"),
        (8 * 365 * DAY, "8y"),
    ];
    for (seconds, expected) in cases {
        assert_eq!(
            human_duration(seconds as u64 * 1_000),
            expected,
            "{seconds}s"
        );
    }
    assert_eq!(human_duration(999), "0s");
    // Go's durations saturate at about 292 years.
    assert_eq!(human_duration(u64::MAX), "292y");
}

#[test]
fn signed_durations_tolerate_a_second_of_skew() {
    assert_eq!(human_duration_signed(-1_500), "0s");
    assert_eq!(human_duration_signed(-2_000), "<invalid>");
    assert_eq!(human_duration_signed(i64::MIN), "<invalid>");
}

#[test]
fn rfc3339_parses_like_go() {
    let now = NOW_MS as i64;
    assert_eq!(parse_rfc3339_ms("2024-05-01T12:00:00Z"), Some(now));
    assert_eq!(parse_rfc3339_ms("2024-05-01T14:30:00+02:30"), Some(now));
    assert_eq!(parse_rfc3339_ms("2024-05-01T07:00:00-05:00"), Some(now));
    assert_eq!(
        parse_rfc3339_ms("2024-05-01T12:00:00.123456Z"),
        Some(now + 123)
    );
    assert_eq!(parse_rfc3339_ms("2024-05-01T12:00:00.5Z"), Some(now + 500));
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59Z"), Some(-1_000));
    assert_eq!(parse_rfc3339_ms("0001-01-01T00:00:00Z"), Some(ZERO_TIME_MS));
    assert!(parse_rfc3339_ms("2024-02-29T00:00:00Z").is_some());
    let invalid = [
        "",
        "garbage",
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:60:00Z",
        "2024-05-01T12:00:60Z",
        "2024-05-01 12:00:00Z",
        "2024-05-01T12:00:00",
        "2024-05-01T12:00:00.Z",
        "2024-05-01T12:00:00+2:00",
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00Zjunk",
        "+024-05-01T12:00:00Z",
        "２０２４-05-01T12:00:00Z",
    ];
    for text in invalid {
        assert_eq!(parse_rfc3339_ms(text), None, "{text:?}");
    }
}

#[test]
fn rfc3339_formats_utc_whole_seconds() {
    assert_eq!(format_rfc3339(NOW_MS as i64 + 999), "2024-05-01T12:00:00Z");
    assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    assert_eq!(format_rfc3339(ZERO_TIME_MS), "0001-01-01T00:00:00Z");
    for ms in [NOW_MS as i64, 951_782_400_000, 4_107_542_400_000] {
        assert_eq!(parse_rfc3339_ms(&format_rfc3339(ms)), Some(ms));
    }
}

#[test]
fn age_is_unknown_without_a_readable_timestamp() {
    for created in [
        json!(null),
        json!(""),
        json!("yesterday"),
        json!(5),
        json!("0001-01-01T00:00:00Z"),
    ] {
        let mut namespace = json!({"metadata": {"name": "ns"}, "status": {"phase": "Active"}});
        namespace["metadata"]["creationTimestamp"] = created.clone();
        assert_eq!(cells("Namespace", namespace)[2], "<unknown>", "{created}");
    }
    let future = json!({"metadata": {"name": "ns", "creationTimestamp": ago(-5)}});
    assert_eq!(cells("Namespace", future)[2], "<invalid>");
}
