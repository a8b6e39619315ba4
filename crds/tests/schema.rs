//! Checks of the CustomResourceDefinitions themselves: names, scope, subresources,
//! printer columns, and that every schema is structural (typed nodes, no `$ref` or
//! combinators), plus serialisation round trips of sample objects.

use capstan_crds::{
    crds, Condition, InfrastructureBackend, MachinePool, MachinePoolSpec, MachineTemplate, ReplicaStatus,
    SecretKeyReference, WorkerAutoscaling, WorkloadCluster, WorkloadClusterPhase, WorkloadClusterSpec,
    WorkloadClusterStatus, GROUP, VERSION,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::core::CustomResourceExt;
use kube::Resource;
use serde_json::{json, Value};

fn version(crd: &CustomResourceDefinition) -> &CustomResourceDefinitionVersion {
    assert_eq!(crd.spec.versions.len(), 1, "one version per CRD");
    &crd.spec.versions[0]
}

fn schema_json(crd: &CustomResourceDefinition) -> Value {
    let schema =
        version(crd).schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()).expect("CRD has an openAPIV3Schema");
    serde_json::to_value(schema).expect("schema serialises")
}

fn printer_columns(crd: &CustomResourceDefinition) -> Vec<(String, String, String)> {
    version(crd)
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| (c.name.clone(), c.type_.clone(), c.json_path.clone()))
        .collect()
}

fn cols(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter().map(|(n, t, p)| (n.to_string(), t.to_string(), p.to_string())).collect()
}

#[test]
fn workload_cluster_crd_names_scope_subresources_columns() {
    let crd = WorkloadCluster::crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("workloadclusters.capstan.io"));
    assert_eq!(crd.spec.group, GROUP);
    assert_eq!(crd.spec.scope, "Namespaced");
    let names = &crd.spec.names;
    assert_eq!(names.kind, "WorkloadCluster");
    assert_eq!(names.plural, "workloadclusters");
    assert_eq!(names.singular.as_deref(), Some("workloadcluster"));
    assert_eq!(names.short_names.as_deref(), Some(&["wc".to_string()][..]));
    assert_eq!(names.categories.as_deref(), Some(&["capstan".to_string()][..]));

    let v = version(&crd);
    assert_eq!(v.name, VERSION);
    assert!(v.served && v.storage);
    let sub = v.subresources.as_ref().expect("subresources");
    assert!(sub.status.is_some(), "status subresource");
    let scale = sub.scale.as_ref().expect("scale subresource");
    assert_eq!(scale.spec_replicas_path, ".spec.workers.replicas");
    assert_eq!(scale.status_replicas_path, ".status.workers.readyReplicas");
    assert_eq!(scale.label_selector_path.as_deref(), Some(".status.selector"));

    assert_eq!(
        printer_columns(&crd),
        cols(&[
            ("Phase", "string", ".status.phase"),
            ("Version", "string", ".spec.version"),
            ("Workers", "integer", ".status.workers.readyReplicas"),
            ("Endpoint", "string", ".status.endpoint"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ])
    );
}

#[test]
fn machine_pool_crd_names_scope_subresources_columns() {
    let crd = MachinePool::crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("machinepools.capstan.io"));
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.kind, "MachinePool");
    assert_eq!(crd.spec.names.short_names.as_deref(), Some(&["mp".to_string()][..]));
    assert_eq!(crd.spec.names.categories.as_deref(), Some(&["capstan".to_string()][..]));
    let sub = version(&crd).subresources.as_ref().expect("subresources");
    assert!(sub.status.is_some());
    let scale = sub.scale.as_ref().expect("scale subresource");
    assert_eq!(scale.spec_replicas_path, ".spec.replicas");
    assert_eq!(scale.status_replicas_path, ".status.replicas");
    assert_eq!(scale.label_selector_path.as_deref(), Some(".status.selector"));
    assert_eq!(
        printer_columns(&crd),
        cols(&[
            ("Cluster", "string", ".spec.clusterName"),
            ("Desired", "integer", ".spec.replicas"),
            ("Replicas", "integer", ".status.replicas"),
            ("Ready", "integer", ".status.readyReplicas"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ])
    );
}

/// Walks a schema node, collecting structural-schema violations with their paths.
fn check_structural(node: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        errors.push(format!("{path}: schema node is not an object"));
        return;
    };
    for banned in ["$ref", "anyOf", "oneOf", "allOf", "not", "definitions", "$defs"] {
        if obj.contains_key(banned) {
            errors.push(format!("{path}: has {banned}"));
        }
    }
    let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&json!(true));
    let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    let ty = obj.get("type").and_then(Value::as_str);
    if ty.is_none() && !int_or_string && !preserve {
        errors.push(format!("{path}: no type"));
    }
    if let Some(t) = obj.get("type") {
        if !t.is_string() {
            errors.push(format!("{path}: type is not a single string: {t}"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        if ty != Some("object") {
            errors.push(format!("{path}: properties on a non-object"));
        }
        for (name, child) in props {
            check_structural(child, &format!("{path}.{name}"), errors);
        }
    }
    if let Some(additional) = obj.get("additionalProperties") {
        if additional.is_object() {
            check_structural(additional, &format!("{path}[*]"), errors);
        }
    }
    if ty == Some("array") {
        match obj.get("items") {
            Some(items) => check_structural(items, &format!("{path}[]"), errors),
            None => errors.push(format!("{path}: array without items")),
        }
    }
    if obj.get("x-kubernetes-list-type") == Some(&json!("map")) {
        let keys = obj.get("x-kubernetes-list-map-keys").and_then(Value::as_array);
        let required = node.pointer("/items/required").and_then(Value::as_array);
        match (keys, required) {
            (Some(keys), Some(required)) if keys.iter().all(|k| required.contains(k)) => {}
            _ => errors.push(format!("{path}: list-type map keys must be required in items")),
        }
    }
}

#[test]
fn every_schema_is_structural() {
    for crd in crds() {
        let schema = schema_json(&crd);
        let text = schema.to_string();
        assert!(!text.contains("$ref"), "{:?} has a $ref", crd.metadata.name);
        let mut errors = Vec::new();
        check_structural(&schema, "", &mut errors);
        assert!(errors.is_empty(), "{:?}: {errors:#?}", crd.metadata.name);
    }
}

#[test]
fn validation_markers_are_emitted() {
    let wc = schema_json(&WorkloadCluster::crd());
    let spec = &wc["properties"]["spec"]["properties"];
    assert_eq!(spec["workers"]["properties"]["replicas"]["maximum"], json!(1000.0));
    assert_eq!(spec["workers"]["properties"]["replicas"]["minimum"], json!(0.0));
    assert_eq!(spec["controlPlane"]["properties"]["replicas"]["default"], json!(1));
    assert!(spec["version"]["pattern"].is_string());
    assert_eq!(spec["infrastructure"]["properties"]["backend"]["enum"], json!(["Virtual", "Process"]));
    assert_eq!(spec["infrastructure"]["properties"]["backend"]["default"], json!("Virtual"));
    assert_eq!(spec["paused"]["default"], json!(false));
    let rule = &spec["controlPlane"]["x-kubernetes-validations"][0];
    assert_eq!(rule["rule"], json!("self.replicas % 2 == 1"));
    assert!(rule["message"].is_string());
    assert_eq!(spec["infrastructure"]["x-kubernetes-validations"][0]["rule"], json!("self == oldSelf"));
    assert_eq!(wc["x-kubernetes-validations"][0]["rule"], json!("size(self.metadata.name) <= 63"));
    let conditions = &wc["properties"]["status"]["properties"]["conditions"];
    assert_eq!(conditions["x-kubernetes-list-type"], json!("map"));
    assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));

    let mp = schema_json(&MachinePool::crd());
    let conditions = &mp["properties"]["status"]["properties"]["conditions"];
    assert_eq!(conditions["x-kubernetes-list-type"], json!("map"));
    assert_eq!(
        mp["properties"]["spec"]["properties"]["clusterName"]["x-kubernetes-validations"][0]["rule"],
        json!("self == oldSelf")
    );
}

fn sample_cluster() -> WorkloadCluster {
    let mut wc = WorkloadCluster::new(
        "edge-001",
        WorkloadClusterSpec {
            version: "v1.34.1".into(),
            control_plane: Default::default(),
            workers: Default::default(),
            infrastructure: Default::default(),
            cluster_network: Default::default(),
            paused: false,
        },
    );
    wc.metadata.namespace = Some("fleet".into());
    wc.spec.control_plane.replicas = 3;
    wc.spec.workers.replicas = 5;
    wc.spec.workers.autoscaling = Some(WorkerAutoscaling { min_replicas: 2, max_replicas: 10 });
    wc.spec.workers.template.node_labels.insert("pool".into(), "default".into());
    wc.status = Some(WorkloadClusterStatus {
        phase: Some(WorkloadClusterPhase::Provisioned),
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Provisioned".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: Time(Default::default()),
        }],
        observed_generation: Some(1),
        version: Some("v1.34.1".into()),
        endpoint: Some("https://127.0.0.1:40123".into()),
        kubeconfig_secret_ref: Some(SecretKeyReference { name: "edge-001-kubeconfig".into(), key: "value".into() }),
        control_plane: Some(ReplicaStatus { replicas: 3, ready_replicas: 3, updated_replicas: 3 }),
        workers: Some(ReplicaStatus { replicas: 5, ready_replicas: 4, updated_replicas: 5 }),
        selector: Some("capstan.io/cluster-name=edge-001".into()),
    });
    wc
}

#[test]
fn workload_cluster_round_trips() {
    let wc = sample_cluster();
    let value = serde_json::to_value(&wc).expect("serialise");
    assert_eq!(value["apiVersion"], json!("capstan.io/v1alpha1"));
    assert_eq!(value["kind"], json!("WorkloadCluster"));
    assert_eq!(value["spec"]["workers"]["replicas"], json!(5));
    assert_eq!(value["spec"]["infrastructure"]["backend"], json!("Virtual"));
    assert_eq!(value["status"]["workers"]["readyReplicas"], json!(4));
    assert_eq!(value["status"]["kubeconfigSecretRef"]["name"], json!("edge-001-kubeconfig"));
    let back: WorkloadCluster = serde_json::from_value(value).expect("deserialise");
    assert_eq!(back, wc);

    let yaml = serde_yaml_ng::to_string(&wc).expect("yaml");
    let back: WorkloadCluster = serde_yaml_ng::from_str(&yaml).expect("from yaml");
    assert_eq!(back, wc);
}

#[test]
fn minimal_manifests_get_the_defaults() {
    let wc: WorkloadCluster = serde_json::from_value(json!({
        "apiVersion": "capstan.io/v1alpha1",
        "kind": "WorkloadCluster",
        "metadata": {"name": "a", "namespace": "default"},
        "spec": {"version": "v1.34.0"}
    }))
    .expect("minimal cluster");
    assert_eq!(wc.spec.control_plane.replicas, 1);
    assert_eq!(wc.spec.workers.replicas, 0);
    assert_eq!(wc.spec.infrastructure.backend, InfrastructureBackend::Virtual);
    assert_eq!(wc.spec.workers.template.resources.max_pods, 110);
    assert_eq!(wc.spec.cluster_network.service_domain, "cluster.local");
    assert!(!wc.spec.paused);
    assert!(wc.status.is_none());

    let mp: MachinePool = serde_json::from_value(json!({
        "apiVersion": "capstan.io/v1alpha1",
        "kind": "MachinePool",
        "metadata": {"name": "gpu", "namespace": "default"},
        "spec": {"clusterName": "a"}
    }))
    .expect("minimal pool");
    assert_eq!(mp.spec.replicas, 1);
    assert_eq!(mp.spec.template, MachineTemplate::default());
    assert_eq!(MachinePool::api_version(&()), "capstan.io/v1alpha1");
}

#[test]
fn machine_pool_round_trips() {
    let mut mp = MachinePool::new(
        "gpu",
        MachinePoolSpec {
            cluster_name: "edge-001".into(),
            replicas: 3,
            template: MachineTemplate::default(),
            version: Some("v1.34.1".into()),
            delete_policy: Default::default(),
            min_ready_seconds: 10,
        },
    );
    mp.metadata.namespace = Some("fleet".into());
    let value = serde_json::to_value(&mp).expect("serialise");
    assert_eq!(value["spec"]["clusterName"], json!("edge-001"));
    assert_eq!(value["spec"]["deletePolicy"], json!("Random"));
    assert_eq!(value["spec"]["template"]["resources"]["memory"], json!("4Gi"));
    let back: MachinePool = serde_json::from_value(value).expect("deserialise");
    assert_eq!(back, mp);
}
