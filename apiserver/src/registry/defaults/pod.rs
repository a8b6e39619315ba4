//! Pod, PodSpec, container, probe and volume defaults, plus the create-time
//! pod admission defaults (ServiceAccount, Priority, DefaultTolerationSeconds).

use serde_json::{json, Map, Value};

use super::{at, child, each, is_unset, set_if_absent, set_if_unset};
use crate::registry::validation::quantity::pod_qos;
use crate::registry::validation::SYSTEM_PRIORITY_CLASSES;

/// A Pod: PodSpec defaults plus the Pod-only ones (`SetDefaults_Pod`).
pub(super) fn pod(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else { return };
    pod_spec(spec);
    for list in ["containers", "initContainers"] {
        for c in each(spec, list) {
            requests_from_limits(c);
        }
    }
    set_if_absent(spec, "enableServiceLinks", Value::Bool(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for list in ["containers", "initContainers"] {
            for c in each(spec, list) {
                for p in each(c, "ports") {
                    if is_unset(p.get("hostPort")) {
                        let cp = p.get("containerPort").cloned().unwrap_or(Value::from(0));
                        if let Some(m) = p.as_object_mut() {
                            m.insert("hostPort".into(), cp);
                        }
                    }
                }
            }
        }
    }
}

/// The pod template at `path` (e.g. `spec.template`): only PodSpec defaults.
pub(super) fn template_at(obj: &mut Value, path: &[&str]) {
    if let Some(t) = at(obj, path) {
        if let Some(spec) = child(t, "spec") {
            pod_spec(spec);
        }
    }
}

/// If limits are set but requests are not, requests default to the limits.
fn requests_from_limits(c: &mut Value) {
    let Some(limits) = at(c, &["resources", "limits"]).and_then(|v| v.as_object()).cloned() else { return };
    let Some(resources) = child(c, "resources") else { return };
    let Some(requests) = child(resources, "requests").and_then(Value::as_object_mut) else { return };
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

/// `SetDefaults_PodSpec` and the defaults of everything inside it.
pub(super) fn pod_spec(spec: &mut Value) {
    set_if_unset(spec, "dnsPolicy", json!("ClusterFirst"));
    set_if_unset(spec, "restartPolicy", json!("Always"));
    set_if_absent(spec, "securityContext", json!({}));
    set_if_absent(spec, "terminationGracePeriodSeconds", json!(30));
    set_if_unset(spec, "schedulerName", json!("default-scheduler"));
    // v1 conversion keeps the deprecated serviceAccount mirrored.
    let sa = spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("").to_string();
    let legacy = spec.get("serviceAccount").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(m) = spec.as_object_mut() {
        if sa.is_empty() && !legacy.is_empty() {
            m.insert("serviceAccountName".into(), json!(legacy));
        } else if !sa.is_empty() {
            m.insert("serviceAccount".into(), json!(sa));
        }
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for c in each(spec, list) {
            container(c);
        }
    }
    for v in each(spec, "volumes") {
        volume(v);
    }
}

fn container(c: &mut Value) {
    if is_unset(c.get("imagePullPolicy")) {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = if image_tag_is_latest(image) { "Always" } else { "IfNotPresent" };
        set_if_unset(c, "imagePullPolicy", json!(policy));
    }
    set_if_unset(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_if_unset(c, "terminationMessagePolicy", json!("File"));
    set_if_absent(c, "resources", json!({}));
    for p in each(c, "ports") {
        set_if_unset(p, "protocol", json!("TCP"));
    }
    for e in each(c, "env") {
        if let Some(f) = at(e, &["valueFrom", "fieldRef"]) {
            set_if_unset(f, "apiVersion", json!("v1"));
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = at(c, &[key]) {
            for (f, n) in
                [("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)]
            {
                set_if_unset(p, f, json!(n));
            }
            http_get(p);
        }
    }
    for key in ["postStart", "preStop"] {
        if let Some(h) = at(c, &["lifecycle", key]) {
            http_get(h);
        }
    }
}

fn http_get(handler: &mut Value) {
    if let Some(h) = at(handler, &["httpGet"]) {
        set_if_unset(h, "path", json!("/"));
        set_if_unset(h, "scheme", json!("HTTP"));
    }
}

/// Like kube's `ParseImageName`: no tag and no digest means `latest`; an
/// unparseable reference has no tag.
fn image_tag_is_latest(image: &str) -> bool {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return false;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, t)| t);
    let path = match tag {
        Some(t) => &name[..name.len() - t.len() - 1],
        None => name,
    };
    // Repository path components (after a registry host) must be lowercase.
    let mut parts = path.split('/');
    let first = parts.next().unwrap_or("");
    let is_host = path.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let repo_ok = (if is_host { None } else { Some(first) }).into_iter().chain(parts).all(|p| {
        !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    });
    if !repo_ok {
        return false;
    }
    match tag {
        Some(t) => t == "latest",
        None => digest.is_none(),
    }
}

/// Volume sources kube recognizes; a volume with none of them is an emptyDir.
const SOURCES: &[&str] = &[
    "emptyDir",
    "hostPath",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "flocker",
    "persistentVolumeClaim",
    "rbd",
    "cinder",
    "cephfs",
    "quobyte",
    "downwardAPI",
    "fc",
    "flexVolume",
    "configMap",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "storageos",
    "projected",
    "scaleIO",
    "csi",
    "ephemeral",
    "image",
];

fn volume(v: &mut Value) {
    let has_source = v.as_object().is_some_and(|m| SOURCES.iter().any(|k| m.get(*k).is_some_and(|x| !x.is_null())));
    if !has_source {
        set_if_absent(v, "emptyDir", json!({}));
    }
    for key in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = at(v, &[key]) {
            set_if_absent(src, "defaultMode", json!(420));
        }
    }
    if let Some(hp) = at(v, &["hostPath"]) {
        set_if_absent(hp, "type", json!(""));
    }
    if let Some(d) = at(v, &["downwardAPI"]) {
        downward_items(d);
    }
    if let Some(p) = at(v, &["projected"]) {
        for src in each(p, "sources") {
            if let Some(t) = at(src, &["serviceAccountToken"]) {
                set_if_absent(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = at(src, &["downwardAPI"]) {
                downward_items(d);
            }
        }
    }
    if let Some(spec) = at(v, &["ephemeral", "volumeClaimTemplate", "spec"]) {
        set_if_absent(spec, "volumeMode", json!("Filesystem"));
    }
    source_defaults(v);
}

fn downward_items(d: &mut Value) {
    for item in each(d, "items") {
        if let Some(f) = at(item, &["fieldRef"]) {
            set_if_unset(f, "apiVersion", json!("v1"));
        }
    }
}

/// Declarative defaults of a few in-tree volume sources (pods and PVs).
pub(super) fn source_defaults(v: &mut Value) {
    if let Some(i) = at(v, &["iscsi"]) {
        set_if_unset(i, "iscsiInterface", json!("default"));
    }
    if let Some(r) = at(v, &["rbd"]) {
        set_if_unset(r, "pool", json!("rbd"));
        set_if_unset(r, "user", json!("admin"));
        set_if_unset(r, "keyring", json!("/etc/ceph/keyring"));
    }
    if let Some(a) = at(v, &["azureDisk"]) {
        set_if_absent(a, "cachingMode", json!("ReadWrite"));
        set_if_absent(a, "fsType", json!("ext4"));
        set_if_absent(a, "readOnly", json!(false));
        set_if_absent(a, "kind", json!("Shared"));
    }
    if let Some(s) = at(v, &["scaleIO"]) {
        set_if_unset(s, "storageMode", json!("ThinProvisioned"));
        set_if_unset(s, "fsType", json!("xfs"));
    }
}

/// Create-time pod preparation: admission defaults and the initial status.
pub(super) fn prepare_create(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else { return };
    // ServiceAccount admission.
    if spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("").is_empty() {
        if let Some(m) = spec.as_object_mut() {
            m.insert("serviceAccountName".into(), json!("default"));
            m.insert("serviceAccount".into(), json!("default"));
        }
    }
    // Priority admission: the built-in classes are known here; other class
    // names need the caller's PriorityClass lookup.
    let class = spec.get("priorityClassName").and_then(Value::as_str).unwrap_or("").to_string();
    let value = if class.is_empty() {
        Some(0)
    } else {
        SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == class).map(|(_, v)| *v)
    };
    if let Some(v) = value {
        set_if_absent(spec, "priority", json!(v));
        set_if_absent(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    default_tolerations(spec);
    let qos = pod_qos(spec);
    if let Some(m) = obj.as_object_mut() {
        let mut status = Map::new();
        status.insert("phase".into(), json!("Pending"));
        status.insert("qosClass".into(), json!(qos));
        m.insert("status".into(), Value::Object(status));
    }
}

/// DefaultTolerationSeconds admission: tolerate not-ready/unreachable for 300s
/// unless an existing toleration already covers them.
fn default_tolerations(spec: &mut Value) {
    let existing: Vec<(String, String)> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|t| {
                    let f = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    (f("key"), f("effect"))
                })
                .collect()
        })
        .unwrap_or_default();
    let covered =
        |taint: &str| existing.iter().any(|(k, e)| (k == taint || k.is_empty()) && (e == "NoExecute" || e.is_empty()));
    let mut add = Vec::new();
    for taint in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        if !covered(taint) {
            add.push(json!({"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if add.is_empty() {
        return;
    }
    if let Some(m) = spec.as_object_mut() {
        let list = m.entry("tolerations").or_insert_with(|| Value::Array(Vec::new()));
        if !list.is_array() {
            *list = Value::Array(Vec::new());
        }
        if let Some(a) = list.as_array_mut() {
            a.extend(add);
        }
    }
}
