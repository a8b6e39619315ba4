//! Server-side apply bookkeeping cost: `apply::update` on create and on a
//! one-label PUT of a realistic defaulted Pod, and `apply::apply` of a
//! Deployment (first apply, then a no-op re-apply).
//!
//! `cargo bench -p capstan-apiserver --bench ssa`

use std::hint::black_box;
use std::time::Instant;

use capstan_apiserver::apply::{apply, update, Manager, ResetFields, SsaSchema};
use serde_json::{json, Value};

fn container(i: usize) -> Value {
    json!({
        "name": format!("c{i}"),
        "image": format!("registry.example.com/app/c{i}:1.2.{i}"),
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/app", "--serve"],
        "args": ["--port", "8080", "--verbose"],
        "env": [
            {"name": "A", "value": "1"},
            {"name": "B", "value": "two"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
        ],
        "ports": [
            {"name": "http", "containerPort": 8080 + i, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090 + i, "protocol": "TCP"},
        ],
        "resources": {
            "limits": {"cpu": "500m", "memory": "256Mi"},
            "requests": {"cpu": "100m", "memory": "128Mi"},
        },
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "config", "mountPath": "/etc/config", "readOnly": true},
            {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true},
        ],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
            "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 1,
            "successThreshold": 1, "failureThreshold": 3,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    })
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "bench-pod",
            "namespace": "default",
            "labels": {"app": "bench", "tier": "backend", "version": "v1"},
            "annotations": {"example.com/owner": "team-a"},
        },
        "spec": {
            "containers": [container(0), container(1), container(2)],
            "initContainers": [container(3)],
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}},
                {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                ]}},
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
            "priority": 0,
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {"phase": "Pending", "qosClass": "Burstable"},
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bench", "namespace": "default", "labels": {"app": "bench"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "bench"}},
            "template": {
                "metadata": {"labels": {"app": "bench"}},
                "spec": {"containers": [container(0), container(1)]},
            },
        },
    })
}

fn time<F: FnMut()>(label: &str, iters: u32, mut f: F) {
    for _ in 0..iters / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(iters);
    println!("{label:<40} {us:>9.1} µs/op");
}

fn main() {
    // The OpenAPI definitions are built on first use; keep that out of the compile figure.
    let _ = capstan_apiserver::openapi::definitions();
    let compile = std::time::Instant::now();
    let pod_schema = SsaSchema::builtin("io.k8s.api.core.v1.Pod").expect("Pod definition");
    println!("{:<40} {:>9.1} µs (once per process)", "compile the Pod schema", compile.elapsed().as_secs_f64() * 1e6);
    let dep_schema = SsaSchema::builtin("io.k8s.api.apps.v1.Deployment").expect("Deployment definition");
    let iters = std::env::var("SSA_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);

    let create = Manager { name: "kubectl-create", api_version: "v1", subresource: "", time: "2024-01-01T00:00:00Z" };
    let put = Manager { name: "kubectl-edit", api_version: "v1", subresource: "", time: "2024-01-01T00:01:00Z" };

    time("update(None, pod)  [create]", iters, || {
        let mut new = pod();
        update(None, &mut new, &create, Some(pod_schema), ResetFields::Status).expect("create");
        black_box(new);
    });

    let mut old = pod();
    update(None, &mut old, &create, Some(pod_schema), ResetFields::Status).expect("create");
    old["metadata"]["uid"] = json!("0b5c6a1e-0000-4000-8000-000000000001");
    old["metadata"]["resourceVersion"] = json!("1");
    let mut changed = old.clone();
    changed["metadata"]["labels"]["version"] = json!("v2");
    time("update(Some(old), new)  [1 label]", iters, || {
        let mut new = changed.clone();
        update(Some(&old), &mut new, &put, Some(pod_schema), ResetFields::Status).expect("update");
        black_box(new);
    });

    // Baseline for the clones included in the loops above.
    time("  (pod() + clone baseline)", iters, || {
        black_box(pod());
        black_box(changed.clone());
    });

    let apply_mgr =
        Manager { name: "bench-apply", api_version: "apps/v1", subresource: "", time: "2024-01-01T00:00:00Z" };
    let config = deployment();
    time("apply(None, deployment)  [create]", iters, || {
        let out = apply(None, &config, &apply_mgr, false, Some(dep_schema), ResetFields::Status).expect("apply");
        black_box(out);
    });
    let mut live = apply(None, &config, &apply_mgr, false, Some(dep_schema), ResetFields::Status).expect("apply");
    live["metadata"]["uid"] = json!("0b5c6a1e-0000-4000-8000-000000000002");
    time("apply(Some(live), deployment)  [no-op]", iters, || {
        let out = apply(Some(&live), &config, &apply_mgr, false, Some(dep_schema), ResetFields::Status).expect("apply");
        assert!(out == live, "second apply must be a no-op");
        black_box(out);
    });
}
