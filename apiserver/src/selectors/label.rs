//! Label selectors: the string grammar of k8s.io/apimachinery/pkg/labels
//! (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`)
//! and metav1.LabelSelector (`matchLabels` / `matchExpressions`).
//!
//! Error texts follow apimachinery v0.34 byte for byte, because kubectl shows
//! them to the user as the server's BadRequest message.

use serde_json::Value;

use super::label_parse::Parser;
use super::validation::{go_quote, is_label_value_errors, qualified_name_errors};

/// A selector that failed to parse or validate; the text is Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One `key op values` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

/// How a value list is rendered in a field error: the parser hands Go's
/// validator an empty non-nil slice (`[]`), metav1.LabelSelector a nil one (`null`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum EmptyList {
    Brackets,
    Null,
}

impl Requirement {
    /// labels.NewRequirement: validates key, operator arity and values.
    pub fn new(key: &str, op: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        Self::build(key, op, values, EmptyList::Null)
    }

    pub(super) fn build(key: &str, op: Operator, values: Vec<String>, empty: EmptyList) -> Result<Self, SelectorError> {
        let mut errs: Vec<String> = Vec::new();
        let key_errs = qualified_name_errors(key);
        if !key_errs.is_empty() {
            errs.push(format!("key: Invalid value: {}: {}", go_quote(key), key_errs.join("; ")));
        }
        let list = render_list(&values, empty);
        match op {
            Operator::In | Operator::NotIn if values.is_empty() => errs
                .push(format!("values: Invalid value: {list}: for 'in', 'notin' operators, values set can't be empty")),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
                errs.push(format!("values: Invalid value: {list}: exact-match compatibility requires one single value"))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => errs
                .push(format!("values: Invalid value: {list}: values set must be empty for exists and does not exist")),
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(format!(
                        "values: Invalid value: {list}: for 'Gt', 'Lt' operators, exactly one value is required"
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(format!(
                            "values[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value must be an integer",
                            go_quote(v)
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            let v_errs = is_label_value_errors(v);
            if !v_errs.is_empty() {
                errs.push(format!("values[{i}][{key}]: Invalid value: {}: {}", go_quote(v), v_errs.join("; ")));
            }
        }
        if errs.is_empty() {
            Ok(Self { key: key.to_string(), op, values })
        } else {
            Err(SelectorError(aggregate(errs)))
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn operator(&self) -> Operator {
        self.op
    }
    pub fn values(&self) -> &[String] {
        &self.values
    }

    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let found = labels.iter().find(|(k, _)| *k == self.key).map(|(_, v)| v.as_str());
        match self.op {
            Operator::In | Operator::Equals | Operator::DoubleEquals => found.is_some_and(|v| self.has(v)),
            Operator::NotIn | Operator::NotEquals => found.is_none_or(|v| !self.has(v)),
            Operator::Exists => found.is_some(),
            Operator::DoesNotExist => found.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                // Unparseable label or requirement values never match (Go logs and returns false).
                let (Some(have), [want]) = (found.and_then(|v| v.parse::<i64>().ok()), self.values.as_slice()) else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else { return false };
                if self.op == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }

    fn has(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.op == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.op {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        let mut vals = self.values.clone();
        vals.sort();
        let joined = vals.join(",");
        match self.op {
            Operator::In | Operator::NotIn => write!(f, "{op}({joined})"),
            _ => write!(f, "{op}{joined}"),
        }
    }
}

/// A parsed label selector: an AND of requirements, or `Nothing` (a null
/// metav1.LabelSelector, which matches no object).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// Matches every object.
    pub fn everything() -> Self {
        Self::default()
    }
    /// Matches no object.
    pub fn nothing() -> Self {
        Self { reqs: Vec::new(), nothing: true }
    }

    /// labels.Parse.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Parser::new(s).parse()?;
        // Go sorts by key for a deterministic String(); keep equal keys in input order.
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { reqs, nothing: false })
    }

    /// metav1.LabelSelectorAsSelector over the JSON form. `null` is Nothing;
    /// `{}` is Everything.
    pub fn from_label_selector_json(v: &Value) -> Result<Self, SelectorError> {
        let obj = match v {
            Value::Null => return Ok(Self::nothing()),
            Value::Object(o) => o,
            other => return Err(SelectorError(format!("invalid label selector: expected an object, got {other}"))),
        };
        let mut reqs = Vec::new();
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(ml)) => {
                for (k, v) in ml {
                    let v = v.as_str().ok_or_else(|| {
                        SelectorError(format!("invalid label selector: matchLabels[{k}] must be a string"))
                    })?;
                    reqs.push(Requirement::new(k, Operator::Equals, vec![v.to_string()])?);
                }
            }
            Some(_) => return Err(SelectorError("invalid label selector: matchLabels must be an object".into())),
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for e in exprs {
                    reqs.push(expression(e)?);
                }
            }
            Some(_) => return Err(SelectorError("invalid label selector: matchExpressions must be an array".into())),
        }
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { reqs, nothing: false })
    }

    /// True when the selector does not restrict anything (Nothing is not empty).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.reqs.is_empty()
    }
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }
    pub fn requirements(&self) -> &[Requirement] {
        &self.reqs
    }

    /// `labels` is the object's label set (see [`labels_of`]).
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        !self.nothing && self.reqs.iter().all(|r| r.matches(labels))
    }

    /// The single value a selector pins `key` to (`=`, `==` or a one-value `in`).
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.reqs.iter().find(|r| r.key == key)?;
        match (r.op, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.reqs.iter().map(|r| r.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

/// The object's `metadata.labels`, sorted by key (string values only).
pub fn labels_of(obj: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn expression(e: &Value) -> Result<Requirement, SelectorError> {
    let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
    let op_name = e.get("operator").and_then(Value::as_str).unwrap_or_default();
    let op = match op_name {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => return Err(SelectorError(format!("{} is not a valid label selector operator", go_quote(other)))),
    };
    let values = match e.get("values") {
        Some(Value::Array(vs)) => vs.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect(),
        _ => Vec::new(),
    };
    Requirement::new(key, op, values)
}

fn render_list(values: &[String], empty: EmptyList) -> String {
    if values.is_empty() && empty == EmptyList::Null {
        return "null".into();
    }
    serde_json::to_string(values).unwrap_or_else(|_| "[]".into())
}

/// utilerrors.NewAggregate(...).Error(): one error bare, several de-duplicated in brackets.
fn aggregate(errs: Vec<String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    if seen.len() == 1 {
        seen.remove(0)
    } else {
        format!("[{}]", seen.join(", "))
    }
}

#[cfg(test)]
#[path = "label_tests.rs"]
mod tests;
