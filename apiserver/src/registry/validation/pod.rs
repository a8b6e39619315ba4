//! Pods and PodTemplates: create validation and kube's pod update rules (only
//! images, activeDeadlineSeconds, added tolerations, removed scheduling gates
//! and a negative grace period may change).

use serde_json::{Map, Value};

use crate::error::Cause;

use super::podspec::{validate_spec, validate_template, Opts};
use super::util::{arr, get, go_json, int, invalid, invalid_raw, s, same};

const UPDATABLE: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Pod create/update validation beyond metadata.
pub(crate) fn validate_pod(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let null = Value::Null;
    let spec = get(obj, &["spec"]).unwrap_or(&null);
    let mut errs = validate_spec(spec, "spec", &Opts { is_pod: true });
    for list in ["containers", "initContainers"] {
        for (i, c) in arr(spec, &[list]).iter().enumerate() {
            let image = s(c, &["image"]);
            if image.trim() != image {
                errs.push(invalid(
                    format!("spec.{list}[{i}].image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    if let Some(old) = old {
        errs.extend(validate_pod_update(obj, old));
    }
    errs
}

/// PodTemplate objects (`template` at the top level).
pub(crate) fn validate_pod_template(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    validate_template(get(obj, &["template"]).unwrap_or(&null), "template", &Opts::default())
}

fn validate_pod_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let null = Value::Null;
    let (ns, os) = (get(new, &["spec"]).unwrap_or(&null), get(old, &["spec"]).unwrap_or(&null));
    for list in ["containers", "initContainers"] {
        let (nc, oc) = (arr(ns, &[list]), arr(os, &[list]));
        if nc.len() != oc.len() {
            errs.push(Cause::forbidden(format!("spec.{list}"), "pod updates may not add or remove containers"));
            return errs;
        }
    }
    match (int(ns, &["activeDeadlineSeconds"]), int(os, &["activeDeadlineSeconds"])) {
        (Some(n), _) if !(0..=2147483647).contains(&n) => {
            errs.push(invalid_raw("spec.activeDeadlineSeconds", n, "must be between 0 and 2147483647, inclusive"));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(invalid_raw("spec.activeDeadlineSeconds", n, "must be less than or equal to previous value"));
            return errs;
        }
        (None, Some(_)) => errs.push(invalid_raw(
            "spec.activeDeadlineSeconds",
            "null",
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    errs.extend(only_added_tolerations(arr(ns, &["tolerations"]), arr(os, &["tolerations"])));
    let old_gates: Vec<&str> = arr(os, &["schedulingGates"]).iter().map(|g| s(g, &["name"])).collect();
    for (i, g) in arr(ns, &["schedulingGates"]).iter().enumerate() {
        let name = s(g, &["name"]);
        if !old_gates.contains(&name) {
            errs.push(Cause::forbidden(
                format!("spec.schedulingGates[{i}].name"),
                format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            ));
        }
    }
    if same(Some(ns), Some(os)) {
        return errs;
    }
    // Munge the updatable fields back to their old values and compare the rest.
    let mut munged = ns.clone();
    if let Some(m) = munged.as_object_mut() {
        for list in ["containers", "initContainers"] {
            if let Some(Value::Array(cs)) = m.get_mut(list) {
                for (c, o) in cs.iter_mut().zip(arr(os, &[list])) {
                    if let Some(cm) = c.as_object_mut() {
                        restore(cm, "image", get(o, &["image"]));
                    }
                }
            }
        }
        for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            restore(m, key, get(os, &[key]));
        }
        let old_grace = int(os, &["terminationGracePeriodSeconds"]);
        if old_grace.is_some_and(|g| g < 0) && int(ns, &["terminationGracePeriodSeconds"]) == Some(1) {
            restore(m, "terminationGracePeriodSeconds", get(os, &["terminationGracePeriodSeconds"]));
        }
        if !arr(os, &["schedulingGates"]).is_empty() {
            // Gated pods may gain node selectors and node affinity.
            restore(m, "nodeSelector", get(os, &["nodeSelector"]));
            let old_aff = get(os, &["affinity", "nodeAffinity"]).cloned();
            if let Some(aff) = m.get_mut("affinity").and_then(Value::as_object_mut) {
                restore(aff, "nodeAffinity", old_aff.as_ref());
            }
        }
    }
    if !same(Some(&munged), Some(os)) {
        errs.push(Cause::forbidden(
            "spec",
            format!("pod updates may not change fields other than {UPDATABLE}\n{}", diff(os, &munged)),
        ));
    }
    errs
}

fn restore(m: &mut Map<String, Value>, key: &str, old: Option<&Value>) {
    match old {
        Some(v) => {
            m.insert(key.to_string(), v.clone());
        }
        None => {
            m.remove(key);
        }
    }
}

/// A short diff of the changed top-level spec fields (kube prints a Go cmp.Diff).
fn diff(old: &Value, new: &Value) -> String {
    let mut keys: Vec<&String> = old.as_object().into_iter().flat_map(|m| m.keys()).collect();
    keys.extend(new.as_object().into_iter().flat_map(|m| m.keys()));
    keys.sort();
    keys.dedup();
    let mut out = String::from("  core.PodSpec{\n");
    for k in keys {
        let (o, n) = (get(old, &[k]), get(new, &[k]));
        if same(o, n) {
            continue;
        }
        if let Some(o) = o {
            out.push_str(&format!("- \t{k}: {},\n", go_json(o)));
        }
        if let Some(n) = n {
            out.push_str(&format!("+ \t{k}: {},\n", go_json(n)));
        }
    }
    out.push_str("  }\n");
    out
}

/// Existing tolerations may only change their tolerationSeconds; new ones may be added.
fn only_added_tolerations(new: &[Value], old: &[Value]) -> Vec<Cause> {
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    for o in old {
        let o = strip(o);
        if !new.iter().any(|n| same(Some(&strip(n)), Some(&o))) {
            return vec![Cause::forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    // The new list itself was already checked with the rest of the spec.
    Vec::new()
}
