//! PersistentVolumeClaims and PersistentVolumes.

use serde_json::Value;

use crate::error::Cause;

use super::containers::validate_quantity_value;
use super::meta::validate_label_selector;
use super::names::is_dns1123_subdomain;
use super::quantity::Quantity;
use super::util::{arr, get, go_json, invalid, map, not_supported, not_supported_raw, opt_s, required_detail, s, same};

const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

/// `ValidatePersistentVolumeClaimSpec` at `path` (e.g. `spec`).
fn claim_spec(spec: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let modes: Vec<&str> = arr(spec, &["accessModes"]).iter().filter_map(Value::as_str).collect();
    if modes.is_empty() {
        errs.push(required_detail(format!("{path}.accessModes"), "at least 1 access mode is required"));
    }
    errs.extend(validate_label_selector(get(spec, &["selector"]), &format!("{path}.selector")));
    for m in &modes {
        if !ACCESS_MODES.contains(m) {
            errs.push(not_supported(format!("{path}.accessModes"), m, ACCESS_MODES));
        }
    }
    if modes.contains(&"ReadWriteOncePod") && modes.iter().any(|m| *m != "ReadWriteOncePod" && ACCESS_MODES.contains(m))
    {
        errs.push(Cause::forbidden(
            format!("{path}.accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    let sp = format!("{path}.resources[storage]");
    match get(spec, &["resources", "requests", "storage"]) {
        None => errs.push(Cause::required(sp)),
        Some(q) => match Quantity::from_json(q) {
            Some(v) if v.nanos <= 0 => errs.push(invalid(&sp, &v.canonical(), "must be greater than zero")),
            _ => errs.extend(validate_quantity_value(q, &sp)),
        },
    }
    if let Some(sc) = opt_s(spec, &["storageClassName"]).filter(|sc| !sc.is_empty()) {
        errs.extend(is_dns1123_subdomain(sc).into_iter().map(|m| invalid(format!("{path}.storageClassName"), sc, m)));
    }
    if let Some(vm) = opt_s(spec, &["volumeMode"]).filter(|vm| *vm != "Block" && *vm != "Filesystem") {
        errs.push(not_supported(format!("{path}.volumeMode"), vm, &["Block", "Filesystem"]));
    }
    errs
}

pub(crate) fn validate_pvc(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let null = Value::Null;
    let mut errs = claim_spec(get(obj, &["spec"]).unwrap_or(&null), "spec");
    let Some(old) = old else { return errs };
    let mut new_spec = get(obj, &["spec"]).cloned().unwrap_or(Value::Null);
    let old_spec = get(old, &["spec"]).cloned().unwrap_or(Value::Null);
    if let Some(m) = new_spec.as_object_mut() {
        if s(&old_spec, &["volumeName"]).is_empty() {
            // The binder may set volumeName once.
            m.remove("volumeName");
        }
        if s(obj, &["status", "phase"]) == "Bound" {
            if let Some(st) = get(&old_spec, &["resources", "requests", "storage"]).cloned() {
                if let Some(req) =
                    m.get_mut("resources").and_then(|r| r.get_mut("requests")).and_then(Value::as_object_mut)
                {
                    req.insert("storage".into(), st);
                }
            }
            match get(&old_spec, &["volumeAttributesClassName"]) {
                Some(v) => m.insert("volumeAttributesClassName".into(), v.clone()),
                None => m.remove("volumeAttributesClassName"),
            };
        }
    }
    let mut old_cmp = old_spec.clone();
    if let Some(m) = old_cmp.as_object_mut() {
        if s(&old_spec, &["volumeName"]).is_empty() {
            m.remove("volumeName");
        }
        // A claim without a class may get one later (retroactive default class),
        // if it matches a beta class annotation the claim carries.
        let beta = opt_s(old, &["metadata", "annotations", "volume.beta.kubernetes.io/storage-class"]);
        let new_class = opt_s(&new_spec, &["storageClassName"]);
        if get(&old_spec, &["storageClassName"]).is_none_or(Value::is_null)
            && new_class.is_some_and(|c| beta.is_none_or(|b| b == c))
        {
            if let Some(c) = new_class {
                m.insert("storageClassName".into(), Value::String(c.to_string()));
            }
        }
    }
    if !same(Some(&new_spec), Some(&old_cmp)) {
        errs.push(Cause::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let size = |v: &Value, p: &[&str]| get(v, p).and_then(Quantity::from_json).map(|q| q.nanos).unwrap_or(0);
    let (new_size, old_size) = (
        size(obj, &["spec", "resources", "requests", "storage"]),
        size(old, &["spec", "resources", "requests", "storage"]),
    );
    if new_size < old_size && new_size <= size(old, &["status", "capacity", "storage"]) {
        errs.push(Cause::forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"));
    }
    if !same(get(obj, &["spec", "volumeMode"]), get(old, &["spec", "volumeMode"])) {
        errs.push(invalid("volumeMode", s(obj, &["spec", "volumeMode"]), "field is immutable"));
    }
    errs
}

/// PV volume sources (one must be set).
const PV_SOURCES: &[&str] = &[
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "hostPath",
    "glusterfs",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flocker",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

pub(crate) fn validate_pv(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let modes: Vec<&str> = arr(obj, &["spec", "accessModes"]).iter().filter_map(Value::as_str).collect();
    if modes.is_empty() {
        errs.push(Cause::required("spec.accessModes"));
    }
    for m in &modes {
        if !ACCESS_MODES.contains(m) {
            errs.push(not_supported("spec.accessModes", m, ACCESS_MODES));
        }
    }
    let cap = map(obj, &["spec", "capacity"]);
    if cap.is_none_or(|c| c.is_empty()) {
        errs.push(Cause::required("spec.capacity"));
    }
    if cap.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        let rendered = cap.map(|c| go_json(&Value::Object(c.clone()))).unwrap_or_else(|| "null".into());
        errs.push(not_supported_raw("spec.capacity", rendered, &["storage"]));
    }
    for (k, q) in cap.into_iter().flatten() {
        let p = format!("spec.capacity[{k}]");
        match Quantity::from_json(q) {
            Some(v) if v.nanos <= 0 => errs.push(invalid(&p, &v.canonical(), "must be greater than zero")),
            _ => errs.extend(validate_quantity_value(q, &p)),
        }
    }
    let rp = s(obj, &["spec", "persistentVolumeReclaimPolicy"]);
    if !rp.is_empty() && !["Delete", "Recycle", "Retain"].contains(&rp) {
        errs.push(not_supported("spec.persistentVolumeReclaimPolicy", rp, &["Delete", "Recycle", "Retain"]));
    }
    if let Some(sc) = opt_s(obj, &["spec", "storageClassName"]).filter(|sc| !sc.is_empty()) {
        errs.extend(is_dns1123_subdomain(sc).into_iter().map(|m| invalid("spec.storageClassName", sc, m)));
    }
    let sources: Vec<&&str> =
        PV_SOURCES.iter().filter(|k| get(obj, &["spec", k]).is_some_and(|v| !v.is_null())).collect();
    match sources.as_slice() {
        [] => errs.push(required_detail("spec", "must specify a volume type")),
        [first, rest @ ..] => {
            for k in rest {
                errs.push(Cause::forbidden(format!("spec.{k}"), "may not specify more than 1 volume type"));
            }
            let src = get(obj, &["spec", first]).unwrap_or(&Value::Null);
            if matches!(**first, "hostPath" | "local" | "nfs") && s(src, &["path"]).is_empty() {
                errs.push(Cause::required(format!("spec.{first}.path")));
            }
            if **first == "local" && get(obj, &["spec", "nodeAffinity"]).is_none_or(Value::is_null) {
                errs.push(required_detail("spec.nodeAffinity", "Local volume requires node affinity"));
            }
        }
    }
    if let Some(vm) = opt_s(obj, &["spec", "volumeMode"]).filter(|vm| *vm != "Block" && *vm != "Filesystem") {
        errs.push(not_supported("spec.volumeMode", vm, &["Block", "Filesystem"]));
    }
    if let Some(old) = old {
        let src = |v: &Value| PV_SOURCES.iter().map(|k| get(v, &["spec", k]).cloned()).collect::<Vec<_>>();
        if src(obj).iter().zip(src(old)).any(|(a, b)| !same(a.as_ref(), b.as_ref())) {
            errs.push(Cause::forbidden(
                "spec.persistentvolumesource",
                "spec.persistentvolumesource is immutable after creation",
            ));
        }
        if !same(get(obj, &["spec", "volumeMode"]), get(old, &["spec", "volumeMode"])) {
            errs.push(invalid("volumeMode", s(obj, &["spec", "volumeMode"]), "field is immutable"));
        }
    }
    errs
}
