//! kube-apiserver's validation of built-in objects, on untyped JSON.
//!
//! `validate_create` and `validate_update` return kube's `Cause`s (field path,
//! reason and exact message). They expect defaulted objects: call
//! `defaults::apply_defaults` (and on create `defaults::prepare_create`) first.
//! Resource versions, conflicts and IP/port allocation are the caller's.

mod batch;
mod containers;
mod core_types;
mod meta;
mod names;
mod other;
mod pod;
mod podspec;
pub(crate) mod quantity;
mod rbac_net;
mod service;
mod util;
mod volumes;
mod workloads;

#[cfg(test)]
mod tests_core;
#[cfg(test)]
mod tests_meta;
#[cfg(test)]
mod tests_pod;
#[cfg(test)]
mod tests_workloads;

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::error::Cause;

pub(crate) use batch::{CONTROLLER_UID, JOB_NAME, LEGACY_CONTROLLER_UID, LEGACY_JOB_NAME};
pub(crate) use other::SYSTEM_PRIORITY_CLASSES;

/// Validation of a new object (kube's strategy `Validate` plus the generic
/// ObjectMeta checks).
pub fn validate_create(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    let mut errs = meta::validate_create(info, obj);
    errs.extend(validate_kind(info, obj, None));
    dedup(errs)
}

/// Validation of an update (kube's strategy `ValidateUpdate`): metadata
/// immutability, the new object's own validity and per-kind update rules.
pub fn validate_update(info: &ResourceInfo, new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = meta::validate_update(info, new, old);
    errs.extend(validate_kind(info, new, Some(old)));
    dedup(errs)
}

/// kube de-duplicates identical errors when it builds the status message.
fn dedup(errs: Vec<Cause>) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::with_capacity(errs.len());
    for e in errs {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

fn validate_kind(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    match (info.group, info.kind) {
        ("", "Pod") => pod::validate_pod(obj, old),
        ("", "PodTemplate") => pod::validate_pod_template(obj),
        ("", "ReplicationController") => workloads::validate_replication_controller(obj),
        ("", "Service") => service::validate_service(obj, old),
        ("", "Endpoints") => core_types::validate_endpoints(obj),
        ("", "ConfigMap") => core_types::validate_config_map(obj, old),
        ("", "Secret") => core_types::validate_secret(obj, old),
        // Namespace updates only re-check metadata; finalizers change through /finalize.
        ("", "Namespace") if old.is_none() => core_types::validate_namespace(obj),
        ("", "Node") => core_types::validate_node(obj, old),
        ("", "Event") => core_types::validate_event(obj, false),
        ("events.k8s.io", "Event") => core_types::validate_event(obj, true),
        ("", "PersistentVolumeClaim") => volumes::validate_pvc(obj, old),
        ("", "PersistentVolume") => volumes::validate_pv(obj, old),
        ("", "ResourceQuota") => core_types::validate_resource_quota(obj, old),
        ("", "LimitRange") => core_types::validate_limit_range(obj),
        ("", "Binding") => validate_binding_target(obj),
        ("apps", "Deployment") => workloads::validate_deployment(obj, old),
        ("apps", "ReplicaSet") => workloads::validate_replica_set(obj, old),
        ("apps", "StatefulSet") => workloads::validate_stateful_set(obj, old),
        ("apps", "DaemonSet") => workloads::validate_daemon_set(obj, old),
        ("apps", "ControllerRevision") => workloads::validate_controller_revision(obj, old),
        ("batch", "Job") => batch::validate_job(obj, old),
        ("batch", "CronJob") => batch::validate_cron_job(obj, old),
        ("autoscaling", "HorizontalPodAutoscaler") => rbac_net::validate_hpa(obj, info.version == "v1"),
        ("networking.k8s.io", "Ingress") => rbac_net::validate_ingress(obj),
        ("networking.k8s.io", "IngressClass") => rbac_net::validate_ingress_class(obj, old),
        ("networking.k8s.io", "NetworkPolicy") => rbac_net::validate_network_policy(obj),
        ("policy", "PodDisruptionBudget") => rbac_net::validate_pdb(obj),
        ("rbac.authorization.k8s.io", "Role") => rbac_net::validate_role(obj, true),
        ("rbac.authorization.k8s.io", "ClusterRole") => rbac_net::validate_role(obj, false),
        ("rbac.authorization.k8s.io", "RoleBinding") => rbac_net::validate_binding(obj, true, old),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rbac_net::validate_binding(obj, false, old),
        ("scheduling.k8s.io", "PriorityClass") => other::validate_priority_class(obj, old),
        ("storage.k8s.io", "StorageClass") => other::validate_storage_class(obj, old),
        ("storage.k8s.io", "VolumeAttachment") => other::validate_volume_attachment(obj, old),
        ("coordination.k8s.io", "Lease") => other::validate_lease(obj),
        ("discovery.k8s.io", "EndpointSlice") => service::validate_endpoint_slice(obj, old),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            other::validate_webhook_configuration(obj, true)
        }
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            other::validate_webhook_configuration(obj, false)
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crate::crd::engine::validate_crd(obj, old),
        ("certificates.k8s.io", "CertificateSigningRequest") => other::validate_csr(obj),
        _ => crate::crd::strategy::validate(info, obj, old),
    }
}

/// `ValidatePodBinding`.
fn validate_binding_target(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let kind = util::s(obj, &["target", "kind"]);
    if !kind.is_empty() && kind != "Node" {
        errs.push(util::not_supported("target.kind", kind, &["Node", "<empty>"]));
    }
    if util::s(obj, &["target", "name"]).is_empty() {
        errs.push(Cause::required("target.name"));
    }
    errs
}
