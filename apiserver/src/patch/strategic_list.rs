//! Strategic merge patch, list side: lists with the `merge` strategy merge by
//! merge key (maps) or as a union (primitives), honour `$patch` elements and
//! `$deleteFromPrimitiveList`, and come out in Go's order: patch elements in
//! patch order, interleaved with server-only elements kept in their original
//! order (an element new to the list lands before the server-only elements that
//! follow the last patch element already present). Other lists are replaced.

use serde_json::Value;

use super::strategic::{
    bad_arg_type, bad_patch_type, go_fmt, merge_map, no_merge_key, GoKind, DELETE_DIRECTIVE, DIRECTIVE_MARKER,
    MERGE_DIRECTIVE, REPLACE_DIRECTIVE,
};
use super::{PatchError, SchemaCursor};

const MAP_TYPE: &str = "map[string]interface {}";

/// Go's `mergeSliceHandler`: merge when the strategy is `merge` (or for a
/// `$deleteFromPrimitiveList` list), otherwise the patch list replaces.
pub(super) fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Option<SchemaCursor<'_>>,
    strategy: &str,
    merge_key: &str,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if strategy == MERGE_DIRECTIVE || is_delete_list {
        merge_slice(original, patch, schema, merge_key, is_delete_list)
    } else {
        Ok(patch)
    }
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Option<SchemaCursor<'_>>,
    merge_key: &str,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&[&original, &patch])?;
    if kind != GoKind::Map {
        if is_delete_list {
            return Ok(original.into_iter().filter(|v| !patch.contains(v)).collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        let (patch_items, server_only) = partition(merged, &patch, merge_key)?;
        return normalize_element_order(patch_items, server_only, &patch, &original, merge_key, kind);
    }
    if merge_key.is_empty() {
        let name = schema.map(|s| s.name()).unwrap_or_default();
        return Err(PatchError::Merge(format!("cannot merge lists without merge key for {name}")));
    }
    let (original, patch) = apply_special_elements(original, patch, merge_key)?;
    let merged = merge_by_key(original.clone(), patch.clone(), schema, merge_key)?;
    let (patch_items, server_only) = partition(merged, &patch, merge_key)?;
    normalize_element_order(patch_items, server_only, &patch, &original, merge_key, kind)
}

/// Go's `mergeSliceWithSpecialElements`: `$patch: delete` elements remove every
/// original element with their key; `$patch: replace` makes the rest of the
/// patch list the whole list. Returns the new (original, patch) pair.
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Value::Object(map) = &v else {
            return Err(bad_arg_type(MAP_TYPE, &v));
        };
        let Some(directive) = map.get(DIRECTIVE_MARKER) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => {
                let Some(key_value) = map.get(merge_key) else {
                    return Err(no_merge_key(map, merge_key));
                };
                original.retain(|o| o.get(merge_key) != Some(key_value));
            }
            // Keep scanning: the other `$patch` elements still have to be pruned.
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => {
                return Err(PatchError::Merge("merging lists cannot yet be specified in the patch".into()));
            }
            _ => return Err(bad_patch_type(directive, map)),
        }
    }
    Ok(if replace { (plain, Vec::new()) } else { (original, plain) })
}

/// Go's `mergeSliceWithoutSpecialElements`: each patch element merges into the
/// first original element with the same key, or is appended.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    schema: Option<SchemaCursor<'_>>,
    merge_key: &str,
) -> Result<Vec<Value>, PatchError> {
    for v in patch {
        let Value::Object(p) = v else {
            return Err(bad_arg_type(MAP_TYPE, &v));
        };
        let Some(key_value) = p.get(merge_key).cloned() else {
            return Err(no_merge_key(&p, merge_key));
        };
        match find_by_key(&original, merge_key, &key_value)? {
            Some(i) => {
                if let Some(Value::Object(cur)) = original.get_mut(i) {
                    let merged = merge_map(std::mem::take(cur), p, schema)?;
                    *cur = merged;
                }
            }
            None => original.push(Value::Object(p)),
        }
    }
    Ok(original)
}

/// Go's `findMapInSliceBasedOnKeyValue`.
fn find_by_key(list: &[Value], merge_key: &str, key_value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(map) = v else {
            return Err(PatchError::Merge(format!("value for key {i} is not a map")));
        };
        if map.get(merge_key) == Some(key_value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Splits `list` into (elements present in `by`, the others), matching maps by
/// merge key and primitives (empty `merge_key`) by value.
pub(super) fn partition(
    list: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut present = Vec::with_capacity(list.len());
    let mut absent = Vec::new();
    for v in list {
        let found = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let Value::Object(map) = &v else {
                return Err(bad_arg_type(MAP_TYPE, &v));
            };
            let Some(key_value) = map.get(merge_key) else {
                return Err(no_merge_key(map, merge_key));
            };
            find_by_key(by, merge_key, key_value)?.is_some()
        };
        if found {
            present.push(v);
        } else {
            absent.push(v);
        }
    }
    Ok((present, absent))
}

/// Go's `sliceElementType`: the common kind of all elements; lists of lists are
/// refused (422) and mixed kinds are an error.
pub(super) fn element_kind(lists: &[&[Value]]) -> Result<GoKind, PatchError> {
    let mut kind = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let k = GoKind::of(v);
        match kind {
            None if k == GoKind::Slice => return Err(PatchError::Apply("lists of lists are not supported".into())),
            None => kind = Some(k),
            Some(prev) if prev != k => {
                let all: Vec<String> = lists.iter().map(|l| go_fmt(&Value::Array(l.to_vec()))).collect();
                return Err(PatchError::Merge(format!("list element types are not identical: [{}]", all.join(" "))));
            }
            Some(_) => {}
        }
    }
    kind.ok_or_else(|| PatchError::Merge("no elements in any of the given slices".into()))
}

/// Go's `validatePatchWithSetOrderList`: the patch list's elements (minus
/// directives) must appear in `$setElementOrder` in the same relative order.
pub(super) fn validate_with_set_order(patch: &[Value], order: &[Value], merge_key: &str) -> Result<(), PatchError> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let mut plain = Vec::with_capacity(patch.len());
    for v in patch {
        if merge_key.is_empty() {
            plain.push(v);
            continue;
        }
        let Value::Object(map) = v else {
            return Err(bad_arg_type(MAP_TYPE, v));
        };
        if map.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some(DELETE_DIRECTIVE) {
            plain.push(v);
        }
    }
    let (mut pi, mut si) = (0, 0);
    while pi < plain.len() && si < order.len() {
        if plain[pi].get(DIRECTIVE_MARKER).is_some() {
            pi += 1;
            continue;
        }
        if merge_key_equal(plain[pi], &order[si], merge_key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < plain.len() && si >= order.len() {
        return Err(PatchError::Merge(format!(
            "The order in patch list:\n{}\n doesn't match $setElementOrder list:\n{}\n",
            go_fmt(&Value::Array(patch.to_vec())),
            go_fmt(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

fn merge_key_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let key_of = |v: &Value| -> Result<Value, PatchError> {
        let Value::Object(map) = v else {
            return Err(bad_arg_type(MAP_TYPE, v));
        };
        map.get(merge_key).cloned().ok_or_else(|| no_merge_key(map, merge_key))
    };
    Ok(key_of(left)? == key_of(right)?)
}

/// Go's `normalizeElementOrder`: sorts the patch elements by `patch_order` and
/// the server-only ones by `server_order`, then interleaves them.
pub(super) fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoKind,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = sort_by_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = sort_by_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted(server_only, patch_items, server_order, merge_key, kind))
}

/// Go's `normalizeSliceOrder`: a stable sort by position in `order`; for maps,
/// `$patch: delete` elements go last.
fn sort_by_order(list: Vec<Value>, order: &[Value], merge_key: &str, kind: GoKind) -> Result<Vec<Value>, PatchError> {
    let (mut keep, deleted) = if kind == GoKind::Map {
        for v in list.iter().chain(order.iter()) {
            let Value::Object(map) = v else {
                return Err(bad_arg_type(MAP_TYPE, v));
            };
            if !map.contains_key(merge_key) {
                return Err(no_merge_key(map, merge_key));
            }
        }
        list.into_iter().partition(|v| v.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some(DELETE_DIRECTIVE))
    } else {
        (list, Vec::new())
    };
    // Elements missing from `order` cannot happen for lists built by the merge;
    // they sort first, keeping their relative order.
    keep.sort_by_key(|v| index_of(order, v, merge_key, kind).map_or(-1, |i| i as i64));
    keep.extend(deleted);
    Ok(keep)
}

/// Go's `mergeSortedSlice`: inserts each server-only element (`left`) before the
/// first patch element (`right`) that comes after it in `server_order`; a patch
/// element that is not in `server_order` goes first.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: GoKind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (index_of(server_order, l, merge_key, kind), index_of(server_order, r, merge_key, kind)) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// Go's `index`: position of `item` in `list`, by merge key for maps.
fn index_of(list: &[Value], item: &Value, merge_key: &str, kind: GoKind) -> Option<usize> {
    if kind == GoKind::Map {
        let wanted = key_of(item, merge_key);
        list.iter().position(|v| key_of(v, merge_key) == wanted)
    } else {
        list.iter().position(|v| v == item)
    }
}

fn key_of<'v>(value: &'v Value, merge_key: &str) -> Option<&'v Value> {
    value.as_object().and_then(|m| m.get(merge_key))
}
