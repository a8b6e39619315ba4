//! Volume printers: persistentvolumes and persistentvolumeclaims (core) and the
//! `storage.k8s.io` resources.

use jiff::Timestamp;
use serde_json::Value;

use super::docs;
use super::util::{age, at, deleting, list_at, map_at, name, opt_bool, opt_str, quantity, quantity_or, str_at};
use super::{Column, Printer, Row, AGE, NAME};

/// The printer of a `storage.k8s.io` resource.
pub(super) fn printer(plural: &str) -> Option<&'static Printer> {
    Some(match plural {
        "storageclasses" => &STORAGE_CLASSES,
        "csidrivers" => &CSI_DRIVERS,
        "csinodes" => &CSI_NODES,
        "csistoragecapacities" => &CSI_STORAGE_CAPACITIES,
        "volumeattachments" => &VOLUME_ATTACHMENTS,
        _ => return None,
    })
}

/// The storage class annotation that predates `storageClassName` and wins over it.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// `helper.GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .iter()
        .filter(|(mode, _)| has(mode))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

fn storage_class(obj: &Value) -> String {
    match map_at(obj, &["metadata", "annotations"]).and_then(|a| a.get(BETA_STORAGE_CLASS)) {
        Some(class) => class.as_str().unwrap_or("").to_string(),
        None => str_at(obj, &["spec", "storageClassName"]).to_string(),
    }
}

fn or_unset(s: Option<&str>) -> Value {
    Value::from(s.unwrap_or("<unset>"))
}

pub(super) static PERSISTENT_VOLUMES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Capacity", docs::PV_CAPACITY),
        Column::s("Access Modes", docs::PV_ACCESS_MODES),
        Column::s("Reclaim Policy", docs::PV_RECLAIM),
        Column::s("Status", docs::PV_PHASE),
        Column::s("Claim", docs::PV_CLAIM),
        Column::s("StorageClass", "StorageClass of the pv"),
        Column::s("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        Column::s("Reason", docs::PV_REASON),
        AGE,
        Column::s("VolumeMode", docs::PV_VOLUME_MODE).wide(),
    ],
    print: print_pv,
};

fn print_pv(pv: &Value, now: Timestamp) -> Row {
    let claim = match at(pv, &["spec", "claimRef"]) {
        Some(c) => format!("{}/{}", str_at(c, &["namespace"]), str_at(c, &["name"])),
        None => String::new(),
    };
    let phase = if deleting(pv) { "Terminating" } else { str_at(pv, &["status", "phase"]) };
    vec![
        name(pv),
        Value::from(quantity(at(pv, &["spec", "capacity", "storage"]))),
        Value::from(access_modes(list_at(pv, &["spec", "accessModes"]))),
        Value::from(str_at(pv, &["spec", "persistentVolumeReclaimPolicy"])),
        Value::from(phase),
        Value::from(claim),
        Value::from(storage_class(pv)),
        or_unset(opt_str(pv, &["spec", "volumeAttributesClassName"])),
        Value::from(str_at(pv, &["status", "reason"])),
        age(pv, now),
        or_unset(opt_str(pv, &["spec", "volumeMode"])),
    ]
    .into()
}

pub(super) static PERSISTENT_VOLUME_CLAIMS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Status", docs::PVC_PHASE),
        Column::s("Volume", docs::PVC_VOLUME_NAME),
        Column::s("Capacity", docs::PVC_CAPACITY),
        Column::s("Access Modes", docs::PVC_ACCESS_MODES),
        Column::s("StorageClass", "StorageClass of the pvc"),
        Column::s("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        Column::s("VolumeMode", docs::PVC_VOLUME_MODE).wide(),
    ],
    print: print_pvc,
};

fn print_pvc(pvc: &Value, now: Timestamp) -> Row {
    let phase = if deleting(pvc) { "Terminating" } else { str_at(pvc, &["status", "phase"]) };
    let volume = str_at(pvc, &["spec", "volumeName"]);
    // Capacity and access modes are shown once the claim is bound to a volume.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (quantity(at(pvc, &["status", "capacity", "storage"])), access_modes(list_at(pvc, &["status", "accessModes"])))
    };
    vec![
        name(pvc),
        Value::from(phase),
        Value::from(volume),
        Value::from(capacity),
        Value::from(modes),
        Value::from(storage_class(pvc)),
        or_unset(opt_str(pvc, &["spec", "volumeAttributesClassName"])),
        age(pvc, now),
        or_unset(opt_str(pvc, &["spec", "volumeMode"])),
    ]
    .into()
}

static STORAGE_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Provisioner", docs::SC_PROVISIONER),
        Column::s("ReclaimPolicy", docs::SC_RECLAIM),
        Column::s("VolumeBindingMode", docs::SC_BINDING_MODE),
        Column::s("AllowVolumeExpansion", docs::SC_EXPANSION),
        AGE,
    ],
    print: print_storage_class,
};

fn print_storage_class(sc: &Value, now: Timestamp) -> Row {
    let annotations = map_at(sc, &["metadata", "annotations"]);
    let is_default =
        ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
            .iter()
            .any(|k| annotations.and_then(|a| a.get(*k)).and_then(Value::as_str) == Some("true"));
    let mut display = str_at(sc, &["metadata", "name"]).to_string();
    if is_default {
        display.push_str(" (default)");
    }
    vec![
        Value::from(display),
        Value::from(str_at(sc, &["provisioner"])),
        Value::from(opt_str(sc, &["reclaimPolicy"]).unwrap_or("Delete")),
        Value::from(opt_str(sc, &["volumeBindingMode"]).unwrap_or("Immediate")),
        Value::from(opt_bool(sc, &["allowVolumeExpansion"]).unwrap_or(false)),
        age(sc, now),
    ]
    .into()
}

static CSI_DRIVERS: Printer = Printer {
    columns: &[
        NAME,
        Column::b("AttachRequired", docs::CSID_ATTACH),
        Column::b("PodInfoOnMount", docs::CSID_POD_INFO),
        Column::b("StorageCapacity", docs::CSID_CAPACITY),
        Column::s("TokenRequests", docs::CSID_TOKENS),
        Column::b("RequiresRepublish", docs::CSID_REPUBLISH),
        Column::s("Modes", docs::CSID_MODES),
        AGE,
    ],
    print: print_csi_driver,
};

fn print_csi_driver(d: &Value, now: Timestamp) -> Row {
    let modes: Vec<&str> = list_at(d, &["spec", "volumeLifecycleModes"]).iter().filter_map(Value::as_str).collect();
    let tokens = match at(d, &["spec", "tokenRequests"]).and_then(Value::as_array) {
        Some(reqs) => reqs.iter().map(|t| str_at(t, &["audience"])).collect::<Vec<_>>().join(","),
        None => "<unset>".to_string(),
    };
    vec![
        name(d),
        Value::from(opt_bool(d, &["spec", "attachRequired"]).unwrap_or(true)),
        Value::from(opt_bool(d, &["spec", "podInfoOnMount"]).unwrap_or(false)),
        Value::from(opt_bool(d, &["spec", "storageCapacity"]).unwrap_or(false)),
        Value::from(tokens),
        Value::from(opt_bool(d, &["spec", "requiresRepublish"]).unwrap_or(false)),
        Value::from(if modes.is_empty() { "<none>".to_string() } else { modes.join(",") }),
        age(d, now),
    ]
    .into()
}

static CSI_NODES: Printer = Printer {
    columns: &[NAME, Column::i("Drivers", "Drivers indicates the number of CSI drivers registered on the node"), AGE],
    print: |n, now| vec![name(n), Value::from(list_at(n, &["spec", "drivers"]).len()), age(n, now)].into(),
};

static CSI_STORAGE_CAPACITIES: Printer = Printer {
    columns: &[NAME, Column::s("StorageClassName", docs::CSISC_CLASS), Column::s("Capacity", docs::CSISC_CAPACITY)],
    print: |c, _| {
        let capacity = quantity_or(at(c, &["capacity"]), "<unset>");
        vec![name(c), Value::from(str_at(c, &["storageClassName"])), Value::from(capacity)].into()
    },
};

static VOLUME_ATTACHMENTS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Attacher", docs::VA_ATTACHER).name_format(),
        Column::s("PV", docs::VA_PV),
        Column::s("Node", docs::VA_NODE),
        Column::b("Attached", docs::VA_ATTACHED),
        AGE,
    ],
    print: |va, now| {
        vec![
            name(va),
            Value::from(str_at(va, &["spec", "attacher"])),
            Value::from(str_at(va, &["spec", "source", "persistentVolumeName"])),
            Value::from(str_at(va, &["spec", "nodeName"])),
            Value::from(opt_bool(va, &["status", "attached"]).unwrap_or(false)),
            age(va, now),
        ]
        .into()
    },
};
