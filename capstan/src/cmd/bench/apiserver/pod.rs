//! The pod the workloads create: a realistic ~1.7 KB manifest (labels,
//! annotations, one container with resources, env, ports, probe and a volume),
//! and the cheap lookup of its `bench-id` label in watch event lines.

use bytes::Bytes;
use serde_json::{json, Value};

/// Label carrying the pod's own name, found in watch events without parsing them.
pub const MARKER: &str = "bench-id";

/// The pod manifest named `name` in namespace `ns`.
pub fn pod(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {
                "app.kubernetes.io/name": "web-frontend",
                "app.kubernetes.io/instance": "web-frontend-prod",
                "app.kubernetes.io/version": "1.27.3",
                "app.kubernetes.io/component": "frontend",
                "app.kubernetes.io/part-of": "storefront",
                "environment": "production",
                "team": "platform",
                MARKER: name,
            },
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9102",
                "kubernetes.io/description": "Storefront web frontend serving the public catalogue pages",
            },
        },
        "spec": {
            "containers": [{
                "name": "web",
                "image": "registry.example.com/storefront/web-frontend:1.27.3",
                "imagePullPolicy": "IfNotPresent",
                "args": ["--listen=:8080", "--metrics-listen=:9102", "--log-format=json"],
                "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"name": "metrics", "containerPort": 9102, "protocol": "TCP"},
                ],
                "env": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "CATALOG_URL", "value": "http://catalog.storefront.svc.cluster.local:8080"},
                    {"name": "CACHE_TTL_SECONDS", "value": "300"},
                    {"name": "GOMAXPROCS", "value": "2"},
                ],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "512Mi"},
                },
                "readinessProbe": {
                    "httpGet": {"path": "/healthz", "port": 8080},
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10,
                },
                "volumeMounts": [{"name": "cache", "mountPath": "/var/cache/web"}],
            }],
            "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }],
        },
    })
}

/// The manifest as a request body.
pub fn body(ns: &str, name: &str) -> Bytes {
    Bytes::from(pod(ns, name).to_string())
}

/// The `bench-id` label value in a watch event line, without parsing the JSON.
pub fn marker_in(line: &[u8]) -> Option<&str> {
    let needle = format!("\"{MARKER}\":\"");
    let needle = needle.as_bytes();
    let start = line.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let len = line[start..].iter().position(|b| *b == b'"')?;
    std::str::from_utf8(&line[start..start + len]).ok()
}

/// Sets (or changes) a label on an object.
pub fn set_label(obj: &mut Value, key: &str, value: &str) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert(key.into(), value.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_realistic_in_size() {
        let n = body("bench", "c12-000123").len();
        assert!((1500..=2048).contains(&n), "pod body is {n} bytes");
    }

    #[test]
    fn marker_is_found_in_an_event_line() {
        let line = format!("{{\"type\":\"ADDED\",\"object\":{}}}", pod("ns", "w-00042"));
        assert_eq!(marker_in(line.as_bytes()), Some("w-00042"));
        assert_eq!(marker_in(b"{\"type\":\"BOOKMARK\"}"), None);
    }

    #[test]
    fn labels_change() {
        let mut p = pod("ns", "a");
        set_label(&mut p, "bench-rev", "7");
        assert_eq!(p["metadata"]["labels"]["bench-rev"], "7");
        let mut bare = json!({"metadata": {}});
        set_label(&mut bare, "x", "y");
        assert_eq!(bare["metadata"]["labels"]["x"], "y");
    }
}
