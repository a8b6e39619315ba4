//! `MachinePool` (`machinepools.capstan.io`): an extra group of identical worker
//! machines in a [`WorkloadCluster`](crate::WorkloadCluster).
//!
//! The pool names its cluster in `spec.clusterName` (same namespace). Its `scale`
//! subresource targets `spec.replicas`, so `kubectl scale` and autoscalers work on it.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, MachineTemplate};

/// Desired state of a machine pool.
// Several `printcolumn(type_ = …)` arguments repeat; clippy mistakes them for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "capstan.io",
    version = "v1alpha1",
    kind = "MachinePool",
    plural = "machinepools",
    singular = "machinepool",
    shortname = "mp",
    category = "capstan",
    namespaced,
    status = "MachinePoolStatus",
    derive = "PartialEq",
    doc = "A group of identical worker machines belonging to a WorkloadCluster in the same namespace.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".spec.clusterName",
        description = "WorkloadCluster the pool belongs to"
    ),
    printcolumn(name = "Desired", type_ = "integer", json_path = ".spec.replicas", description = "Desired machines"),
    printcolumn(
        name = "Replicas",
        type_ = "integer",
        json_path = ".status.replicas",
        description = "Existing machines"
    ),
    printcolumn(
        name = "Ready",
        type_ = "integer",
        json_path = ".status.readyReplicas",
        description = "Machines whose node is Ready"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct MachinePoolSpec {
    /// Name of the WorkloadCluster (same namespace) the machines join. Fixed at creation.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterName is immutable"))]
    pub cluster_name: String,
    /// Desired number of machines.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: i32,
    /// Template of each machine.
    #[serde(default)]
    pub template: MachineTemplate,
    /// Kubernetes version of the machines; defaults to the cluster's `spec.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), pattern(r"^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"))]
    pub version: Option<String>,
    /// Which machines go first when the pool shrinks.
    #[serde(default)]
    pub delete_policy: DeletePolicy,
    /// Seconds a new machine's node must be Ready before it counts as available.
    #[serde(default)]
    #[schemars(range(min = 0, max = 3600))]
    pub min_ready_seconds: i32,
}

fn default_replicas() -> i32 {
    1
}

/// Order in which machines are removed on scale-down.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletePolicy {
    /// Unhealthy machines first, then any.
    #[default]
    Random,
    /// Unhealthy machines first, then the newest.
    Newest,
    /// Unhealthy machines first, then the oldest.
    Oldest,
}

/// Observed state of a machine pool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachinePoolStatus {
    /// Machines that exist, in any state (the scale subresource's `status.replicas`).
    #[serde(default)]
    pub replicas: i32,
    /// Machines whose node is Ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Machines Ready for at least `minReadySeconds`.
    #[serde(default)]
    pub available_replicas: i32,
    /// Standard conditions (`Ready`, `Provisioned`), one per type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Label selector of the pool's machines, in string form, for the scale subresource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}
