//! kube-apiserver's defaulting of built-in objects, on untyped JSON.
//!
//! - `apply_defaults`: what kube's `SetDefaults_*` functions (and the v1
//!   conversions that behave like defaults) do on every decode. Call it for
//!   create and update bodies, after conversion to the storage version.
//! - `prepare_create`: the create-only parts of kube's strategies and
//!   admission plugins (pod status and QoS, ServiceAccount/Priority/
//!   DefaultTolerationSeconds admission, Job selectors, namespace finalizers,
//!   Service clusterIPs). Call it after `apply_defaults`, once uid and name are
//!   set, and before `validation::validate_create`.
//! - `prepare_update`: the update-only strategy parts (Service allocated
//!   values and type-dependent fields). Call it after `apply_defaults` and
//!   before `validation::validate_update`.
//!
//! ClusterIP/NodePort allocation, status preservation on update and generation
//! bookkeeping are the caller's.

mod other;
mod pod;
mod service;
#[cfg(test)]
mod tests;
mod workloads;

use serde_json::{Map, Value};

use crate::catalog::ResourceInfo;

/// Applies kube's defaults for `info`'s kind to `obj` (idempotent).
pub fn apply_defaults(info: &ResourceInfo, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match (info.group, info.kind) {
        ("", "Pod") => pod::pod(obj),
        ("", "PodTemplate") => pod::template_at(obj, &["template"]),
        ("", "ReplicationController") => workloads::replication_controller(obj),
        ("apps", "Deployment") => workloads::deployment(obj),
        ("apps", "ReplicaSet") => workloads::replica_set(obj),
        ("apps", "StatefulSet") => workloads::stateful_set(obj),
        ("apps", "DaemonSet") => workloads::daemon_set(obj),
        ("batch", "Job") => workloads::job(obj),
        ("batch", "CronJob") => workloads::cron_job(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => other::hpa(obj, info.version == "v1"),
        ("", "Service") => service::service(obj),
        ("", "Namespace") => other::namespace(obj),
        ("", "Secret") => other::secret(obj),
        ("", "PersistentVolumeClaim") => other::pvc(obj),
        ("", "PersistentVolume") => other::pv(obj),
        ("", "Node") => other::node(obj),
        ("", "Endpoints") => other::endpoints(obj),
        ("", "LimitRange") => other::limit_range(obj),
        ("discovery.k8s.io", "EndpointSlice") => other::endpoint_slice(obj),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => other::role_binding(obj),
        ("storage.k8s.io", "StorageClass") => other::storage_class(obj),
        ("storage.k8s.io", "CSIDriver") => other::csi_driver(obj),
        ("scheduling.k8s.io", "PriorityClass") => {
            set_if_unset(obj, "preemptionPolicy", Value::from("PreemptLowerPriority"))
        }
        ("networking.k8s.io", "NetworkPolicy") => other::network_policy(obj),
        ("networking.k8s.io", "Ingress") => status_shell(obj, serde_json::json!({"loadBalancer": {}})),
        ("networking.k8s.io", "IngressClass") => other::ingress_class(obj),
        ("policy", "PodDisruptionBudget") => status_shell(
            obj,
            serde_json::json!({"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}),
        ),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => other::webhooks(obj, true),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => other::webhooks(obj, false),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => other::admission_policy(obj),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            if let Some(mr) = obj.get_mut("spec").and_then(|s| s.get_mut("matchResources")) {
                other::match_resources(mr);
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => other::crd(obj),
        _ => crate::crd::strategy::defaults(info, obj),
    }
}

/// Create-only preparation (kube's `PrepareForCreate` and mutating admission).
pub fn prepare_create(info: &ResourceInfo, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match (info.group, info.kind) {
        ("", "Pod") => pod::prepare_create(obj),
        ("", "Namespace") => other::namespace_create(obj),
        ("", "Service") => service::service_create(obj),
        ("batch", "Job") => workloads::job_create(obj),
        _ => {}
    }
}

/// Update-only preparation (kube's `PrepareForUpdate` for Services).
pub fn prepare_update(info: &ResourceInfo, new: &mut Value, old: &Value) {
    if let ("", "Service") = (info.group, info.kind) {
        service::service_update(new, old);
    }
}

// --- helpers shared by the submodules ---

/// Go's "unset": absent, null, `""` or (for numbers) zero.
fn is_unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// Sets `key` on an object when it is unset (Go zero-value semantics).
fn set_if_unset(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut() {
        if is_unset(m.get(key)) {
            m.insert(key.to_string(), value);
        }
    }
}

/// Sets `key` only when absent or null (pointer fields, where 0 is a value).
fn set_if_absent(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut() {
        if m.get(key).is_none_or(Value::is_null) {
            m.insert(key.to_string(), value);
        }
    }
}

/// The object at `key`, created when absent or not an object.
fn child<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = obj.as_object_mut()?;
    let slot = m.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    Some(slot)
}

/// The value at `path` if it exists and is an object.
fn at<'a>(obj: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut cur = obj;
    for key in path {
        cur = cur.as_object_mut()?.get_mut(*key)?;
    }
    cur.is_object().then_some(cur)
}

/// Every element of the array at `key`, if any.
fn each<'a>(obj: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    obj.as_object_mut()
        .and_then(|m| m.get_mut(key))
        .and_then(Value::as_array_mut)
        .map(|a| a.iter_mut())
        .into_iter()
        .flatten()
}

/// Go serializes non-pointer status structs even when empty.
fn status_shell(obj: &mut Value, shell: Value) {
    set_if_absent(obj, "status", shell);
}
