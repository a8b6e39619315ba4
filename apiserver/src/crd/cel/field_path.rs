//! A rule's `fieldPath` (`.spec.replicas`, `.labels['app.kubernetes.io/name']`): checked against
//! the schema and normalized to the form kube prints it in a field error (`spec.replicas`,
//! `labels[app.kubernetes.io/name]`), as kube's `ValidFieldPath` does.

use super::shape::Shape;

/// Normalizes `path`, relative to the node typed by `shape`; errors read like kube's.
pub(super) fn normalize(path: &str, shape: &Shape) -> Result<String, String> {
    let tokens = tokenize(path);
    let mut tokens = tokens.iter().map(String::as_str);
    let mut out = String::new();
    let mut shape = shape;
    while let Some(tok) = tokens.next() {
        let name = match tok {
            "[" => {
                let quoted = tokens.next().ok_or("unexpected end of JSON path")?;
                let inner = quoted
                    .strip_prefix('\'')
                    .and_then(|q| q.strip_suffix('\''))
                    .filter(|_| quoted.len() >= 2)
                    .ok_or_else(|| format!("expected single quoted string but got {quoted}"))?;
                let name = unescape(inner).map_err(|e| format!("invalid string literal: {e}"))?;
                match tokens.next() {
                    Some("]") => {}
                    Some(other) => return Err(format!("expected ] but got {other}")),
                    None => return Err("unexpected end of JSON path".into()),
                }
                name
            }
            "." => tokens.next().ok_or("unexpected end of JSON path")?.to_owned(),
            other => return Err(format!("expected [ or . but got: {other}")),
        };
        if let Some(props) = &shape.properties {
            let prop = &props.get(&name).ok_or("does not refer to a valid field")?.shape;
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&name);
            shape = prop;
        } else if let Some(additional) = &shape.additional {
            out.push_str(&format!("[{name}]"));
            shape = additional;
        } else {
            return Err("does not refer to a valid field".into());
        }
    }
    Ok(out)
}

/// Splits on `.`, `[` and `]`, keeping single-quoted strings whole.
fn tokenize(path: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in path.chars() {
        if current.starts_with('\'') {
            current.push(c);
            if c == '\'' && !current.ends_with("\\'") {
                tokens.push(std::mem::take(&mut current));
            }
            continue;
        }
        match c {
            '.' | '[' | ']' => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
                tokens.push(c.to_string());
            }
            '\'' if current.is_empty() => current.push(c),
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('a') => '\u{7}',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('v') => '\u{b}',
            Some('\'') => '\'',
            Some('\\') => '\\',
            Some(other) => return Err(format!("invalid escape char \\{other}")),
            None => return Err("invalid escape char \\".into()),
        });
    }
    Ok(out)
}
