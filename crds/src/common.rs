//! Types shared by several Capstan CustomResources: conditions, machine templates and
//! references.
//!
//! Conditions use the standard `metav1.Condition` from k8s-openapi so that every tool
//! that understands Kubernetes conditions (`kubectl wait --for=condition=…`, kstatus,
//! Argo CD health checks) reads ours without special cases.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// Condition type set when the object is fully reconciled and usable.
pub const CONDITION_READY: &str = "Ready";
/// Condition type set while the infrastructure backend is creating or changing machines.
pub const CONDITION_PROVISIONED: &str = "Provisioned";
/// Condition type set when `spec.paused` stops reconciliation.
pub const CONDITION_PAUSED: &str = "Paused";

/// What each machine gets: compute resources, node labels and taints.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachineTemplate {
    /// CPU and memory of each machine. Virtual (in-process) machines report these as
    /// node capacity; process machines use them as limits.
    #[serde(default)]
    pub resources: MachineResources,
    /// Labels put on the Node object of each machine.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_labels: BTreeMap<String, String>,
    /// Taints put on the Node object of each machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub taints: Vec<Taint>,
}

/// Compute resources of one machine.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachineResources {
    /// CPU capacity, as a Kubernetes quantity (`2`, `500m`).
    #[serde(default = "default_cpu")]
    pub cpu: Quantity,
    /// Memory capacity, as a Kubernetes quantity (`4Gi`).
    #[serde(default = "default_memory")]
    pub memory: Quantity,
    /// Maximum number of pods the machine's node accepts.
    #[serde(default = "default_max_pods")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_pods: i32,
}

impl Default for MachineResources {
    fn default() -> Self {
        Self { cpu: default_cpu(), memory: default_memory(), max_pods: default_max_pods() }
    }
}

fn default_cpu() -> Quantity {
    Quantity("2".to_owned())
}

fn default_memory() -> Quantity {
    Quantity("4Gi".to_owned())
}

fn default_max_pods() -> i32 {
    110
}

/// A key in a Secret in the same namespace as the object that refers to it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key in the Secret's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Replica counts of a group of machines, as observed by the controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    /// Machines that exist, in any state.
    #[serde(default)]
    pub replicas: i32,
    /// Machines whose node is Ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Machines that run the desired template and version.
    #[serde(default)]
    pub updated_replicas: i32,
}
