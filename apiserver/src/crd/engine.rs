//! The per-version schema engine of a custom resource: defaulting, pruning,
//! structural validation and CEL rules, compiled once when the CRD is served.

use serde_json::Value;

use super::cel::CelRules;
use super::schema::CompiledSchema;
use crate::error::Cause;

/// Compiled schema and rules of one CRD version.
pub struct Engine {
    schema: Option<CompiledSchema>,
    rules: Option<CelRules>,
}

impl Engine {
    pub fn new(schema: &Value) -> Self {
        if schema.is_null() {
            return Engine { schema: None, rules: None };
        }
        let rules = match CelRules::compile(schema) {
            Ok(r) if !r.is_empty() => Some(r),
            Ok(_) => None,
            Err(e) => {
                // The CRD was validated on write; a rule that no longer compiles is skipped.
                tracing::warn!(errors = e.len(), "CEL rules of a served CRD do not compile");
                None
            }
        };
        Engine { schema: Some(CompiledSchema::new(schema)), rules }
    }

    /// Applies defaults, then prunes unknown fields (returned as `spec.foo` paths).
    pub fn prune_and_default(&self, obj: &mut Value) -> Vec<String> {
        let Some(s) = &self.schema else { return Vec::new() };
        s.apply_defaults(obj);
        s.prune(obj)
    }

    /// Unknown fields of `obj`, without changing it.
    pub fn unknown_fields(&self, obj: &Value) -> Vec<String> {
        let Some(s) = &self.schema else { return Vec::new() };
        let mut o = obj.clone();
        s.prune(&mut o)
    }

    /// Structural, then (when that passes) CEL validation; `old` on update.
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let Some(s) = &self.schema else { return Vec::new() };
        let errs = s.validate(obj);
        if !errs.is_empty() {
            return errs;
        }
        match &self.rules {
            Some(r) => r.validate(obj, old),
            None => Vec::new(),
        }
    }
}

/// kube's validation of a CustomResourceDefinition: structure, names and
/// schemas, then each version's CEL rules must compile.
pub fn validate_crd(crd: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = super::schema::validate_crd(crd, old);
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (i, v) in versions.iter().enumerate() {
        let Some(schema) = v.pointer("/schema/openAPIV3Schema") else { continue };
        if let Err(causes) = CelRules::compile(schema) {
            errs.extend(causes.into_iter().map(|mut c| {
                c.field = format!("spec.versions[{i}].schema.openAPIV3Schema.{}", c.field);
                c
            }));
        }
    }
    errs
}
