//! Capstan's own CustomResource types, group `capstan.io`, version `v1alpha1`.
//!
//! - [`WorkloadCluster`] (`workloadclusters.capstan.io`, short name `wc`): a Kubernetes
//!   cluster managed by the capi provider, with its control plane and default worker pool.
//! - [`MachinePool`] (`machinepools.capstan.io`, short name `mp`): an extra worker group
//!   of a WorkloadCluster.
//!
//! The types derive `CustomResource` (kube-derive) and their schemas come from schemars,
//! with CEL rules (`x-kubernetes-validations`) and list-type markers. [`crds`] lists the
//! CustomResourceDefinitions; [`render_all`] turns them into the YAML that the `crdgen`
//! binary writes to `crds/yaml/` and `charts/capstan/crds/` (regenerate with
//! `make crdgen`, check with `crdgen --check`).

pub mod common;
pub mod machine_pool;
pub mod render;
pub mod workload_cluster;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use common::{Condition, MachineResources, MachineTemplate, ReplicaStatus, SecretKeyReference};
pub use machine_pool::{DeletePolicy, MachinePool, MachinePoolSpec, MachinePoolStatus};
pub use render::{check_dir, render_all, render_crd, write_dir, OUTPUT_DIRS, YAML_HEADER};
pub use workload_cluster::{
    ClusterNetwork, ControlPlaneSpec, InfrastructureBackend, InfrastructureSpec, WorkerAutoscaling, WorkersSpec,
    WorkloadCluster, WorkloadClusterPhase, WorkloadClusterSpec, WorkloadClusterStatus,
};

/// API group of every Capstan CustomResource.
pub const GROUP: &str = "capstan.io";
/// The (only) served and stored version.
pub const VERSION: &str = "v1alpha1";

/// Every Capstan CustomResourceDefinition, sorted by name.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut all = vec![WorkloadCluster::crd(), MachinePool::crd()];
    all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    all
}
