//! The custom-resource strategy the shared handlers call: defaulting and
//! pruning, validation (structural schema + CEL), unknown-field reports, and
//! the scale subresource's paths.

use serde_json::Value;

use super::registry;
use crate::catalog::ResourceInfo;
use crate::error::Cause;

/// Prunes and defaults a custom resource (no-op for built-ins).
pub fn defaults(info: &ResourceInfo, obj: &mut Value) {
    let Some(s) = registry::serving(info) else { return };
    if let Some(v) = s.version(info.version) {
        v.engine.prune_and_default(obj);
    }
}

/// Schema and CEL validation of a custom resource (empty for built-ins).
pub fn validate(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let Some(s) = registry::serving(info) else { return Vec::new() };
    match s.version(info.version) {
        Some(v) => v.engine.validate(obj, old),
        None => Vec::new(),
    }
}

/// Fields the schema would prune, in kube's `unknown field "spec.x"` form; `None` for built-ins.
pub fn unknown_fields(info: &ResourceInfo, obj: &Value) -> Option<Vec<String>> {
    let s = registry::serving(info)?;
    let v = s.version(info.version)?;
    Some(v.engine.unknown_fields(obj).into_iter().map(|p| format!("unknown field \"{p}\"")).collect())
}
