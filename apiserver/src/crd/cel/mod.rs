//! CEL validation rules (`x-kubernetes-validations`) of CRD schemas, as kube-apiserver runs them
//! (`apiextensions-apiserver/pkg/apiserver/schema/cel`), on the `cel` crate.
//!
//! [`CelRules::compile`] compiles every rule of one `openAPIV3Schema` once, reporting CRD
//! validation errors; [`CelRules::validate`] runs them against a custom object (after
//! defaulting and pruning) and, on update, its old version.
//!
//! # Values
//!
//! `self` is the value at the rule's node, typed by the schema (see [`convert`]): objects with
//! `properties` are maps of their declared properties under their escaped names
//! (`namespace` → `__namespace__`, `a-b` → `a__dash__b`), objects with `additionalProperties`
//! and `x-kubernetes-preserve-unknown-fields` objects maps of all their keys, `integer` ints,
//! `number` doubles, `format: date-time`/`date` strings timestamps, `duration` strings
//! durations, `byte` strings bytes; int-or-string values stay whichever they are. At the root
//! (and in embedded resources) `apiVersion`, `kind`, `metadata.name` and
//! `metadata.generateName` are visible.
//!
//! # Transition rules
//!
//! A rule that references `oldSelf` runs only on update, and only where an old value
//! correlates with the new one: object properties and map values by key, and items of
//! `x-kubernetes-list-type: map` lists by their map keys (other lists never correlate).
//! `optionalOldSelf: true` makes it run on create too, `oldSelf` being an optional.
//!
//! # Failures
//!
//! As kube reports them: the field is the node's path (`spec`, `spec.ports[0]`,
//! `spec.labels[app]`; [`ROOT_FIELD`] (`<nil>`) at the root) plus the rule's `fieldPath`; the
//! reason is the rule's `reason` (`FieldValueInvalid` by default); the message
//! `Invalid value: "<schema type>": <detail>`, `Forbidden: <detail>`, `Required value: <detail>`
//! or `Duplicate value: "<schema type>"`, where the detail is the evaluated
//! `messageExpression`, else `message`, else `failed rule: <rule>`. A rule that fails to
//! evaluate is reported as `Invalid value: "<type>": <error> evaluating rule: <rule>` (or
//! `'no such overload': call arguments did not match …` for a type mismatch).
//!
//! A rule that calls a function (or names a variable) this engine doesn't know — e.g. the
//! `format`/`semver` libraries, two-variable comprehensions — is skipped with a
//! `tracing::debug!` rather than rejecting the object; so is a rule whose evaluation panics
//! inside the `cel` crate. Without a type checker, compilation catches syntax errors only, and
//! a rule evaluating to a non-bool fails like `false`. Cost limits are not enforced.
//!
//! # Functions
//!
//! See [`functions`]: the CEL standard library, the `strings`/`lists`/`math` extensions,
//! optionals (`self.?x.orValue(…)`), and Kubernetes' list, regex, quantity, IP/CIDR and URL
//! libraries and the sets extension.

mod compile;
mod convert;
mod field_path;
pub(crate) mod functions;
mod shape;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fixtures;
#[cfg(test)]
mod tests_functions;

use crate::error::Cause;
use serde_json::Value;

pub use validate::ROOT_FIELD;

/// All rules of one schema (`spec.versions[i].schema.openAPIV3Schema`), compiled once per CRD
/// version. Cheap to keep and share (`Send + Sync`); empty when the schema has no rules.
pub struct CelRules {
    root: Option<compile::Node>,
}

impl std::fmt::Debug for CelRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelRules").field("empty", &self.is_empty()).finish()
    }
}

impl CelRules {
    /// Compiles every rule (and `messageExpression`, and checks every `fieldPath`) found anywhere
    /// in `schema` — `properties`, `items`, `additionalProperties`, `allOf`.
    ///
    /// Errors are CRD validation causes, their fields relative to the schema, e.g.
    /// `properties[spec].x-kubernetes-validations[0].rule` with the message
    /// `Invalid value: apiextensions.ValidationRule{Rule:"self.a <", …}: compilation failed: ERROR: …`;
    /// the caller prefixes them with `spec.versions[i].schema.openAPIV3Schema.`.
    pub fn compile(schema: &Value) -> Result<CelRules, Vec<Cause>> {
        if !compile::has_rules(schema, 0) {
            return Ok(CelRules { root: None });
        }
        let mut compiler = compile::Compiler { shapes: Default::default(), errors: Vec::new() };
        let root = compiler.node(schema, schema, true, "", 0);
        if compiler.errors.is_empty() {
            Ok(CelRules { root })
        } else {
            Err(compiler.errors)
        }
    }

    /// Whether there is no rule to run.
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// Runs the rules against `obj` (a custom object, after defaulting and pruning) and, on
    /// update, `old`; returns the failures, empty if all pass. See the module docs.
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            validate::node(root, obj, old, "", &mut out);
        }
        out
    }
}
