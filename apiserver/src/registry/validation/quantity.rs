//! `resource.Quantity` parsing, comparison and canonical printing, enough for
//! request/limit checks and QoS classes. Values are kept in nano-units (i128).

use serde_json::Value;

use super::util::{arr, map};

/// A parsed quantity: its value in nano-units and the suffix family it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quantity {
    pub nanos: i128,
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSI,
    BinarySI,
    DecimalExponent,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Parses `^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`; also accepts JSON numbers.
    pub(crate) fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Self::parse(s),
            Value::Number(n) => Self::parse(&n.to_string()),
            _ => None,
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let num_end = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
        let (num, suffix) = body.split_at(num_end);
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return None;
        }
        let (format, num_scale, den_scale) = parse_suffix(suffix)?;
        // value = digits / 10^frac * num_scale / den_scale, in nanos.
        let mut digits: i128 = 0;
        for c in int_part.chars().chain(frac_part.chars()) {
            digits = digits.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
        }
        let frac_div = 10i128.checked_pow(u32::try_from(frac_part.len()).ok()?)?;
        let scaled = digits.checked_mul(NANO)?.checked_mul(num_scale)?;
        let div = frac_div.checked_mul(den_scale)?;
        // Round up like kube does for precision beyond nano.
        let mut nanos = scaled / div + i128::from(scaled % div != 0);
        if neg {
            nanos = -nanos;
        }
        Some(Self { nanos, format })
    }

    /// kube's canonical `String()`.
    pub(crate) fn canonical(&self) -> String {
        let n = self.nanos;
        if n == 0 {
            return "0".into();
        }
        let sign = if n < 0 { "-" } else { "" };
        let a = n.abs();
        if self.format == Format::BinarySI && a % NANO == 0 && a / NANO >= 1024 {
            let mut units = a / NANO;
            let mut idx = 0;
            let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            while units % 1024 == 0 && idx < 6 {
                units /= 1024;
                idx += 1;
            }
            return format!("{sign}{units}{}", suffixes[idx]);
        }
        // Decimal: the largest power of 1000 (from nano up) that divides exactly.
        let mut exp = -9i32;
        let mut m = a;
        while m % 1000 == 0 && exp < 18 {
            m /= 1000;
            exp += 3;
        }
        if self.format == Format::DecimalExponent {
            return if exp == 0 { format!("{sign}{m}") } else { format!("{sign}{m}e{exp}") };
        }
        let suffix = match exp {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        };
        format!("{sign}{m}{suffix}")
    }
}

/// (format, numerator, denominator) of a suffix.
fn parse_suffix(suffix: &str) -> Option<(Format, i128, i128)> {
    let dec = |e: u32| 10i128.pow(e);
    let bin = |e: u32| 1i128 << e;
    Some(match suffix {
        "" => (Format::DecimalSI, 1, 1),
        "n" => (Format::DecimalSI, 1, dec(9)),
        "u" => (Format::DecimalSI, 1, dec(6)),
        "m" => (Format::DecimalSI, 1, dec(3)),
        "k" => (Format::DecimalSI, dec(3), 1),
        "M" => (Format::DecimalSI, dec(6), 1),
        "G" => (Format::DecimalSI, dec(9), 1),
        "T" => (Format::DecimalSI, dec(12), 1),
        "P" => (Format::DecimalSI, dec(15), 1),
        "E" => (Format::DecimalSI, dec(18), 1),
        "Ki" => (Format::BinarySI, bin(10), 1),
        "Mi" => (Format::BinarySI, bin(20), 1),
        "Gi" => (Format::BinarySI, bin(30), 1),
        "Ti" => (Format::BinarySI, bin(40), 1),
        "Pi" => (Format::BinarySI, bin(50), 1),
        "Ei" => (Format::BinarySI, bin(60), 1),
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = s[1..].parse().ok()?;
            if !(-30..=30).contains(&e) {
                return None;
            }
            if e >= 0 {
                (Format::DecimalExponent, dec(e.unsigned_abs()), 1)
            } else {
                (Format::DecimalExponent, 1, dec(e.unsigned_abs()))
            }
        }
        _ => return None,
    })
}

/// The QoS class of a pod spec (kube's `ComputePodQOS`, container-level resources).
pub(crate) fn pod_qos(spec: &Value) -> &'static str {
    let mut requests: Vec<(String, i128)> = Vec::new();
    let mut limits: Vec<(String, i128)> = Vec::new();
    let mut guaranteed = true;
    let add = |list: &mut Vec<(String, i128)>, name: &str, q: i128| match list.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v += q,
        None => list.push((name.to_string(), q)),
    };
    for c in arr(spec, &["containers"]).iter().chain(arr(spec, &["initContainers"])) {
        for (name, q) in map(c, &["resources", "requests"]).into_iter().flatten() {
            let q = Quantity::from_json(q).map(|q| q.nanos).unwrap_or(0);
            if (name == "cpu" || name == "memory") && q > 0 {
                add(&mut requests, name, q);
            }
        }
        let mut found = Vec::new();
        for (name, q) in map(c, &["resources", "limits"]).into_iter().flatten() {
            let q = Quantity::from_json(q).map(|q| q.nanos).unwrap_or(0);
            if (name == "cpu" || name == "memory") && q != 0 {
                add(&mut limits, name, q);
                found.push(name.as_str());
            }
        }
        if !(found.contains(&"cpu") && found.contains(&"memory")) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        for (name, req) in &requests {
            if limits.iter().find(|(n, _)| n == name).map(|(_, l)| *l) != Some(*req) {
                guaranteed = false;
            }
        }
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_canonicalizes() {
        let c = |s: &str| Quantity::parse(s).map(|q| q.canonical());
        assert_eq!(c("0.5").as_deref(), Some("500m"));
        assert_eq!(c("1000m").as_deref(), Some("1"));
        assert_eq!(c("1024Mi").as_deref(), Some("1Gi"));
        assert_eq!(c("1536Mi").as_deref(), Some("1536Mi"));
        assert_eq!(c("1e3").as_deref(), Some("1e3"));
        assert_eq!(c("100").as_deref(), Some("100"));
        assert_eq!(c("2k").as_deref(), Some("2k"));
        assert_eq!(c("abc"), None);
        assert_eq!(c("1Zi"), None);
        assert!(Quantity::parse("2").map(|q| q.nanos) > Quantity::parse("1500m").map(|q| q.nanos));
        assert_eq!(Quantity::parse("1Gi").map(|q| q.nanos), Quantity::parse("1073741824").map(|q| q.nanos));
    }
}
