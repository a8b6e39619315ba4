//! Printers of the `apps` group: deployments, replicasets, statefulsets,
//! daemonsets and controllerrevisions.

use jiff::Timestamp;
use serde_json::Value;

use super::docs;
use super::util::{
    age, at, container_cells, format_label_selector, format_labels, int_at, list_at, map_at, name, opt_bool, opt_int,
    selector_string, str_at,
};
use super::{Column, Printer, Row, AGE, CONTAINERS, IMAGES, NAME};

/// The printer of an `apps` resource.
pub(super) fn printer(plural: &str) -> Option<&'static Printer> {
    Some(match plural {
        "deployments" => &DEPLOYMENTS,
        "replicasets" => &REPLICA_SETS,
        "statefulsets" => &STATEFUL_SETS,
        "daemonsets" => &DAEMON_SETS,
        "controllerrevisions" => &CONTROLLER_REVISIONS,
        _ => return None,
    })
}

/// `spec.replicas`, which the registry defaults to 1.
fn desired(obj: &Value) -> i64 {
    opt_int(obj, &["spec", "replicas"]).unwrap_or(1)
}

fn template_containers(obj: &Value) -> (Value, Value) {
    container_cells(list_at(obj, &["spec", "template", "spec", "containers"]))
}

static DEPLOYMENTS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Ready", "Number of the pod with ready state"),
        Column::s("Up-to-date", docs::DEPLOY_UPDATED),
        Column::s("Available", docs::DEPLOY_AVAILABLE),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::s("Selector", docs::DEPLOY_SELECTOR).wide(),
    ],
    print: print_deployment,
};

fn print_deployment(d: &Value, now: Timestamp) -> Row {
    let (names, images) = template_containers(d);
    // Unlike the other workloads, an empty selector prints as "" here.
    let selector = selector_string(at(d, &["spec", "selector"])).unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        name(d),
        Value::from(format!("{}/{}", int_at(d, &["status", "readyReplicas"]), desired(d))),
        Value::from(int_at(d, &["status", "updatedReplicas"])),
        Value::from(int_at(d, &["status", "availableReplicas"])),
        age(d, now),
        names,
        images,
        Value::from(selector),
    ]
    .into()
}

static REPLICA_SETS: Printer = Printer {
    columns: &[
        NAME,
        Column::i("Desired", docs::RS_SPEC_REPLICAS),
        Column::i("Current", docs::RS_STATUS_REPLICAS),
        Column::i("Ready", docs::RS_READY_REPLICAS),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::s("Selector", docs::RS_SELECTOR).wide(),
    ],
    print: |rs, now| {
        let (names, images) = template_containers(rs);
        vec![
            name(rs),
            Value::from(desired(rs)),
            Value::from(int_at(rs, &["status", "replicas"])),
            Value::from(int_at(rs, &["status", "readyReplicas"])),
            age(rs, now),
            names,
            images,
            Value::from(format_label_selector(at(rs, &["spec", "selector"]))),
        ]
        .into()
    },
};

static STATEFUL_SETS: Printer = Printer {
    columns: &[NAME, Column::s("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES],
    print: |sts, now| {
        let (names, images) = template_containers(sts);
        let ready = format!("{}/{}", int_at(sts, &["status", "readyReplicas"]), desired(sts));
        vec![name(sts), Value::from(ready), age(sts, now), names, images].into()
    },
};

static DAEMON_SETS: Printer = Printer {
    columns: &[
        NAME,
        Column::i("Desired", docs::DS_DESIRED),
        Column::i("Current", docs::DS_CURRENT),
        Column::i("Ready", docs::DS_READY),
        Column::i("Up-to-date", docs::DS_UPDATED),
        Column::i("Available", docs::DS_AVAILABLE),
        Column::s("Node Selector", docs::POD_NODE_SELECTOR),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::s("Selector", docs::DS_SELECTOR).wide(),
    ],
    print: |ds, now| {
        let (names, images) = template_containers(ds);
        let status = |f: &str| Value::from(int_at(ds, &["status", f]));
        vec![
            name(ds),
            status("desiredNumberScheduled"),
            status("currentNumberScheduled"),
            status("numberReady"),
            status("updatedNumberScheduled"),
            status("numberAvailable"),
            Value::from(format_labels(map_at(ds, &["spec", "template", "spec", "nodeSelector"]))),
            age(ds, now),
            names,
            images,
            Value::from(format_label_selector(at(ds, &["spec", "selector"]))),
        ]
        .into()
    },
};

static CONTROLLER_REVISIONS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Controller", "Controller of the object"),
        Column::s("Revision", docs::CR_REVISION),
        AGE,
    ],
    print: |cr, now| {
        vec![name(cr), Value::from(controller_of(cr)), Value::from(int_at(cr, &["revision"])), age(cr, now)].into()
    },
};

/// CONTROLLER: the controller owner as `kind.group/name` (lower-cased kind.group),
/// `<none>` without one.
fn controller_of(obj: &Value) -> String {
    let Some(owner) =
        list_at(obj, &["metadata", "ownerReferences"]).iter().find(|o| opt_bool(o, &["controller"]) == Some(true))
    else {
        return "<none>".to_string();
    };
    let owner_name = str_at(owner, &["name"]);
    let kind = str_at(owner, &["kind"]);
    // schema.ParseGroupVersion: "v1" is the core group, "g/v" a named one.
    let group = match str_at(owner, &["apiVersion"]).split('/').collect::<Vec<_>>().as_slice() {
        [_] => "",
        [g, _] => g,
        // Go fails the row on a malformed apiVersion; print the bare name instead.
        _ => return owner_name.to_string(),
    };
    let group_kind = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
    if group_kind.is_empty() {
        return owner_name.to_string();
    }
    format!("{}/{owner_name}", group_kind.to_lowercase())
}
