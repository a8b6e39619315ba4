//! `/openapi/v2` in protobuf: the swagger 2.0 document ([`super::v2_json`])
//! re-encoded as gnostic's `openapi.v2.Document` (github.com/google/gnostic-models,
//! `openapiv2/OpenAPIv2.proto`), the form client-go's `OpenAPISchema()` asks
//! for with `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
//! (kubectl 1.20 `apply`, `explain` and client-side validation).
//!
//! The encoder is a tiny hand-written protobuf writer (varints and
//! length-delimited fields only; a few doubles). Values gnostic keeps as
//! `Any` (vendor extensions, `default`, `enum`) carry their JSON text in
//! `Any.yaml` (JSON is YAML). Built once and cached.

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Map, Value};

/// Media types under which `/openapi/v2` serves the protobuf document.
pub const V2_PROTOBUF_TYPES: [&str; 2] = [
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
];

/// `Content-Type` of the protobuf answer, whichever spelling was asked for
/// (kube-openapi does the same: Go's `mime.ParseMediaType`, which client-go
/// applies to every response, rejects the `@` of the deprecated spelling).
pub const V2_PROTOBUF_CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Whether an `/openapi/v2` request's `Accept` header names the protobuf
/// document (either spelling, q > 0).
pub fn v2_accepts_protobuf(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let base = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let zero_q = parts.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| k.trim() == "q" && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        V2_PROTOBUF_TYPES.contains(&base.as_str()) && !zero_q
    })
}

/// The `/openapi/v2` document as a serialized gnostic `openapi.v2.Document`.
pub fn v2_protobuf() -> Bytes {
    static DOC: OnceLock<parking_lot::Mutex<Option<(u64, Bytes)>>> = OnceLock::new();
    let (gen, json) = super::v2::v2_current();
    let mut cache = DOC.get_or_init(Default::default).lock();
    if let Some((g, b)) = cache.as_ref() {
        if *g == gen {
            return b.clone();
        }
    }
    let doc: Value = serde_json::from_slice(&json).unwrap_or(Value::Null);
    let b = Bytes::from(document(&doc));
    *cache = Some((gen, b.clone()));
    b
}

/// A protobuf message being written.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// A string field; empty strings are proto3 defaults and omitted.
    fn str(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn bool(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.key(field, 0);
            self.varint(v as u64);
        }
    }

    fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.key(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// An embedded message, always written (presence matters for oneofs).
    fn msg(&mut self, field: u32, f: impl FnOnce(&mut W)) {
        let mut inner = W::default();
        f(&mut inner);
        self.bytes(field, &inner.0);
    }

    fn strs(&mut self, field: u32, v: Option<&Value>) {
        match v {
            Some(Value::Array(list)) => {
                list.iter().filter_map(Value::as_str).for_each(|s| self.bytes(field, s.as_bytes()))
            }
            Some(Value::String(s)) => self.bytes(field, s.as_bytes()),
            _ => {}
        }
    }

    fn str_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(s) = obj.get(key).and_then(Value::as_str) {
            self.str(field, s);
        }
    }

    fn bool_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        self.bool(field, obj.get(key).and_then(Value::as_bool).unwrap_or(false));
    }

    fn int_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(v) = obj.get(key).and_then(Value::as_i64) {
            self.int(field, v);
        }
    }

    fn double_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(v) = obj.get(key).and_then(Value::as_f64) {
            self.double(field, v);
        }
    }

    /// `Any{yaml}` holding `v`'s JSON text.
    fn any(&mut self, field: u32, v: &Value) {
        let text = serde_json::to_string(v).unwrap_or_default();
        self.msg(field, |w| w.str(2, &text));
    }

    /// `repeated NamedAny vendor_extension`: every `x-` key of `obj`.
    fn extensions(&mut self, field: u32, obj: &Map<String, Value>) {
        for (k, v) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
            self.msg(field, |w| {
                w.str(1, k);
                w.any(2, v);
            });
        }
    }
}

fn empty() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

fn obj_of(v: Option<&Value>) -> &Map<String, Value> {
    v.and_then(Value::as_object).unwrap_or_else(|| empty())
}

fn document(doc: &Value) -> Vec<u8> {
    let d = obj_of(Some(doc));
    let mut w = W::default();
    w.str_of(1, d, "swagger");
    let info = obj_of(d.get("info"));
    w.msg(2, |w| {
        w.str_of(1, info, "title");
        w.str_of(2, info, "version");
        w.str_of(3, info, "description");
        w.extensions(7, info);
    });
    w.str_of(3, d, "host");
    w.str_of(4, d, "basePath");
    w.strs(5, d.get("schemes"));
    w.strs(6, d.get("consumes"));
    w.strs(7, d.get("produces"));
    let paths = obj_of(d.get("paths"));
    w.msg(8, |w| {
        w.extensions(1, paths);
        for (name, item) in paths.iter().filter(|(k, _)| !k.starts_with("x-")) {
            w.msg(2, |w| {
                w.str(1, name);
                w.msg(2, |w| path_item(w, obj_of(Some(item))));
            });
        }
    });
    let defs = obj_of(d.get("definitions"));
    w.msg(9, |w| named_schemas(w, 1, defs));
    for req in d.get("security").and_then(Value::as_array).into_iter().flatten() {
        w.msg(12, |w| {
            for (name, scopes) in obj_of(Some(req)) {
                w.msg(1, |w| {
                    w.str(1, name);
                    w.msg(2, |w| w.strs(1, Some(scopes)));
                });
            }
        });
    }
    if let Some(sec) = d.get("securityDefinitions").and_then(Value::as_object) {
        w.msg(13, |w| {
            for (name, def) in sec {
                let def = obj_of(Some(def));
                if def.get("type").and_then(Value::as_str) != Some("apiKey") {
                    continue;
                }
                w.msg(1, |w| {
                    w.str(1, name);
                    w.msg(2, |w| {
                        w.msg(2, |w| {
                            w.str_of(1, def, "type");
                            w.str_of(2, def, "name");
                            w.str_of(3, def, "in");
                            w.str_of(4, def, "description");
                            w.extensions(5, def);
                        })
                    });
                });
            }
        });
    }
    w.extensions(16, d);
    w.0
}

/// `repeated NamedSchema` at `field` from a JSON object of schemas.
fn named_schemas(w: &mut W, field: u32, m: &Map<String, Value>) {
    for (name, s) in m {
        w.msg(field, |w| {
            w.str(1, name);
            w.msg(2, |w| schema(w, obj_of(Some(s))));
        });
    }
}

fn schema(w: &mut W, s: &Map<String, Value>) {
    w.str_of(1, s, "$ref");
    w.str_of(2, s, "format");
    w.str_of(3, s, "title");
    w.str_of(4, s, "description");
    if let Some(d) = s.get("default") {
        w.any(5, d);
    }
    w.double_of(6, s, "multipleOf");
    w.double_of(7, s, "maximum");
    w.bool_of(8, s, "exclusiveMaximum");
    w.double_of(9, s, "minimum");
    w.bool_of(10, s, "exclusiveMinimum");
    w.int_of(11, s, "maxLength");
    w.int_of(12, s, "minLength");
    w.str_of(13, s, "pattern");
    w.int_of(14, s, "maxItems");
    w.int_of(15, s, "minItems");
    w.bool_of(16, s, "uniqueItems");
    w.int_of(17, s, "maxProperties");
    w.int_of(18, s, "minProperties");
    w.strs(19, s.get("required"));
    for e in s.get("enum").and_then(Value::as_array).into_iter().flatten() {
        w.any(20, e);
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => w.msg(21, |w| {
            w.key(2, 0);
            w.varint(u64::from(*b));
        }),
        Some(v @ Value::Object(_)) => w.msg(21, |w| w.msg(1, |w| schema(w, obj_of(Some(v))))),
        _ => {}
    }
    if s.contains_key("type") {
        w.msg(22, |w| w.strs(1, s.get("type")));
    }
    match s.get("items") {
        Some(Value::Array(list)) => w.msg(23, |w| {
            for i in list {
                w.msg(1, |w| schema(w, obj_of(Some(i))));
            }
        }),
        Some(v @ Value::Object(_)) => w.msg(23, |w| w.msg(1, |w| schema(w, obj_of(Some(v))))),
        _ => {}
    }
    for a in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        w.msg(24, |w| schema(w, obj_of(Some(a))));
    }
    if let Some(p) = s.get("properties").and_then(Value::as_object) {
        w.msg(25, |w| named_schemas(w, 1, p));
    }
    w.str_of(26, s, "discriminator");
    w.bool_of(27, s, "readOnly");
    if let Some(e) = s.get("example") {
        w.any(30, e);
    }
    w.extensions(31, s);
}

fn path_item(w: &mut W, item: &Map<String, Value>) {
    w.str_of(1, item, "$ref");
    for (field, method) in
        [(2, "get"), (3, "put"), (4, "post"), (5, "delete"), (6, "options"), (7, "head"), (8, "patch")]
    {
        if let Some(op) = item.get(method).and_then(Value::as_object) {
            w.msg(field, |w| operation(w, op));
        }
    }
    for p in item.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        w.msg(9, |w| parameters_item(w, obj_of(Some(p))));
    }
    w.extensions(10, item);
}

fn operation(w: &mut W, op: &Map<String, Value>) {
    w.strs(1, op.get("tags"));
    w.str_of(2, op, "summary");
    w.str_of(3, op, "description");
    w.str_of(5, op, "operationId");
    w.strs(6, op.get("produces"));
    w.strs(7, op.get("consumes"));
    for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        w.msg(8, |w| parameters_item(w, obj_of(Some(p))));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        w.msg(9, |w| {
            for (code, r) in responses.iter().filter(|(k, _)| !k.starts_with("x-")) {
                let r = obj_of(Some(r));
                w.msg(1, |w| {
                    w.str(1, code);
                    w.msg(2, |w| {
                        if let Some(rf) = r.get("$ref").and_then(Value::as_str) {
                            w.msg(2, |w| w.str(1, rf));
                        } else {
                            w.msg(1, |w| response(w, r));
                        }
                    });
                });
            }
            w.extensions(2, responses);
        });
    }
    w.strs(10, op.get("schemes"));
    w.bool_of(11, op, "deprecated");
    w.extensions(13, op);
}

fn response(w: &mut W, r: &Map<String, Value>) {
    w.str_of(1, r, "description");
    if let Some(s) = r.get("schema").and_then(Value::as_object) {
        w.msg(2, |w| w.msg(1, |w| schema(w, s)));
    }
    w.extensions(5, r);
}

/// `ParametersItem{parameter: Parameter{body_parameter | non_body_parameter}}`
/// or `ParametersItem{json_reference}`.
fn parameters_item(w: &mut W, p: &Map<String, Value>) {
    if let Some(rf) = p.get("$ref").and_then(Value::as_str) {
        w.msg(2, |w| {
            w.str(1, rf);
            w.str_of(2, p, "description");
        });
        return;
    }
    w.msg(1, |w| match p.get("in").and_then(Value::as_str).unwrap_or("") {
        "body" => w.msg(1, |w| {
            w.str_of(1, p, "description");
            w.str_of(2, p, "name");
            w.str_of(3, p, "in");
            w.bool_of(4, p, "required");
            if let Some(s) = p.get("schema").and_then(Value::as_object) {
                w.msg(5, |w| schema(w, s));
            }
            w.extensions(6, p);
        }),
        loc => w.msg(2, |w| {
            // header = 1, formData = 2, query = 3, path = 4; header and path
            // share a layout, query and formData another (with allowEmptyValue).
            let (field, with_allow_empty) = match loc {
                "header" => (1, false),
                "formData" => (2, true),
                "path" => (4, false),
                _ => (3, true),
            };
            w.msg(field, |w| non_body(w, p, with_allow_empty));
        }),
    });
}

fn non_body(w: &mut W, p: &Map<String, Value>, with_allow_empty: bool) {
    w.bool_of(1, p, "required");
    w.str_of(2, p, "in");
    w.str_of(3, p, "description");
    w.str_of(4, p, "name");
    // Fields after `name` shift by one where `allow_empty_value` (5) exists.
    let o = u32::from(with_allow_empty);
    if with_allow_empty {
        w.bool_of(5, p, "allowEmptyValue");
    }
    w.str_of(5 + o, p, "type");
    w.str_of(6 + o, p, "format");
    w.str_of(8 + o, p, "collectionFormat");
    if let Some(d) = p.get("default") {
        w.any(9 + o, d);
    }
    w.bool_of(19 + o, p, "uniqueItems");
    for e in p.get("enum").and_then(Value::as_array).into_iter().flatten() {
        w.any(20 + o, e);
    }
    w.extensions(22 + o, p);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One decoded field: number and either a varint or a byte slice.
    enum F<'a> {
        V(u64),
        B(&'a [u8]),
    }

    fn varint(b: &[u8], i: &mut usize) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let byte = b[*i];
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }

    fn fields(b: &[u8]) -> Vec<(u64, F<'_>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let key = varint(b, &mut i);
            let f = match key & 7 {
                0 => F::V(varint(b, &mut i)),
                1 => {
                    i += 8;
                    F::B(&b[i - 8..i])
                }
                2 => {
                    let n = varint(b, &mut i) as usize;
                    i += n;
                    F::B(&b[i - n..i])
                }
                w => panic!("wire type {w}"),
            };
            out.push((key >> 3, f));
        }
        out
    }

    fn all(b: &[u8], n: u64) -> Vec<&[u8]> {
        fields(b)
            .into_iter()
            .filter_map(|(k, f)| match f {
                F::B(x) if k == n => Some(x),
                _ => None,
            })
            .collect()
    }

    fn one(b: &[u8], n: u64) -> &[u8] {
        all(b, n).first().copied().unwrap_or_else(|| panic!("field {n} missing"))
    }

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    /// `repeated Named*` at `n`: name → value bytes.
    fn named(b: &[u8], n: u64) -> Vec<(&str, &[u8])> {
        all(b, n).into_iter().map(|e| (s(one(e, 1)), one(e, 2))).collect()
    }

    fn find<'a>(list: &[(&str, &'a [u8])], name: &str) -> &'a [u8] {
        list.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).unwrap_or_else(|| panic!("{name} missing"))
    }

    /// Vendor extension `name` (`NamedAny` at `n`) as its `Any.yaml` text.
    fn ext<'a>(b: &'a [u8], n: u64, name: &str) -> &'a str {
        s(one(find(&named(b, n), name), 2))
    }

    #[test]
    fn document_decodes() {
        let doc = v2_protobuf();
        assert_eq!(s(one(&doc, 1)), "2.0");
        let info = one(&doc, 2);
        assert_eq!(s(one(info, 1)), "Kubernetes");
        let defs = named(one(&doc, 9), 1);
        let deploy = find(&defs, "io.k8s.api.apps.v1.Deployment");
        let gvk = ext(deploy, 31, "x-kubernetes-group-version-kind");
        assert!(gvk.contains("Deployment") && gvk.contains("apps"), "{gvk}");
        let parsed: Value = serde_json::from_str(gvk).unwrap();
        assert!(parsed.is_array());
        assert_eq!(s(one(one(deploy, 22), 1)), "object");
        let props = named(one(deploy, 25), 1);
        assert_eq!(s(one(find(&props, "spec"), 1)), "#/definitions/io.k8s.api.apps.v1.DeploymentSpec");

        let pod_spec = find(&defs, "io.k8s.api.core.v1.PodSpec");
        let containers = find(&named(one(pod_spec, 25), 1), "containers");
        assert_eq!(ext(containers, 31, "x-kubernetes-patch-merge-key"), "\"name\"");
        assert_eq!(s(one(one(containers, 22), 1)), "array");
        let item = one(one(containers, 23), 1);
        assert_eq!(s(one(item, 1)), "#/definitions/io.k8s.api.core.v1.Container");
        assert!(pod_spec_required(pod_spec).contains(&"containers"));

        // Maps: additionalProperties is an embedded schema.
        let labels = find(&named(one(find(&defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), 25), 1), "labels");
        let ap = one(labels, 21);
        assert_eq!(s(one(one(one(ap, 1), 22), 1)), "string");
    }

    fn pod_spec_required(b: &[u8]) -> Vec<&str> {
        all(b, 19).into_iter().map(s).collect()
    }

    #[test]
    fn paths_decode() {
        let doc = v2_protobuf();
        let paths = named(one(&doc, 8), 2);
        let item = find(&paths, "/apis/apps/v1/namespaces/{namespace}/deployments");
        let post = one(item, 4);
        assert_eq!(s(one(post, 5)), "createAppsV1NamespacedDeployment");
        assert!(ext(post, 13, "x-kubernetes-group-version-kind").contains("Deployment"));
        assert_eq!(ext(post, 13, "x-kubernetes-action"), "\"post\"");
        // The body parameter: ParametersItem.parameter.body_parameter.schema._ref.
        let body = all(post, 8).into_iter().map(|p| one(one(p, 1), 1).to_vec()).find(|b| all(b, 5).len() == 1);
        let body = body.expect("body parameter");
        assert_eq!(s(one(one(&body, 5), 1)), "#/definitions/io.k8s.api.apps.v1.Deployment");
        // Path-level `namespace` is a path parameter (oneof field 4), required.
        let params = all(item, 9);
        let ns = params.iter().map(|p| one(one(one(p, 1), 2), 4)).find(|p| s(one(p, 4)) == "namespace");
        let ns = ns.expect("namespace parameter");
        assert!(fields(ns).iter().any(|(k, f)| *k == 1 && matches!(f, F::V(1))));
        // Responses: 201 → Response with schema ref.
        let responses = named(one(post, 9), 1);
        let created = one(find(&responses, "201"), 1);
        assert_eq!(s(one(one(one(created, 2), 1), 1)), "#/definitions/io.k8s.api.apps.v1.Deployment");
    }

    #[test]
    fn accept_negotiation() {
        assert!(v2_accepts_protobuf(V2_PROTOBUF_TYPES[0]));
        assert!(v2_accepts_protobuf(&format!("{}, application/json", V2_PROTOBUF_TYPES[1])));
        assert!(!v2_accepts_protobuf("application/json"));
        assert!(!v2_accepts_protobuf(&format!("{};q=0", V2_PROTOBUF_TYPES[0])));
    }
}
