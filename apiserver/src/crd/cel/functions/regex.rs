//! Kubernetes' regex library: `s.find(re)`, `s.findAll(re)` and `s.findAll(re, n)`.

use super::{arg, fn_error, no_overload, str_arg, value_overload, Registrar};
use cel::common::types::{INT_TYPE, STRING_TYPE};
use cel::{ExecutionError, Value};
use std::sync::Arc;

pub(in crate::crd::cel) fn register(reg: &mut Registrar<'_>) {
    reg.member("find", STRING_TYPE, vec![STRING_TYPE], find);
    reg.member("findAll", STRING_TYPE, vec![STRING_TYPE], find_all);
    reg.member("findAll", STRING_TYPE, vec![STRING_TYPE, INT_TYPE], find_all_n);
}

fn compile(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(pattern).map_err(|e| fn_error(function, e))
}

value_overload!(find, |args| {
    let s = str_arg("find", args, 0)?;
    let re = compile("find", str_arg("find", args, 1)?)?;
    Ok(Value::from(re.find(s).map_or("", |m| m.as_str())))
});

fn all(args: &[Value], limit: Option<i64>) -> Result<Value, ExecutionError> {
    let s = str_arg("findAll", args, 0)?;
    let re = compile("findAll", str_arg("findAll", args, 1)?)?;
    let limit = match limit {
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let found = re.find_iter(s).take(limit).map(|m| Value::from(m.as_str())).collect();
    Ok(Value::List(Arc::new(found)))
}

value_overload!(find_all, |args| all(args, None));
value_overload!(find_all_n, |args| match arg(args, 2)? {
    Value::Int(n) => all(args, Some(*n)),
    other => Err(no_overload("findAll", &[other])),
});
