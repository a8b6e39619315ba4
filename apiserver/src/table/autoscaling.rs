//! The horizontalpodautoscaler printer, for `autoscaling/v2` objects and, mapped
//! onto the same TARGETS format, `autoscaling/v1` ones.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::util::{age, at, int_at, list_at, name, opt_int, quantity_or, str_at};
use super::{Column, Printer, Row, AGE, NAME};

static COLUMNS: &[Column] = &[
    NAME,
    Column::s("Reference", docs::HPA_REF),
    Column::s("Targets", docs::HPA_METRICS),
    Column::s("MinPods", docs::HPA_MIN),
    Column::s("MaxPods", docs::HPA_MAX),
    Column::s("Replicas", docs::HPA_CURRENT),
    AGE,
];

/// `autoscaling/v2` objects.
pub(super) static HPAS: Printer = Printer { columns: COLUMNS, print: |hpa, now| print_hpa(hpa, now, false) };

/// `autoscaling/v1` objects.
pub(super) static HPAS_V1: Printer = Printer { columns: COLUMNS, print: |hpa, now| print_hpa(hpa, now, true) };

/// A `*resource.Quantity` in Go's `String()` form (nil prints `<nil>`).
fn q(v: Option<&Value>) -> String {
    quantity_or(v, "<nil>")
}

/// The metric status at the spec's index, if it carries the `source` block.
fn status_source<'a>(statuses: &'a [Value], i: usize, source: &str) -> Option<&'a Value> {
    statuses.get(i).and_then(|s| at(s, &[source]))
}

/// Value or average-value metrics (External, Object): `current/target[ (avg)]`.
fn value_metric(spec: &Value, statuses: &[Value], i: usize, source: &str) -> String {
    let target = at(spec, &[source, "target"]);
    let status = status_source(statuses, i, source);
    match target.and_then(|t| at(t, &["averageValue"])) {
        Some(avg) => {
            let current =
                status.and_then(|s| at(s, &["current", "averageValue"])).map_or("<unknown>".into(), |v| q(Some(v)));
            format!("{current}/{} (avg)", q(Some(avg)))
        }
        None => {
            let current = status.map_or("<unknown>".into(), |s| q(at(s, &["current", "value"])));
            format!("{current}/{}", q(target.and_then(|t| at(t, &["value"]))))
        }
    }
}

/// Resource and ContainerResource metrics: `name: current/target` with utilization as `N%`.
fn resource_metric(spec: &Value, statuses: &[Value], i: usize, source: &str) -> String {
    let res = at(spec, &[source]);
    let res_name = res.map_or("", |r| str_at(r, &["name"]));
    let target = res.and_then(|r| at(r, &["target"]));
    let status = status_source(statuses, i, source);
    if let Some(avg) = target.and_then(|t| at(t, &["averageValue"])) {
        let current = status.map_or("<unknown>".into(), |s| q(at(s, &["current", "averageValue"])));
        return format!("{res_name}: {current}/{}", q(Some(avg)));
    }
    let current = status
        .and_then(|s| opt_int(s, &["current", "averageUtilization"]))
        .map_or("<unknown>".into(), |u| format!("{u}%"));
    let target = target.and_then(|t| opt_int(t, &["averageUtilization"])).map_or("<auto>".into(), |u| format!("{u}%"));
    format!("{res_name}: {current}/{target}")
}

/// `formatHPAMetrics`: the first two metrics, then ` + N more...`.
fn format_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 2;
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| match str_at(spec, &["type"]) {
            "External" => value_metric(spec, statuses, i, "external"),
            "Object" => value_metric(spec, statuses, i, "object"),
            "Pods" => {
                let current = status_source(statuses, i, "pods")
                    .map_or("<unknown>".into(), |s| q(at(s, &["current", "averageValue"])));
                format!("{current}/{}", q(at(spec, &["pods", "target", "averageValue"])))
            }
            "Resource" => resource_metric(spec, statuses, i, "resource"),
            "ContainerResource" => resource_metric(spec, statuses, i, "containerResource"),
            _ => "<unknown type>".to_string(),
        })
        .collect();
    if list.len() > MAX {
        format!("{} + {} more...", list[..MAX].join(", "), list.len() - MAX)
    } else {
        list.join(", ")
    }
}

/// Kube's default target when an HPA names none: 80% average CPU utilization.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// TARGETS of an `autoscaling/v1` object: its single CPU utilization metric.
fn format_v1_target(hpa: &Value) -> String {
    let target = opt_int(hpa, &["spec", "targetCPUUtilizationPercentage"]).unwrap_or(DEFAULT_CPU_UTILIZATION);
    let current =
        opt_int(hpa, &["status", "currentCPUUtilizationPercentage"]).map_or("<unknown>".into(), |u| format!("{u}%"));
    format!("cpu: {current}/{target}%")
}

fn print_hpa(hpa: &Value, now: Timestamp, v1: bool) -> Row {
    let reference = format!(
        "{}/{}",
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        str_at(hpa, &["spec", "scaleTargetRef", "name"])
    );
    let targets = if v1 {
        format_v1_target(hpa)
    } else {
        let specs = list_at(hpa, &["spec", "metrics"]);
        let statuses = list_at(hpa, &["status", "currentMetrics"]);
        if specs.is_empty() {
            // Kube defaults an HPA without metrics to CPU utilization on decode.
            let default = json!({"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}});
            format_metrics(std::slice::from_ref(&default), statuses)
        } else {
            format_metrics(specs, statuses)
        }
    };
    let min = opt_int(hpa, &["spec", "minReplicas"]).map_or("<unset>".into(), |m| m.to_string());
    vec![
        name(hpa),
        Value::from(reference),
        Value::from(targets),
        Value::from(min),
        Value::from(int_at(hpa, &["spec", "maxReplicas"])),
        Value::from(int_at(hpa, &["status", "currentReplicas"])),
        age(hpa, now),
    ]
    .into()
}
