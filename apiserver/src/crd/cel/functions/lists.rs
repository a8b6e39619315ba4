//! Kubernetes' list library (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`) and
//! cel-go's sets extension (`sets.contains`, `sets.equivalent`, `sets.intersects`).

use super::{arg, fn_error, no_overload, value_overload, Registrar};
use cel::common::types::{DYN_TYPE, LIST_TYPE};
use cel::{ExecutionError, Value};
use std::cmp::Ordering;
use std::sync::Arc;

pub(in crate::crd::cel) fn register(reg: &mut Registrar<'_>) {
    reg.member("isSorted", LIST_TYPE, vec![], is_sorted);
    reg.member("sum", LIST_TYPE, vec![], sum);
    reg.member("min", LIST_TYPE, vec![], min);
    reg.member("max", LIST_TYPE, vec![], max);
    reg.member("indexOf", LIST_TYPE, vec![DYN_TYPE], index_of);
    reg.member("lastIndexOf", LIST_TYPE, vec![DYN_TYPE], last_index_of);
    reg.global("sets.contains", vec![LIST_TYPE, LIST_TYPE], sets_contains);
    reg.global("sets.equivalent", vec![LIST_TYPE, LIST_TYPE], sets_equivalent);
    reg.global("sets.intersects", vec![LIST_TYPE, LIST_TYPE], sets_intersects);
}

fn list<'a>(function: &str, args: &'a [Value]) -> Result<&'a Arc<Vec<Value>>, ExecutionError> {
    match arg(args, 0)? {
        Value::List(l) => Ok(l),
        other => Err(no_overload(function, &[other])),
    }
}

/// Orders two list elements of the same comparable type.
fn compare(function: &str, a: &Value, b: &Value) -> Result<Ordering, ExecutionError> {
    a.partial_cmp(b).ok_or_else(|| no_overload(function, &[a, b]))
}

value_overload!(is_sorted, |args| {
    let l = list("isSorted", args)?;
    for pair in l.windows(2) {
        if compare("isSorted", &pair[0], &pair[1])? == Ordering::Greater {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
});

value_overload!(sum, |args| {
    let l = list("sum", args)?;
    let mut items = l.iter();
    let Some(first) = items.next() else { return Ok(Value::Int(0)) };
    let overflow = || fn_error("sum", "integer overflow");
    items.try_fold(first.clone(), |acc, v| match (&acc, v) {
        (Value::Int(a), Value::Int(b)) => a.checked_add(*b).map(Value::Int).ok_or_else(overflow),
        (Value::UInt(a), Value::UInt(b)) => a.checked_add(*b).map(Value::UInt).ok_or_else(overflow),
        (Value::Float(a), Value::Float(b)) => Ok(Value::Float(a + b)),
        (Value::Duration(a), Value::Duration(b)) => a.checked_add(b).map(Value::Duration).ok_or_else(overflow),
        _ => Err(no_overload("sum", &[&acc, v])),
    })
});

fn extreme(function: &str, args: &[Value], keep: Ordering) -> Result<Value, ExecutionError> {
    let l = list(function, args)?;
    let mut items = l.iter();
    let Some(mut best) = items.next() else {
        return Err(fn_error(function, format!("{function} called on empty list")));
    };
    for v in items {
        if compare(function, v, best)? == keep {
            best = v;
        }
    }
    Ok(best.clone())
}

value_overload!(min, |args| extreme("min", args, Ordering::Less));
value_overload!(max, |args| extreme("max", args, Ordering::Greater));

value_overload!(index_of, |args| {
    let l = list("indexOf", args)?;
    let needle = arg(args, 1)?;
    Ok(Value::Int(l.iter().position(|v| v == needle).map_or(-1, |i| i as i64)))
});

value_overload!(last_index_of, |args| {
    let l = list("lastIndexOf", args)?;
    let needle = arg(args, 1)?;
    Ok(Value::Int(l.iter().rposition(|v| v == needle).map_or(-1, |i| i as i64)))
});

fn two_lists<'a>(function: &str, args: &'a [Value]) -> Result<(&'a [Value], &'a [Value]), ExecutionError> {
    match (arg(args, 0)?, arg(args, 1)?) {
        (Value::List(a), Value::List(b)) => Ok((a.as_slice(), b.as_slice())),
        (a, b) => Err(no_overload(function, &[a, b])),
    }
}

fn contains_all(a: &[Value], b: &[Value]) -> bool {
    b.iter().all(|x| a.contains(x))
}

value_overload!(sets_contains, |args| {
    let (a, b) = two_lists("sets.contains", args)?;
    Ok(Value::Bool(contains_all(a, b)))
});

value_overload!(sets_equivalent, |args| {
    let (a, b) = two_lists("sets.equivalent", args)?;
    Ok(Value::Bool(contains_all(a, b) && contains_all(b, a)))
});

value_overload!(sets_intersects, |args| {
    let (a, b) = two_lists("sets.intersects", args)?;
    Ok(Value::Bool(b.iter().any(|x| a.contains(x))))
});
