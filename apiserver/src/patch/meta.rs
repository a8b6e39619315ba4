//! Strategic-merge-patch metadata of the built-in types: the Go struct tags
//! `patchStrategy` and `patchMergeKey`, keyed by OpenAPI definition and field.
//!
//! The rows cover every type reachable from the definitions in `catalog.rs`
//! (k8s.io/api, apimachinery meta/v1 and apiextensions v1 at Kubernetes 1.37).
//! Fields of inline-embedded Go structs are listed under the embedding type,
//! because that is where OpenAPI flattens them (e.g. `EphemeralContainer`).
//! The OpenAPI builder copies these rows onto the property schemas as
//! `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`, which is
//! where [`super::SchemaCursor`] reads them.

/// One list or map field with a patch strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPatchMeta {
    /// OpenAPI definition name, e.g. `io.k8s.api.core.v1.PodSpec`.
    pub definition: &'static str,
    /// JSON field name, e.g. `containers`.
    pub field: &'static str,
    /// `x-kubernetes-patch-strategy`, e.g. `merge`, `retainKeys`, `merge,retainKeys`.
    pub strategy: &'static str,
    /// `x-kubernetes-patch-merge-key` ("" for lists of primitives and for retainKeys-only fields).
    pub merge_key: &'static str,
}

const fn m(
    definition: &'static str,
    field: &'static str,
    strategy: &'static str,
    merge_key: &'static str,
) -> FieldPatchMeta {
    FieldPatchMeta { definition, field, strategy, merge_key }
}

/// The struct tags of k8s.io/api types (generated from the Go sources' `patchStrategy`
/// and `patchMergeKey` tags), ordered by definition name, then by Go field order.
pub static PATCH_META: &[FieldPatchMeta] = &[
    m("io.k8s.api.admissionregistration.v1.MutatingWebhook", "matchConditions", "merge", "name"),
    m("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", "webhooks", "merge", "name"),
    m("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "matchConditions", "merge", "name"),
    m("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "variables", "merge", "name"),
    m("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "matchConditions", "merge", "name"),
    m("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", "webhooks", "merge", "name"),
    m("io.k8s.api.apps.v1.DaemonSetStatus", "conditions", "merge", "type"),
    m("io.k8s.api.apps.v1.DeploymentSpec", "strategy", "retainKeys", ""),
    m("io.k8s.api.apps.v1.DeploymentStatus", "conditions", "merge", "type"),
    m("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions", "merge", "type"),
    m("io.k8s.api.apps.v1.StatefulSetStatus", "conditions", "merge", "type"),
    m("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions", "merge", "type"),
    m("io.k8s.api.batch.v1.JobStatus", "conditions", "merge", "type"),
    m("io.k8s.api.core.v1.Container", "ports", "merge", "containerPort"),
    m("io.k8s.api.core.v1.Container", "env", "merge", "name"),
    m("io.k8s.api.core.v1.Container", "volumeMounts", "merge", "mountPath"),
    m("io.k8s.api.core.v1.Container", "volumeDevices", "merge", "devicePath"),
    m("io.k8s.api.core.v1.ContainerStatus", "volumeMounts", "merge", "mountPath"),
    m("io.k8s.api.core.v1.ContainerStatus", "allocatedResourcesStatus", "merge", "name"),
    m("io.k8s.api.core.v1.EphemeralContainer", "ports", "merge", "containerPort"),
    m("io.k8s.api.core.v1.EphemeralContainer", "env", "merge", "name"),
    m("io.k8s.api.core.v1.EphemeralContainer", "volumeMounts", "merge", "mountPath"),
    m("io.k8s.api.core.v1.EphemeralContainer", "volumeDevices", "merge", "devicePath"),
    m("io.k8s.api.core.v1.NamespaceStatus", "conditions", "merge", "type"),
    m("io.k8s.api.core.v1.NodeSpec", "podCIDRs", "merge", ""),
    m("io.k8s.api.core.v1.NodeStatus", "conditions", "merge", "type"),
    m("io.k8s.api.core.v1.NodeStatus", "addresses", "merge", "type"),
    m("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "conditions", "merge", "type"),
    m("io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys", "name"),
    m("io.k8s.api.core.v1.PodSpec", "initContainers", "merge", "name"),
    m("io.k8s.api.core.v1.PodSpec", "containers", "merge", "name"),
    m("io.k8s.api.core.v1.PodSpec", "ephemeralContainers", "merge", "name"),
    m("io.k8s.api.core.v1.PodSpec", "imagePullSecrets", "merge", "name"),
    m("io.k8s.api.core.v1.PodSpec", "hostAliases", "merge", "ip"),
    m("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints", "merge", "topologyKey"),
    m("io.k8s.api.core.v1.PodSpec", "schedulingGates", "merge", "name"),
    m("io.k8s.api.core.v1.PodSpec", "resourceClaims", "merge,retainKeys", "name"),
    m("io.k8s.api.core.v1.PodStatus", "conditions", "merge", "type"),
    m("io.k8s.api.core.v1.PodStatus", "hostIPs", "merge", "ip"),
    m("io.k8s.api.core.v1.PodStatus", "podIPs", "merge", "ip"),
    m("io.k8s.api.core.v1.PodStatus", "resourceClaimStatuses", "merge,retainKeys", "name"),
    m("io.k8s.api.core.v1.ReplicationControllerStatus", "conditions", "merge", "type"),
    m("io.k8s.api.core.v1.ServiceAccount", "secrets", "merge", "name"),
    m("io.k8s.api.core.v1.ServiceSpec", "ports", "merge", "port"),
    m("io.k8s.api.core.v1.ServiceStatus", "conditions", "merge", "type"),
    m("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "selector", "replace", ""),
    m("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", "conditions", "merge", "type"),
    m("io.k8s.api.storage.v1.CSINodeSpec", "drivers", "merge", "name"),
    m(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "x-kubernetes-validations",
        "merge",
        "rule",
    ),
    m("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "merge", "uid"),
    m("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", "merge", ""),
];

/// The patch metadata of one field, if the Go type declares any.
pub fn field_patch_meta(definition: &str, field: &str) -> Option<&'static FieldPatchMeta> {
    PATCH_META.iter().find(|m| m.definition == definition && m.field == field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_rows_are_present() {
        let containers = field_patch_meta("io.k8s.api.core.v1.PodSpec", "containers");
        assert_eq!(containers.map(|m| (m.strategy, m.merge_key)), Some(("merge", "name")));
        let ports = field_patch_meta("io.k8s.api.core.v1.Container", "ports");
        assert_eq!(ports.map(|m| m.merge_key), Some("containerPort"));
        let svc = field_patch_meta("io.k8s.api.core.v1.ServiceSpec", "ports");
        assert_eq!(svc.map(|m| m.merge_key), Some("port"));
        let fin = field_patch_meta("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers");
        assert_eq!(fin.map(|m| (m.strategy, m.merge_key)), Some(("merge", "")));
        let strategy = field_patch_meta("io.k8s.api.apps.v1.DeploymentSpec", "strategy");
        assert_eq!(strategy.map(|m| m.strategy), Some("retainKeys"));
        let volumes = field_patch_meta("io.k8s.api.core.v1.PodSpec", "volumes");
        assert_eq!(volumes.map(|m| m.strategy), Some("merge,retainKeys"));
        // Inline-embedded EphemeralContainerCommon is flattened into EphemeralContainer.
        assert!(field_patch_meta("io.k8s.api.core.v1.EphemeralContainer", "env").is_some());
    }

    #[test]
    fn rows_are_unique_and_well_formed() {
        for (i, a) in PATCH_META.iter().enumerate() {
            assert!(PATCH_META[i + 1..].iter().all(|b| (a.definition, a.field) != (b.definition, b.field)));
            assert!(a.strategy.split(',').all(|s| matches!(s, "merge" | "retainKeys" | "replace")), "{a:?}");
        }
    }
}
