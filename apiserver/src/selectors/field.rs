//! Field selectors: k8s.io/apimachinery/pkg/fields (`a=b`, `a==b`, `a!=b`,
//! comma-separated, values escaped with `\`). Only equality is supported, as
//! in kube; which field names a resource accepts is the registry's business
//! (see `registry::fields`).

/// A field selector that failed to parse; the text is Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldSelectorError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// `=` or `==`.
    Equals,
    /// `!=`.
    NotEquals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

impl FieldRequirement {
    fn matches(&self, fields: &[(&str, String)]) -> bool {
        // A field the object does not have reads as "" (fields.Set.Get).
        let have = fields.iter().find(|(k, _)| *k == self.field).map(|(_, v)| v.as_str()).unwrap_or("");
        match self.op {
            FieldOp::Equals => have == self.value,
            FieldOp::NotEquals => have != self.value,
        }
    }
}

/// An AND of field requirements; empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    reqs: Vec<FieldRequirement>,
}

impl FieldSelector {
    pub fn everything() -> Self {
        Self::default()
    }

    /// fields.ParseSelector.
    pub fn parse(selector: &str) -> Result<Self, FieldSelectorError> {
        let mut parts = split_terms(selector);
        // Go sorts the raw terms, which fixes the order errors are found in.
        parts.sort();
        let mut reqs = Vec::new();
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(FieldSelectorError(format!("invalid selector: '{selector}'; can't understand '{part}'")));
            };
            let value = unescape_value(rhs)?;
            // hasTerm.Transform with the identity function turns a term with an
            // empty field and value into Everything, which is then dropped.
            if lhs.is_empty() && value.is_empty() {
                continue;
            }
            reqs.push(FieldRequirement { field: lhs.to_string(), op, value });
        }
        Ok(Self { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.reqs
    }

    /// `fields` is the object's field set (see `registry::fields::field_set`).
    pub fn matches(&self, fields: &[(&str, String)]) -> bool {
        self.reqs.iter().all(|r| r.matches(fields))
    }

    /// The value an `=` term pins `field` to.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.reqs.iter().find(|r| r.field == field && r.op == FieldOp::Equals).map(|r| r.value.as_str())
    }

    /// Checks every field name against a supported list, failing on the first
    /// unsupported one with kube's most common text (`field label not supported: x`).
    /// Resources with their own wording go through `registry::fields::convert_selector`.
    pub fn check_supported(&self, supported: &[&str]) -> Result<(), String> {
        match self.reqs.iter().find(|r| !supported.contains(&r.field.as_str())) {
            Some(r) => Err(format!("field label not supported: {}", r.field)),
            None => Ok(()),
        }
    }

    /// Selector.Transform: rewrites each (field, value); a term mapped to an
    /// empty field and value is dropped.
    pub fn transform<F>(&self, mut f: F) -> Result<Self, String>
    where
        F: FnMut(&str, &str) -> Result<(String, String), String>,
    {
        let mut reqs = Vec::with_capacity(self.reqs.len());
        for r in &self.reqs {
            let (field, value) = f(&r.field, &r.value)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            reqs.push(FieldRequirement { field, op: r.op, value });
        }
        Ok(Self { reqs })
    }
}

impl std::fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> = self
            .reqs
            .iter()
            .map(|r| {
                let op = if r.op == FieldOp::Equals { "=" } else { "!=" };
                format!("{}{op}{}", r.field, escape_value(&r.value))
            })
            .collect();
        f.write_str(&terms.join(","))
    }
}

/// fields.EscapeValue.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// fields.UnescapeValue.
pub fn unescape_value(s: &str) -> Result<String, FieldSelectorError> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(FieldSelectorError(format!("invalid field selector: invalid escape sequence: \\{c}")));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go formats the rune with %v, i.e. as its code point number.
            ',' | '=' => {
                return Err(FieldSelectorError(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                )))
            }
            c => out.push(c),
        }
    }
    if in_slash {
        return Err(FieldSelectorError("invalid field selector: invalid escape sequence: \\".into()));
    }
    Ok(out)
}

/// Splits on commas that are not escaped.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// The first operator, trying `!=`, `==`, `=` at each position.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (tok, op) in [("!=", FieldOp::NotEquals), ("==", FieldOp::Equals), ("=", FieldOp::Equals)] {
            if let Some(rhs) = rest.strip_prefix(tok) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn parses_valid_selectors() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("a!=b", "a!=b"),
            ("b=2,a=1", "a=1,b=2"),
            ("a=", "a="),
            ("=", ""),
            ("a=b,", "a=b"),
            (",a=b", "a=b"),
            ("a=\\,\\=\\\\", "a=\\,\\=\\\\"),
            ("spec.nodeName=,status.phase!=Running", "spec.nodeName=,status.phase!=Running"),
        ];
        for (input, want) in cases {
            let s = FieldSelector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(s.to_string(), *want, "{input}");
        }
        let s = FieldSelector::parse("a=x\\,y").expect("escaped comma");
        assert_eq!(s.requirements()[0].value, "x,y");
        assert_eq!(s.requirements().len(), 1);
        let s = FieldSelector::parse("metadata.name!=").expect("empty value");
        assert_eq!(s.requirements()[0].op, FieldOp::NotEquals);
        assert_eq!(s.requirements()[0].value, "");
    }

    #[test]
    fn reports_go_errors() {
        let cases: &[(&str, &str)] = &[
            ("a", "invalid selector: 'a'; can't understand 'a'"),
            ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
            ("a=b=c", "invalid field selector: unescaped character in value: 61"),
            ("a=\\x", "invalid field selector: invalid escape sequence: \\x"),
            ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
            ("a in (b)", "invalid selector: 'a in (b)'; can't understand 'a in (b)'"),
        ];
        for (input, want) in cases {
            let e = FieldSelector::parse(input).expect_err(input);
            assert_eq!(e.to_string(), *want, "{input}");
        }
    }

    #[test]
    fn matching() {
        let fields = set(&[("metadata.name", "web"), ("status.phase", "Running")]);
        let m = |s: &str| FieldSelector::parse(s).expect("parse").matches(&fields);
        assert!(m(""));
        assert!(m("metadata.name=web"));
        assert!(m("metadata.name==web,status.phase=Running"));
        assert!(!m("metadata.name=db"));
        assert!(m("status.phase!=Pending"));
        assert!(!m("status.phase!=Running"));
        // Missing fields read as "".
        assert!(m("spec.nodeName="));
        assert!(!m("spec.nodeName!="));
        assert!(!m("metadata.name=web,status.phase=Pending"));
    }

    #[test]
    fn supported_and_transform() {
        let s = FieldSelector::parse("spec.foo=1,metadata.name=a").expect("parse");
        assert_eq!(
            s.check_supported(&["metadata.name", "metadata.namespace"]),
            Err("field label not supported: spec.foo".to_string())
        );
        assert!(s.check_supported(&["metadata.name", "spec.foo"]).is_ok());
        let t = s
            .transform(|f, v| Ok((if f == "spec.foo" { "spec.bar".into() } else { f.into() }, v.into())))
            .expect("transform");
        assert_eq!(t.to_string(), "metadata.name=a,spec.bar=1");
        assert_eq!(t.requires_exact_match("metadata.name"), Some("a"));
        assert_eq!(t.requires_exact_match("x"), None);
    }
}
