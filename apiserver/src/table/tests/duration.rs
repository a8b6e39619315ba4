//! `HumanDuration` / `ShortHumanDuration` against Go's outputs.

use jiff::SignedDuration;

use crate::table::{human_duration, short_human_duration};

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

#[test]
fn human_duration_matches_go() {
    const MIN: i64 = 60;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;
    const YEAR: i64 = 365 * DAY;
    let cases: &[(SignedDuration, &str)] = &[
        (secs(-3), "<invalid>"),
        (secs(-2), "<invalid>"),
        (SignedDuration::from_millis(-1999), "0s"),
        (secs(-1), "0s"),
        (SignedDuration::from_millis(-500), "0s"),
        (secs(0), "0s"),
        (SignedDuration::from_millis(999), "0s"),
        (secs(5), "5s"),
        (secs(119), "119s"),
        (secs(2 * MIN), "2m"),
        (secs(2 * MIN + 3), "2m3s"),
        (secs(9 * MIN + 59), "9m59s"),
        (secs(10 * MIN), "10m"),
        (secs(10 * MIN + 59), "10m"),
        (secs(179 * MIN), "179m"),
        (secs(3 * HOUR), "3h"),
        (secs(3 * HOUR + 5 * MIN), "3h5m"),
        (secs(7 * HOUR + 59 * MIN), "7h59m"),
        (secs(8 * HOUR), "8h"),
        (secs(47 * HOUR + 59 * MIN), "47h"),
        (secs(2 * DAY), "2d"),
        (secs(2 * DAY + 3 * HOUR), "2d3h"),
        (secs(7 * DAY + 23 * HOUR), "7d23h"),
        (secs(8 * DAY), "8d"),
        (secs(45 * DAY), "45d"),
        (secs(2 * YEAR - 1), "729d"),
        (secs(2 * YEAR), "2y"),
        (secs(2 * YEAR + 300 * DAY), "2y300d"),
        (secs(3 * YEAR), "3y"),
        (secs(8 * YEAR - DAY), "7y364d"),
        (secs(8 * YEAR), "8y"),
        (secs(12 * YEAR + 100 * DAY), "12y"),
    ];
    for (d, want) in cases {
        assert_eq!(human_duration(*d), *want, "{d:?}");
    }
}

#[test]
fn short_human_duration_matches_go() {
    let cases: &[(i64, &str)] = &[
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (86_399, "23h"),
        (86_400, "1d"),
        (364 * 86_400, "364d"),
        (365 * 86_400, "1y"),
        (3 * 365 * 86_400 + 5, "3y"),
    ];
    for (s, want) in cases {
        assert_eq!(short_human_duration(secs(*s)), *want, "{s}s");
    }
}
