//! Upgrading from client-side apply (kube's `lastappliedmanager.go` and
//! `lastappliedupdater.go`), only for the field manager `kubectl`:
//! conflicts on fields recorded in the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation, whose value still matches the live object, are not conflicts
//! (the apply is retried with force); and after a successful apply the
//! annotation, if present, is rewritten to the new applied configuration.

use serde_json::Value;

use super::compare::compare;
use super::conflict::Conflict;
use super::fields_v1::go_json;
use super::fieldset::FieldSet;
use super::schema::Ty;
use super::tofieldset::to_field_set;

/// The client-side apply annotation.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The only manager whose applies upgrade from client-side apply.
pub const KUBECTL: &str = "kubectl";

fn annotation(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/annotations")?.get(LAST_APPLIED)?.as_str().filter(|s| !s.is_empty())
}

/// The fields of the last-applied configuration whose values the live object
/// still has: conflicts on these are allowed. `None` when there is no usable
/// annotation.
pub fn allowed_conflicts(live: &Value, api_version: &str, ty: Ty<'_>) -> Option<FieldSet> {
    let last: Value = serde_json::from_str(annotation(live)?).ok()?;
    if last.get("apiVersion").and_then(Value::as_str).unwrap_or("") != api_version {
        return None;
    }
    super::validate::validate(&last, ty).ok()?;
    let set = to_field_set(&last, ty);
    let cmp = compare(&last, live, ty);
    Some(set.difference(&cmp.modified).difference(&cmp.added).difference(&cmp.removed))
}

/// The conflicts whose path is not in `allowed`.
pub fn remaining(conflicts: Vec<Conflict>, allowed: &FieldSet) -> Vec<Conflict> {
    conflicts.into_iter().filter(|c| !allowed.has(&c.raw)).collect()
}

/// Rewrites the annotation of `obj` (if it has one) to `config` without the
/// annotation, encoded as kube's unstructured JSON encoder does (compact,
/// sorted keys, trailing newline).
pub fn sync_annotation(obj: &mut Value, config: &Value) {
    if annotation(obj).is_none() {
        return;
    }
    let mut applied = config.clone();
    if let Some(Value::Object(a)) = applied.pointer_mut("/metadata/annotations") {
        // Like Go, an annotations map left empty stays (`"annotations":{}`).
        a.remove(LAST_APPLIED);
    }
    let text = format!("{}\n", go_json(&applied));
    if let Some(Value::Object(a)) = obj.pointer_mut("/metadata/annotations") {
        a.insert(LAST_APPLIED.into(), Value::String(text));
    }
}
