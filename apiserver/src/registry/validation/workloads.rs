//! apps/v1 workloads and ReplicationControllers: selectors, templates,
//! strategies and the update rules (immutable selectors, StatefulSet spec).

use serde_json::Value;

use crate::error::Cause;

use super::meta::{
    selector_is_empty, selector_matches, validate_annotations, validate_label_selector, validate_labels,
};
use super::names::is_valid_percent;
use super::podspec::{validate_template, Opts};
use super::util::{
    get, go_json, int, invalid, invalid_raw, invalid_value, nonneg, not_supported, not_supported_raw, required_detail,
    s, same, selector_json, str_map,
};

/// Which controller owns the template; the messages name them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctrl {
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
}

pub(crate) fn validate_deployment(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = controller_spec(obj, Ctrl::Deployment);
    errs.extend(deployment_strategy(obj));
    nonneg(&mut errs, obj, &["spec", "revisionHistoryLimit"], "spec.revisionHistoryLimit");
    if let Some(pds) = int(obj, &["spec", "progressDeadlineSeconds"]) {
        nonneg(&mut errs, obj, &["spec", "progressDeadlineSeconds"], "spec.progressDeadlineSeconds");
        if pds <= int(obj, &["spec", "minReadySeconds"]).unwrap_or(0) {
            errs.push(invalid_raw("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"));
        }
    }
    errs.extend(immutable_selector(obj, old));
    errs
}

pub(crate) fn validate_replica_set(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = controller_spec(obj, Ctrl::ReplicaSet);
    errs.extend(immutable_selector(obj, old));
    errs
}

pub(crate) fn validate_daemon_set(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = controller_spec(obj, Ctrl::DaemonSet);
    let path = "spec.updateStrategy";
    match s(obj, &["spec", "updateStrategy", "type"]) {
        "OnDelete" => {}
        "RollingUpdate" => match get(obj, &["spec", "updateStrategy", "rollingUpdate"]).filter(|v| !v.is_null()) {
            None => errs.push(Cause::required(format!("{path}.rollingUpdate"))),
            Some(ru) => {
                let rp = format!("{path}.rollingUpdate");
                let (mu, ms) = (get(ru, &["maxUnavailable"]), get(ru, &["maxSurge"]));
                errs.extend(int_or_percent(mu, &format!("{rp}.maxUnavailable")));
                errs.extend(int_or_percent(ms, &format!("{rp}.maxSurge")));
                errs.extend(not_over_100(mu, &format!("{rp}.maxUnavailable")));
                errs.extend(not_over_100(ms, &format!("{rp}.maxSurge")));
                match (percent_value(mu) != 0, percent_value(ms) != 0) {
                    (true, true) => errs.push(invalid_value(
                        format!("{rp}.maxSurge"),
                        ms,
                        "may not be set when maxUnavailable is non-zero",
                    )),
                    (false, false) => {
                        errs.push(required_detail(format!("{rp}.maxUnavailable"), "cannot be 0 when maxSurge is 0"))
                    }
                    _ => {}
                }
            }
        },
        _ => errs.push(not_supported_raw(
            path,
            internal_strategy(obj, "updateStrategy", &["MaxUnavailable", "MaxSurge"]),
            &["RollingUpdate", "OnDelete"],
        )),
    }
    nonneg(&mut errs, obj, &["spec", "revisionHistoryLimit"], "spec.revisionHistoryLimit");
    errs.extend(immutable_selector(obj, old));
    errs
}

pub(crate) fn validate_stateful_set(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    match s(obj, &["spec", "podManagementPolicy"]) {
        "OrderedReady" | "Parallel" => {}
        "" => errs.push(Cause::required("spec.podManagementPolicy")),
        p => errs.push(invalid("spec.podManagementPolicy", p, "must be 'OrderedReady' or 'Parallel'")),
    }
    let ru = get(obj, &["spec", "updateStrategy", "rollingUpdate"]).filter(|v| !v.is_null());
    match s(obj, &["spec", "updateStrategy", "type"]) {
        "" => errs.push(Cause::required("spec.updateStrategy")),
        "OnDelete" => {
            if let Some(ru) = ru {
                let rendered = format!(
                    "{{\"Partition\":{},\"MaxUnavailable\":{}}}",
                    int(ru, &["partition"]).unwrap_or(0),
                    get(ru, &["maxUnavailable"]).map(go_json).unwrap_or_else(|| "null".into())
                );
                errs.push(invalid_raw(
                    "spec.updateStrategy.rollingUpdate",
                    rendered,
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => nonneg(
            &mut errs,
            obj,
            &["spec", "updateStrategy", "rollingUpdate", "partition"],
            "spec.updateStrategy.rollingUpdate.partition",
        ),
        _ => errs.push(invalid_raw(
            "spec.updateStrategy",
            internal_strategy(obj, "updateStrategy", &["Partition", "MaxUnavailable"]),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    errs.extend(controller_spec(obj, Ctrl::StatefulSet));
    nonneg(&mut errs, obj, &["spec", "ordinals", "start"], "spec.ordinals.start");
    for key in ["whenDeleted", "whenScaled"] {
        let v = s(obj, &["spec", "persistentVolumeClaimRetentionPolicy", key]);
        if get(obj, &["spec", "persistentVolumeClaimRetentionPolicy"]).is_some() && v != "Retain" && v != "Delete" {
            errs.push(not_supported(
                format!("spec.persistentVolumeClaimRetentionPolicy.{key}"),
                v,
                &["Retain", "Delete"],
            ));
        }
    }
    if let Some(old) = old {
        // Only these spec fields may change; compare everything else.
        let strip = |v: &Value| {
            let mut spec = get(v, &["spec"]).cloned().unwrap_or(Value::Null);
            if let Some(m) = spec.as_object_mut() {
                for key in [
                    "replicas",
                    "ordinals",
                    "template",
                    "updateStrategy",
                    "revisionHistoryLimit",
                    "persistentVolumeClaimRetentionPolicy",
                    "minReadySeconds",
                ] {
                    m.remove(key);
                }
            }
            spec
        };
        if !same(Some(&strip(obj)), Some(&strip(old))) {
            errs.push(Cause::forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
        }
    }
    errs
}

pub(crate) fn validate_replication_controller(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    nonneg(&mut errs, obj, &["spec", "minReadySeconds"], "spec.minReadySeconds");
    let selector = str_map(obj, &["spec", "selector"]);
    if selector.is_empty() {
        errs.push(Cause::required("spec.selector"));
    }
    nonneg(&mut errs, obj, &["spec", "replicas"], "spec.replicas");
    let Some(t) = get(obj, &["spec", "template"]).filter(|v| !v.is_null()) else {
        errs.push(Cause::required("spec.template"));
        return errs;
    };
    let labels = str_map(t, &["metadata", "labels"]);
    if !selector.is_empty() && !selector.iter().all(|kv| labels.contains(kv)) {
        errs.push(invalid_value(
            "spec.template.metadata.labels",
            get(t, &["metadata", "labels"]),
            "`selector` does not match template `labels`",
        ));
    }
    errs.extend(validate_template(t, "spec.template", &Opts::default()));
    errs.extend(template_restart_rules(t, "ReplicationController"));
    errs
}

pub(crate) fn validate_controller_revision(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    if get(obj, &["data"]).is_none_or(Value::is_null) {
        errs.push(required_detail("data", "data is mandatory"));
    }
    nonneg(&mut errs, obj, &["revision"], "revision");
    if let Some(old) = old {
        if !same(get(obj, &["data"]), get(old, &["data"])) {
            errs.push(invalid_value("data", get(obj, &["data"]), "field is immutable"));
        }
    }
    errs
}

/// Replicas, selector and template rules shared by the apps controllers.
fn controller_spec(obj: &Value, ctrl: Ctrl) -> Vec<Cause> {
    let mut errs = Vec::new();
    if ctrl != Ctrl::DaemonSet {
        nonneg(&mut errs, obj, &["spec", "replicas"], "spec.replicas");
    }
    let sel = get(obj, &["spec", "selector"]).filter(|v| !v.is_null());
    let which = match ctrl {
        Ctrl::Deployment | Ctrl::ReplicaSet => "deployment",
        Ctrl::StatefulSet => "statefulset",
        Ctrl::DaemonSet => "daemonset",
    };
    match sel {
        None if ctrl != Ctrl::DaemonSet => errs.push(Cause::required("spec.selector")),
        None => {}
        Some(sel) => {
            errs.extend(validate_label_selector(Some(sel), "spec.selector"));
            if selector_is_empty(Some(sel)) {
                errs.push(invalid_raw(
                    "spec.selector",
                    selector_json(Some(sel)),
                    format!("empty selector is invalid for {which}"),
                ));
            }
        }
    }
    let null = Value::Null;
    let t = get(obj, &["spec", "template"]).unwrap_or(&null);
    let labels = str_map(t, &["metadata", "labels"]);
    // A nil selector matches nothing; kube only reports it for DaemonSets.
    let check = ctrl == Ctrl::DaemonSet || !selector_is_empty(sel);
    if check && !selector_matches(sel, &labels) {
        errs.push(invalid_value(
            "spec.template.metadata.labels",
            get(t, &["metadata", "labels"]),
            "`selector` does not match template `labels`",
        ));
    }
    if ctrl == Ctrl::StatefulSet {
        // kube checks only the template's labels and annotations for StatefulSets
        // (its volumes may come from volumeClaimTemplates).
        errs.extend(validate_labels(t, &["metadata", "labels"], "spec.template.labels"));
        errs.extend(validate_annotations(t, &["metadata", "annotations"], "spec.template.annotations"));
    } else {
        errs.extend(validate_template(t, "spec.template", &Opts::default()));
    }
    let name = match ctrl {
        Ctrl::Deployment | Ctrl::ReplicaSet => "ReplicaSet",
        Ctrl::StatefulSet => "StatefulSet",
        Ctrl::DaemonSet => "DaemonSet",
    };
    errs.extend(template_restart_rules(t, name));
    nonneg(&mut errs, obj, &["spec", "minReadySeconds"], "spec.minReadySeconds");
    errs
}

/// Controllers run pods forever: restartPolicy Always, no activeDeadlineSeconds.
fn template_restart_rules(t: &Value, ctrl: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let rp = s(t, &["spec", "restartPolicy"]);
    if rp != "Always" {
        errs.push(not_supported("spec.template.spec.restartPolicy", rp, &["Always"]));
    }
    if int(t, &["spec", "activeDeadlineSeconds"]).is_some() {
        errs.push(Cause::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            format!("activeDeadlineSeconds in {ctrl} is not Supported"),
        ));
    }
    errs
}

fn deployment_strategy(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let path = "spec.strategy";
    let ru = get(obj, &["spec", "strategy", "rollingUpdate"]).filter(|v| !v.is_null());
    match s(obj, &["spec", "strategy", "type"]) {
        "Recreate" => {
            if ru.is_some() {
                errs.push(Cause::forbidden(
                    format!("{path}.rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match ru {
            None => {
                errs.push(required_detail(format!("{path}.rollingUpdate"), "this should be defaulted and never be nil"))
            }
            Some(ru) => {
                let rp = format!("{path}.rollingUpdate");
                let (mu, ms) = (get(ru, &["maxUnavailable"]), get(ru, &["maxSurge"]));
                errs.extend(int_or_percent(mu, &format!("{rp}.maxUnavailable")));
                errs.extend(int_or_percent(ms, &format!("{rp}.maxSurge")));
                if percent_value(mu) == 0 && percent_value(ms) == 0 {
                    errs.push(invalid_value(format!("{rp}.maxUnavailable"), mu, "may not be 0 when `maxSurge` is 0"));
                }
                errs.extend(not_over_100(mu, &format!("{rp}.maxUnavailable")));
            }
        },
        _ => errs.push(not_supported_raw(
            path,
            internal_strategy(obj, "strategy", &["MaxUnavailable", "MaxSurge"]),
            &["Recreate", "RollingUpdate"],
        )),
    }
    errs
}

/// The internal strategy struct as kube's error prints it (JSON with Go field names).
fn internal_strategy(obj: &Value, key: &str, fields: &[&str]) -> String {
    let ru = get(obj, &["spec", key, "rollingUpdate"]).filter(|v| !v.is_null());
    let ru = match ru {
        None => "null".to_string(),
        Some(ru) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|f| {
                    let json_key = format!("{}{}", f[..1].to_lowercase(), &f[1..]);
                    format!("\"{f}\":{}", get(ru, &[&json_key]).map(go_json).unwrap_or_else(|| "null".into()))
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    };
    format!("{{\"Type\":{},\"RollingUpdate\":{ru}}}", go_json(&Value::String(s(obj, &["spec", key, "type"]).into())))
}

/// `ValidatePositiveIntOrPercent`.
pub(crate) fn int_or_percent(v: Option<&Value>, path: &str) -> Vec<Cause> {
    match v {
        Some(Value::String(p)) => is_valid_percent(p).into_iter().map(|m| invalid(path, p, m)).collect(),
        Some(n) => match n.as_i64().filter(|n| *n < 0) {
            Some(n) => vec![invalid_raw(path, n, "must be greater than or equal to 0")],
            None => Vec::new(),
        },
        None => Vec::new(),
    }
}

fn percent_value(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::String(p)) => p.strip_suffix('%').and_then(|d| d.parse().ok()).unwrap_or(0),
        Some(n) => n.as_i64().unwrap_or(0),
        None => 0,
    }
}

pub(crate) fn not_over_100(v: Option<&Value>, path: &str) -> Vec<Cause> {
    match v {
        Some(Value::String(p)) if p.ends_with('%') && percent_value(v) > 100 => {
            vec![invalid(path, p, "must not be greater than 100%")]
        }
        _ => Vec::new(),
    }
}

/// apps/v1 selectors are immutable.
fn immutable_selector(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let Some(old) = old else { return Vec::new() };
    let (n, o) = (get(obj, &["spec", "selector"]), get(old, &["spec", "selector"]));
    if same(n, o) {
        return Vec::new();
    }
    vec![invalid_raw("spec.selector", selector_json(n), "field is immutable")]
}
