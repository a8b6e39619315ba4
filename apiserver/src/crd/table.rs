//! Table output of custom resources: Name plus the version's
//! `additionalPrinterColumns` (default: Age), as kube's CRD table convertor.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::jsonpath::JsonPath;
use super::registry::{CrdVersion, PrinterColumn};
use crate::table::duration;

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// The column definitions (Name first).
pub fn columns(v: &CrdVersion) -> Vec<Value> {
    let mut out = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0}),
    ];
    for c in &v.columns {
        out.push(json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}));
    }
    out
}

fn go_print(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn cell(c: &PrinterColumn, obj: &Value, now: Timestamp) -> Value {
    let Ok(path) = JsonPath::parse(&c.json_path) else { return Value::Null };
    let Some(v) = path.first(obj) else { return Value::Null };
    match c.kind.as_str() {
        "string" => Value::from(go_print(v)),
        "integer" => v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).map_or(Value::Null, Value::from),
        "number" => v.as_f64().map_or(Value::Null, Value::from),
        "boolean" => v.as_bool().map_or(Value::Null, Value::from),
        "date" => match duration::parse_time(Some(v)) {
            Some(t) => Value::from(duration::human_duration(now.duration_since(t))),
            None => Value::Null,
        },
        _ => v.clone(),
    }
}

/// One row's cells.
pub fn cells(v: &CrdVersion, obj: &Value, now: Timestamp) -> Vec<Value> {
    let name = obj.pointer("/metadata/name").cloned().unwrap_or_else(|| Value::from(""));
    let mut out = vec![name];
    out.extend(v.columns.iter().map(|c| cell(c, obj, now)));
    out
}
