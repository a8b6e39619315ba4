//! Kubernetes' quantity library: `quantity(s)`, `isQuantity(s)` and the methods `sign()`,
//! `isInteger()`, `asInteger()`, `asApproximateFloat()`, `compareTo(q)`, `isGreaterThan(q)`,
//! `isLessThan(q)`, `add(q|int)` and `sub(q|int)`.
//!
//! A quantity is held exactly as `mantissa × 10^exponent`, parsed with the grammar of
//! `resource.Quantity` (`<signedNumber><suffix>`, suffixes `Ki`…`Ei`, `n`,`u`,`m`,`k`…`E`,
//! `e<n>`/`E<n>`). Values beyond `i128` mantissas are compared approximately.

use super::{arg, fn_error, no_overload, opaque, str_arg, value_overload, Registrar};
use cel::common::types::{DYN_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{ExecutionError, Value};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

pub(in crate::crd::cel) fn register(reg: &mut Registrar<'_>) {
    reg.global("quantity", vec![STRING_TYPE], quantity);
    reg.global("isQuantity", vec![STRING_TYPE], is_quantity);
    reg.member("sign", DYN_TYPE, vec![], sign);
    reg.member("isInteger", DYN_TYPE, vec![], is_integer);
    reg.member("asInteger", DYN_TYPE, vec![], as_integer);
    reg.member("asApproximateFloat", DYN_TYPE, vec![], as_approximate_float);
    reg.member("compareTo", DYN_TYPE, vec![DYN_TYPE], compare_to);
    reg.member("isGreaterThan", DYN_TYPE, vec![DYN_TYPE], is_greater_than);
    reg.member("isLessThan", DYN_TYPE, vec![DYN_TYPE], is_less_than);
    reg.member("add", DYN_TYPE, vec![DYN_TYPE], add);
    reg.member("sub", DYN_TYPE, vec![DYN_TYPE], sub);
}

/// An exact quantity, `mantissa × 10^exponent`.
#[derive(Clone, Copy)]
pub(in crate::crd::cel) struct Quantity {
    mantissa: i128,
    exponent: i32,
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}e{}", self.mantissa, self.exponent)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.aligned(other), other.aligned(self)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.approx().total_cmp(&other.approx()),
        }
    }
}

impl Opaque for Quantity {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.Quantity"
    }
}

const MAX_DIGITS: usize = 36;

impl Quantity {
    /// Parses a quantity as `resource.ParseQuantity` does.
    pub(in crate::crd::cel) fn parse(s: &str) -> Option<Quantity> {
        let (negative, rest) = match s.as_bytes().first()? {
            b'+' => (false, &s[1..]),
            b'-' => (true, &s[1..]),
            _ => (false, s),
        };
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(num_end);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return None;
        }
        let digits: String = format!("{int_part}{frac_part}").trim_start_matches('0').to_owned();
        if digits.len() > MAX_DIGITS {
            return None;
        }
        let mut mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let mut exponent = -i32::try_from(frac_part.len()).ok()?;
        match suffix {
            "" => {}
            "n" => exponent -= 9,
            "u" => exponent -= 6,
            "m" => exponent -= 3,
            "k" => exponent += 3,
            "M" => exponent += 6,
            "G" => exponent += 9,
            "T" => exponent += 12,
            "P" => exponent += 15,
            "E" => exponent += 18,
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let power = 10 * (1 + "KMGTPE".find(&suffix[..1])? as u32);
                mantissa = mantissa.checked_mul(1i128 << power)?;
            }
            _ => {
                let exp = suffix.strip_prefix(['e', 'E'])?;
                let valid =
                    !exp.is_empty() && exp.strip_prefix(['+', '-']).unwrap_or(exp).chars().all(|c| c.is_ascii_digit());
                if !valid {
                    return None;
                }
                exponent = exponent.checked_add(exp.parse::<i32>().ok()?)?;
            }
        }
        if negative {
            mantissa = -mantissa;
        }
        Some(Quantity { mantissa, exponent })
    }

    fn from_int(i: i64) -> Quantity {
        Quantity { mantissa: i128::from(i), exponent: 0 }
    }

    /// The mantissa of `self` scaled to the smaller exponent of the two.
    fn aligned(&self, other: &Quantity) -> Option<i128> {
        let diff = self.exponent.checked_sub(self.exponent.min(other.exponent))?;
        10i128.checked_pow(u32::try_from(diff).ok()?).and_then(|scale| self.mantissa.checked_mul(scale))
    }

    fn approx(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exponent)
    }

    fn sign(&self) -> i64 {
        match self.mantissa.cmp(&0) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }
    }

    /// The value as an `i64`, if it is an integer in range.
    fn as_i64(&self) -> Option<i64> {
        if self.exponent >= 0 {
            let v = self.aligned(&Quantity { mantissa: 0, exponent: 0 })?;
            return i64::try_from(v).ok();
        }
        let scale = 10i128.checked_pow(self.exponent.unsigned_abs())?;
        if self.mantissa % scale != 0 {
            return None;
        }
        i64::try_from(self.mantissa / scale).ok()
    }

    fn combine(&self, other: &Quantity, negate: bool) -> Option<Quantity> {
        let exponent = self.exponent.min(other.exponent);
        let a = self.aligned(other)?;
        let b = other.aligned(self)?;
        let mantissa = if negate { a.checked_sub(b)? } else { a.checked_add(b)? };
        Some(Quantity { mantissa, exponent })
    }
}

fn quantity_value(q: Quantity) -> Value {
    Value::Opaque(Arc::new(q))
}

fn this(function: &str, args: &[Value]) -> Result<Quantity, ExecutionError> {
    let v = arg(args, 0)?;
    opaque::<Quantity>(v).copied().ok_or_else(|| no_overload(function, &[v]))
}

/// The second argument: a quantity, or for `add`/`sub` an int.
fn other(function: &str, args: &[Value], allow_int: bool) -> Result<Quantity, ExecutionError> {
    let v = arg(args, 1)?;
    match v {
        Value::Int(i) if allow_int => Ok(Quantity::from_int(*i)),
        _ => opaque::<Quantity>(v).copied().ok_or_else(|| no_overload(function, &[v])),
    }
}

value_overload!(quantity, |args| {
    let s = str_arg("quantity", args, 0)?;
    Quantity::parse(s).map(quantity_value).ok_or_else(|| {
        fn_error(
            "quantity",
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        )
    })
});

value_overload!(is_quantity, |args| Ok(Value::Bool(Quantity::parse(str_arg("isQuantity", args, 0)?).is_some())));
value_overload!(sign, |args| Ok(Value::Int(this("sign", args)?.sign())));
value_overload!(is_integer, |args| Ok(Value::Bool(this("isInteger", args)?.as_i64().is_some())));
value_overload!(as_integer, |args| {
    this("asInteger", args)?
        .as_i64()
        .map(Value::Int)
        .ok_or_else(|| fn_error("asInteger", "cannot convert value to integer"))
});
value_overload!(as_approximate_float, |args| Ok(Value::Float(this("asApproximateFloat", args)?.approx())));
value_overload!(compare_to, |args| {
    let ord = this("compareTo", args)?.cmp(&other("compareTo", args, false)?);
    Ok(Value::Int(match ord {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
});
value_overload!(is_greater_than, |args| {
    Ok(Value::Bool(this("isGreaterThan", args)? > other("isGreaterThan", args, false)?))
});
value_overload!(is_less_than, |args| Ok(Value::Bool(this("isLessThan", args)? < other("isLessThan", args, false)?)));
value_overload!(add, |args| {
    let sum = this("add", args)?.combine(&other("add", args, true)?, false);
    sum.map(quantity_value).ok_or_else(|| fn_error("add", "quantity overflow"))
});
value_overload!(sub, |args| {
    let diff = this("sub", args)?.combine(&other("sub", args, true)?, true);
    diff.map(quantity_value).ok_or_else(|| fn_error("sub", "quantity overflow"))
});
