//! autoscaling/v1 ↔ autoscaling/v2 HorizontalPodAutoscaler, following
//! pkg/apis/autoscaling/v1/conversion.go: v1 carries the CPU utilization
//! target natively and the rest of v2 in round-trip annotations, written with
//! Go's field order (autoscaling/v1 MetricSpec/MetricStatus/condition JSON and
//! the internal, untagged PascalCase behavior).

use serde::ser::{SerializeMap, Serializer};
use serde_json::{json, Map, Value};

use super::{is_empty_scalar, retype, HPA_V1, HPA_V2};

pub(super) const ANN_METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
pub(super) const ANN_CURRENT: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
pub(super) const ANN_CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
pub(super) const ANN_BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP: [&str; 4] = [ANN_METRICS, ANN_CURRENT, ANN_CONDITIONS, ANN_BEHAVIOR];
/// autoscaling.DefaultCPUUtilization: v1 HPAs without a target scale on 80% CPU.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

// ---- HPA: ordered JSON for annotations ---------------------------------------

/// JSON with Go's struct field order, so annotations read as kube writes them.
enum J {
    V(Value),
    O(Vec<(&'static str, Option<J>)>),
    A(Vec<J>),
}

impl serde::Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::V(v) => v.serialize(s),
            J::A(items) => s.collect_seq(items),
            J::O(fields) => {
                let mut m = s.serialize_map(None)?;
                for (k, v) in fields {
                    if let Some(v) = v {
                        m.serialize_entry(k, v)?;
                    }
                }
                m.end()
            }
        }
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}
fn text(v: &Value, path: &[&str]) -> String {
    at(v, path).and_then(Value::as_str).unwrap_or_default().to_string()
}
fn opt(v: &Value, path: &[&str]) -> Option<J> {
    at(v, path).map(|v| J::V(v.clone()))
}
/// A non-pointer resource.Quantity: Go writes "0" for the zero value.
fn qty(v: &Value, path: &[&str]) -> Option<J> {
    Some(J::V(at(v, path).cloned().unwrap_or_else(|| json!("0"))))
}
fn s(v: String) -> Option<J> {
    Some(J::V(Value::String(v)))
}
/// autoscaling/v1 CrossVersionObjectReference: kind, name, apiVersion.
fn xref(v: &Value) -> Option<J> {
    Some(J::O(vec![
        ("kind", s(text(v, &["kind"]))),
        ("name", s(text(v, &["name"]))),
        ("apiVersion", opt(v, &["apiVersion"])),
    ]))
}
fn to_string(j: &J) -> String {
    serde_json::to_string(j).unwrap_or_default()
}

fn is_cpu_resource(m: &Value, field: &str) -> bool {
    text(m, &["type"]) == "Resource"
        && text(m, &["resource", "name"]) == "cpu"
        && at(m, &["resource", field, "averageUtilization"]).is_some()
}

/// autoscaling/v2 MetricSpec → autoscaling/v1 MetricSpec (annotation form).
fn metric_spec_to_v1(m: &Value) -> J {
    let ty = text(m, &["type"]);
    let mut out = vec![("type", s(ty))];
    if let Some(o) = at(m, &["object"]) {
        out.push((
            "object",
            Some(J::O(vec![
                ("target", at(o, &["describedObject"]).and_then(xref).or_else(|| xref(&json!({})))),
                ("metricName", s(text(o, &["metric", "name"]))),
                ("targetValue", qty(o, &["target", "value"])),
                ("selector", opt(o, &["metric", "selector"])),
                ("averageValue", opt(o, &["target", "averageValue"])),
            ])),
        ));
    }
    if let Some(p) = at(m, &["pods"]) {
        out.push((
            "pods",
            Some(J::O(vec![
                ("metricName", s(text(p, &["metric", "name"]))),
                ("targetAverageValue", qty(p, &["target", "averageValue"])),
                ("selector", opt(p, &["metric", "selector"])),
            ])),
        ));
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(r) = at(m, &[key]) {
            let mut f = vec![
                ("name", s(text(r, &["name"]))),
                ("targetAverageUtilization", opt(r, &["target", "averageUtilization"])),
                ("targetAverageValue", opt(r, &["target", "averageValue"])),
            ];
            if container {
                f.push(("container", s(text(r, &["container"]))));
            }
            out.push((key, Some(J::O(f))));
        }
    }
    if let Some(e) = at(m, &["external"]) {
        out.push((
            "external",
            Some(J::O(vec![
                ("metricName", s(text(e, &["metric", "name"]))),
                ("metricSelector", opt(e, &["metric", "selector"])),
                ("targetValue", opt(e, &["target", "value"])),
                ("targetAverageValue", opt(e, &["target", "averageValue"])),
            ])),
        ));
    }
    J::O(out)
}

/// autoscaling/v2 MetricStatus → autoscaling/v1 MetricStatus (annotation form).
fn metric_status_to_v1(m: &Value) -> J {
    let mut out = vec![("type", s(text(m, &["type"])))];
    if let Some(o) = at(m, &["object"]) {
        out.push((
            "object",
            Some(J::O(vec![
                ("target", at(o, &["describedObject"]).and_then(xref).or_else(|| xref(&json!({})))),
                ("metricName", s(text(o, &["metric", "name"]))),
                ("currentValue", qty(o, &["current", "value"])),
                ("selector", opt(o, &["metric", "selector"])),
                ("averageValue", opt(o, &["current", "averageValue"])),
            ])),
        ));
    }
    if let Some(p) = at(m, &["pods"]) {
        out.push((
            "pods",
            Some(J::O(vec![
                ("metricName", s(text(p, &["metric", "name"]))),
                ("currentAverageValue", qty(p, &["current", "averageValue"])),
                ("selector", opt(p, &["metric", "selector"])),
            ])),
        ));
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(r) = at(m, &[key]) {
            let mut f = vec![
                ("name", s(text(r, &["name"]))),
                ("currentAverageUtilization", opt(r, &["current", "averageUtilization"])),
                ("currentAverageValue", qty(r, &["current", "averageValue"])),
            ];
            if container {
                f.push(("container", s(text(r, &["container"]))));
            }
            out.push((key, Some(J::O(f))));
        }
    }
    if let Some(e) = at(m, &["external"]) {
        out.push((
            "external",
            Some(J::O(vec![
                ("metricName", s(text(e, &["metric", "name"]))),
                ("metricSelector", opt(e, &["metric", "selector"])),
                ("currentValue", qty(e, &["current", "value"])),
                ("currentAverageValue", opt(e, &["current", "averageValue"])),
            ])),
        ));
    }
    J::O(out)
}

/// Builds a JSON object from optional fields (None dropped).
fn obj(fields: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), v))).collect())
}
fn get(v: &Value, path: &[&str]) -> Option<Value> {
    at(v, path).cloned()
}
fn zero_qty(v: &Value, key: &str) -> Option<Value> {
    Some(get(v, &[key]).unwrap_or_else(|| json!("0")))
}
fn ident(v: &Value, name: &str, selector: &str) -> Option<Value> {
    Some(obj(vec![("name", Some(json!(text(v, &[name])))), ("selector", get(v, &[selector]))]))
}

/// autoscaling/v1 MetricSpec (annotation form) → autoscaling/v2 MetricSpec.
fn metric_spec_from_v1(m: &Value) -> Value {
    let mut out = obj(vec![("type", get(m, &["type"]))]);
    let o = &mut out;
    if let Some(src) = at(m, &["object"]) {
        let ty = if at(src, &["averageValue"]).is_some() { "AverageValue" } else { "Value" };
        o["object"] = obj(vec![
            ("describedObject", get(src, &["target"])),
            (
                "target",
                Some(obj(vec![
                    ("type", Some(json!(ty))),
                    ("value", zero_qty(src, "targetValue")),
                    ("averageValue", get(src, &["averageValue"])),
                ])),
            ),
            ("metric", ident(src, "metricName", "selector")),
        ]);
    }
    if let Some(src) = at(m, &["pods"]) {
        o["pods"] = obj(vec![
            ("metric", ident(src, "metricName", "selector")),
            (
                "target",
                Some(obj(vec![
                    ("type", Some(json!("AverageValue"))),
                    ("averageValue", zero_qty(src, "targetAverageValue")),
                ])),
            ),
        ]);
    }
    for key in ["resource", "containerResource"] {
        if let Some(src) = at(m, &[key]) {
            let util = get(src, &["targetAverageUtilization"]);
            let ty = if util.is_some() { "Utilization" } else { "AverageValue" };
            o[key] = obj(vec![
                ("name", get(src, &["name"])),
                (
                    "target",
                    Some(obj(vec![
                        ("type", Some(json!(ty))),
                        ("averageUtilization", util),
                        ("averageValue", get(src, &["targetAverageValue"])),
                    ])),
                ),
                ("container", get(src, &["container"])),
            ]);
        }
    }
    if let Some(src) = at(m, &["external"]) {
        let value = get(src, &["targetValue"]);
        let ty = if value.is_some() { "Value" } else { "AverageValue" };
        o["external"] = obj(vec![
            ("metric", ident(src, "metricName", "metricSelector")),
            (
                "target",
                Some(obj(vec![
                    ("type", Some(json!(ty))),
                    ("value", value),
                    ("averageValue", get(src, &["targetAverageValue"])),
                ])),
            ),
        ]);
    }
    out
}

/// autoscaling/v1 MetricStatus (annotation form) → autoscaling/v2 MetricStatus.
fn metric_status_from_v1(m: &Value) -> Value {
    let mut out = obj(vec![("type", get(m, &["type"]))]);
    let o = &mut out;
    if let Some(src) = at(m, &["object"]) {
        o["object"] = obj(vec![
            ("metric", ident(src, "metricName", "selector")),
            (
                "current",
                Some(obj(vec![
                    ("value", zero_qty(src, "currentValue")),
                    ("averageValue", get(src, &["averageValue"])),
                ])),
            ),
            ("describedObject", get(src, &["target"])),
        ]);
    }
    if let Some(src) = at(m, &["pods"]) {
        o["pods"] = obj(vec![
            ("metric", ident(src, "metricName", "selector")),
            ("current", Some(obj(vec![("averageValue", zero_qty(src, "currentAverageValue"))]))),
        ]);
    }
    for key in ["resource", "containerResource"] {
        if let Some(src) = at(m, &[key]) {
            o[key] = obj(vec![
                ("name", get(src, &["name"])),
                (
                    "current",
                    Some(obj(vec![
                        ("averageValue", zero_qty(src, "currentAverageValue")),
                        ("averageUtilization", get(src, &["currentAverageUtilization"])),
                    ])),
                ),
                ("container", get(src, &["container"])),
            ]);
        }
    }
    if let Some(src) = at(m, &["external"]) {
        o["external"] = obj(vec![
            ("metric", ident(src, "metricName", "metricSelector")),
            (
                "current",
                Some(obj(vec![
                    ("value", zero_qty(src, "currentValue")),
                    ("averageValue", get(src, &["currentAverageValue"])),
                ])),
            ),
        ]);
    }
    out
}

/// The internal (untagged) HorizontalPodAutoscalerBehavior: PascalCase keys,
/// nil pointers as `null`, in Go's field order.
fn behavior_to_annotation(b: &Value) -> J {
    let rules = |r: Option<&Value>| {
        Some(match r {
            None => J::V(Value::Null),
            Some(r) => J::O(vec![
                (
                    "StabilizationWindowSeconds",
                    Some(J::V(get(r, &["stabilizationWindowSeconds"]).unwrap_or(Value::Null))),
                ),
                ("SelectPolicy", Some(J::V(get(r, &["selectPolicy"]).unwrap_or(Value::Null)))),
                (
                    "Policies",
                    Some(match at(r, &["policies"]).and_then(Value::as_array) {
                        None => J::V(Value::Null),
                        Some(ps) => J::A(
                            ps.iter()
                                .map(|p| {
                                    J::O(vec![
                                        ("Type", Some(J::V(get(p, &["type"]).unwrap_or(json!(""))))),
                                        ("Value", Some(J::V(get(p, &["value"]).unwrap_or(json!(0))))),
                                        ("PeriodSeconds", Some(J::V(get(p, &["periodSeconds"]).unwrap_or(json!(0))))),
                                    ])
                                })
                                .collect(),
                        ),
                    }),
                ),
                ("Tolerance", Some(J::V(get(r, &["tolerance"]).unwrap_or(Value::Null)))),
            ]),
        })
    };
    J::O(vec![("ScaleUp", rules(at(b, &["scaleUp"]))), ("ScaleDown", rules(at(b, &["scaleDown"])))])
}

/// Drops nulls; with `lower`, also lower-cases each key's first letter (the
/// inverse of [`behavior_to_annotation`]).
fn from_annotation(v: Value, lower: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(f) if lower => f.to_lowercase().chain(c).collect(),
                        _ => k,
                    };
                    (key, from_annotation(v, lower))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| from_annotation(v, lower)).collect()),
        v => v,
    }
}

fn condition_to_v1(c: &Value) -> J {
    J::O(vec![
        ("type", s(text(c, &["type"]))),
        ("status", s(text(c, &["status"]))),
        ("lastTransitionTime", Some(J::V(get(c, &["lastTransitionTime"]).unwrap_or(Value::Null)))),
        ("reason", opt(c, &["reason"]).filter(|_| !text(c, &["reason"]).is_empty())),
        ("message", opt(c, &["message"]).filter(|_| !text(c, &["message"]).is_empty())),
    ])
}

fn annotations_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = obj.as_object_mut()?.entry("metadata").or_insert_with(|| json!({}));
    let ann = meta.as_object_mut()?.entry("annotations").or_insert_with(|| json!({}));
    ann.as_object_mut()
}

/// Removes the round-trip annotations (and an emptied annotations map).
pub(super) fn drop_round_trip(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ROUND_TRIP.iter().for_each(|k| {
                ann.remove(*k);
            });
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    obj
}

pub(super) fn hpa_v2_to_v1(v2: Value) -> Value {
    let spec = v2.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = v2.get("status").cloned().unwrap_or_else(|| json!({}));
    let metrics: Vec<Value> = at(&spec, &["metrics"]).and_then(Value::as_array).cloned().unwrap_or_default();
    let current: Vec<Value> = at(&status, &["currentMetrics"]).and_then(Value::as_array).cloned().unwrap_or_default();
    let conditions: Vec<Value> = at(&status, &["conditions"]).and_then(Value::as_array).cloned().unwrap_or_default();

    let target_cpu = metrics
        .iter()
        .find(|m| is_cpu_resource(m, "target"))
        .and_then(|m| get(m, &["resource", "target", "averageUtilization"]));
    let current_cpu = current
        .iter()
        .filter(|m| is_cpu_resource(m, "current"))
        .filter_map(|m| get(m, &["resource", "current", "averageUtilization"]))
        .next_back();
    let others: Vec<J> = metrics.iter().filter(|m| !is_cpu_resource(m, "target")).map(metric_spec_to_v1).collect();

    let mut out = drop_round_trip(v2.clone());
    if let Some(ann) = annotations_mut(&mut out) {
        if !others.is_empty() {
            ann.insert(ANN_METRICS.into(), json!(to_string(&J::A(others))));
        }
        if !current.is_empty() {
            ann.insert(ANN_CURRENT.into(), json!(to_string(&J::A(current.iter().map(metric_status_to_v1).collect()))));
        }
        if let Some(b) = at(&spec, &["behavior"]) {
            ann.insert(ANN_BEHAVIOR.into(), json!(to_string(&behavior_to_annotation(b))));
        }
        if !conditions.is_empty() {
            ann.insert(
                ANN_CONDITIONS.into(),
                json!(to_string(&J::A(conditions.iter().map(condition_to_v1).collect()))),
            );
        }
    }
    let mut out = drop_empty_annotations(out);
    if let Some(m) = out.as_object_mut() {
        m.insert(
            "spec".into(),
            obj(vec![
                ("scaleTargetRef", Some(get(&spec, &["scaleTargetRef"]).unwrap_or_else(|| json!({})))),
                ("minReplicas", get(&spec, &["minReplicas"])),
                ("maxReplicas", Some(get(&spec, &["maxReplicas"]).unwrap_or(json!(0)))),
                ("targetCPUUtilizationPercentage", target_cpu),
            ]),
        );
        m.insert(
            "status".into(),
            obj(vec![
                ("observedGeneration", get(&status, &["observedGeneration"])),
                ("lastScaleTime", get(&status, &["lastScaleTime"])),
                ("currentReplicas", Some(get(&status, &["currentReplicas"]).unwrap_or(json!(0)))),
                ("desiredReplicas", Some(get(&status, &["desiredReplicas"]).unwrap_or(json!(0)))),
                ("currentCPUUtilizationPercentage", current_cpu),
            ]),
        );
    }
    retype(out, HPA_V1, "HorizontalPodAutoscaler")
}

fn drop_empty_annotations(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if meta.get("annotations").and_then(Value::as_object).is_some_and(Map::is_empty) {
            meta.remove("annotations");
        }
    }
    obj
}

/// Parses a JSON-array annotation; malformed ones are ignored, as kube does.
fn ann_array(ann: Option<&Map<String, Value>>, key: &str) -> Option<Vec<Value>> {
    let raw = ann?.get(key)?.as_str()?;
    serde_json::from_str::<Vec<Value>>(raw).ok()
}

pub(super) fn hpa_v1_to_v2(v1: Value) -> Value {
    let spec = v1.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = v1.get("status").cloned().unwrap_or_else(|| json!({}));
    let ann = at(&v1, &["metadata", "annotations"]).and_then(Value::as_object);

    let cpu_metric = |util: Value, field: &str| {
        let body = if field == "target" {
            json!({"type": "Utilization", "averageUtilization": util})
        } else {
            json!({"averageUtilization": util})
        };
        json!({"type": "Resource", "resource": {"name": "cpu", field: body}})
    };
    let mut metrics: Vec<Value> =
        ann_array(ann, ANN_METRICS).unwrap_or_default().iter().map(metric_spec_from_v1).collect();
    if let Some(t) = get(&spec, &["targetCPUUtilizationPercentage"]) {
        metrics.push(cpu_metric(t, "target"));
    }
    if metrics.is_empty() {
        metrics.push(cpu_metric(json!(DEFAULT_CPU_UTILIZATION), "target"));
    }
    let current = match ann_array(ann, ANN_CURRENT) {
        Some(c) => Some(c.iter().map(metric_status_from_v1).collect::<Vec<_>>()),
        None => get(&status, &["currentCPUUtilizationPercentage"]).map(|u| vec![cpu_metric(u, "current")]),
    };
    let conditions =
        ann_array(ann, ANN_CONDITIONS).map(|cs| cs.into_iter().map(|c| from_annotation(c, false)).collect::<Vec<_>>());
    let behavior = ann
        .and_then(|a| a.get(ANN_BEHAVIOR)?.as_str())
        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        .map(|b| from_annotation(b, true));

    let mut out = drop_round_trip(v1.clone());
    if let Some(m) = out.as_object_mut() {
        m.insert(
            "spec".into(),
            obj(vec![
                ("scaleTargetRef", Some(get(&spec, &["scaleTargetRef"]).unwrap_or_else(|| json!({})))),
                ("minReplicas", get(&spec, &["minReplicas"])),
                ("maxReplicas", Some(get(&spec, &["maxReplicas"]).unwrap_or(json!(0)))),
                ("metrics", Some(Value::Array(metrics))),
                ("behavior", behavior),
            ]),
        );
        m.insert(
            "status".into(),
            obj(vec![
                ("observedGeneration", get(&status, &["observedGeneration"])),
                ("lastScaleTime", get(&status, &["lastScaleTime"])),
                ("currentReplicas", get(&status, &["currentReplicas"]).filter(|v| !is_empty_scalar(v))),
                ("desiredReplicas", Some(get(&status, &["desiredReplicas"]).unwrap_or(json!(0)))),
                ("currentMetrics", current.filter(|c| !c.is_empty()).map(Value::Array)),
                ("conditions", conditions.filter(|c| !c.is_empty()).map(Value::Array)),
            ]),
        );
    }
    retype(out, HPA_V2, "HorizontalPodAutoscaler")
}
