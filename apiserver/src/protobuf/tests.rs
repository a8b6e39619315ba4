//! Round trips: objects built with k8s-pb's prost structs, wrapped in the
//! `k8s\0` + `runtime.Unknown` envelope, decode to the JSON kubectl would send.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{RawExtension, TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::json;

use super::*;

pub(super) fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta { api_version: Some(api_version.into()), kind: Some(kind.into()) }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

pub(super) fn body(api_version: &str, kind: &str, msg: &impl Message) -> Vec<u8> {
    envelope(api_version, kind, msg.encode_to_vec())
}

pub(super) fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// ObjectMeta as Go writes it: empty strings and a zero creationTimestamp included.
pub(super) fn meta(name: &str, namespace: &str) -> Option<meta::ObjectMeta> {
    Some(meta::ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(namespace),
        resource_version: s(""),
        uid: s(""),
        creation_timestamp: Some(meta::Time::default()),
        ..Default::default()
    })
}

fn quantity(q: &str) -> Quantity {
    Quantity { string: s(q) }
}

#[test]
fn secret_with_binary_data() {
    let secret = core::Secret {
        metadata: meta("creds", "default"),
        data: [("bin".to_string(), vec![0u8, 1, 2, 0xff]), ("k".to_string(), b"value".to_vec())].into(),
        r#type: s("Opaque"),
        ..Default::default()
    };
    let v = decode(&body("v1", "Secret", &secret)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "default", "creationTimestamp": null},
            "data": {"bin": "AAEC/w==", "k": "dmFsdWU="},
            "type": "Opaque"
        })
    );
}

#[test]
fn config_map_from_file() {
    let cm = core::ConfigMap {
        metadata: meta("cfg", ""),
        data: labels(&[("app.properties", "a=1\nb=2\n"), ("empty", "")]),
        binary_data: [("blob".to_string(), vec![0xde, 0xad])].into(),
        ..Default::default()
    };
    let v = decode(&body("v1", "ConfigMap", &cm)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "creationTimestamp": null},
            "data": {"app.properties": "a=1\nb=2\n", "empty": ""},
            "binaryData": {"blob": "3q0="}
        })
    );
}

pub(super) fn deployment() -> apps::Deployment {
    let mut m = meta("web", "default");
    if let Some(m) = m.as_mut() {
        m.labels = labels(&[("app", "web")]);
        m.creation_timestamp = Some(meta::Time { seconds: Some(1_704_164_645), nanos: Some(0) });
        m.generation = Some(0);
    }
    let mut template_meta = meta("", "");
    if let Some(t) = template_meta.as_mut() {
        t.labels = labels(&[("app", "web")]);
    }
    let container = core::Container {
        name: s("nginx"),
        image: s("nginx:1.27"),
        ports: vec![core::ContainerPort {
            name: s(""),
            host_port: Some(0),
            container_port: Some(80),
            protocol: s("TCP"),
            host_ip: s(""),
        }],
        resources: Some(core::ResourceRequirements {
            limits: [("cpu".to_string(), quantity("500m")), ("memory".to_string(), quantity("128Mi"))].into(),
            requests: [("cpu".to_string(), quantity("250m"))].into(),
            ..Default::default()
        }),
        termination_message_path: s(""),
        image_pull_policy: s(""),
        stdin: Some(false),
        ..Default::default()
    };
    apps::Deployment {
        metadata: m,
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            selector: Some(meta::LabelSelector { match_labels: labels(&[("app", "web")]), ..Default::default() }),
            template: Some(core::PodTemplateSpec {
                metadata: template_meta,
                spec: Some(core::PodSpec { containers: vec![container], ..Default::default() }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString { r#type: Some(0), int_val: Some(1), str_val: s("") }),
                    max_surge: Some(IntOrString { r#type: Some(1), int_val: Some(0), str_val: s("25%") }),
                }),
            }),
            min_ready_seconds: Some(0),
            ..Default::default()
        }),
        status: Some(Default::default()),
    }
}

#[test]
fn deployment_with_containers_and_int_or_string() {
    let v = decode(&body("apps/v1", "Deployment", &deployment())).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "default", "labels": {"app": "web"},
                "creationTimestamp": "2024-01-02T03:04:05Z", "generation": 0
            },
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                    "spec": {"containers": [{
                        "name": "nginx", "image": "nginx:1.27",
                        "ports": [{"containerPort": 80, "protocol": "TCP", "hostPort": 0}],
                        "resources": {
                            "limits": {"cpu": "500m", "memory": "128Mi"},
                            "requests": {"cpu": "250m"}
                        },
                        "stdin": false
                    }]}
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
                "minReadySeconds": 0
            },
            "status": {}
        })
    );
}

#[test]
fn service_with_int_target_port() {
    let svc = core::Service {
        metadata: meta("web", "default"),
        spec: Some(core::ServiceSpec {
            ports: vec![core::ServicePort {
                name: s("80-8080"),
                protocol: s("TCP"),
                port: Some(80),
                target_port: Some(IntOrString { r#type: Some(0), int_val: Some(8080), str_val: s("") }),
                ..Default::default()
            }],
            selector: labels(&[("app", "web")]),
            r#type: s("ClusterIP"),
            cluster_ip: s(""),
            ..Default::default()
        }),
        status: Some(core::ServiceStatus { load_balancer: Some(Default::default()), conditions: vec![] }),
    };
    let v = decode(&body("v1", "Service", &svc)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": null},
            "spec": {
                "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                "selector": {"app": "web"},
                "type": "ClusterIP"
            },
            "status": {"loadBalancer": {}}
        })
    );
}

#[test]
fn namespace() {
    let ns = core::Namespace {
        metadata: meta("team-a", ""),
        spec: Some(Default::default()),
        status: Some(core::NamespaceStatus { phase: s(""), conditions: vec![] }),
    };
    let v = decode(&body("v1", "Namespace", &ns)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "creationTimestamp": null},
            "spec": {}, "status": {}
        })
    );
}

#[test]
fn pod_inline_volume_source_and_probe_handler() {
    let pod = core::Pod {
        metadata: meta("p", "default"),
        spec: Some(core::PodSpec {
            volumes: vec![core::Volume {
                name: s("cfg"),
                volume_source: Some(core::VolumeSource {
                    config_map: Some(core::ConfigMapVolumeSource {
                        local_object_reference: Some(core::LocalObjectReference { name: s("settings") }),
                        default_mode: Some(420),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }],
            containers: vec![core::Container {
                name: s("c"),
                liveness_probe: Some(core::Probe {
                    handler: Some(core::ProbeHandler {
                        http_get: Some(core::HttpGetAction {
                            path: s("/healthz"),
                            port: Some(IntOrString { r#type: Some(1), int_val: Some(0), str_val: s("http") }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    period_seconds: Some(5),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            termination_grace_period_seconds: Some(0),
            ..Default::default()
        }),
        status: Some(core::PodStatus { pod_ips: vec![core::PodIp { ip: s("10.0.0.5") }], ..Default::default() }),
    };
    let v = decode(&body("v1", "Pod", &pod)).unwrap();
    assert_eq!(
        v["spec"],
        json!({
            "volumes": [{"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420}}],
            "containers": [{"name": "c", "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5}}],
            "terminationGracePeriodSeconds": 0
        })
    );
    assert_eq!(v["status"], json!({"podIPs": [{"ip": "10.0.0.5"}]}));
}

#[test]
fn special_types_and_casts() {
    // MicroTime, ExtraValue (a `[]string` cast) in a map, `bytes`, Time with nanos dropped.
    let ev = core::Event {
        metadata: meta("e", "default"),
        event_time: Some(meta::MicroTime { seconds: Some(1_704_164_645), nanos: Some(123_456_789) }),
        first_timestamp: Some(meta::Time { seconds: Some(0), nanos: Some(500) }),
        ..Default::default()
    };
    let v = decode(&body("v1", "Event", &ev)).unwrap();
    assert_eq!(v["eventTime"], json!("2024-01-02T03:04:05.123456Z"));
    assert_eq!(v["firstTimestamp"], json!("1970-01-01T00:00:00Z"));

    use k8s_pb::api::certificates::v1 as certs;
    let csr = certs::CertificateSigningRequest {
        metadata: meta("csr", ""),
        spec: Some(certs::CertificateSigningRequestSpec {
            request: Some(b"-----BEGIN".to_vec()),
            signer_name: s("kubernetes.io/kube-apiserver-client"),
            usages: vec!["client auth".into()],
            extra: [("scopes".to_string(), certs::ExtraValue { items: vec!["a".into(), "b".into()] })].into(),
            expiration_seconds: Some(3600),
            ..Default::default()
        }),
        status: Some(certs::CertificateSigningRequestStatus {
            conditions: vec![certs::CertificateSigningRequestCondition {
                r#type: s("Approved"),
                status: s("True"),
                reason: s("KubectlApprove"),
                message: s(""),
                last_update_time: Some(meta::Time { seconds: Some(1_704_164_645), nanos: None }),
                last_transition_time: Some(meta::Time::default()),
            }],
            certificate: None,
        }),
    };
    let v = decode(&body("certificates.k8s.io/v1", "CertificateSigningRequest", &csr)).unwrap();
    assert_eq!(v["spec"]["request"], json!("LS0tLS1CRUdJTg=="));
    assert_eq!(v["spec"]["extra"], json!({"scopes": ["a", "b"]}));
    assert_eq!(v["spec"]["usages"], json!(["client auth"]));
    assert_eq!(
        v["status"]["conditions"][0],
        json!({
            "type": "Approved", "status": "True", "reason": "KubectlApprove",
            "lastUpdateTime": "2024-01-02T03:04:05Z", "lastTransitionTime": null
        })
    );
}

#[test]
fn raw_extension_and_delete_options() {
    let rev = apps::ControllerRevision {
        metadata: meta("r", "default"),
        data: Some(RawExtension { raw: Some(br#"{"spec":{"x":[1,2]}}"#.to_vec()) }),
        revision: Some(3),
    };
    let v = decode(&body("apps/v1", "ControllerRevision", &rev)).unwrap();
    assert_eq!(v["data"], json!({"spec": {"x": [1, 2]}}));
    assert_eq!(v["revision"], json!(3));

    let opts = meta::DeleteOptions {
        grace_period_seconds: Some(0),
        propagation_policy: s("Foreground"),
        dry_run: vec!["All".into()],
        ..Default::default()
    };
    let v = decode(&body("apps/v1", "DeleteOptions", &opts)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "apps/v1", "kind": "DeleteOptions",
            "gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "dryRun": ["All"]
        })
    );
}

#[test]
fn crd_schema_props() {
    use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
    let props = ext::JsonSchemaProps {
        r#type: s("object"),
        properties: [(
            "replicas".to_string(),
            ext::JsonSchemaProps {
                r#type: s("integer"),
                default: Some(ext::Json { raw: Some(b"3".to_vec()) }),
                ..Default::default()
            },
        )]
        .into(),
        additional_properties: Some(Box::new(ext::JsonSchemaPropsOrBool { allows: Some(true), schema: None })),
        x_kubernetes_preserve_unknown_fields: Some(true),
        ..Default::default()
    };
    let list = ext::JsonSchemaProps {
        r#type: s("array"),
        items: Some(Box::new(ext::JsonSchemaPropsOrArray {
            schema: Some(Box::new(ext::JsonSchemaProps { r#type: s("string"), ..Default::default() })),
            j_son_schemas: vec![],
        })),
        ..Default::default()
    };
    let wrap = |p: ext::JsonSchemaProps| ext::CustomResourceValidation { open_apiv3_schema: Some(p) };
    let crd = ext::CustomResourceDefinition {
        metadata: meta("widgets.example.com", ""),
        spec: Some(ext::CustomResourceDefinitionSpec {
            group: s("example.com"),
            versions: vec![
                ext::CustomResourceDefinitionVersion { name: s("v1"), schema: Some(wrap(props)), ..Default::default() },
                ext::CustomResourceDefinitionVersion { name: s("v2"), schema: Some(wrap(list)), ..Default::default() },
            ],
            ..Default::default()
        }),
        status: None,
    };
    let v = decode(&body("apiextensions.k8s.io/v1", "CustomResourceDefinition", &crd)).unwrap();
    assert_eq!(
        v["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
        json!({
            "type": "object",
            "properties": {"replicas": {"type": "integer", "default": 3}},
            "additionalProperties": true,
            "x-kubernetes-preserve-unknown-fields": true
        })
    );
    assert_eq!(v["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["items"], json!({"type": "string"}));
}

#[test]
fn unknown_fields_are_skipped_and_empty_type_meta_uses_endpoint() {
    let mut raw = core::Namespace { metadata: meta("n", ""), ..Default::default() }.encode_to_vec();
    // Field 999, varint and length-delimited, unknown to the schema.
    raw.extend([0xb8, 0x3e, 0x07, 0xba, 0x3e, 0x02, b'h', b'i']);
    let v = decode(&envelope("v1", "Namespace", raw.clone())).unwrap();
    assert_eq!(v["metadata"]["name"], "n");
    assert_eq!(
        decode(&envelope("", "", raw.clone())),
        Err(ProtobufError::UnknownType { api_version: String::new(), kind: String::new() })
    );
    let v = decode_as(&envelope("", "", raw), "v1", "Namespace").unwrap();
    assert_eq!(v["kind"], "Namespace");
}
