//! Conversion between API versions that share storage, as kube-apiserver does
//! through its internal types:
//!
//! * autoscaling/v1 ↔ autoscaling/v2 HorizontalPodAutoscaler (stored as v2).
//!   v1 keeps only the CPU utilization target; everything else v2 can say
//!   travels in kube's round-trip annotations `autoscaling.alpha.kubernetes.io/
//!   {metrics,current-metrics,conditions,behavior}` with kube's JSON shapes
//!   (autoscaling/v1 MetricSpec/MetricStatus, and the internal, untagged
//!   PascalCase behavior), so a read-modify-write through v1 loses nothing.
//! * core/v1 ↔ events.k8s.io/v1 Event (stored as core/v1): field renames
//!   (involvedObject↔regarding, message↔note, source↔deprecatedSource, ...),
//!   and the always-present fields Go's encoder emits (`"firstTimestamp": null`).
//!
//! Every other resource passes through unchanged.

use serde_json::{json, Map, Value};

use crate::catalog::ResourceInfo;

mod hpa;
use hpa::{drop_round_trip, hpa_v1_to_v2, hpa_v2_to_v1};

const HPA_V1: &str = "autoscaling/v1";
const HPA_V2: &str = "autoscaling/v2";
const EVENTS_V1: &str = "events.k8s.io/v1";
const CORE_V1: &str = "v1";

#[derive(PartialEq)]
enum Family {
    Hpa,
    Event,
    Other,
}

fn family(info: &ResourceInfo) -> Family {
    match (info.group, info.plural) {
        ("autoscaling", "horizontalpodautoscalers") => Family::Hpa,
        ("" | "events.k8s.io", "events") => Family::Event,
        _ => Family::Other,
    }
}

/// The object's own apiVersion when it is one of `known`, else the request's.
fn source_version(info: &ResourceInfo, obj: &Value, known: [&str; 2]) -> String {
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(v) if known.contains(&v) => v.to_string(),
        _ => info.api_version(),
    }
}

/// Converts an object of `info`'s version to the storage version.
pub fn to_storage(info: &ResourceInfo, obj: Value) -> Value {
    match family(info) {
        Family::Hpa if source_version(info, &obj, [HPA_V1, HPA_V2]) == HPA_V1 => hpa_v1_to_v2(obj),
        Family::Hpa => retype(drop_round_trip(obj), HPA_V2, "HorizontalPodAutoscaler"),
        Family::Event if source_version(info, &obj, [CORE_V1, EVENTS_V1]) == EVENTS_V1 => {
            reshape(obj, EVENT_FIELDS, Side::Events, Side::Core)
        }
        Family::Event => reshape(obj, EVENT_FIELDS, Side::Core, Side::Core),
        Family::Other => match crate::crd::registry::serving(info) {
            // CRD conversion strategy None: only apiVersion changes.
            Some(s) => set_api_version(obj, &s.storage_api_version()),
            None => obj,
        },
    }
}

/// [`to_storage`] without a copy when the storage form is the object itself.
pub fn to_storage_ref<'a>(info: &ResourceInfo, obj: &'a Value) -> std::borrow::Cow<'a, Value> {
    match family(info) {
        Family::Other if crate::crd::registry::serving(info).is_none() => std::borrow::Cow::Borrowed(obj),
        _ => std::borrow::Cow::Owned(to_storage(info, obj.clone())),
    }
}

fn set_api_version(mut obj: Value, api_version: &str) -> Value {
    if let Some(o) = obj.as_object_mut() {
        o.insert("apiVersion".into(), api_version.into());
    }
    obj
}

/// Converts a stored object to `info`'s version.
pub fn from_storage(info: &ResourceInfo, obj: Value) -> Value {
    match family(info) {
        Family::Hpa => {
            let is_v1 = obj.get("apiVersion").and_then(Value::as_str) == Some(HPA_V1);
            let v2 = if is_v1 { hpa_v1_to_v2(obj) } else { obj };
            if info.version == "v1" {
                hpa_v2_to_v1(v2)
            } else {
                retype(drop_round_trip(v2), HPA_V2, "HorizontalPodAutoscaler")
            }
        }
        Family::Event => {
            let src = match obj.get("apiVersion").and_then(Value::as_str) {
                Some(EVENTS_V1) => Side::Events,
                _ => Side::Core,
            };
            let dst = if info.group == "events.k8s.io" { Side::Events } else { Side::Core };
            reshape(obj, EVENT_FIELDS, src, dst)
        }
        // Custom resources: conversion None (and storage-version migration on read).
        Family::Other if !crate::catalog::is_builtin_group(info.group) => set_api_version(obj, &info.api_version()),
        Family::Other => obj,
    }
}

fn retype(mut obj: Value, api_version: &str, kind: &str) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
    obj
}

// ---- events --------------------------------------------------------------

/// How Go's encoder renders an absent field.
#[derive(Clone, Copy)]
enum Absent {
    /// omitempty scalar: dropped when empty.
    Omit,
    /// Pointer or slice: dropped when null.
    Keep,
    /// Struct time (metav1.Time/MicroTime): `null`.
    Null,
    /// Struct: `{}`.
    Object,
    /// Non-omitempty string: `""`.
    Str,
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Core,
    Events,
}

/// (core/v1 name, events.k8s.io/v1 name, core rule, events rule).
const EVENT_FIELDS: &[(&str, &str, Absent, Absent)] = &[
    ("metadata", "metadata", Absent::Object, Absent::Object),
    ("involvedObject", "regarding", Absent::Object, Absent::Object),
    ("reason", "reason", Absent::Omit, Absent::Omit),
    ("message", "note", Absent::Omit, Absent::Omit),
    ("source", "deprecatedSource", Absent::Object, Absent::Object),
    ("firstTimestamp", "deprecatedFirstTimestamp", Absent::Null, Absent::Null),
    ("lastTimestamp", "deprecatedLastTimestamp", Absent::Null, Absent::Null),
    ("count", "deprecatedCount", Absent::Omit, Absent::Omit),
    ("type", "type", Absent::Omit, Absent::Omit),
    ("eventTime", "eventTime", Absent::Null, Absent::Null),
    ("series", "series", Absent::Keep, Absent::Keep),
    ("action", "action", Absent::Omit, Absent::Omit),
    ("related", "related", Absent::Keep, Absent::Keep),
    ("reportingComponent", "reportingController", Absent::Str, Absent::Omit),
    ("reportingInstance", "reportingInstance", Absent::Str, Absent::Omit),
];

fn is_empty_scalar(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// Renames the known fields from `src` to `dst` naming and fills in what Go
/// always emits; unknown fields are dropped, as decoding into the Go type would.
fn reshape(obj: Value, fields: &[(&str, &str, Absent, Absent)], src: Side, dst: Side) -> Value {
    let Value::Object(mut input) = obj else { return obj };
    let mut out = Map::new();
    let (api_version, kind) = if dst == Side::Core { (CORE_V1, "Event") } else { (EVENTS_V1, "Event") };
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!(kind));
    for &(core, events, core_rule, events_rule) in fields {
        let from = if src == Side::Core { core } else { events };
        let (to, rule) = if dst == Side::Core { (core, core_rule) } else { (events, events_rule) };
        let value = input.remove(from).unwrap_or(Value::Null);
        let value = match rule {
            Absent::Omit if is_empty_scalar(&value) => continue,
            Absent::Keep if value.is_null() => continue,
            Absent::Object if value.is_null() => json!({}),
            Absent::Str if value.is_null() => json!(""),
            _ => value,
        };
        out.insert(to.into(), value);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;

    fn info(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
        find(group, version, plural).expect("catalog row")
    }

    fn v2_hpa() -> Value {
        json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "annotations": {"keep": "me"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 2,
                "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
                    {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "a"}}}, "target": {"type": "Value", "value": "5"}}},
                    {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s"}, "metric": {"name": "rps"}, "target": {"type": "Value", "value": "7"}}},
                    {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
                ],
                "behavior": {
                    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]},
                    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min",
                                  "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}
                }
            },
            "status": {
                "observedGeneration": 3,
                "currentReplicas": 4,
                "desiredReplicas": 5,
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "90Mi"}}},
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "250m", "averageUtilization": 42}}}
                ],
                "conditions": [
                    {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "ReadyForNewScale", "message": "ok"}
                ]
            }
        })
    }

    #[test]
    fn hpa_v2_read_as_v1() {
        let v1 = from_storage(info("autoscaling", "v1", "horizontalpodautoscalers"), v2_hpa());
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(v1["kind"], "HorizontalPodAutoscaler");
        assert_eq!(
            v1["spec"],
            json!({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                   "minReplicas": 2, "maxReplicas": 10, "targetCPUUtilizationPercentage": 50})
        );
        assert_eq!(
            v1["status"],
            json!({"observedGeneration": 3, "currentReplicas": 4, "desiredReplicas": 5, "currentCPUUtilizationPercentage": 42})
        );
        let ann = &v1["metadata"]["annotations"];
        assert_eq!(ann["keep"], "me");
        assert_eq!(
            ann[hpa::ANN_METRICS],
            concat!(
                r#"[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}},"#,
                r#"{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}},"#,
                r#"{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"a"}},"targetValue":"5"}},"#,
                r#"{"type":"Object","object":{"target":{"kind":"Service","name":"s"},"metricName":"rps","targetValue":"7"}},"#,
                r#"{"type":"ContainerResource","containerResource":{"name":"cpu","targetAverageUtilization":60,"container":"app"}}]"#
            )
        );
        assert_eq!(
            ann[hpa::ANN_CURRENT],
            concat!(
                r#"[{"type":"Resource","resource":{"name":"memory","currentAverageValue":"90Mi"}},"#,
                r#"{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":42,"currentAverageValue":"250m"}}]"#
            )
        );
        assert_eq!(
            ann[hpa::ANN_BEHAVIOR],
            concat!(
                r#"{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}],"Tolerance":null},"#,
                r#""ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":"Min","Policies":[{"Type":"Percent","Value":10,"PeriodSeconds":60}],"Tolerance":null}}"#
            )
        );
        assert_eq!(
            ann[hpa::ANN_CONDITIONS],
            r#"[{"type":"AbleToScale","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","reason":"ReadyForNewScale","message":"ok"}]"#
        );
    }

    #[test]
    fn hpa_round_trips_through_v1() {
        let v1_info = info("autoscaling", "v1", "horizontalpodautoscalers");
        let original = v2_hpa();
        let back = to_storage(v1_info, from_storage(v1_info, original.clone()));
        // kube moves the CPU utilization target behind the other metrics; ours
        // is already last, so the round trip is exact.
        assert_eq!(back, original);
    }

    #[test]
    fn hpa_v1_written() {
        let v1_info = info("autoscaling", "v1", "horizontalpodautoscalers");
        let body = json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "a"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"}, "maxReplicas": 3, "targetCPUUtilizationPercentage": 70},
            "status": {"currentReplicas": 0, "desiredReplicas": 0, "currentCPUUtilizationPercentage": 12}
        });
        let stored = to_storage(v1_info, body);
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert_eq!(
            stored["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}])
        );
        assert_eq!(
            stored["status"],
            json!({"desiredReplicas": 0, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]})
        );
        assert!(stored["metadata"].get("annotations").is_none());

        // No target at all: the implicit 80% CPU becomes explicit.
        let bare = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "b"},
                          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "b"}, "maxReplicas": 3}});
        let stored = to_storage(v1_info, bare);
        assert_eq!(stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);

        // v1 annotations (as older clients send them) are lifted into v2 fields.
        let annotated = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "c", "annotations": {
                (hpa::ANN_METRICS): r#"[{"type":"Object","object":{"target":{"kind":"Service","name":"s"},"metricName":"m","targetValue":"1","averageValue":"2"}},{"type":"External","external":{"metricName":"q","targetAverageValue":"3"}}]"#,
                (hpa::ANN_BEHAVIOR): r#"{"ScaleUp":{"StabilizationWindowSeconds":30,"SelectPolicy":"Min","Policies":[{"Type":"Pods","Value":2,"PeriodSeconds":60}]}}"#,
                (hpa::ANN_CONDITIONS): "not json"
            }},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "c"}, "maxReplicas": 3}});
        let stored = to_storage(v1_info, annotated);
        assert_eq!(
            stored["spec"]["metrics"],
            json!([
                {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s"}, "metric": {"name": "m"},
                  "target": {"type": "AverageValue", "value": "1", "averageValue": "2"}}},
                {"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "AverageValue", "averageValue": "3"}}}
            ])
        );
        assert_eq!(
            stored["spec"]["behavior"],
            json!({"scaleUp": {"stabilizationWindowSeconds": 30, "selectPolicy": "Min", "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}})
        );
        assert!(stored["status"].get("conditions").is_none());
        assert!(stored["metadata"].get("annotations").is_none());
    }

    #[test]
    fn hpa_v2_drops_round_trip_annotations() {
        let v2_info = info("autoscaling", "v2", "horizontalpodautoscalers");
        let mut obj = v2_hpa();
        obj["metadata"]["annotations"][hpa::ANN_METRICS] = json!("[]");
        let stored = to_storage(v2_info, obj.clone());
        assert_eq!(stored, v2_hpa());
        assert_eq!(from_storage(v2_info, obj), v2_hpa());
    }

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "p", "uid": "u1"},
            "reason": "Started", "message": "Started container", "type": "Normal",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:01:00Z",
            "count": 2, "eventTime": null,
            "reportingComponent": "kubelet", "reportingInstance": "n1"
        })
    }

    #[test]
    fn core_event_read_as_events_v1() {
        let ev = from_storage(info("events.k8s.io", "v1", "events"), core_event());
        assert_eq!(
            ev,
            json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "e1", "namespace": "default"},
                "regarding": {"kind": "Pod", "namespace": "default", "name": "p", "uid": "u1"},
                "reason": "Started", "note": "Started container", "type": "Normal",
                "deprecatedSource": {"component": "kubelet", "host": "n1"},
                "deprecatedFirstTimestamp": "2024-01-01T00:00:00Z", "deprecatedLastTimestamp": "2024-01-01T00:01:00Z",
                "deprecatedCount": 2, "eventTime": null,
                "reportingController": "kubelet", "reportingInstance": "n1"
            })
        );
        let back = to_storage(info("events.k8s.io", "v1", "events"), ev);
        assert_eq!(back, core_event());
        assert_eq!(from_storage(info("", "v1", "events"), back.clone()), core_event());
    }

    #[test]
    fn events_v1_written() {
        let body = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e2", "namespace": "ns"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "series": {"count": 3, "lastObservedTime": "2024-01-01T00:05:00.000000Z"},
            "reportingController": "ctl", "reportingInstance": "ctl-1",
            "action": "Bind", "reason": "Scheduled", "note": "hi", "type": "Normal",
            "regarding": {"kind": "Pod", "name": "p"},
            "related": {"kind": "Node", "name": "n"},
            "message": "not an events.k8s.io field"
        });
        let stored = to_storage(info("events.k8s.io", "v1", "events"), body);
        assert_eq!(
            stored,
            json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "e2", "namespace": "ns"},
                "involvedObject": {"kind": "Pod", "name": "p"},
                "reason": "Scheduled", "message": "hi", "type": "Normal",
                "source": {}, "firstTimestamp": null, "lastTimestamp": null,
                "eventTime": "2024-01-01T00:00:00.000000Z",
                "series": {"count": 3, "lastObservedTime": "2024-01-01T00:05:00.000000Z"},
                "action": "Bind", "related": {"kind": "Node", "name": "n"},
                "reportingComponent": "ctl", "reportingInstance": "ctl-1"
            })
        );
        // A bare core event read back through events.k8s.io gets Go's empty fields.
        let bare =
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "x"}, "involvedObject": {"kind": "Pod"}});
        assert_eq!(
            from_storage(info("events.k8s.io", "v1", "events"), bare),
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"},
                   "regarding": {"kind": "Pod"}, "deprecatedSource": {}, "deprecatedFirstTimestamp": null,
                   "deprecatedLastTimestamp": null, "eventTime": null})
        );
    }

    #[test]
    fn other_resources_are_untouched() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
        let i = info("", "v1", "configmaps");
        assert_eq!(to_storage(i, cm.clone()), cm);
        assert_eq!(from_storage(i, cm.clone()), cm);
    }
}
