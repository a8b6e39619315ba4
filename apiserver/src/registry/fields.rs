//! Selectable fields per resource, as kube-apiserver registers them:
//!
//! * which field labels a `fieldSelector` may use, how they are renamed, and the
//!   error text for others — the field label conversion funcs of
//!   pkg/apis/*/v*/conversion.go, or runtime.DefaultMetaV1FieldSelectorConversion;
//! * the field set of a stored object — pkg/registry/*/strategy.go
//!   `ToSelectableFields`, formatted as Go does ("true"/"false", integers in
//!   decimal, "" for anything missing).
//!
//! Field sets are computed on the storage form (core/v1 for events), so an
//! events.k8s.io selector on `regarding.kind` is renamed to `involvedObject.kind`.

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::selectors::field::FieldSelector;
use crate::selectors::validation::go_quote;

const META: &[&str] = &["metadata.name", "metadata.namespace"];
const POD: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
    "spec.host",
];
const NODE: &[&str] = &["metadata.name", "spec.unschedulable"];
const RC: &[&str] = &["metadata.name", "metadata.namespace", "status.replicas"];
const EVENT: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "metadata.namespace",
    "metadata.name",
];
const EVENTS_K8S_IO: &[&str] = &[
    "reason",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reportingController",
    "source",
    "type",
    "metadata.namespace",
    "metadata.name",
];
const NAMESPACE: &[&str] = &["status.phase", "metadata.name"];
const SECRET: &[&str] = &["type", "metadata.namespace", "metadata.name"];
const SERVICE: &[&str] = &["metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"];
const JOB: &[&str] = &["metadata.name", "metadata.namespace", "status.successful"];
const CSR: &[&str] = &["metadata.name", "spec.signerName"];

/// The three wordings kube uses for a rejected field label.
#[derive(Clone, Copy)]
enum Wording {
    /// runtime.DefaultMetaV1FieldSelectorConversion (no conversion func registered).
    Default,
    /// `field label not supported: x` (core, certificates, events.k8s.io).
    NotSupported,
    /// batch/v1's own text.
    BatchJob,
}

fn table(info: &ResourceInfo) -> (&'static [&'static str], Wording) {
    match (info.group, info.kind) {
        ("", "Pod") => (POD, Wording::NotSupported),
        ("", "Node") => (NODE, Wording::NotSupported),
        ("", "ReplicationController") => (RC, Wording::NotSupported),
        ("", "Event") => (EVENT, Wording::NotSupported),
        ("", "Namespace") => (NAMESPACE, Wording::NotSupported),
        ("", "Secret") => (SECRET, Wording::NotSupported),
        ("", "Service") => (SERVICE, Wording::NotSupported),
        ("events.k8s.io", "Event") => (EVENTS_K8S_IO, Wording::NotSupported),
        ("batch", "Job") => (JOB, Wording::BatchJob),
        ("certificates.k8s.io", "CertificateSigningRequest") => (CSR, Wording::NotSupported),
        // apps/v1 ReplicaSet has status.replicas in its field set but, in kube
        // 1.34, no conversion func, so the selector is rejected (kubernetes#135136).
        _ => (META, Wording::Default),
    }
}

/// The field labels a `fieldSelector` on this resource may use.
pub fn supported_fields(info: &ResourceInfo) -> &'static [&'static str] {
    table(info).0
}

/// The field-set name a supported label selects on, or kube's error text
/// (to be returned as 400 BadRequest).
pub fn convert_field_label(info: &ResourceInfo, label: &str) -> Result<&'static str, String> {
    let (labels, wording) = table(info);
    let Some(&known) = labels.iter().find(|l| **l == label) else {
        return Err(match wording {
            Wording::Default => {
                format!(
                    "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                    go_quote(label)
                )
            }
            Wording::NotSupported => format!("field label not supported: {label}"),
            Wording::BatchJob => format!("field label {} not supported for batchv1.Job", go_quote(label)),
        });
    };
    Ok(match known {
        // Old v1 clients send spec.host.
        "spec.host" => "spec.nodeName",
        "reportingController" => "reportingComponent",
        l => match l.strip_prefix("regarding.") {
            Some(rest) => EVENT.iter().find(|e| e.strip_prefix("involvedObject.") == Some(rest)).copied().unwrap_or(l),
            None => l,
        },
    })
}

/// Checks and renames a parsed selector for matching against [`field_set`].
/// Terms are checked in the selector's (sorted) order, so the first bad label
/// is the one kube reports.
pub fn convert_selector(info: &ResourceInfo, sel: &FieldSelector) -> Result<FieldSelector, String> {
    sel.transform(|field, value| Ok((convert_field_label(info, field)?.to_string(), value.to_string())))
}

fn text(obj: &Value, pointer: &str) -> String {
    match obj.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}
fn int(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0).to_string()
}
fn boolean(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer).and_then(Value::as_bool).unwrap_or(false).to_string()
}

/// The object's selectable fields (metadata.name and metadata.namespace first;
/// "" namespace for cluster-scoped objects).
pub fn field_set(info: &ResourceInfo, obj: &Value) -> Vec<(&'static str, String)> {
    let mut out =
        vec![("metadata.name", text(obj, "/metadata/name")), ("metadata.namespace", text(obj, "/metadata/namespace"))];
    if !info.namespaced {
        out[1].1.clear();
    }
    match (info.group, info.kind) {
        ("", "Pod") => {
            // The internal pod keeps podIPs only; v1's podIP is podIPs[0].
            let pod_ip = match obj.pointer("/status/podIPs/0/ip").and_then(Value::as_str) {
                Some(ip) => ip.to_string(),
                None => text(obj, "/status/podIP"),
            };
            out.extend([
                ("spec.nodeName", text(obj, "/spec/nodeName")),
                ("spec.restartPolicy", text(obj, "/spec/restartPolicy")),
                ("spec.schedulerName", text(obj, "/spec/schedulerName")),
                ("spec.serviceAccountName", text(obj, "/spec/serviceAccountName")),
                ("spec.hostNetwork", boolean(obj, "/spec/hostNetwork")),
                ("status.phase", text(obj, "/status/phase")),
                ("status.podIP", pod_ip),
                ("status.nominatedNodeName", text(obj, "/status/nominatedNodeName")),
            ]);
        }
        ("", "Event") | ("events.k8s.io", "Event") => {
            let core;
            let ev = if obj.get("apiVersion").and_then(Value::as_str) == Some("events.k8s.io/v1") {
                core = super::convert::to_storage(info, obj.clone());
                &core
            } else {
                obj
            };
            let mut source = text(ev, "/source/component");
            if source.is_empty() {
                source = text(ev, "/reportingComponent");
            }
            out.extend([
                ("involvedObject.kind", text(ev, "/involvedObject/kind")),
                ("involvedObject.namespace", text(ev, "/involvedObject/namespace")),
                ("involvedObject.name", text(ev, "/involvedObject/name")),
                ("involvedObject.uid", text(ev, "/involvedObject/uid")),
                ("involvedObject.apiVersion", text(ev, "/involvedObject/apiVersion")),
                ("involvedObject.resourceVersion", text(ev, "/involvedObject/resourceVersion")),
                ("involvedObject.fieldPath", text(ev, "/involvedObject/fieldPath")),
                ("reason", text(ev, "/reason")),
                ("reportingComponent", text(ev, "/reportingComponent")),
                ("source", source),
                ("type", text(ev, "/type")),
            ]);
        }
        ("", "Node") => out.push(("spec.unschedulable", boolean(obj, "/spec/unschedulable"))),
        ("", "Namespace") => out.push(("status.phase", text(obj, "/status/phase"))),
        ("", "Secret") => out.push(("type", text(obj, "/type"))),
        ("", "Service") => {
            out.push(("spec.clusterIP", text(obj, "/spec/clusterIP")));
            out.push(("spec.type", text(obj, "/spec/type")));
        }
        ("", "ReplicationController") | ("apps", "ReplicaSet") => {
            out.push(("status.replicas", int(obj, "/status/replicas")))
        }
        ("batch", "Job") => out.push(("status.successful", int(obj, "/status/succeeded"))),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            out.push(("spec.signerName", text(obj, "/spec/signerName")))
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;
    use serde_json::json;

    fn info(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
        find(group, version, plural).expect("catalog row")
    }
    fn get<'a>(set: &'a [(&'static str, String)], k: &str) -> &'a str {
        set.iter().find(|(f, _)| *f == k).map(|(_, v)| v.as_str()).unwrap_or("<absent>")
    }

    #[test]
    fn pod_fields() {
        let pod = json!({
            "metadata": {"name": "web-1", "namespace": "prod"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                     "serviceAccountName": "sa", "hostNetwork": true},
            "status": {"phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}]}
        });
        let set = field_set(info("", "v1", "pods"), &pod);
        let want = [
            ("metadata.name", "web-1"),
            ("metadata.namespace", "prod"),
            ("spec.nodeName", "n1"),
            ("spec.restartPolicy", "Always"),
            ("spec.schedulerName", "default-scheduler"),
            ("spec.serviceAccountName", "sa"),
            ("spec.hostNetwork", "true"),
            ("status.phase", "Running"),
            ("status.podIP", "10.0.0.9"),
            ("status.nominatedNodeName", ""),
        ];
        assert_eq!(set.len(), want.len());
        for (k, v) in want {
            assert_eq!(get(&set, k), v, "{k}");
        }
        let bare = field_set(info("", "v1", "pods"), &json!({"metadata": {"name": "p"}}));
        assert_eq!(get(&bare, "spec.hostNetwork"), "false");
        assert_eq!(get(&bare, "status.podIP"), "");
        assert_eq!(get(&bare, "metadata.namespace"), "");
    }

    #[test]
    fn event_fields_both_groups() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u", "apiVersion": "v1",
                               "resourceVersion": "7", "fieldPath": "spec.containers{c}"},
            "reason": "Pulled", "type": "Normal", "reportingComponent": "kubelet", "source": {}
        });
        let i = info("", "v1", "events");
        let set = field_set(i, &core);
        assert_eq!(get(&set, "involvedObject.fieldPath"), "spec.containers{c}");
        assert_eq!(get(&set, "involvedObject.resourceVersion"), "7");
        // source falls back to reportingComponent.
        assert_eq!(get(&set, "source"), "kubelet");
        assert_eq!(set.len(), 13);

        let ev = info("events.k8s.io", "v1", "events");
        let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e", "namespace": "ns"},
                         "regarding": {"kind": "Node", "name": "n"}, "reportingController": "ctl",
                         "deprecatedSource": {"component": "old"}});
        let set = field_set(ev, &new);
        assert_eq!(get(&set, "involvedObject.kind"), "Node");
        assert_eq!(get(&set, "source"), "old");
        assert_eq!(get(&set, "reportingComponent"), "ctl");

        let sel = FieldSelector::parse("regarding.kind=Node,reportingController=ctl").expect("parse");
        let conv = convert_selector(ev, &sel).expect("supported");
        assert_eq!(conv.to_string(), "involvedObject.kind=Node,reportingComponent=ctl");
        assert!(conv.matches(&set));
        let bad = FieldSelector::parse("involvedObject.kind=Node").expect("parse");
        assert_eq!(convert_selector(ev, &bad), Err("field label not supported: involvedObject.kind".into()));
    }

    #[test]
    fn other_field_sets() {
        let secret = field_set(
            info("", "v1", "secrets"),
            &json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"}),
        );
        assert_eq!(get(&secret, "type"), "Opaque");
        let node =
            field_set(info("", "v1", "nodes"), &json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}}));
        assert_eq!(get(&node, "spec.unschedulable"), "true");
        assert_eq!(get(&node, "metadata.namespace"), "");
        let ns =
            field_set(info("", "v1", "namespaces"), &json!({"metadata": {"name": "n"}, "status": {"phase": "Active"}}));
        assert_eq!(get(&ns, "status.phase"), "Active");
        let rs = field_set(info("apps", "v1", "replicasets"), &json!({"metadata": {"name": "r"}}));
        assert_eq!(get(&rs, "status.replicas"), "0");
        let job =
            field_set(info("batch", "v1", "jobs"), &json!({"metadata": {"name": "j"}, "status": {"succeeded": 3}}));
        assert_eq!(get(&job, "status.successful"), "3");
        let svc = field_set(
            info("", "v1", "services"),
            &json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "None", "type": "ClusterIP"}}),
        );
        assert_eq!(get(&svc, "spec.clusterIP"), "None");
        let csr = field_set(
            info("certificates.k8s.io", "v1", "certificatesigningrequests"),
            &json!({"metadata": {"name": "c", "namespace": "ignored"}, "spec": {"signerName": "kubernetes.io/kubelet-serving"}}),
        );
        assert_eq!(get(&csr, "spec.signerName"), "kubernetes.io/kubelet-serving");
        assert_eq!(get(&csr, "metadata.namespace"), "");
        let cm = field_set(info("", "v1", "configmaps"), &json!({"metadata": {"name": "c", "namespace": "d"}}));
        assert_eq!(cm, vec![("metadata.name", "c".to_string()), ("metadata.namespace", "d".to_string())]);
    }

    #[test]
    fn label_conversion_and_errors() {
        type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Result<&'a str, &'a str>);
        let cases: &[Case] = &[
            ("", "v1", "pods", "spec.nodeName", Ok("spec.nodeName")),
            ("", "v1", "pods", "spec.host", Ok("spec.nodeName")),
            ("", "v1", "pods", "status.podIPs", Ok("status.podIPs")),
            ("", "v1", "pods", "spec.foo", Err("field label not supported: spec.foo")),
            ("", "v1", "nodes", "metadata.namespace", Err("field label not supported: metadata.namespace")),
            ("", "v1", "namespaces", "status.phase", Ok("status.phase")),
            ("", "v1", "configmaps", "metadata.namespace", Ok("metadata.namespace")),
            (
                "",
                "v1",
                "configmaps",
                "data.x",
                Err("\"data.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""),
            ),
            (
                "apps",
                "v1",
                "replicasets",
                "status.replicas",
                Err(
                    "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                ),
            ),
            ("", "v1", "replicationcontrollers", "status.replicas", Ok("status.replicas")),
            ("batch", "v1", "jobs", "status.successful", Ok("status.successful")),
            (
                "batch",
                "v1",
                "jobs",
                "status.succeeded",
                Err("field label \"status.succeeded\" not supported for batchv1.Job"),
            ),
            ("certificates.k8s.io", "v1", "certificatesigningrequests", "spec.signerName", Ok("spec.signerName")),
            ("events.k8s.io", "v1", "events", "regarding.uid", Ok("involvedObject.uid")),
            ("", "v1", "secrets", "type", Ok("type")),
            ("", "v1", "services", "spec.clusterIP", Ok("spec.clusterIP")),
        ];
        for (g, v, p, label, want) in cases {
            let got = convert_field_label(info(g, v, p), label);
            assert_eq!(got, want.map_err(str::to_string), "{p} {label}");
        }
        assert_eq!(supported_fields(info("", "v1", "secrets")), SECRET);
        assert_eq!(supported_fields(info("rbac.authorization.k8s.io", "v1", "roles")), META);
    }

    #[test]
    fn selector_over_pods() {
        let pods = info("", "v1", "pods");
        let pod = json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let set = field_set(pods, &pod);
        let m = |s: &str| convert_selector(pods, &FieldSelector::parse(s).expect("parse")).map(|sel| sel.matches(&set));
        assert_eq!(m("spec.host=n1"), Ok(true));
        assert_eq!(m("spec.nodeName=n1,status.phase!=Pending"), Ok(true));
        assert_eq!(m("spec.nodeName="), Ok(false));
        // The first unsupported label in sorted order is reported.
        assert_eq!(m("z.z=1,b.b=2"), Err("field label not supported: b.b".into()));
    }
}
