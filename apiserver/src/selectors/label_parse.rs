//! The label selector string grammar: apimachinery's hand-written lexer and
//! recursive-descent parser (pkg/labels/selector.go, v0.34), including its
//! quirks, since its error texts reach kubectl users verbatim.

use super::label::{EmptyList, Operator, Requirement, SelectorError};
use super::validation::{go_quote, qualified_name_errors};

// ---- lexer -------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Error,
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosedPar,
        "," => Tok::Comma,
        "!" => Tok::DoesNotExist,
        "==" => Tok::DoubleEquals,
        "=" => Tok::Equals,
        ">" => Tok::GreaterThan,
        "in" => Tok::In,
        "<" => Tok::LessThan,
        "!=" => Tok::NotEquals,
        "notin" => Tok::NotIn,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}
fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Tokenizes the whole input; the last item is always `End`.
fn lex_all(s: &str) -> Vec<(Tok, String)> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < b.len() && is_ws(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            out.push((Tok::End, String::new()));
            return out;
        }
        let start = pos;
        if is_special(b[pos]) {
            // Longest run of special symbols that still forms an operator ("!=", "==").
            let mut last: Option<(Tok, usize)> = None;
            while pos < b.len() && is_special(b[pos]) {
                pos += 1;
                match keyword(&s[start..pos]) {
                    Some(t) => last = Some((t, pos)),
                    None if last.is_some() => {
                        pos -= 1;
                        break;
                    }
                    None => {}
                }
            }
            match last {
                Some((t, end)) => out.push((t, s[start..end].to_string())),
                None => out.push((Tok::Error, format!("error expected: keyword found '{}'", &s[start..pos]))),
            }
        } else {
            while pos < b.len() && !is_special(b[pos]) && !is_ws(b[pos]) {
                pos += 1;
            }
            let lit = &s[start..pos];
            out.push((keyword(lit).unwrap_or(Tok::Identifier), lit.to_string()));
        }
    }
}

// ---- parser ------------------------------------------------------------

/// In value position `in`/`notin` are plain identifiers (`x in (in)`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

pub(super) struct Parser {
    items: Vec<(Tok, String)>,
    pos: usize,
}

fn err(msg: String) -> SelectorError {
    SelectorError(msg)
}

impl Parser {
    pub(super) fn new(s: &str) -> Self {
        Self { items: lex_all(s), pos: 0 }
    }

    fn look(&self, ctx: Ctx) -> (Tok, String) {
        let i = self.pos.min(self.items.len().saturating_sub(1));
        let (t, l) = self.items.get(i).cloned().unwrap_or((Tok::End, String::new()));
        (Self::in_ctx(t, ctx), l)
    }
    fn consume(&mut self, ctx: Ctx) -> (Tok, String) {
        let r = self.look(ctx);
        self.pos += 1;
        r
    }
    fn in_ctx(t: Tok, ctx: Ctx) -> Tok {
        match (ctx, t) {
            (Ctx::Values, Tok::In | Tok::NotIn) => Tok::Identifier,
            _ => t,
        }
    }

    /// The requirements in input order.
    pub(super) fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut reqs = Vec::new();
        loop {
            let (t, lit) = self.look(Ctx::Values);
            match t {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self.requirement().map_err(|e| err(format!("unable to parse requirement: {}", e.0)))?;
                    reqs.push(r);
                    let (t, l) = self.consume(Ctx::Values);
                    match t {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.look(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(err(format!("found '{l2}', expected: identifier after ','")));
                            }
                        }
                        _ => return Err(err(format!("found '{l}', expected: ',' or 'end of string'"))),
                    }
                }
                Tok::End => return Ok(reqs),
                _ => return Err(err(format!("found '{lit}', expected: !, identifier, or 'end of string'"))),
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, inferred) = self.key_and_inferred_operator()?;
        if let Some(op) = inferred {
            return Requirement::build(&key, op, Vec::new(), EmptyList::Brackets);
        }
        let op = self.operator()?;
        let mut values = match op {
            Operator::In | Operator::NotIn => self.values()?,
            _ => self.exact_value()?,
        };
        // Go collects values in a sets.String and hands over its sorted List().
        values.sort();
        values.dedup();
        Requirement::build(&key, op, values, EmptyList::Brackets)
    }

    fn key_and_inferred_operator(&mut self) -> Result<(String, Option<Operator>), SelectorError> {
        let (mut t, mut lit) = self.consume(Ctx::Values);
        let negated = t == Tok::DoesNotExist;
        if negated {
            (t, lit) = self.consume(Ctx::Values);
        }
        if t != Tok::Identifier {
            return Err(err(format!("found '{lit}', expected: identifier")));
        }
        let key_errs = qualified_name_errors(&lit);
        if !key_errs.is_empty() {
            // The parser's field path is nil, which Go prints as "<nil>".
            return Err(err(format!("<nil>: Invalid value: {}: {}", go_quote(&lit), key_errs.join("; "))));
        }
        let (next, _) = self.look(Ctx::Values);
        // A negated key is complete by itself: in "!a=b" the "=" is then reported
        // by the caller as "expected: ',' or 'end of string'", as in Go.
        let op = if negated {
            Some(Operator::DoesNotExist)
        } else if matches!(next, Tok::End | Tok::Comma) {
            Some(Operator::Exists)
        } else {
            None
        };
        Ok((lit, op))
    }

    fn operator(&mut self) -> Result<Operator, SelectorError> {
        let (t, lit) = self.consume(Ctx::KeyAndOperator);
        Ok(match t {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => return Err(err(format!("found '{lit}', expected: in, notin, =, ==, !=, gt, lt"))),
        })
    }

    fn values(&mut self) -> Result<Vec<String>, SelectorError> {
        let (t, lit) = self.consume(Ctx::Values);
        if t != Tok::OpenPar {
            return Err(err(format!("found '{lit}' expected: '('")));
        }
        let (t, lit) = self.look(Ctx::Values);
        match t {
            Tok::Identifier | Tok::Comma => {
                let s = self.identifiers_list()?;
                let (t, _) = self.consume(Ctx::Values);
                if t != Tok::ClosedPar {
                    return Err(err(format!("found '{lit}', expected: ')'")));
                }
                Ok(s)
            }
            Tok::ClosedPar => {
                self.consume(Ctx::Values);
                Ok(vec![String::new()])
            }
            _ => Err(err(format!("found '{lit}', expected: ',', ')' or identifier"))),
        }
    }

    /// A (possibly empty) comma-separated list of (possibly empty) identifiers.
    fn identifiers_list(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut s: Vec<String> = Vec::new();
        loop {
            let (t, lit) = self.consume(Ctx::Values);
            match t {
                Tok::Identifier => {
                    s.push(lit);
                    let (t2, l2) = self.look(Ctx::Values);
                    match t2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(s),
                        _ => return Err(err(format!("found '{l2}', expected: ',' or ')'"))),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        s.push(String::new()); // "(,"
                    }
                    let (t2, _) = self.look(Ctx::Values);
                    if t2 == Tok::ClosedPar {
                        s.push(String::new()); // ",)"
                        return Ok(s);
                    }
                    if t2 == Tok::Comma {
                        // v0.34 consumes the second comma here (",,").
                        self.consume(Ctx::Values);
                        s.push(String::new());
                    }
                }
                _ => return Err(err(format!("found '{lit}', expected: ',', or identifier"))),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        let (t, _) = self.look(Ctx::Values);
        if matches!(t, Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        let (t, lit) = self.consume(Ctx::Values);
        if t == Tok::Identifier {
            return Ok(vec![lit]);
        }
        Err(err(format!("found '{lit}', expected: identifier")))
    }
}
