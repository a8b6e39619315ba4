//! The built-in resource catalog: every served group/version/resource with the
//! facts discovery, OpenAPI, storage and the handlers need. One row per
//! (group, version, resource); rows that share `storage` share etcd keys.

/// Verbs of an ordinary stored resource.
pub const STANDARD_VERBS: &[&str] =
    &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const CREATE_ONLY: &[&str] = &["create"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group ("" = core).
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The resource name in URLs, e.g. "deployments".
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Subresources served under `<name>/<sub>`, e.g. "status", "scale".
    pub subresources: &'static [&'static str],
    /// kube-apiserver's etcd path segment under the prefix, e.g. "services/specs"
    /// (empty: not stored, e.g. bindings).
    pub storage: &'static str,
    /// OpenAPI definition name, e.g. `io.k8s.api.core.v1.Pod`.
    pub definition: &'static str,
    /// metadata.generation is kept and bumped on spec changes.
    pub generation: bool,
}

impl ResourceInfo {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
    pub fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.contains(&sub)
    }
    pub fn has_status(&self) -> bool {
        self.has_subresource("status")
    }
    /// `deployments.apps` / `pods`.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
    /// The etcd key of one object.
    pub fn key(&self, prefix: &str, namespace: &str, name: &str) -> String {
        if self.namespaced {
            format!("{}/{}/{namespace}/{name}", prefix.trim_end_matches('/'), self.storage)
        } else {
            format!("{}/{}/{name}", prefix.trim_end_matches('/'), self.storage)
        }
    }
    /// The etcd prefix of all objects (namespace "" = all namespaces), ending in '/'.
    pub fn key_prefix(&self, prefix: &str, namespace: &str) -> String {
        if self.namespaced && !namespace.is_empty() {
            format!("{}/{}/{namespace}/", prefix.trim_end_matches('/'), self.storage)
        } else {
            format!("{}/{}/", prefix.trim_end_matches('/'), self.storage)
        }
    }
    pub fn is_stored(&self) -> bool {
        !self.storage.is_empty()
    }
}

macro_rules! r {
    ($g:expr, $v:expr, $kind:expr, $plural:expr, $singular:expr, ns=$ns:expr, short=$short:expr, cat=$cat:expr,
     sub=$sub:expr, storage=$storage:expr, def=$def:expr, gen=$gen:expr) => {
        ResourceInfo {
            group: $g,
            version: $v,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
            verbs: STANDARD_VERBS,
            subresources: $sub,
            storage: $storage,
            definition: $def,
            generation: $gen,
        }
    };
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];
const STATUS: &[&str] = &["status"];
const STATUS_SCALE: &[&str] = &["status", "scale"];

/// Every built-in resource, in discovery order (groups in kube-apiserver's order).
pub static RESOURCES: &[ResourceInfo] = &[
    // core/v1
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Binding",
        plural: "bindings",
        singular: "binding",
        namespaced: true,
        short_names: NONE,
        categories: NONE,
        verbs: CREATE_ONLY,
        subresources: NONE,
        storage: "",
        definition: "io.k8s.api.core.v1.Binding",
        generation: false,
    },
    r!(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        ns = true,
        short = &["cm"],
        cat = NONE,
        sub = NONE,
        storage = "configmaps",
        def = "io.k8s.api.core.v1.ConfigMap",
        gen = false
    ),
    r!(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        "endpoints",
        ns = true,
        short = &["ep"],
        cat = NONE,
        sub = NONE,
        storage = "services/endpoints",
        def = "io.k8s.api.core.v1.Endpoints",
        gen = false
    ),
    r!(
        "",
        "v1",
        "Event",
        "events",
        "event",
        ns = true,
        short = &["ev"],
        cat = NONE,
        sub = NONE,
        storage = "events",
        def = "io.k8s.api.core.v1.Event",
        gen = false
    ),
    r!(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        "limitrange",
        ns = true,
        short = &["limits"],
        cat = NONE,
        sub = NONE,
        storage = "limitranges",
        def = "io.k8s.api.core.v1.LimitRange",
        gen = false
    ),
    r!(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        ns = false,
        short = &["ns"],
        cat = NONE,
        sub = &["status", "finalize"],
        storage = "namespaces",
        def = "io.k8s.api.core.v1.Namespace",
        gen = false
    ),
    r!(
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        ns = false,
        short = &["no"],
        cat = NONE,
        sub = STATUS,
        storage = "minions",
        def = "io.k8s.api.core.v1.Node",
        gen = false
    ),
    r!(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        ns = true,
        short = &["pvc"],
        cat = NONE,
        sub = STATUS,
        storage = "persistentvolumeclaims",
        def = "io.k8s.api.core.v1.PersistentVolumeClaim",
        gen = false
    ),
    r!(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        ns = false,
        short = &["pv"],
        cat = NONE,
        sub = STATUS,
        storage = "persistentvolumes",
        def = "io.k8s.api.core.v1.PersistentVolume",
        gen = false
    ),
    r!(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        ns = true,
        short = &["po"],
        cat = ALL,
        sub = &["status", "binding", "eviction"],
        storage = "pods",
        def = "io.k8s.api.core.v1.Pod",
        gen = true
    ),
    r!(
        "",
        "v1",
        "PodTemplate",
        "podtemplates",
        "podtemplate",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "podtemplates",
        def = "io.k8s.api.core.v1.PodTemplate",
        gen = false
    ),
    r!(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        "replicationcontroller",
        ns = true,
        short = &["rc"],
        cat = ALL,
        sub = STATUS_SCALE,
        storage = "controllers",
        def = "io.k8s.api.core.v1.ReplicationController",
        gen = true
    ),
    r!(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        ns = true,
        short = &["quota"],
        cat = NONE,
        sub = STATUS,
        storage = "resourcequotas",
        def = "io.k8s.api.core.v1.ResourceQuota",
        gen = false
    ),
    r!(
        "",
        "v1",
        "Secret",
        "secrets",
        "secret",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "secrets",
        def = "io.k8s.api.core.v1.Secret",
        gen = false
    ),
    r!(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        ns = true,
        short = &["sa"],
        cat = NONE,
        sub = NONE,
        storage = "serviceaccounts",
        def = "io.k8s.api.core.v1.ServiceAccount",
        gen = false
    ),
    r!(
        "",
        "v1",
        "Service",
        "services",
        "service",
        ns = true,
        short = &["svc"],
        cat = ALL,
        sub = STATUS,
        storage = "services/specs",
        def = "io.k8s.api.core.v1.Service",
        gen = false
    ),
    // admissionregistration.k8s.io/v1
    r!(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        ns = false,
        short = NONE,
        cat = &["api-extensions"],
        sub = NONE,
        storage = "mutatingwebhookconfigurations",
        def = "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
        gen = true
    ),
    r!(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        "validatingadmissionpolicy",
        ns = false,
        short = NONE,
        cat = &["api-extensions"],
        sub = STATUS,
        storage = "validatingadmissionpolicies",
        def = "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicy",
        gen = true
    ),
    r!(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        "validatingadmissionpolicybinding",
        ns = false,
        short = NONE,
        cat = &["api-extensions"],
        sub = NONE,
        storage = "validatingadmissionpolicybindings",
        def = "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding",
        gen = true
    ),
    r!(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        ns = false,
        short = NONE,
        cat = &["api-extensions"],
        sub = NONE,
        storage = "validatingwebhookconfigurations",
        def = "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
        gen = true
    ),
    // apiextensions.k8s.io/v1
    r!(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        ns = false,
        short = &["crd", "crds"],
        cat = &["api-extensions"],
        sub = STATUS,
        storage = "apiextensions.k8s.io/customresourcedefinitions",
        def = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        gen = true
    ),
    // apps/v1
    r!(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "controllerrevisions",
        def = "io.k8s.api.apps.v1.ControllerRevision",
        gen = false
    ),
    r!(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        ns = true,
        short = &["ds"],
        cat = ALL,
        sub = STATUS,
        storage = "daemonsets",
        def = "io.k8s.api.apps.v1.DaemonSet",
        gen = true
    ),
    r!(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        ns = true,
        short = &["deploy"],
        cat = ALL,
        sub = STATUS_SCALE,
        storage = "deployments",
        def = "io.k8s.api.apps.v1.Deployment",
        gen = true
    ),
    r!(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        ns = true,
        short = &["rs"],
        cat = ALL,
        sub = STATUS_SCALE,
        storage = "replicasets",
        def = "io.k8s.api.apps.v1.ReplicaSet",
        gen = true
    ),
    r!(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        ns = true,
        short = &["sts"],
        cat = ALL,
        sub = STATUS_SCALE,
        storage = "statefulsets",
        def = "io.k8s.api.apps.v1.StatefulSet",
        gen = true
    ),
    // autoscaling (v2 is the storage and preferred version)
    r!(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        ns = true,
        short = &["hpa"],
        cat = ALL,
        sub = STATUS,
        storage = "horizontalpodautoscalers",
        def = "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        gen = true
    ),
    r!(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        ns = true,
        short = &["hpa"],
        cat = ALL,
        sub = STATUS,
        storage = "horizontalpodautoscalers",
        def = "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
        gen = true
    ),
    // batch/v1
    r!(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        "cronjob",
        ns = true,
        short = &["cj"],
        cat = ALL,
        sub = STATUS,
        storage = "cronjobs",
        def = "io.k8s.api.batch.v1.CronJob",
        gen = true
    ),
    r!(
        "batch",
        "v1",
        "Job",
        "jobs",
        "job",
        ns = true,
        short = NONE,
        cat = ALL,
        sub = STATUS,
        storage = "jobs",
        def = "io.k8s.api.batch.v1.Job",
        gen = true
    ),
    // certificates.k8s.io/v1
    r!(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        "certificatesigningrequest",
        ns = false,
        short = &["csr"],
        cat = NONE,
        sub = &["status", "approval"],
        storage = "certificatesigningrequests",
        def = "io.k8s.api.certificates.v1.CertificateSigningRequest",
        gen = false
    ),
    // coordination.k8s.io/v1
    r!(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "leases",
        def = "io.k8s.api.coordination.v1.Lease",
        gen = false
    ),
    // discovery.k8s.io/v1
    r!(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "endpointslices",
        def = "io.k8s.api.discovery.v1.EndpointSlice",
        gen = false
    ),
    // events.k8s.io/v1 (shares storage with core/v1 events)
    r!(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        ns = true,
        short = &["ev"],
        cat = NONE,
        sub = NONE,
        storage = "events",
        def = "io.k8s.api.events.v1.Event",
        gen = false
    ),
    // networking.k8s.io/v1
    r!(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        "ingressclass",
        ns = false,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "ingressclasses",
        def = "io.k8s.api.networking.v1.IngressClass",
        gen = false
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        ns = true,
        short = &["ing"],
        cat = NONE,
        sub = STATUS,
        storage = "ingress",
        def = "io.k8s.api.networking.v1.Ingress",
        gen = true
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        ns = true,
        short = &["netpol"],
        cat = NONE,
        sub = NONE,
        storage = "networkpolicies",
        def = "io.k8s.api.networking.v1.NetworkPolicy",
        gen = true
    ),
    // policy/v1
    r!(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        ns = true,
        short = &["pdb"],
        cat = NONE,
        sub = STATUS,
        storage = "poddisruptionbudgets",
        def = "io.k8s.api.policy.v1.PodDisruptionBudget",
        gen = true
    ),
    // rbac.authorization.k8s.io/v1
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        ns = false,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "clusterrolebindings",
        def = "io.k8s.api.rbac.v1.ClusterRoleBinding",
        gen = false
    ),
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        ns = false,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "clusterroles",
        def = "io.k8s.api.rbac.v1.ClusterRole",
        gen = false
    ),
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "rolebindings",
        def = "io.k8s.api.rbac.v1.RoleBinding",
        gen = false
    ),
    r!(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        "role",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "roles",
        def = "io.k8s.api.rbac.v1.Role",
        gen = false
    ),
    // scheduling.k8s.io/v1
    r!(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        "priorityclass",
        ns = false,
        short = &["pc"],
        cat = NONE,
        sub = NONE,
        storage = "priorityclasses",
        def = "io.k8s.api.scheduling.v1.PriorityClass",
        gen = false
    ),
    // storage.k8s.io/v1
    r!(
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        "csidrivers",
        "csidriver",
        ns = false,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "csidrivers",
        def = "io.k8s.api.storage.v1.CSIDriver",
        gen = false
    ),
    r!(
        "storage.k8s.io",
        "v1",
        "CSINode",
        "csinodes",
        "csinode",
        ns = false,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "csinodes",
        def = "io.k8s.api.storage.v1.CSINode",
        gen = false
    ),
    r!(
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        "csistoragecapacities",
        "csistoragecapacity",
        ns = true,
        short = NONE,
        cat = NONE,
        sub = NONE,
        storage = "csistoragecapacities",
        def = "io.k8s.api.storage.v1.CSIStorageCapacity",
        gen = false
    ),
    r!(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        "storageclass",
        ns = false,
        short = &["sc"],
        cat = NONE,
        sub = NONE,
        storage = "storageclasses",
        def = "io.k8s.api.storage.v1.StorageClass",
        gen = false
    ),
    r!(
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        "volumeattachments",
        "volumeattachment",
        ns = false,
        short = NONE,
        cat = NONE,
        sub = STATUS,
        storage = "volumeattachments",
        def = "io.k8s.api.storage.v1.VolumeAttachment",
        gen = false
    ),
];

/// The row for a group/version/resource (built-in, then custom resources).
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
        .or_else(|| crate::crd::registry::find(group, version, plural))
}

/// The preferred (first-listed) version of a group/resource.
pub fn preferred(group: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .or_else(|| crate::crd::registry::preferred(group, plural))
}

/// Whether `group` is served by built-in resources (custom resources cannot join it).
pub fn is_builtin_group(group: &str) -> bool {
    static GROUPS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| RESOURCES.iter().map(|r| r.group).collect());
    GROUPS.contains(group)
}

/// Every served row: built-in ones, then custom resources.
pub fn all() -> Vec<&'static ResourceInfo> {
    let mut v: Vec<&'static ResourceInfo> = RESOURCES.iter().collect();
    v.extend(crate::crd::registry::rows());
    v
}

/// Groups in discovery order, each with its versions (preferred first).
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for r in all() {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, vs)) => {
                if !vs.contains(&r.version) {
                    vs.push(r.version)
                }
            }
            None => out.push((r.group, vec![r.version])),
        }
    }
    out
}

/// Resources of one group/version, in catalog order.
pub fn resources_of(group: &str, version: &str) -> std::vec::IntoIter<&'static ResourceInfo> {
    let rows: Vec<&'static ResourceInfo> = if is_builtin_group(group) {
        RESOURCES.iter().filter(|r| r.group == group && r.version == version).collect()
    } else {
        crate::crd::registry::rows().into_iter().filter(|r| r.group == group && r.version == version).collect()
    };
    rows.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_kube_apiserver_layout() {
        let svc = find("", "v1", "services").expect("services");
        assert_eq!(svc.key("/registry", "default", "web"), "/registry/services/specs/default/web");
        let node = find("", "v1", "nodes").expect("nodes");
        assert_eq!(node.key("/registry", "", "n1"), "/registry/minions/n1");
        assert_eq!(node.key_prefix("/registry/", "x"), "/registry/minions/");
    }

    #[test]
    fn autoscaling_prefers_v2() {
        let g = groups();
        let (_, versions) = g.iter().find(|(g, _)| *g == "autoscaling").expect("autoscaling");
        assert_eq!(versions, &vec!["v2", "v1"]);
        assert_eq!(preferred("autoscaling", "horizontalpodautoscalers").map(|r| r.version), Some("v2"));
    }

    #[test]
    fn plurals_unique_per_group_version() {
        for (i, a) in RESOURCES.iter().enumerate() {
            for b in &RESOURCES[i + 1..] {
                assert!(!(a.group == b.group && a.version == b.version && a.plural == b.plural), "{}", a.plural);
            }
        }
    }
}
