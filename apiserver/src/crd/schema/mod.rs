//! Structural schemas of CRDs (apiextensions.k8s.io/v1): validation, pruning and
//! defaulting of custom objects, and validation of CustomResourceDefinition objects.
//!
//! Compile a version's `openAPIV3Schema` once with [`CompiledSchema::new`] and reuse it;
//! the free functions compile on every call and are meant for tests and one-offs.
//!
//! kube-apiserver's order for a custom object on create/update is:
//! [`CompiledSchema::apply_defaults`] (decoding), [`CompiledSchema::prune`] (decoding;
//! the returned paths feed `fieldValidation=Strict|Warn`), metadata validation (caller),
//! [`CompiledSchema::validate`], then CEL rules (`crate::crd::cel`).
//!
//! Messages and field paths follow kube-apiserver (kube-openapi's validator plus
//! apiextensions' conversion to field errors): e.g. `spec.replicas` /
//! `Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
//! Errors without a field (anyOf/oneOf/allOf/not) carry the field `<nil>` as in kube.

mod compiled;
mod crd_list_rules;
mod crd_schema_rules;
mod crd_validation;
mod defaults;
mod format;
mod listtype;
mod messages;
mod prune;
mod scalar;
mod validate;

#[cfg(test)]
mod fixtures_tests;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::error::Cause;

pub use compiled::CompiledSchema;
pub use crd_validation::validate_crd;

/// Validates `obj` against a structural schema (a JSONSchemaProps value such as
/// `crd.spec.versions[i].schema.openAPIV3Schema`). Field paths are relative to the object root.
pub fn validate(schema: &Value, obj: &Value) -> Vec<Cause> {
    CompiledSchema::new(schema).validate(obj)
}

/// Removes fields not in the schema; returns the pruned paths (`spec.foo`), sorted.
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    CompiledSchema::new(schema).prune(obj)
}

/// Applies the schema's `default`s to `obj`.
pub fn apply_defaults(schema: &Value, obj: &mut Value) {
    CompiledSchema::new(schema).apply_defaults(obj)
}
