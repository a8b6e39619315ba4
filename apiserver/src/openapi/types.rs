//! The Rust types (from k8s-openapi) whose schemas seed the OpenAPI
//! definitions, and the group/version/kinds of definitions that are not catalog
//! rows (subresource bodies and `meta/v1` types).

use k8s_openapi::api::{
    admissionregistration::v1 as admreg, apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz,
    autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling_v2, batch::v1 as batch,
    certificates::v1 as certificates, coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
    events::v1 as events, flowcontrol::v1 as flowcontrol, networking::v1 as networking, node::v1 as node,
    policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apireg;
use schemars::SchemaGenerator;

/// Adds the schema of every seed type (and, through schemars, everything it
/// references) to the generator's definitions.
pub(super) fn register_all(gen: &mut SchemaGenerator) {
    macro_rules! seed {
        ($($t:ty),* $(,)?) => { $( let _ = gen.subschema_for::<$t>(); )* };
    }
    seed!(
        core::Binding,
        core::ConfigMap,
        core::Endpoints,
        core::Event,
        core::LimitRange,
        core::Namespace,
        core::Node,
        core::PersistentVolumeClaim,
        core::PersistentVolume,
        core::Pod,
        core::PodTemplate,
        core::ReplicationController,
        core::ResourceQuota,
        core::Secret,
        core::ServiceAccount,
        core::Service,
        admreg::MutatingWebhookConfiguration,
        admreg::ValidatingAdmissionPolicy,
        admreg::ValidatingAdmissionPolicyBinding,
        admreg::ValidatingWebhookConfiguration,
        apiext::CustomResourceDefinition,
        apps::ControllerRevision,
        apps::DaemonSet,
        apps::Deployment,
        apps::ReplicaSet,
        apps::StatefulSet,
        autoscaling_v2::HorizontalPodAutoscaler,
        autoscaling_v1::HorizontalPodAutoscaler,
        autoscaling_v1::Scale,
        batch::CronJob,
        batch::Job,
        certificates::CertificateSigningRequest,
        coordination::Lease,
        discovery::EndpointSlice,
        events::Event,
        networking::IngressClass,
        networking::Ingress,
        networking::NetworkPolicy,
        policy::PodDisruptionBudget,
        policy::Eviction,
        rbac::ClusterRoleBinding,
        rbac::ClusterRole,
        rbac::RoleBinding,
        rbac::Role,
        scheduling::PriorityClass,
        storage::CSIDriver,
        storage::CSINode,
        storage::CSIStorageCapacity,
        storage::StorageClass,
        storage::VolumeAttachment,
        meta::APIGroup,
        meta::APIGroupList,
        meta::APIResourceList,
        meta::APIVersions,
        meta::DeleteOptions,
        meta::Patch,
        meta::Status,
        meta::WatchEvent<core::Pod>,
    );
    // Not (yet) catalog rows, but bodies of subresources and kinds kubectl
    // talks to (auth can-i/whoami, create token); seeded so a catalog row or
    // subresource added later finds its definition.
    seed!(
        authn::TokenRequest,
        authn::TokenReview,
        authn::SelfSubjectReview,
        authz::SubjectAccessReview,
        authz::SelfSubjectAccessReview,
        authz::SelfSubjectRulesReview,
        authz::LocalSubjectAccessReview,
        core::ComponentStatus,
        flowcontrol::FlowSchema,
        flowcontrol::PriorityLevelConfiguration,
        networking::ServiceCIDR,
        node::RuntimeClass,
        storage::VolumeAttributesClass,
        apireg::APIService,
    );
}

/// Definition → (group, version, kind) for definitions that are not catalog
/// rows. Each is served in exactly one group/version.
pub(super) const EXTRA_KINDS: &[(&str, &str, &str, &str)] = &[
    ("io.k8s.api.autoscaling.v1.Scale", "autoscaling", "v1", "Scale"),
    ("io.k8s.api.policy.v1.Eviction", "policy", "v1", "Eviction"),
    ("io.k8s.api.authentication.v1.TokenRequest", "authentication.k8s.io", "v1", "TokenRequest"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", "", "v1", "APIGroup"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList", "", "v1", "APIGroupList"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", "", "v1", "APIResourceList"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", "", "v1", "APIVersions"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "", "v1", "Status"),
];

/// Definitions kube registers in every served group/version (the option and
/// event types every API group understands).
pub(super) const EVERY_GROUP_VERSION: &[(&str, &str)] = &[
    ("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "DeleteOptions"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent", "WatchEvent"),
];

pub(super) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(super) const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
pub(super) const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
