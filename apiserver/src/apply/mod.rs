//! Server-side apply (structured-merge-diff semantics): field sets,
//! `metadata.managedFields`, and the apply/update merge with ownership and
//! conflicts, as a pure library on `serde_json::Value`.
//!
//! # API
//!
//! * [`apply`]`(live, config, mgr, force, schema, reset)` merges an applied
//!   configuration onto the live object (`None` = create) and returns the new
//!   object with `metadata.managedFields` updated, or an [`ApplyError`]
//!   ([`ApplyError::code`] gives kube's HTTP status: 409 conflicts, 400 bad
//!   request, 500 for configs that do not fit the schema, as kube answers).
//! * [`update`]`(live, new, mgr, schema, reset)` records a non-apply write
//!   (create, PUT, PATCH) as an `operation: Update` entry of `mgr`.
//! * `schema` is the type's [`SsaSchema`], compiled once from its built-in
//!   OpenAPI definition ([`SsaSchema::builtin`]) or a CRD version's inline
//!   schema; `None` deduces types (maps granular, lists atomic).
//!
//! **No-op detection**: when an apply changes nothing, [`apply`] returns the
//! live object itself with managedFields re-encoded and the applier's `time`
//! left as it was (kube only stamps a new time when the object changed), so
//! `result == live` means "nothing to write". An update stamps `time` only
//! when the writer took ownership of some changed field.
//!
//! # Files
//!
//! `path` (path elements, Go order and printing), `fieldset` (set algebra),
//! `fields_v1` (wire format), `compiled` (schemas compiled from OpenAPI),
//! `schema` (the walks' view of a compiled node: list/map types),
//! `tofieldset`, `compare`, `merge`, `remove`, `validate` (typed walks),
//! `ownership` (SMD's Updater), `managed` (managedFields entries), `conflict`
//! (errors), `lastapplied` (client-side apply upgrade), `builtin` +
//! `list_meta` (list types of built-in types, generated from k8s-pb).
//!
//! # Not implemented
//!
//! Conversion between API versions (every manager's set is taken to be at
//! the request's version), schema-change reconciliation of old sets,
//! unions, and the "field not declared in schema" rejection of unknown fields.

pub mod builtin;
mod compare;
mod compiled;
pub mod conflict;
pub mod fields_v1;
pub mod fieldset;
mod lastapplied;
#[rustfmt::skip]
pub mod list_meta;
pub mod managed;
mod merge;
mod ownership;
pub mod path;
mod remove;
pub mod schema;
mod tofieldset;
mod validate;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use conflict::{ApplyError, Conflict};
pub use fieldset::FieldSet;
pub use lastapplied::LAST_APPLIED;
pub use path::PathElement;

pub use compiled::SsaSchema;
use managed::{ManagerId, VersionedSet};
use ownership::Updater;
use schema::Ty;

/// Who is writing: the field manager name, the request's `group/version`,
/// the subresource (`""`, `"status"`, `"scale"`) and the RFC 3339 time to
/// record.
#[derive(Debug, Clone, Copy)]
pub struct Manager<'a> {
    pub name: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub time: &'a str,
}

/// Which fields a request may own and change (kube's per-strategy reset fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResetFields {
    /// Everything.
    #[default]
    None,
    /// The main resource of a type with a status subresource: `status` is
    /// neither owned nor applied.
    Status,
    /// The status subresource: only `status` is owned and applied.
    AllButStatus,
}

fn status_pe() -> PathElement {
    PathElement::Field("status".into())
}

/// The `status` part of a set.
fn status_part(s: &FieldSet) -> FieldSet {
    let mut out = FieldSet::new();
    if s.members.contains(&status_pe()) {
        out.members.insert(status_pe());
    }
    if let Some(c) = s.child(&status_pe()) {
        out.children.insert(status_pe(), c.clone());
    }
    out
}

impl ResetFields {
    /// Removes the fields this request may not own from a set (in place
    /// where it can).
    pub(crate) fn filter(&self, mut s: FieldSet) -> FieldSet {
        match self {
            ResetFields::None => s,
            ResetFields::Status => {
                // `recursive_difference` by the single path `status`.
                let st = status_pe();
                s.members.remove(&st);
                s.children.remove(&st);
                s
            }
            ResetFields::AllButStatus => status_part(&s),
        }
    }

    /// Restores the fields this request may not change from `live`.
    fn reset_values(&self, live: &Value, obj: &mut Value) {
        match self {
            ResetFields::None => {}
            ResetFields::Status => match (live.get("status"), obj.as_object_mut()) {
                (Some(s), Some(o)) => {
                    o.insert("status".into(), s.clone());
                }
                (None, Some(o)) => {
                    o.remove("status");
                }
                _ => {}
            },
            ResetFields::AllButStatus => {
                if live.as_object().is_none_or(Map::is_empty) {
                    return;
                }
                let status = obj.get("status").cloned();
                *obj = live.clone();
                if let Some(o) = obj.as_object_mut() {
                    match status {
                        Some(s) => o.insert("status".into(), s),
                        None => o.remove("status"),
                    };
                }
            }
        }
    }
}

/// The manager name kube uses while computing an update's changes.
const CURRENT_OPERATION: &str = "current-operation";
/// The Update manager that takes the fields of an object applied to for the
/// first time while it has no managedFields.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Fields never recorded for the writing manager (kube's `stripMetaManager`).
fn strip_set() -> &'static FieldSet {
    static STRIP: std::sync::LazyLock<FieldSet> = std::sync::LazyLock::new(build_strip_set);
    &STRIP
}

fn build_strip_set() -> FieldSet {
    let f = |s: &str| PathElement::Field(s.into());
    let mut set: FieldSet = [vec![f("apiVersion")], vec![f("kind")], vec![f("metadata")]].into_iter().collect();
    for m in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[f("metadata"), f(m)]);
    }
    set
}

fn without_managed_fields(obj: Option<&Value>) -> Value {
    let mut v = obj.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(Value::Object(meta)) = v.get_mut("metadata") {
        meta.remove("managedFields");
    }
    v
}

fn set_managed_fields(obj: &mut Value, managed: &managed::Managed) {
    let Some(o) = obj.as_object_mut() else { return };
    match managed::encode(managed) {
        Some(mf) => {
            let meta = o.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(meta) = meta {
                meta.insert("managedFields".into(), mf);
            }
        }
        None => {
            if let Some(Value::Object(meta)) = o.get_mut("metadata") {
                meta.remove("managedFields");
            }
        }
    }
}

/// `apps/v1, Kind=Deployment` (Go's `GroupVersionKind.String()`).
fn gvk_string(obj: &Value) -> String {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    format!("{group}/{version}, Kind={kind}")
}

/// `namespace/name; apps/v1, Kind=Deployment` (kube's `objectGVKNN`).
fn gvknn(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    format!("{}/{}; {}", s("/metadata/namespace"), s("/metadata/name"), gvk_string(obj))
}

/// Records an Update by `id` (kube's managedFieldsUpdater + stripMetaManager
/// around SMD's `Updater.Update`): other managers lose what changed; `id`
/// gains it, and its time is stamped, only if it took something.
fn record_update(
    updater: &Updater<'_>,
    live: &Value,
    new: &Value,
    managed: &mut managed::Managed,
    id: &ManagerId,
    time: &str,
) {
    let current = ManagerId::new(CURRENT_OPERATION, "Update", &id.api_version, &id.subresource);
    let mut taken = updater.update(live, new, &mut managed.fields, &current);
    taken.subtract(strip_set());
    if taken.is_empty() {
        return;
    }
    let previous = managed.fields.remove(id).map(|vs| vs.set).unwrap_or_default();
    let vs = VersionedSet { set: taken.union_with(previous), api_version: id.api_version.clone(), applied: false };
    managed.fields.insert(id.clone(), vs);
    managed.times.insert(id.clone(), time.to_string());
}

/// Server-side apply of `config` (the applied object, already decoded to
/// JSON) onto `live` (`None` = create). Returns the merged object with
/// `metadata.managedFields` updated.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    mgr: &Manager<'_>,
    force: bool,
    schema: Option<&SsaSchema>,
    reset: ResetFields,
) -> Result<Value, ApplyError> {
    let ty = Ty::new(schema);
    if !config.is_object() {
        return Err(ApplyError::BadRequest("error decoding YAML: the apply patch must be an object".into()));
    }
    if config.pointer("/metadata/managedFields").is_some_and(|v| !v.is_null()) {
        return Err(ApplyError::BadRequest("metadata.managedFields must be nil".into()));
    }
    let config_version = config.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let live_kind = live.and_then(|l| l.get("kind")).and_then(Value::as_str);
    let config_kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    if config_version != mgr.api_version || live_kind.is_some_and(|k| k != config_kind) {
        return Err(ApplyError::BadRequest(format!("invalid object type: {}", gvk_string(config))));
    }
    let live_v = without_managed_fields(live);
    let mut managed = managed::decode(live.and_then(|l| l.pointer("/metadata/managedFields")))
        .map_err(|e| ApplyError::BadManagedFields(format!("failed to decode managed fields: {e}")))?;
    validate::validate(config, ty).map_err(|e| {
        ApplyError::InvalidConfig(format!("failed to create typed patch object ({}): {e}", gvknn(config)))
    })?;
    let updater = Updater { ty, reset };
    if managed.fields.is_empty() {
        let id = ManagerId::new(BEFORE_FIRST_APPLY, "Update", mgr.api_version, mgr.subresource);
        record_update(&updater, &Value::Object(Map::new()), &live_v, &mut managed, &id, mgr.time);
    }

    let id = ManagerId::new(mgr.name, "Apply", mgr.api_version, mgr.subresource);
    let mut managers = managed.fields.clone();
    let merged = match updater.apply(&live_v, config, mgr.api_version, &mut managers, &id, force) {
        Err(ApplyError::Conflicts(conflicts)) if mgr.name == lastapplied::KUBECTL => {
            let Some(allowed) = lastapplied::allowed_conflicts(&live_v, mgr.api_version, ty) else {
                return Err(ApplyError::Conflicts(conflicts));
            };
            let rest = lastapplied::remaining(conflicts, &allowed);
            if !rest.is_empty() {
                return Err(ApplyError::Conflicts(rest));
            }
            managers = managed.fields.clone();
            updater.apply(&live_v, config, mgr.api_version, &mut managers, &id, true)?
        }
        other => other?,
    };
    if let Some(vs) = managers.get_mut(&id) {
        vs.set.subtract(strip_set());
        if vs.set.is_empty() {
            managers.remove(&id);
        }
    }

    let mut obj = merged;
    remove::strip_nulls(&mut obj);
    reset.reset_values(&live_v, &mut obj);
    managed.fields = managers;
    if path::values_equal(&obj, &live_v) && live.is_some() {
        obj = live_v;
    } else {
        managed.times.insert(id, mgr.time.to_string());
    }
    if mgr.name == lastapplied::KUBECTL {
        lastapplied::sync_annotation(&mut obj, config);
    }
    set_managed_fields(&mut obj, &managed);
    Ok(obj)
}

/// kube's `isResetManagedFields`: `[]` or `[{}]` clears managedFields.
fn is_reset(mf: Option<&Value>) -> bool {
    match mf {
        Some(Value::Array(a)) if a.is_empty() => true,
        Some(Value::Array(a)) if a.len() == 1 => match &a[0] {
            Value::Object(m) => m.values().all(|v| match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                _ => false,
            }),
            _ => false,
        },
        _ => false,
    }
}

/// Records a non-apply write (create/PUT/PATCH) by `mgr` as an
/// `operation: Update` manager: fields changed between `live` and `new`
/// become `mgr`'s and leave other managers; removed fields leave every set.
/// `new.metadata.managedFields` is rewritten (a client-sent non-empty value
/// replaces the live one, `[]` clears it; subresources always start from the
/// live one). Objects that exist without managedFields are not tracked, as
/// in kube.
pub fn update(
    live: Option<&Value>,
    new: &mut Value,
    mgr: &Manager<'_>,
    schema: Option<&SsaSchema>,
    reset: ResetFields,
) -> Result<(), ApplyError> {
    let live_mf = live.and_then(|l| l.pointer("/metadata/managedFields"));
    let new_mf = new.pointer("/metadata/managedFields").cloned();
    let from_live = || managed::decode(live_mf).unwrap_or_default();
    let mut managed = if !mgr.subresource.is_empty() {
        from_live()
    } else if is_reset(new_mf.as_ref()) {
        managed::Managed::default()
    } else {
        match managed::decode(new_mf.as_ref()) {
            Ok(m) if !m.fields.is_empty() => m,
            _ => from_live(),
        }
    };
    if let Some(Value::Object(meta)) = new.get_mut("metadata") {
        meta.remove("managedFields");
    }
    let live_v = without_managed_fields(live);
    let has_uid = live_v.pointer("/metadata/uid").and_then(Value::as_str).is_some_and(|u| !u.is_empty());
    if managed.fields.is_empty() && has_uid {
        return Ok(());
    }
    let updater = Updater { ty: Ty::new(schema), reset };
    let id = ManagerId::new(mgr.name, "Update", mgr.api_version, mgr.subresource);
    record_update(&updater, &live_v, new, &mut managed, &id, mgr.time);
    managed::cap_update_managers(&mut managed, managed::MAX_UPDATE_MANAGERS);
    set_managed_fields(new, &managed);
    Ok(())
}
