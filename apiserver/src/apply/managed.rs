//! `metadata.managedFields` ⇄ manager sets (kube's `internal/managedfields.go`
//! and `capmanagers.go`): manager identifiers, decoding with kube's errors,
//! encoding with kube's entry order, and the cap on Update managers.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::fields_v1;
use super::fieldset::FieldSet;
use super::path::go_quote;

/// kube's `DefaultMaxUpdateManagers`.
pub const MAX_UPDATE_MANAGERS: usize = 10;
/// The bucket older Update managers are merged into.
pub const ANCIENT_CHANGES: &str = "ancient-changes";

/// Identifies one managedFields entry (kube's manager identifier: the entry
/// without fields and time; Apply entries also without apiVersion).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ManagerId {
    pub manager: String,
    pub operation: String,
    /// Empty for Apply entries.
    pub api_version: String,
    pub subresource: String,
}

impl ManagerId {
    /// The identifier of `name` doing `operation` at `api_version`.
    pub fn new(name: &str, operation: &str, api_version: &str, subresource: &str) -> Self {
        let api_version = if operation == "Apply" { "" } else { api_version };
        ManagerId {
            manager: name.into(),
            operation: operation.into(),
            api_version: api_version.into(),
            subresource: subresource.into(),
        }
    }

    /// Go's JSON identifier string (`{"manager":"m","operation":"Update","apiVersion":"v1"}`),
    /// which orders managers in conflict messages.
    pub fn key(&self) -> String {
        let mut parts = Vec::new();
        for (name, v) in [
            ("manager", &self.manager),
            ("operation", &self.operation),
            ("apiVersion", &self.api_version),
            ("subresource", &self.subresource),
        ] {
            if !v.is_empty() {
                let mut s = format!("\"{name}\":");
                fields_v1::write_go_string(&mut s, v);
                parts.push(s);
            }
        }
        format!("{{{}}}", parts.join(","))
    }
}

/// The fields one manager owns, at an apiVersion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedSet {
    pub set: FieldSet,
    pub api_version: String,
    pub applied: bool,
}

/// All managers' sets and the time each last changed something.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Managed {
    pub fields: BTreeMap<ManagerId, VersionedSet>,
    pub times: BTreeMap<ManagerId, String>,
}

fn str_field<'v>(e: &'v Map<String, Value>, name: &str) -> Result<&'v str, String> {
    match e.get(name) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field ManagedFieldsEntry.{name} of type string",
            json_kind(other)
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        _ => "string",
    }
}

/// Go's `DecodeManagedFields` of a `metadata.managedFields` value.
pub fn decode(v: Option<&Value>) -> Result<Managed, String> {
    let mut managed = Managed::default();
    let entries = match v {
        None | Some(Value::Null) => return Ok(managed),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type []v1.ManagedFieldsEntry",
                json_kind(other)
            ))
        }
    };
    for (i, entry) in entries.iter().enumerate() {
        let Value::Object(e) = entry else {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type v1.ManagedFieldsEntry",
                json_kind(entry)
            ));
        };
        let operation = str_field(e, "operation")?;
        if operation != "Apply" && operation != "Update" {
            return Err("operation must be `Apply` or `Update`".into());
        }
        let api_version = str_field(e, "apiVersion")?;
        if api_version.is_empty() {
            return Err("apiVersion must not be empty".into());
        }
        match str_field(e, "fieldsType")? {
            "FieldsV1" => {}
            "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
            other => return Err(format!("invalid fieldsType {} in managed fields entry {i}", go_quote(other))),
        }
        let id = ManagerId::new(str_field(e, "manager")?, operation, api_version, str_field(e, "subresource")?);
        let set = fields_v1::from_value(e.get("fieldsV1").unwrap_or(&Value::Null))
            .map_err(|err| format!("error decoding versioned set from {}: error decoding set: {err}", entry))?;
        let vs = VersionedSet { set, api_version: api_version.into(), applied: operation == "Apply" };
        match e.get("time").and_then(Value::as_str) {
            Some(t) => managed.times.insert(id.clone(), t.to_string()),
            None => managed.times.remove(&id),
        };
        managed.fields.insert(id, vs);
    }
    Ok(managed)
}

/// Seconds since the epoch of an RFC 3339 time (0 when absent or invalid).
fn seconds(t: Option<&String>) -> i64 {
    t.and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or(0, |t| t.as_second())
}

/// Go's `encodeManagedFields`: entries sorted by operation, time (seconds),
/// manager, apiVersion, subresource; `None` when no manager owns anything.
pub fn encode(managed: &Managed) -> Option<Value> {
    if managed.fields.is_empty() {
        return None;
    }
    let mut entries: Vec<(&ManagerId, &VersionedSet, Option<&String>)> =
        managed.fields.iter().map(|(id, vs)| (id, vs, managed.times.get(id))).collect();
    let operation =
        |id: &ManagerId, vs: &VersionedSet| if vs.applied { "Apply".to_string() } else { id.operation.clone() };
    entries.sort_by(|a, b| {
        operation(a.0, a.1)
            .cmp(&operation(b.0, b.1))
            .then_with(|| seconds(a.2).cmp(&seconds(b.2)))
            .then_with(|| a.0.manager.cmp(&b.0.manager))
            .then_with(|| a.1.api_version.cmp(&b.1.api_version))
            .then_with(|| a.0.subresource.cmp(&b.0.subresource))
    });
    let out = entries
        .into_iter()
        .map(|(id, vs, time)| {
            let mut e = json!({
                "apiVersion": vs.api_version,
                "fieldsType": "FieldsV1",
                "fieldsV1": fields_v1::to_value(&vs.set),
                "operation": operation(id, vs),
            });
            if let Value::Object(m) = &mut e {
                if !id.manager.is_empty() {
                    m.insert("manager".into(), Value::String(id.manager.clone()));
                }
                if !id.subresource.is_empty() {
                    m.insert("subresource".into(), Value::String(id.subresource.clone()));
                }
                if let Some(t) = time {
                    m.insert("time".into(), Value::String(t.clone()));
                }
            }
            e
        })
        .collect();
    Some(Value::Array(out))
}

/// kube's `capUpdateManagers`: while there are more than `max` Update
/// managers, the oldest are merged into per-version `ancient-changes` buckets.
pub fn cap_update_managers(managed: &mut Managed, max: usize) {
    let mut updaters: Vec<ManagerId> =
        managed.fields.iter().filter(|(_, vs)| !vs.applied).map(|(id, _)| id.clone()).collect();
    if updaters.len() <= max {
        return;
    }
    updaters.sort_by(|a, b| {
        seconds(managed.times.get(a)).cmp(&seconds(managed.times.get(b))).then_with(|| a.key().cmp(&b.key()))
    });
    let mut first_of_version: BTreeMap<String, ManagerId> = BTreeMap::new();
    let mut length = updaters.len();
    for id in updaters {
        if length <= max {
            break;
        }
        let Some(vs) = managed.fields.get(&id).cloned() else { continue };
        let time = managed.times.get(&id).cloned();
        let bucket = ManagerId::new(ANCIENT_CHANGES, "Update", &vs.api_version, "");
        match first_of_version.get(&vs.api_version) {
            Some(first) => {
                if !managed.fields.contains_key(&bucket) {
                    if let Some(s) = managed.fields.remove(first) {
                        managed.fields.insert(bucket.clone(), s);
                    }
                }
                let merged = managed.fields.get(&bucket).map_or_else(|| vs.set.clone(), |b| vs.set.union(&b.set));
                managed.fields.insert(bucket.clone(), VersionedSet { set: merged, ..vs });
                managed.fields.remove(&id);
                length -= 1;
                match time {
                    Some(t) => managed.times.insert(bucket, t),
                    None => managed.times.remove(&bucket),
                };
            }
            None => {
                first_of_version.insert(vs.api_version.clone(), id);
            }
        }
    }
}
