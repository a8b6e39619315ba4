//! Strategic merge patch, map side: how a patch object merges into an object,
//! following Go's `strategicpatch.StrategicMergeMapPatch` (server-side options:
//! parallel lists are merged, unmatched `null`s dropped). Maps merge
//! recursively, `null` deletes, lists follow their field's patch strategy (see
//! `strategic_list.rs`), and the directives `$patch`, `$retainKeys`,
//! `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>` apply.

use serde_json::{Map, Value};

use super::strategic_list::{
    element_kind, merge_slice_handler, normalize_element_order, partition, validate_with_set_order,
};
use super::{PatchError, PatchMeta, SchemaCursor};

pub(super) const DIRECTIVE_MARKER: &str = "$patch";
pub(super) const DELETE_DIRECTIVE: &str = "delete";
pub(super) const REPLACE_DIRECTIVE: &str = "replace";
pub(super) const MERGE_DIRECTIVE: &str = "merge";
const RETAIN_KEYS_STRATEGY: &str = "retainKeys";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

/// Decodes a strategic merge patch body: JSON (what kubectl sends), else YAML.
/// `null` is an empty patch, as in Go.
pub(super) fn decode_patch(body: &[u8]) -> Result<Map<String, Value>, PatchError> {
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(json_err) => serde_yaml_ng::from_slice::<Value>(body)
            .map_err(|_| PatchError::Decode(format!("invalid JSON patch: {json_err}")))?,
    };
    match value {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(PatchError::Decode(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind_name(&other)
        ))),
    }
}

/// Applies `patch` to `original` (which must be an object) and strips the
/// directive keys that Go's typed decoding would drop from the result.
pub(super) fn strategic_merge(
    original: &Value,
    patch: Map<String, Value>,
    schema: Option<SchemaCursor<'_>>,
) -> Result<Value, PatchError> {
    let Value::Object(original) = original else {
        return Err(PatchError::Merge("invalid JSON document".into()));
    };
    let mut merged = Value::Object(merge_map(original.clone(), patch, schema)?);
    strip_directives(&mut merged);
    Ok(merged)
}

/// Go's `mergeMap`: merges `patch` into `original`.
pub(super) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Option<SchemaCursor<'_>>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some(REPLACE_DIRECTIVE) => {
                patch.remove(DIRECTIVE_MARKER);
                Ok(patch)
            }
            Some(DELETE_DIRECTIVE) => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, schema)?;

    for (key, patch_value) in patch {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            (extract_key(&key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)?, true)
        } else {
            (key, false)
        };
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(slot) = original.get_mut(&key) else {
            if !is_delete_list {
                insert_patch_value(&mut original, key, patch_value);
            }
            continue;
        };
        // Taken out (and put back) in place so the key keeps its position.
        let current = std::mem::take(slot);
        let merged = match (current, patch_value) {
            (Value::Object(cur), Value::Object(p)) => {
                let (sub, meta) = lookup(schema, |s| s.lookup_struct(&key));
                if list_strategy(&meta)? == REPLACE_DIRECTIVE {
                    Some(Value::Object(p))
                } else {
                    Some(Value::Object(merge_map(cur, p, sub)?))
                }
            }
            (Value::Array(cur), Value::Array(p)) => {
                let (sub, meta) = lookup(schema, |s| s.lookup_slice(&key));
                let strategy = list_strategy(&meta)?;
                Some(Value::Array(merge_slice_handler(cur, p, sub, strategy, meta.merge_key, is_delete_list)?))
            }
            (cur, p) if GoKind::of(&cur) != GoKind::of(&p) => {
                if is_delete_list {
                    Some(cur)
                } else {
                    let mut p = p;
                    discard_null_values(&mut p);
                    remove_directives(p)
                }
            }
            (_, p) => remove_directives(p),
        };
        match merged {
            Some(v) => {
                if let Some(slot) = original.get_mut(&key) {
                    *slot = v;
                }
            }
            None => {
                original.remove(&key);
            }
        }
    }
    Ok(original)
}

/// A value for a key the original lacks: nulls and `$patch` maps are dropped.
fn insert_patch_value(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_null_values(&mut value);
    if let Some(v) = remove_directives(value) {
        original.insert(key, v);
    }
}

/// `$retainKeys`: keys of `original` missing from the list are cleared, and every
/// non-null patch key must be in the list.
fn apply_retain_keys(original: &mut Map<String, Value>, patch: &mut Map<String, Value>) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let bad = || PatchError::Decode("invalid patch format of retainKeys".into());
    let Value::Array(retain) = retain else {
        return Err(bad());
    };
    let retained = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null() || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) || k.starts_with(SET_ELEMENT_ORDER_PREFIX) {
            continue;
        }
        if !retained(k) {
            return Err(bad());
        }
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// `$setElementOrder/<field>`: merges the field's patch list (if any) and then
/// orders the result: the directive's order first, then the patch's, then the
/// original's for server-only elements.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Option<SchemaCursor<'_>>,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX)).cloned().collect();
    for key in keys {
        let Some(order) = patch.remove(&key) else { continue };
        let Value::Array(order) = order else {
            return Err(bad_arg_type("[]interface {}", &order));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER_PREFIX)?;
        let original_list = match original.get(&field) {
            None => None,
            Some(Value::Array(items)) => Some(items.clone()),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let patch_list = match patch.remove(&field) {
            None => None,
            Some(Value::Array(items)) => Some(items),
            Some(other) => return Err(bad_arg_type("[]interface {}", &other)),
        };
        let (sub, meta) = lookup(schema, |s| s.lookup_slice(&field));
        let strategy = list_strategy(&meta)?;
        let merge_key = meta.merge_key;
        validate_with_set_order(patch_list.as_deref().unwrap_or_default(), &order, merge_key)?;
        let server_order = original_list.clone().unwrap_or_default();
        // Go checks element types after merging; compute now, report then.
        let kind = element_kind(&[&server_order, patch_list.as_deref().unwrap_or_default()]);
        let merged = match (original_list, patch_list) {
            (Some(orig), None) => orig,
            (None, Some(p)) => p.into_iter().filter_map(remove_directives).collect(),
            (Some(orig), Some(p)) => merge_slice_handler(orig, p, sub, strategy, merge_key, false)?,
            (None, None) => continue,
        };
        let (patch_items, server_only) = partition(merged, &order, merge_key)?;
        let ordered = normalize_element_order(patch_items, server_only, &order, &server_order, merge_key, kind?)?;
        original.insert(field, Value::Array(ordered));
    }
    Ok(())
}

fn lookup<'a>(
    schema: Option<SchemaCursor<'a>>,
    f: impl FnOnce(&SchemaCursor<'a>) -> (Option<SchemaCursor<'a>>, PatchMeta<'a>),
) -> (Option<SchemaCursor<'a>>, PatchMeta<'a>) {
    schema.map(|s| f(&s)).unwrap_or_default()
}

/// Go's `extractRetainKeysPatchStrategy`: the strategy other than `retainKeys`
/// (which only matters when patches are generated, not applied).
fn list_strategy<'a>(meta: &PatchMeta<'a>) -> Result<&'a str, PatchError> {
    let strategies = meta.strategies();
    match strategies.as_slice() {
        [] => Ok(""),
        [RETAIN_KEYS_STRATEGY] => Ok(""),
        [one] => Ok(one),
        [RETAIN_KEYS_STRATEGY, other] | [other, RETAIN_KEYS_STRATEGY] => Ok(other),
        _ => Err(PatchError::Merge(format!("unexpected patch strategy: [{}]", strategies.join(" ")))),
    }
}

/// `$setElementOrder/containers` → `containers`; a malformed key is a 400.
fn extract_key(key: &str, prefix: &str) -> Result<String, PatchError> {
    match key.split_once('/') {
        Some((head, rest)) if head == prefix => Ok(rest.to_string()),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST_PREFIX => {
            Err(PatchError::Decode("invalid patch format of primitive list".into()))
        }
        _ => Err(PatchError::Decode("invalid patch format of setElementOrder list".into())),
    }
}

/// Go's `removeDirectives`: maps holding `$patch` vanish (`None`), recursively.
pub(super) fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            Some(Value::Object(map.into_iter().filter_map(|(k, v)| remove_directives(v).map(|v| (k, v))).collect()))
        }
        Value::Array(items) => Some(Value::Array(items.into_iter().filter_map(remove_directives).collect())),
        other => Some(other),
    }
}

/// Go's `discardNullValuesFromPatch`: drops null members of objects, recursively.
fn discard_null_values(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(discard_null_values);
        }
        Value::Array(items) => items.iter_mut().for_each(discard_null_values),
        _ => {}
    }
}

/// Removes directive keys left in parts of the result Go copies verbatim from
/// the patch (replaced maps and lists, new list elements): kube-apiserver's
/// typed decoding drops them as unknown fields, so they never reach storage.
fn strip_directives(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| {
                k != DIRECTIVE_MARKER
                    && k != RETAIN_KEYS_DIRECTIVE
                    && !k.starts_with(SET_ELEMENT_ORDER_PREFIX)
                    && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            });
            map.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

/// The dynamic type a value has after Go's JSON decoding (ints and floats differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GoKind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
}

impl GoKind {
    pub(super) fn of(value: &Value) -> GoKind {
        match value {
            Value::Null => GoKind::Null,
            Value::Bool(_) => GoKind::Bool,
            Value::Number(n) if n.is_f64() => GoKind::Float,
            Value::Number(_) => GoKind::Int,
            Value::String(_) => GoKind::String,
            Value::Array(_) => GoKind::Slice,
            Value::Object(_) => GoKind::Map,
        }
    }
}

fn json_kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's `ErrBadArgType` text, with Go's names for the dynamic types.
pub(super) fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    let actual = match GoKind::of(actual) {
        GoKind::Null => "<nil>",
        GoKind::Bool => "bool",
        GoKind::Int => "int64",
        GoKind::Float => "float64",
        GoKind::String => "string",
        GoKind::Slice => "[]interface {}",
        GoKind::Map => "map[string]interface {}",
    };
    PatchError::Merge(format!("expected a {expected}, but received a {actual}"))
}

/// Go's `ErrNoMergeKey` text.
pub(super) fn no_merge_key(map: &Map<String, Value>, key: &str) -> PatchError {
    PatchError::Merge(format!("map: {} does not contain declared merge key: {key}", go_fmt_map(map)))
}

pub(super) fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> PatchError {
    PatchError::Merge(format!("unknown patch type: {} in map: {}", go_fmt(directive), go_fmt_map(map)))
}

/// A value the way Go's `%v` prints decoded JSON (`map[k:v]`, `[a b]`, `<nil>`).
pub(super) fn go_fmt(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => go_fmt_map(map),
        other => other.to_string(),
    }
}

fn go_fmt_map(map: &Map<String, Value>) -> String {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{}", go_fmt(v))).collect();
    format!("map[{}]", body.join(" "))
}
