//! The body of the `decode_request` fuzz target: arbitrary bytes through every
//! step of the API server that reads a request body or a query before any
//! storage is touched. Decoding (JSON, YAML, other and missing content types),
//! the apiVersion/kind check, every PATCH type against a fixed pod (strategic
//! merge with the Pod schema and without one), and label and field selector
//! parsing of the bytes as UTF-8. Nothing here may panic. Errors are expected
//! and ignored.
//!
//! `apiserver/tests/fuzz_smoke.rs` includes this file with `#[path]` and drives the
//! same function with seeded mutations, for machines where cargo-fuzz cannot build.

use std::sync::OnceLock;

use capstan_apiserver::handlers::codec;
use capstan_apiserver::patch::{self, PatchType, SchemaCursor};
use capstan_apiserver::selectors::field::FieldSelector;
use capstan_apiserver::selectors::label::{labels_of, LabelSelector};
use serde_json::{json, Value};

/// Content types the create/update handlers hand to `codec::decode`.
const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/yaml"),
    Some("application/vnd.kubernetes.protobuf"),
    Some("text/plain"),
];

/// The object every patch is applied to.
pub fn fixed_pod() -> &'static Value {
    static POD: OnceLock<Value> = OnceLock::new();
    POD.get_or_init(|| {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web-0",
                "namespace": "default",
                "uid": "6a1f7c2e-0d5b-4a8e-9f3c-2b7d1e4a5c6f",
                "resourceVersion": "42",
                "labels": {"app": "web", "tier": "frontend"},
                "annotations": {"note": "fixed"},
                "finalizers": ["example.com/keep"],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "1"}]
            },
            "spec": {
                "containers": [{
                    "name": "web",
                    "image": "nginx:1.27",
                    "args": ["--port=8080"],
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "128Mi"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]
                }, {
                    "name": "sidecar",
                    "image": "busybox",
                    "command": ["sleep", "3600"]
                }],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "nodeSelector": {"disk": "ssd"}
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        })
    })
}

/// Feeds `data` through the decoding path; panics only on a bug.
pub fn decode_request(data: &[u8]) {
    for ct in CONTENT_TYPES {
        if let Ok(mut v) = codec::decode(data, *ct) {
            let _ = codec::check_type(&mut v.clone(), "v1", "Pod");
            let _ = codec::check_type(&mut v, "apps/v1", "Deployment");
            if let Some(sel) = v.get("selector") {
                let _ = LabelSelector::from_label_selector_json(sel);
            }
        }
    }

    let pod = fixed_pod();
    let schema = SchemaCursor::new(capstan_apiserver::openapi::definitions(), "io.k8s.api.core.v1.Pod");
    for kind in [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge, PatchType::Apply] {
        let _ = patch::apply_patch(kind, pod, data, schema);
    }
    let _ = patch::apply_patch(PatchType::StrategicMerge, pod, data, None);

    if let Ok(s) = std::str::from_utf8(data) {
        let _ = PatchType::from_content_type(s);
        if let Ok(sel) = LabelSelector::parse(s) {
            let _ = sel.matches(&labels_of(pod));
        }
        if let Ok(sel) = FieldSelector::parse(s) {
            let _ = sel.matches(&[("metadata.name", "web-0".to_string()), ("status.phase", "Running".to_string())]);
        }
    }
}
