//! The pod printer (`printPod`): READY, the aggregate STATUS reason (init
//! containers, sidecars, waiting/terminated reasons, Terminating) and RESTARTS with
//! the time of the last restart.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::duration::{human_duration, parse_time};
use super::util::{age, at, condition_true, deleting, int_at, list_at, name, opt_bool, str_at};
use super::{Column, Printer, Row, AGE, NAME};

pub(super) static PODS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        Column::s("Status", "The aggregate status of the containers in this pod."),
        Column::s(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        Column::s("IP", docs::POD_IP).wide(),
        Column::s("Node", docs::POD_NODE_NAME).wide(),
        Column::s("Nominated Node", docs::POD_NOMINATED_NODE).wide(),
        Column::s("Readiness Gates", docs::POD_READINESS_GATES).wide(),
    ],
    print: print_pod,
};

/// `node.NodeUnreachablePodReason`: a pod on a lost node being deleted shows "Unknown".
const NODE_LOST: &str = "NodeLost";

/// Keeps the later of two restart times (Go compares against the zero time).
fn later(cur: Option<Timestamp>, finished: Option<&Value>) -> Option<Timestamp> {
    match (cur, parse_time(finished)) {
        (Some(c), Some(f)) if c < f => Some(f),
        (None, f) => f,
        (c, _) => c,
    }
}

fn last_terminated_at(status: &Value) -> Option<&Value> {
    at(status, &["lastState", "terminated", "finishedAt"])
}

/// "Signal:N" / "ExitCode:N" for a terminated state without a reason.
fn exit_reason(terminated: &Value) -> String {
    let signal = int_at(terminated, &["signal"]);
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", int_at(terminated, &["exitCode"]))
    }
}

pub(super) fn print_pod(pod: &Value, now: Timestamp) -> Row {
    let containers = list_at(pod, &["spec", "containers"]);
    let init_containers = list_at(pod, &["spec", "initContainers"]);
    // Sidecars: init containers with restartPolicy Always count as regular containers.
    let restartable = |name: &str| {
        init_containers.iter().any(|c| str_at(c, &["name"]) == name && str_at(c, &["restartPolicy"]) == "Always")
    };
    let total = containers.len() + init_containers.iter().filter(|c| str_at(c, &["restartPolicy"]) == "Always").count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;

    let phase = str_at(pod, &["status", "phase"]);
    let status_reason = str_at(pod, &["status", "reason"]);
    let mut reason = if status_reason.is_empty() { phase.to_string() } else { status_reason.to_string() };
    for c in list_at(pod, &["status", "conditions"]) {
        if str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    let conditions = match phase {
        "Succeeded" => vec![json!({"type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully."})],
        "Failed" => vec![json!({"type": "Completed", "status": "True", "reason": "Failed",
            "message": "The pod failed."})],
        _ => Vec::new(),
    };

    let mut initializing = false;
    for (i, st) in list_at(pod, &["status", "initContainerStatuses"]).iter().enumerate() {
        let count = int_at(st, &["restartCount"]);
        restarts += count;
        last_restart = later(last_restart, last_terminated_at(st));
        let sidecar = restartable(str_at(st, &["name"]));
        if sidecar {
            sidecar_restarts += count;
            last_sidecar_restart = later(last_sidecar_restart, last_terminated_at(st));
        }
        let terminated = at(st, &["state", "terminated"]);
        let waiting_reason = str_at(st, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int_at(t, &["exitCode"]) == 0) {
            continue;
        } else if sidecar && opt_bool(st, &["started"]) == Some(true) {
            if opt_bool(st, &["ready"]) == Some(true) {
                ready += 1;
            }
            continue;
        } else if let Some(t) = terminated {
            // Initialization failed.
            let r = str_at(t, &["reason"]);
            reason = if r.is_empty() { format!("Init:{}", exit_reason(t)) } else { format!("Init:{r}") };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for st in list_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int_at(st, &["restartCount"]);
            last_restart = later(last_restart, last_terminated_at(st));
            let waiting_reason = str_at(st, &["state", "waiting", "reason"]);
            let terminated = at(st, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, &["reason"]);
                reason = if r.is_empty() { exit_reason(t) } else { r.to_string() };
            } else if opt_bool(st, &["ready"]) == Some(true) && at(st, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose last container completed but another still runs is Running.
        if reason == "Completed" && has_running {
            reason = if condition_true_any(pod, "Ready") { "Running" } else { "NotReady" }.to_string();
        }
    }

    if deleting(pod) && status_reason == NODE_LOST {
        reason = "Unknown".to_string();
    } else if deleting(pod) && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now.duration_since(t))),
        _ => restarts.to_string(),
    };

    let cells = vec![
        name(pod),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_cell),
        age(pod, now),
        Value::from(pod_ip(pod)),
        Value::from(or_none(str_at(pod, &["spec", "nodeName"]))),
        Value::from(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        Value::from(readiness_gates(pod)),
    ];
    Row { cells, conditions }
}

/// `hasPodReadyCondition`: any Ready condition with status True.
fn condition_true_any(pod: &Value, kind: &str) -> bool {
    list_at(pod, &["status", "conditions"])
        .iter()
        .any(|c| str_at(c, &["type"]) == kind && str_at(c, &["status"]) == "True")
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s.to_string()
    }
}

/// The internal type's `PodIPs[0]`: v1 `podIP` is authoritative, then `podIPs`.
fn pod_ip(pod: &Value) -> String {
    let ip = str_at(pod, &["status", "podIP"]);
    if !ip.is_empty() {
        return ip.to_string();
    }
    let first = list_at(pod, &["status", "podIPs"]).first().map_or("", |p| str_at(p, &["ip"]));
    or_none(first)
}

/// READINESS GATES: `true/total` of the gates' conditions, `<none>` without gates.
fn readiness_gates(pod: &Value) -> String {
    let gates = list_at(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conditions = list_at(pod, &["status", "conditions"]);
    let true_count = gates
        .iter()
        .filter(|g| {
            let kind = str_at(g, &["conditionType"]);
            conditions.iter().find(|c| str_at(c, &["type"]) == kind).is_some_and(|c| str_at(c, &["status"]) == "True")
        })
        .count();
    format!("{true_count}/{}", gates.len())
}
