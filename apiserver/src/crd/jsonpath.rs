//! The JSONPath subset CRDs use in `additionalPrinterColumns[].jsonPath` and
//! the scale subresource paths: `.a.b`, `['a.b']`, `.a\.b`, `[0]`, `[*]` and
//! `[?(@.type=="Ready")]` filters.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
    /// `[?(@.<path> == "value")]` (also `!=`).
    Filter {
        path: Vec<String>,
        value: Value,
        negate: bool,
    },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath(Vec<Step>);

fn parse_literal(s: &str) -> Value {
    let s = s.trim();
    if let Some(q) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Value::from(q);
    }
    if let Some(q) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Value::from(q);
    }
    serde_json::from_str(s).unwrap_or_else(|_| Value::from(s))
}

impl JsonPath {
    /// Parses `.spec.replicas` (a surrounding `{…}` is accepted too).
    pub fn parse(src: &str) -> Result<JsonPath, String> {
        let s = src.trim();
        let s = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(s);
        let s = s.strip_prefix('$').unwrap_or(s);
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        let mut steps = Vec::new();
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let mut name = String::new();
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        name.push(chars[i]);
                        i += 1;
                    }
                    if name.is_empty() {
                        return Err(format!("invalid JSONPath {src:?}: empty field name"));
                    }
                    steps.push(Step::Field(name));
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("invalid JSONPath {src:?}: unclosed ["))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if inner == "*" {
                        steps.push(Step::All);
                    } else if let Some(f) = inner.strip_prefix("?(").and_then(|r| r.strip_suffix(')')) {
                        let (lhs, rhs, negate) = match (f.split_once("!="), f.split_once("==")) {
                            (Some((l, r)), _) => (l, r, true),
                            (None, Some((l, r))) => (l, r, false),
                            _ => return Err(format!("invalid JSONPath {src:?}: unsupported filter")),
                        };
                        let path = lhs
                            .trim()
                            .strip_prefix('@')
                            .ok_or_else(|| format!("invalid JSONPath {src:?}: filter must start with @"))?
                            .split('.')
                            .filter(|p| !p.is_empty())
                            .map(str::to_string)
                            .collect();
                        steps.push(Step::Filter { path, value: parse_literal(rhs), negate });
                    } else if let Some(q) = inner
                        .strip_prefix('\'')
                        .and_then(|r| r.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
                    {
                        steps.push(Step::Field(q.to_string()));
                    } else {
                        let n: i64 =
                            inner.parse().map_err(|_| format!("invalid JSONPath {src:?}: bad index {inner:?}"))?;
                        steps.push(Step::Index(n));
                    }
                    i = close + 1;
                }
                c => return Err(format!("invalid JSONPath {src:?}: unexpected {c:?}")),
            }
        }
        Ok(JsonPath(steps))
    }

    /// Every value the path selects.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut cur = vec![root];
        for step in &self.0 {
            let mut next = Vec::new();
            for v in cur {
                match step {
                    Step::Field(name) => next.extend(v.get(name.as_str())),
                    Step::Index(n) => {
                        if let Some(a) = v.as_array() {
                            let idx = if *n < 0 { a.len() as i64 + n } else { *n };
                            next.extend(usize::try_from(idx).ok().and_then(|i| a.get(i)));
                        }
                    }
                    Step::All => match v {
                        Value::Array(a) => next.extend(a.iter()),
                        Value::Object(m) => next.extend(m.values()),
                        _ => {}
                    },
                    Step::Filter { path, value, negate } => {
                        if let Some(a) = v.as_array() {
                            for item in a {
                                let mut x = Some(item);
                                for p in path {
                                    x = x.and_then(|x| x.get(p.as_str()));
                                }
                                if (x == Some(value)) != *negate {
                                    next.push(item);
                                }
                            }
                        }
                    }
                }
            }
            cur = next;
        }
        cur
    }

    /// The first match.
    pub fn first<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.find(root).into_iter().next()
    }
}

/// Sets the value at a simple `.a.b.c` path, creating objects on the way.
pub fn set_simple(root: &mut Value, path: &str, value: Value) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('.').split('.').filter(|p| !p.is_empty()).collect();
    let Some((last, head)) = parts.split_last() else { return false };
    let mut cur = root;
    for p in head {
        let Some(o) = cur.as_object_mut() else { return false };
        cur = o.entry(p.to_string()).or_insert_with(|| Value::Object(Default::default()));
    }
    match cur.as_object_mut() {
        Some(o) => {
            o.insert(last.to_string(), value);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_fields_indexes_and_filters() {
        let obj = json!({"spec": {"replicas": 3, "c": [{"image": "a"}, {"image": "b"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]},
            "metadata": {"labels": {"app.kubernetes.io/name": "x"}}});
        let get = |p: &str| JsonPath::parse(p).expect(p).first(&obj).cloned();
        assert_eq!(get(".spec.replicas"), Some(json!(3)));
        assert_eq!(get(".spec.c[1].image"), Some(json!("b")));
        assert_eq!(get(".spec.c[-1].image"), Some(json!("b")));
        assert_eq!(get(".status.conditions[?(@.type==\"Synced\")].status"), Some(json!("False")));
        assert_eq!(get(".metadata.labels.app\\.kubernetes\\.io/name"), Some(json!("x")));
        assert_eq!(get(".metadata.labels['app.kubernetes.io/name']"), Some(json!("x")));
        assert_eq!(get("{.spec.missing}"), None);
        assert_eq!(JsonPath::parse(".spec.c[*].image").expect("all").find(&obj).len(), 2);
        assert!(JsonPath::parse(".spec[").is_err());
    }

    #[test]
    fn sets_nested_paths() {
        let mut obj = json!({"spec": {}});
        assert!(set_simple(&mut obj, ".spec.workers.replicas", json!(4)));
        assert_eq!(obj, json!({"spec": {"workers": {"replicas": 4}}}));
    }
}
