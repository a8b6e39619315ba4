//! [`SchemaCursor`]: a position in OpenAPI definitions, used by strategic merge
//! patch to find each field's patch strategy and merge key. Like Go's
//! `PatchMetaFromOpenAPI`, the extensions are read from the field's own
//! (property) schema, before its `$ref` is followed.

use serde_json::{Map, Value};

/// The OpenAPI extension that carries a field's `patchStrategy` struct tag.
pub const PATCH_STRATEGY_EXTENSION: &str = "x-kubernetes-patch-strategy";
/// The OpenAPI extension that carries a field's `patchMergeKey` struct tag.
pub const PATCH_MERGE_KEY_EXTENSION: &str = "x-kubernetes-patch-merge-key";

/// How many `$ref`/`allOf` hops one resolution may take: a guard against
/// reference cycles in malformed definitions.
const MAX_RESOLVE_HOPS: usize = 32;

/// The patch metadata of one field: the raw strategy (`merge`, `retainKeys`,
/// `merge,retainKeys`, `replace`, or "" for none) and the merge key ("" for none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatchMeta<'a> {
    pub strategy: &'a str,
    pub merge_key: &'a str,
}

impl<'a> PatchMeta<'a> {
    pub(crate) fn of(property: &'a Value) -> Self {
        let ext = |name: &str| property.get(name).and_then(Value::as_str).unwrap_or_default();
        PatchMeta { strategy: ext(PATCH_STRATEGY_EXTENSION), merge_key: ext(PATCH_MERGE_KEY_EXTENSION) }
    }

    /// The comma-separated strategies, as Go's `GetPatchStrategies` returns them.
    pub fn strategies(&self) -> Vec<&'a str> {
        if self.strategy.is_empty() {
            Vec::new()
        } else {
            self.strategy.split(',').collect()
        }
    }
}

/// A node in a set of OpenAPI definitions (v2 `definitions` or v3
/// `components.schemas` shape; both reference styles resolve against the same map).
#[derive(Debug, Clone, Copy)]
pub struct SchemaCursor<'a> {
    defs: &'a Map<String, Value>,
    node: &'a Value,
}

impl<'a> SchemaCursor<'a> {
    /// A cursor on the definition named `definition`, e.g. `io.k8s.api.core.v1.Pod`.
    pub fn new(defs: &'a Map<String, Value>, definition: &str) -> Option<Self> {
        defs.get(definition).map(|node| SchemaCursor { defs, node })
    }

    /// A cursor on an arbitrary schema node whose references resolve in `defs`.
    pub fn from_node(defs: &'a Map<String, Value>, node: &'a Value) -> Self {
        SchemaCursor { defs, node }
    }

    /// A cursor on `node`, another node of the same definitions.
    pub fn with_node(&self, node: &'a Value) -> Self {
        SchemaCursor { defs: self.defs, node }
    }

    /// The schema node as given (possibly a `$ref` or `allOf` wrapper).
    pub fn node(&self) -> &'a Value {
        self.node
    }

    /// The node after following `$ref` and single-`allOf` wrappers; `None` when a
    /// reference does not resolve.
    pub fn resolved(&self) -> Option<&'a Value> {
        let mut cur = self.node;
        for _ in 0..MAX_RESOLVE_HOPS {
            if let Some(reference) = cur.get("$ref").and_then(Value::as_str) {
                cur = self.defs.get(definition_name(reference))?;
            } else if let Some(first) = cur.get("allOf").and_then(Value::as_array).and_then(|a| a.first()) {
                // kube's OpenAPI wraps a `$ref` in `allOf` to give it siblings
                // (description, default); Go follows the first element only.
                cur = first;
            } else {
                return Some(cur);
            }
        }
        None
    }

    /// The name of the definition the node refers to (for error messages).
    pub fn name(&self) -> String {
        let reference = self.node.get("$ref").or_else(|| self.node.pointer("/allOf/0/$ref"));
        match reference.and_then(Value::as_str) {
            Some(r) => definition_name(r).to_string(),
            None => self.node.get("type").and_then(Value::as_str).unwrap_or("Struct").to_string(),
        }
    }

    /// The schema of field `key` of an object and the field's patch metadata.
    /// Map-typed objects (`additionalProperties`) give their value schema and no
    /// metadata. `None` for unknown fields: the caller treats them as untyped.
    pub fn field(&self, key: &str) -> Option<(SchemaCursor<'a>, PatchMeta<'a>)> {
        let node = self.resolved()?;
        if let Some(property) = node.get("properties").and_then(|p| p.get(key)) {
            return Some((SchemaCursor { defs: self.defs, node: property }, PatchMeta::of(property)));
        }
        match node.get("additionalProperties") {
            Some(values @ Value::Object(_)) => {
                Some((SchemaCursor { defs: self.defs, node: values }, PatchMeta::default()))
            }
            _ => None,
        }
    }

    /// The element schema of an array node.
    pub fn items(&self) -> Option<SchemaCursor<'a>> {
        let items = self.resolved()?.get("items")?;
        items.is_object().then_some(SchemaCursor { defs: self.defs, node: items })
    }

    /// Go's `LookupPatchMetadataForStruct`: the field's schema and metadata.
    pub fn lookup_struct(&self, key: &str) -> (Option<SchemaCursor<'a>>, PatchMeta<'a>) {
        match self.field(key) {
            Some((schema, meta)) => (Some(schema), meta),
            None => (None, PatchMeta::default()),
        }
    }

    /// Go's `LookupPatchMetadataForSlice`: the list field's element schema and
    /// the field's metadata.
    pub fn lookup_slice(&self, key: &str) -> (Option<SchemaCursor<'a>>, PatchMeta<'a>) {
        match self.field(key) {
            Some((schema, meta)) => (schema.items(), meta),
            None => (None, PatchMeta::default()),
        }
    }
}

/// `#/definitions/<name>`, `#/components/schemas/<name>` (or schemars'
/// `#/$defs/<name>`) → `<name>`. Definition names never contain `/`.
fn definition_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Map<String, Value> {
        let defs = json!({
            "io.k8s.api.core.v1.Pod": {"properties": {
                "spec": {"allOf": [{"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec"}], "description": "x"},
                "metadata": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
            }},
            "io.k8s.api.core.v1.PodSpec": {"properties": {
                "containers": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container"},
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name"
                },
                "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}}
            }},
            "io.k8s.api.core.v1.Container": {"properties": {"name": {"type": "string"}}},
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"properties": {
                "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"}
            }},
            "loop": {"$ref": "#/definitions/loop"}
        });
        match defs {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn walks_refs_allof_items_and_extensions() {
        let defs = defs();
        let pod = SchemaCursor::new(&defs, "io.k8s.api.core.v1.Pod").unwrap();
        let (spec, meta) = pod.lookup_struct("spec");
        assert_eq!(meta, PatchMeta::default());
        let spec = spec.unwrap();
        assert_eq!(spec.name(), "io.k8s.api.core.v1.PodSpec");
        let (container, meta) = spec.lookup_slice("containers");
        assert_eq!(meta, PatchMeta { strategy: "merge", merge_key: "name" });
        assert_eq!(container.unwrap().name(), "io.k8s.api.core.v1.Container");
        assert!(container.unwrap().field("name").is_some());

        let (metadata, _) = pod.lookup_struct("metadata");
        let (_, fin) = metadata.unwrap().lookup_slice("finalizers");
        assert_eq!(fin.strategies(), vec!["merge"]);
        assert_eq!(fin.merge_key, "");
    }

    #[test]
    fn maps_unknown_fields_and_cycles() {
        let defs = defs();
        let spec = SchemaCursor::new(&defs, "io.k8s.api.core.v1.PodSpec").unwrap();
        let (values, meta) = spec.lookup_struct("nodeSelector");
        assert_eq!(meta, PatchMeta::default());
        let (value, _) = values.unwrap().lookup_struct("any-key");
        assert_eq!(value.unwrap().node(), &json!({"type": "string"}));
        assert!(spec.lookup_struct("unknown").0.is_none());
        assert!(SchemaCursor::new(&defs, "missing").is_none());
        let looping = SchemaCursor::new(&defs, "loop").unwrap();
        assert!(looping.resolved().is_none());
        assert!(looping.field("x").is_none());
    }
}
