//! Go's `k8s.io/apimachinery/pkg/util/duration` formatting (`HumanDuration`,
//! `ShortHumanDuration`) and the printers' timestamp helpers built on it.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// A succinct duration with ~2-3 significant figures, as kube prints AGE:
/// `5s`, `2m3s`, `10m`, `3h5m`, `20h`, `2d3h`, `45d`, `2y300d`, `9y`.
pub fn human_duration(d: SignedDuration) -> String {
    // Go truncates toward zero (`int(d.Seconds())`), as `as_secs` does; up to 2s
    // in the future is tolerated as clock skew.
    let secs = d.as_secs();
    if secs < -1 {
        return "<invalid>".to_string();
    } else if secs < 0 {
        return "0s".to_string();
    } else if secs < 60 * 2 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{h}h", hours / 24);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{dy}d", hours / 24 / 365);
    }
    format!("{}y", hours / 24 / 365)
}

/// The one-unit form: `59s`, `59m`, `23h`, `364d`, `1y`.
pub fn short_human_duration(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs < -1 {
        "<invalid>".to_string()
    } else if secs < 0 {
        "0s".to_string()
    } else if secs < 60 {
        format!("{secs}s")
    } else if secs / 60 < 60 {
        format!("{}m", secs / 60)
    } else if secs / 3600 < 24 {
        format!("{}h", secs / 3600)
    } else if secs / 3600 < 24 * 365 {
        format!("{}d", secs / 3600 / 24)
    } else {
        format!("{}y", secs / 3600 / 24 / 365)
    }
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which kube treats as unset.
const GO_ZERO_TIME_SECS: i64 = -62_135_596_800;

/// Parses an RFC 3339 `metav1.Time`/`MicroTime`; absent, null, malformed and Go's
/// zero time are all "unset".
pub(crate) fn parse_time(v: Option<&Value>) -> Option<Timestamp> {
    let t = v?.as_str()?.parse::<Timestamp>().ok()?;
    (t.as_second() != GO_ZERO_TIME_SECS).then_some(t)
}

/// `translateTimestampSince`: the age of a timestamp, `<unknown>` when unset.
pub(crate) fn since(v: Option<&Value>, now: Timestamp) -> String {
    match parse_time(v) {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".to_string(),
    }
}
