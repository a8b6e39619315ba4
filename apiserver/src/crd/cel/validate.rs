//! Running compiled rules against an object, as kube's `Validator.Validate` does: rules of a
//! node run on its non-null values; then `allOf` entries, then the children — properties,
//! `additionalProperties` values and `items` — each with its old value where one correlates.

use super::compile::{Node, Reason, Rule};
use super::convert::to_val;
use super::functions;
use crate::error::Cause;
use cel::common::types::CelOptional;
use cel::common::value::Val;
use cel::{Context, ExecutionError, Program, Value as CelValue};
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// kube's limit on an evaluated `messageExpression`.
const MAX_MESSAGE_BYTES: usize = 5 * 1024;

/// The field path kube reports for the root of the object (a nil `field.Path`).
pub const ROOT_FIELD: &str = "<nil>";

/// Validates `obj` (with `old`, on update) at `node`, whose field path is `path` (empty at
/// the root), appending failures to `out`.
pub(super) fn node(node: &Node, obj: &Value, old: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    if obj.is_null() {
        return;
    }
    let old = old.filter(|o| !o.is_null());
    if !node.rules.is_empty() {
        rules(node, obj, old, path, out);
    }
    for all_of in &node.all_of {
        self::node(all_of, obj, old, path, out);
    }
    match obj {
        Value::Object(map) => {
            let old_map = old.and_then(Value::as_object);
            if let Some(additional) = &node.additional {
                for (k, v) in map {
                    let old_v = old_map.and_then(|m| m.get(k));
                    self::node(additional, v, old_v, &format!("{path}[{k}]"), out);
                }
            }
            for (name, child) in &node.properties {
                if let Some(v) = map.get(name) {
                    let old_v = old_map.and_then(|m| m.get(name));
                    self::node(child, v, old_v, &child_path(path, name), out);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_node) = &node.items else { return };
            let old_items = correlated_items(node, old);
            for (i, item) in items.iter().enumerate() {
                let old_item = old_items.as_ref().and_then(|m| m.get(&map_key(item, node)?).copied());
                self::node(item_node, item, old_item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn display(path: &str) -> &str {
    if path.is_empty() {
        ROOT_FIELD
    } else {
        path
    }
}

fn child_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// The old items of a `x-kubernetes-list-type: map` list by key; other lists don't correlate.
fn correlated_items<'a>(node: &Node, old: Option<&'a Value>) -> Option<HashMap<String, &'a Value>> {
    let items = old?.as_array()?;
    node.shape.map_keys.as_ref()?;
    Some(items.iter().filter_map(|item| Some((map_key(item, node)?, item))).collect())
}

fn map_key(item: &Value, node: &Node) -> Option<String> {
    let keys = node.shape.map_keys.as_ref()?;
    let obj = item.as_object()?;
    let values: Vec<&Value> = keys.iter().map(|k| obj.get(k).unwrap_or(&Value::Null)).collect();
    serde_json::to_string(&values).ok()
}

fn rules(node: &Node, obj: &Value, old: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let shape = &node.shape;
    let env = functions::env();
    let needs_old = old.is_some() && node.rules.iter().any(|r| r.uses_old_self);
    let mut ctx = Context::with_env(env.clone());
    ctx.add_variable_as_val("self", to_val(obj, shape));
    if let (true, Some(old)) = (needs_old, old) {
        ctx.add_variable_as_val("oldSelf", to_val(old, shape));
    }
    // `optionalOldSelf` rules see `oldSelf` as an optional.
    let mut optional_ctx = None;
    for rule in &node.rules {
        if rule.uses_old_self && old.is_none() && !rule.optional_old_self {
            continue;
        }
        let ctx = if rule.optional_old_self && rule.uses_old_self {
            optional_ctx.get_or_insert_with(|| {
                let mut c = Context::with_env(env.clone());
                c.add_variable_as_val("self", to_val(obj, shape));
                let old_val: CelOptional<'_> = match old {
                    Some(old) => CelOptional::of(to_val(old, shape)),
                    None => CelOptional::none(),
                };
                c.add_variable_as_val("oldSelf", Box::new(old_val) as Box<dyn Val + '_>);
                c
            })
        } else {
            &ctx
        };
        let field = display(path);
        let result = match execute(&rule.program, ctx) {
            Ok(CelValue::Bool(true)) => continue,
            Ok(_) => None,
            Err(Failure::Skip(why)) => {
                tracing::debug!(rule = %rule.source, field, %why, "CEL rule skipped");
                continue;
            }
            Err(Failure::Error(err)) => Some(err),
        };
        if let Some(err) = result {
            out.push(evaluation_error(field, &shape.ty, rule, &err));
            continue;
        }
        let field = match &rule.field_path {
            Some(fp) if path.is_empty() => fp.clone(),
            Some(fp) => format!("{path}.{fp}"),
            None => field.to_owned(),
        };
        let detail = message(rule, ctx);
        out.push(failure(field, &shape.ty, rule.reason, detail));
    }
}

enum Failure {
    /// The rule can't run here: an unknown function or variable, or a panic in the engine.
    Skip(String),
    Error(ExecutionError),
}

fn execute(program: &Program, ctx: &Context<'_, '_>) -> Result<CelValue, Failure> {
    match catch_unwind(AssertUnwindSafe(|| program.execute(ctx))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(ExecutionError::UndeclaredReference(name))) => {
            Err(Failure::Skip(format!("undeclared reference to '{name}'")))
        }
        Ok(Err(err)) => Err(Failure::Error(err)),
        Err(_) => Err(Failure::Skip("the CEL engine panicked".into())),
    }
}

/// kube's message for a rule that failed to evaluate.
fn evaluation_error(field: &str, ty: &str, rule: &Rule, err: &ExecutionError) -> Cause {
    let rule_str = if rule.message.is_empty() { &rule.source } else { &rule.message };
    let detail = match err {
        ExecutionError::NoSuchOverload(_)
        | ExecutionError::UnsupportedBinaryOperator(..)
        | ExecutionError::ValuesNotComparable(..)
        | ExecutionError::UnexpectedType { .. } => {
            tracing::debug!(rule = %rule.source, %err, "CEL rule: no such overload");
            format!(
                "'no such overload': call arguments did not match a supported operator, function or macro signature for rule: {rule_str}"
            )
        }
        _ => format!("{} evaluating rule: {rule_str}", describe(err)),
    };
    failure(field.to_owned(), ty, Reason::Invalid, detail)
}

/// An evaluation error worded as cel-go words it, where they differ.
fn describe(err: &ExecutionError) -> String {
    match err {
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".into(),
        ExecutionError::Overflow(..) => "integer overflow".into(),
        ExecutionError::IndexOutOfBounds(i) => format!("index out of bounds: {}", cel_display(i)),
        other => other.to_string(),
    }
}

fn cel_display(v: &CelValue) -> String {
    match v {
        CelValue::Int(i) => i.to_string(),
        CelValue::UInt(u) => u.to_string(),
        CelValue::String(s) => s.to_string(),
        other => format!("{other:?}"),
    }
}

/// The detail of a failed rule: its evaluated `messageExpression`, its `message`, or
/// `failed rule: <rule>`.
fn message(rule: &Rule, ctx: &Context<'_, '_>) -> String {
    if let Some(expr) = &rule.message_expression {
        match execute(expr, ctx) {
            Ok(CelValue::String(s)) => {
                let trimmed = s.trim();
                if !trimmed.is_empty() && trimmed.len() <= MAX_MESSAGE_BYTES && !trimmed.contains('\n') {
                    return trimmed.to_owned();
                }
                tracing::debug!(rule = %rule.source, "messageExpression evaluated to an unusable string");
            }
            Ok(_) => tracing::debug!(rule = %rule.source, "messageExpression failed to convert to string"),
            Err(Failure::Skip(why)) => tracing::debug!(rule = %rule.source, %why, "messageExpression skipped"),
            Err(Failure::Error(err)) => {
                tracing::debug!(rule = %rule.source, %err, "messageExpression evaluation failed")
            }
        }
    }
    if rule.message.is_empty() {
        format!("failed rule: {}", rule.source)
    } else {
        rule.message.clone()
    }
}

/// kube's `fieldErrorForReason`; the value of `Invalid`/`Duplicate` is the schema type.
fn failure(field: String, ty: &str, reason: Reason, detail: String) -> Cause {
    let (reason, message) = match reason {
        Reason::Invalid => ("FieldValueInvalid", format!("Invalid value: \"{ty}\": {detail}")),
        Reason::Forbidden => ("FieldValueForbidden", format!("Forbidden: {detail}")),
        Reason::Required => ("FieldValueRequired", format!("Required value: {detail}")),
        Reason::Duplicate => ("FieldValueDuplicate", format!("Duplicate value: \"{ty}\"")),
    };
    Cause { reason: reason.into(), message, field }
}
