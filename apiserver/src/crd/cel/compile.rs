//! Compiling the `x-kubernetes-validations` of a schema into a tree of [`Node`]s that mirrors
//! the schema only where rules are: a node is kept if it, or a node beneath it, has rules.

use super::field_path;
use super::functions;
use super::shape::{Shape, ShapeCache, MAX_DEPTH};
use crate::error::Cause;
use cel::Program;
use serde_json::Value;
use std::sync::Arc;

/// One compiled rule.
pub(super) struct Rule {
    /// The rule's source, trimmed.
    pub source: String,
    pub program: Program,
    /// `message`, trimmed; empty if unset.
    pub message: String,
    pub message_expression: Option<Program>,
    pub reason: Reason,
    /// The normalized `fieldPath` (`spec.replicas`, `foo[bar]`), if set.
    pub field_path: Option<String>,
    /// The rule references `oldSelf`: a transition rule.
    pub uses_old_self: bool,
    /// `optionalOldSelf: true`: runs on create too, with `oldSelf` an optional.
    pub optional_old_self: bool,
}

/// The `reason` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    Invalid,
    Forbidden,
    Required,
    Duplicate,
}

/// A schema node with rules at or beneath it.
pub(super) struct Node {
    /// The node's typing, for converting its values (shared with the shape tree).
    pub shape: Arc<Shape>,
    pub rules: Vec<Rule>,
    pub properties: Vec<(String, Node)>,
    pub items: Option<Box<Node>>,
    pub additional: Option<Box<Node>>,
    /// The rules of `allOf` entries, run against the same value.
    pub all_of: Vec<Node>,
}

/// Whether any `x-kubernetes-validations` is set anywhere in `schema`.
pub(super) fn has_rules(schema: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match schema {
        Value::Object(map) => map.iter().any(|(k, v)| {
            (k == "x-kubernetes-validations" && v.as_array().is_some_and(|a| !a.is_empty())) || has_rules(v, depth + 1)
        }),
        Value::Array(items) => items.iter().any(|v| has_rules(v, depth + 1)),
        _ => false,
    }
}

pub(super) struct Compiler {
    pub shapes: ShapeCache,
    pub errors: Vec<Cause>,
}

impl Compiler {
    /// Compiles the rules of `rules_schema` (the node, or one of its `allOf` entries) for values
    /// typed by `type_schema`. `path` is the schema path of `rules_schema` for errors.
    pub(super) fn node(
        &mut self,
        rules_schema: &Value,
        type_schema: &Value,
        resource_root: bool,
        path: &str,
        depth: usize,
    ) -> Option<Node> {
        if depth > MAX_DEPTH || !has_rules(rules_schema, 0) {
            return None;
        }
        let shape = self.shapes.shape(type_schema, resource_root, depth);
        let rules = self.rules(rules_schema, &shape, path);
        let mut properties = Vec::new();
        if let (Some(props), Some(types)) = (
            rules_schema.get("properties").and_then(Value::as_object),
            type_schema.get("properties").and_then(Value::as_object),
        ) {
            for (name, prop) in props {
                let Some(prop_type) = types.get(name) else { continue };
                let embedded = prop_type.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true);
                let child_path = join(path, &format!("properties[{name}]"));
                if let Some(node) = self.node(prop, prop_type, embedded, &child_path, depth + 1) {
                    properties.push((name.clone(), node));
                }
            }
        }
        let child = |this: &mut Self, field: &str| -> Option<Box<Node>> {
            let (rules, types) = (rules_schema.get(field)?, type_schema.get(field)?);
            let embedded = types.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true);
            this.node(rules, types, embedded, &join(path, field), depth + 1).map(Box::new)
        };
        let items = child(self, "items");
        let additional = child(self, "additionalProperties");
        let mut all_of = Vec::new();
        if let Some(entries) = rules_schema.get("allOf").and_then(Value::as_array) {
            for (i, entry) in entries.iter().enumerate() {
                let entry_path = join(path, &format!("allOf[{i}]"));
                if let Some(node) = self.node(entry, type_schema, resource_root, &entry_path, depth + 1) {
                    all_of.push(node);
                }
            }
        }
        let empty = rules.is_empty() && properties.is_empty() && items.is_none() && additional.is_none();
        (!empty || !all_of.is_empty()).then_some(Node { shape, rules, properties, items, additional, all_of })
    }

    fn rules(&mut self, schema: &Value, shape: &Shape, path: &str) -> Vec<Rule> {
        let Some(list) = schema.get("x-kubernetes-validations").and_then(Value::as_array) else {
            return Vec::new();
        };
        let env = functions::env();
        let mut rules = Vec::with_capacity(list.len());
        for (i, raw) in list.iter().enumerate() {
            let rule_path = join(path, &format!("x-kubernetes-validations[{i}]"));
            let text = |name: &str| raw.get(name).and_then(Value::as_str).unwrap_or("");
            let source = text("rule").trim();
            if source.is_empty() {
                self.errors.push(Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value: rule is not specified".into(),
                    field: join(&rule_path, "rule"),
                });
                continue;
            }
            let program = match env.compile(source) {
                Ok(program) => program,
                Err(err) => {
                    let detail = format!("compilation failed: {err}");
                    self.errors.push(invalid_rule(join(&rule_path, "rule"), raw, &detail));
                    continue;
                }
            };
            let message_expression = match text("messageExpression").trim() {
                "" => None,
                expr => match env.compile(expr) {
                    Ok(program) => Some(program),
                    Err(err) => {
                        let detail = format!("messageExpression compilation failed: {err}");
                        self.errors.push(invalid_rule(join(&rule_path, "messageExpression"), raw, &detail));
                        None
                    }
                },
            };
            let field_path = match text("fieldPath") {
                "" => None,
                fp => match field_path::normalize(fp, shape) {
                    Ok(normalized) => Some(normalized),
                    Err(err) => {
                        let detail = format!("fieldPath must be a valid path: {err}");
                        self.errors.push(Cause::invalid(join(&rule_path, "fieldPath"), fp, detail));
                        continue;
                    }
                },
            };
            let reason = match text("reason") {
                "FieldValueForbidden" => Reason::Forbidden,
                "FieldValueRequired" => Reason::Required,
                "FieldValueDuplicate" => Reason::Duplicate,
                _ => Reason::Invalid,
            };
            let uses_old_self = program.references().has_variable("oldSelf");
            rules.push(Rule {
                source: source.to_owned(),
                program,
                message: text("message").trim().to_owned(),
                message_expression,
                reason,
                field_path,
                uses_old_self,
                optional_old_self: raw.get("optionalOldSelf").and_then(Value::as_bool) == Some(true),
            });
        }
        rules
    }
}

fn join(path: &str, child: &str) -> String {
    if path.is_empty() {
        child.to_owned()
    } else {
        format!("{path}.{child}")
    }
}

/// `Invalid value: <rule>: <detail>`, the rule printed unquoted as Go prints a struct.
fn invalid_rule(field: String, raw: &Value, detail: &str) -> Cause {
    Cause { reason: "FieldValueInvalid".into(), message: format!("Invalid value: {}: {detail}", go_rule(raw)), field }
}

/// A rule printed the way Go's `%#v` prints an `apiextensions.ValidationRule`, as kube's
/// `field.Invalid` does for the value of a CRD error.
fn go_rule(raw: &Value) -> String {
    let text = |name: &str| raw.get(name).and_then(Value::as_str).unwrap_or("");
    let pointer = |name: &str, ty: &str| match raw.get(name) {
        None | Some(Value::Null) => format!("({ty})(nil)"),
        Some(_) => format!("({ty})(0xc000000000)"),
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{:?}, Message:{:?}, MessageExpression:{:?}, Reason:{}, FieldPath:{:?}, OptionalOldSelf:{}}}",
        text("rule"),
        text("message"),
        text("messageExpression"),
        pointer("reason", "*apiextensions.FieldValueErrorReason"),
        text("fieldPath"),
        pointer("optionalOldSelf", "*bool"),
    )
}
