//! `WorkloadCluster` (`workloadclusters.capstan.io`): one Kubernetes cluster managed by
//! the capi provider (`capstan capi`).
//!
//! A WorkloadCluster is Capstan's Cluster-API-style "cluster + control plane + default
//! worker pool" in one object, so that creating thousands of clusters is one write each.
//! Extra worker groups are [`MachinePool`](crate::MachinePool)s that name the cluster.
//! The `scale` subresource targets the default worker pool, so
//! `kubectl scale wc/NAME --replicas=N` and autoscalers work on it.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, MachineTemplate, ReplicaStatus, SecretKeyReference};

/// Desired state of a workload cluster.
// Several `printcolumn(type_ = …)` arguments repeat; clippy mistakes them for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "capstan.io",
    version = "v1alpha1",
    kind = "WorkloadCluster",
    plural = "workloadclusters",
    singular = "workloadcluster",
    shortname = "wc",
    category = "capstan",
    namespaced,
    status = "WorkloadClusterStatus",
    derive = "PartialEq",
    doc = "A Kubernetes cluster managed by Capstan's capi provider: control plane, default worker pool and infrastructure backend.",
    validation = Rule::new("size(self.metadata.name) <= 63").message("a workload cluster name must be at most 63 characters: it becomes a DNS label"),
    scale(
        spec_replicas_path = ".spec.workers.replicas",
        status_replicas_path = ".status.workers.readyReplicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", description = "Lifecycle phase of the cluster"),
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version", description = "Desired Kubernetes version"),
    printcolumn(name = "Workers", type_ = "integer", json_path = ".status.workers.readyReplicas", description = "Ready worker machines"),
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".status.endpoint", description = "API server URL", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadClusterSpec {
    /// Kubernetes version the control plane and workers run, such as `v1.34.1`.
    #[schemars(length(min = 1, max = 64), pattern(r"^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"))]
    pub version: String,
    /// The cluster's control plane (API server and its etcd members).
    #[serde(default)]
    pub control_plane: ControlPlaneSpec,
    /// The default worker pool. `kubectl scale` changes `workers.replicas`.
    #[serde(default)]
    pub workers: WorkersSpec,
    /// Where machines run. Fixed at creation.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("infrastructure is immutable"))]
    pub infrastructure: InfrastructureSpec,
    /// Pod and service networks of the cluster. Fixed at creation.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterNetwork is immutable"))]
    pub cluster_network: ClusterNetwork,
    /// Stops reconciliation of this cluster and its machine pools while true.
    #[serde(default)]
    pub paused: bool,
}

/// The control plane of a workload cluster.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.replicas % 2 == 1").message("control plane replicas must be odd, to keep an etcd quorum"))]
pub struct ControlPlaneSpec {
    /// Number of control plane members (1, 3, 5 or 7).
    #[serde(default = "default_control_plane_replicas")]
    #[schemars(range(min = 1, max = 7))]
    pub replicas: i32,
}

impl Default for ControlPlaneSpec {
    fn default() -> Self {
        Self { replicas: default_control_plane_replicas() }
    }
}

fn default_control_plane_replicas() -> i32 {
    1
}

/// The default worker pool of a workload cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkersSpec {
    /// Desired number of worker machines (the scale subresource's `spec.replicas`).
    #[serde(default)]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: i32,
    /// Template of each worker machine.
    #[serde(default)]
    pub template: MachineTemplate,
    /// Bounds for an autoscaler that changes `replicas`; absent means no autoscaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<WorkerAutoscaling>,
}

/// Bounds for autoscaling a worker pool.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minReplicas <= self.maxReplicas").message("minReplicas must not exceed maxReplicas"))]
pub struct WorkerAutoscaling {
    /// Fewest workers the autoscaler may leave.
    #[schemars(range(min = 0, max = 1000))]
    pub min_replicas: i32,
    /// Most workers the autoscaler may create.
    #[schemars(range(min = 0, max = 1000))]
    pub max_replicas: i32,
}

/// Where the machines of a cluster run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfrastructureSpec {
    /// Infrastructure backend that creates the machines.
    #[serde(default)]
    pub backend: InfrastructureBackend,
}

/// Infrastructure backends of the capi provider.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum InfrastructureBackend {
    /// In-process virtual clusters: the control plane and hollow nodes run inside the
    /// provider. Cheap enough for thousands of clusters.
    #[default]
    Virtual,
    /// Each control plane member and machine is a real `capstan` process.
    Process,
}

/// Pod and service networks of a workload cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterNetwork {
    /// CIDR that pod IPs come from.
    #[serde(default = "default_pods_cidr")]
    #[schemars(length(min = 1, max = 64), pattern(r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"))]
    pub pods_cidr: String,
    /// CIDR that service ClusterIPs come from.
    #[serde(default = "default_services_cidr")]
    #[schemars(length(min = 1, max = 64), pattern(r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"))]
    pub services_cidr: String,
    /// DNS domain of services.
    #[serde(default = "default_service_domain")]
    #[schemars(length(min = 1, max = 253))]
    pub service_domain: String,
}

impl Default for ClusterNetwork {
    fn default() -> Self {
        Self {
            pods_cidr: default_pods_cidr(),
            services_cidr: default_services_cidr(),
            service_domain: default_service_domain(),
        }
    }
}

fn default_pods_cidr() -> String {
    "10.244.0.0/16".to_owned()
}

fn default_services_cidr() -> String {
    "10.96.0.0/12".to_owned()
}

fn default_service_domain() -> String {
    "cluster.local".to_owned()
}

/// Observed state of a workload cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadClusterStatus {
    /// Coarse lifecycle phase; conditions carry the detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<WorkloadClusterPhase>,
    /// Standard conditions (`Ready`, `Provisioned`, `Paused`), one per type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Kubernetes version the control plane runs now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// URL of the cluster's API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Secret key (in this namespace) holding an admin kubeconfig for the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig_secret_ref: Option<SecretKeyReference>,
    /// Control plane members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ReplicaStatus>,
    /// Machines of the default worker pool (`readyReplicas` is the scale status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<ReplicaStatus>,
    /// Label selector of the worker machines, in string form, for the scale subresource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

/// Lifecycle phases of a workload cluster.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum WorkloadClusterPhase {
    /// Accepted, not yet picked up by the provider.
    Pending,
    /// The control plane or workers are being created.
    Provisioning,
    /// The control plane answers and the kubeconfig Secret exists.
    Provisioned,
    /// Being torn down.
    Deleting,
    /// Provisioning failed; see the conditions.
    Failed,
}
