//! apps/v1, batch/v1 and ReplicationController defaults, and the Job
//! strategy's generated selector.

use serde_json::{json, Map, Value};

use super::pod::template_at;
use super::{at, child, each, set_if_absent, set_if_unset, status_shell};
use crate::registry::validation::{CONTROLLER_UID, JOB_NAME, LEGACY_CONTROLLER_UID, LEGACY_JOB_NAME};

pub(super) fn deployment(obj: &mut Value) {
    template_at(obj, &["spec", "template"]);
    if let Some(spec) = child(obj, "spec") {
        set_if_absent(spec, "replicas", json!(1));
        if let Some(strategy) = child(spec, "strategy") {
            set_if_unset(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                if let Some(ru) = child(strategy, "rollingUpdate") {
                    set_if_absent(ru, "maxUnavailable", json!("25%"));
                    set_if_absent(ru, "maxSurge", json!("25%"));
                }
            }
        }
        set_if_absent(spec, "revisionHistoryLimit", json!(10));
        set_if_absent(spec, "progressDeadlineSeconds", json!(600));
    }
    status_shell(obj, json!({}));
}

pub(super) fn replica_set(obj: &mut Value) {
    template_at(obj, &["spec", "template"]);
    if let Some(spec) = child(obj, "spec") {
        set_if_absent(spec, "replicas", json!(1));
    }
    status_shell(obj, json!({"replicas": 0}));
}

pub(super) fn stateful_set(obj: &mut Value) {
    template_at(obj, &["spec", "template"]);
    if let Some(spec) = child(obj, "spec") {
        set_if_unset(spec, "podManagementPolicy", json!("OrderedReady"));
        if let Some(us) = child(spec, "updateStrategy") {
            if us.get("type").and_then(Value::as_str).unwrap_or("").is_empty() {
                set_if_unset(us, "type", json!("RollingUpdate"));
                set_if_absent(us, "rollingUpdate", json!({}));
            }
            if us.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                if let Some(ru) = at(us, &["rollingUpdate"]) {
                    set_if_absent(ru, "partition", json!(0));
                }
            }
        }
        if let Some(p) = child(spec, "persistentVolumeClaimRetentionPolicy") {
            set_if_unset(p, "whenDeleted", json!("Retain"));
            set_if_unset(p, "whenScaled", json!("Retain"));
        }
        set_if_absent(spec, "replicas", json!(1));
        set_if_absent(spec, "revisionHistoryLimit", json!(10));
        // Claim templates are PersistentVolumeClaims and get their defaults.
        for c in each(spec, "volumeClaimTemplates") {
            super::other::pvc(c);
        }
    }
    status_shell(obj, json!({"replicas": 0, "availableReplicas": 0}));
}

pub(super) fn daemon_set(obj: &mut Value) {
    template_at(obj, &["spec", "template"]);
    if let Some(spec) = child(obj, "spec") {
        if let Some(us) = child(spec, "updateStrategy") {
            set_if_unset(us, "type", json!("RollingUpdate"));
            if us.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                if let Some(ru) = child(us, "rollingUpdate") {
                    set_if_absent(ru, "maxUnavailable", json!(1));
                    set_if_absent(ru, "maxSurge", json!(0));
                }
            }
        }
        set_if_absent(spec, "revisionHistoryLimit", json!(10));
    }
    status_shell(
        obj,
        json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}),
    );
}

/// `SetDefaults_ReplicationController`: selector and labels from the template.
pub(super) fn replication_controller(obj: &mut Value) {
    template_at(obj, &["spec", "template"]);
    let labels = at(obj, &["spec", "template", "metadata", "labels"]).cloned();
    if let Some(labels) = labels {
        if let Some(spec) = child(obj, "spec") {
            if spec.get("selector").and_then(Value::as_object).is_none_or(Map::is_empty) {
                if let Some(m) = spec.as_object_mut() {
                    m.insert("selector".into(), labels.clone());
                }
            }
        }
        copy_labels_if_empty(obj, labels);
    }
    if let Some(spec) = child(obj, "spec") {
        set_if_absent(spec, "replicas", json!(1));
    }
    status_shell(obj, json!({"replicas": 0}));
}

fn copy_labels_if_empty(obj: &mut Value, labels: Value) {
    if let Some(meta) = child(obj, "metadata") {
        if meta.get("labels").and_then(Value::as_object).is_none_or(Map::is_empty) {
            if let Some(m) = meta.as_object_mut() {
                m.insert("labels".into(), labels);
            }
        }
    }
}

/// `SetDefaults_Job`.
pub(super) fn job(obj: &mut Value) {
    template_at(obj, &["spec", "template"]);
    let labels = at(obj, &["spec", "template", "metadata", "labels"]).cloned();
    if let Some(spec) = child(obj, "spec") {
        job_spec(spec);
    }
    if let Some(labels) = labels {
        copy_labels_if_empty(obj, labels);
    }
    status_shell(obj, json!({}));
}

fn job_spec(spec: &mut Value) {
    let unset = |v: &Value, k: &str| v.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        set_if_absent(spec, "completions", json!(1));
    }
    set_if_absent(spec, "parallelism", json!(1));
    let backoff = if unset(spec, "backoffLimitPerIndex") { 6 } else { i64::from(i32::MAX) };
    set_if_absent(spec, "backoffLimit", json!(backoff));
    set_if_absent(spec, "completionMode", json!("NonIndexed"));
    set_if_absent(spec, "suspend", json!(false));
    let has_failure_policy = !unset(spec, "podFailurePolicy");
    if let Some(pfp) = at(spec, &["podFailurePolicy"]) {
        for rule in each(pfp, "rules") {
            for pattern in each(rule, "onPodConditions") {
                set_if_unset(pattern, "status", json!("True"));
            }
        }
    }
    let replacement = if has_failure_policy { "Failed" } else { "TerminatingOrFailed" };
    set_if_absent(spec, "podReplacementPolicy", json!(replacement));
}

/// The Job strategy's selector generation (unless `manualSelector`), which
/// needs the Job's uid; kube then re-defaults metadata labels on read.
pub(super) fn job_create(obj: &mut Value) {
    let meta = |k: &str| obj.get("metadata").and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or("").to_string();
    let (name, uid) = (meta("name"), meta("uid"));
    let manual = at(obj, &["spec"]).and_then(|s| s.get("manualSelector")).and_then(Value::as_bool) == Some(true);
    if !manual {
        let Some(spec) = child(obj, "spec") else { return };
        if let Some(labels) =
            child(spec, "template").and_then(|t| child(t, "metadata")).and_then(|m| child(m, "labels"))
        {
            for (key, value) in
                [(LEGACY_JOB_NAME, &name), (JOB_NAME, &name), (LEGACY_CONTROLLER_UID, &uid), (CONTROLLER_UID, &uid)]
            {
                set_if_absent(labels, key, json!(value));
            }
        }
        if let Some(ml) = child(spec, "selector").and_then(|s| child(s, "matchLabels")) {
            set_if_absent(ml, CONTROLLER_UID, json!(uid));
        }
    }
    if let Some(labels) = at(obj, &["spec", "template", "metadata", "labels"]).cloned() {
        copy_labels_if_empty(obj, labels);
    }
}

/// `SetDefaults_CronJob`; the job template's pod spec gets PodSpec defaults.
pub(super) fn cron_job(obj: &mut Value) {
    template_at(obj, &["spec", "jobTemplate", "spec", "template"]);
    if let Some(spec) = child(obj, "spec") {
        set_if_unset(spec, "concurrencyPolicy", json!("Allow"));
        set_if_absent(spec, "suspend", json!(false));
        set_if_absent(spec, "successfulJobsHistoryLimit", json!(3));
        set_if_absent(spec, "failedJobsHistoryLimit", json!(1));
    }
    status_shell(obj, json!({}));
}
