//! Validation of a CustomResourceDefinition (apiextensions.k8s.io/v1) on create/update,
//! after apiextensions' `ValidateCustomResourceDefinition[Update]`: names, group, scope,
//! versions, schemas (see `crd_schema_rules`), subresources, printer columns, conversion,
//! and on update the immutable group/plural and the stored versions.

use serde_json::Value;

use super::crd_schema_rules::validate_version_schema;
use super::messages::{forbidden, go_json, invalid, not_supported, required, required_detail, Bad};
use crate::error::Cause;

/// Validates a CRD object as kube-apiserver does on create (`old == None`) or update.
/// Object metadata other than `metadata.name` is the caller's business.
pub fn validate_crd(crd: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    let spec = crd.get("spec").unwrap_or(&Value::Null);
    let names = spec.get("names").unwrap_or(&Value::Null);
    let group = str_at(spec, "group");
    let plural = str_at(names, "plural");

    // metadata.name
    let name = crd.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        if old.is_none() {
            out.push(required_detail("metadata.name".into(), "name or generateName is required"));
        }
    } else {
        for e in dns1123_subdomain_errors(name) {
            out.push(invalid("metadata.name".into(), Bad::Str(name), &e));
        }
        if name != format!("{plural}.{group}") {
            out.push(invalid("metadata.name".into(), Bad::Str(name), "must be spec.names.plural+\".\"+spec.group"));
        }
    }

    validate_spec(spec, &mut out);
    let old_preserve = old.and_then(|o| o.pointer("/spec/preserveUnknownFields")) == Some(&Value::Bool(true));
    if spec.get("preserveUnknownFields") == Some(&Value::Bool(true)) && !old_preserve {
        let msg =
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead";
        out.push(invalid("spec.preserveUnknownFields".into(), Bad::Json(&Value::Bool(true)), msg));
    }

    if let Some(old) = old {
        let old_spec = old.get("spec").unwrap_or(&Value::Null);
        let established = old
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|c| str_at(c, "type") == "Established" && str_at(c, "status") == "True"));
        if established {
            immutable(&mut out, "spec.scope", str_at(spec, "scope"), str_at(old_spec, "scope"));
            let (k, ok) =
                (str_at(names, "kind"), old_spec.pointer("/names/kind").and_then(Value::as_str).unwrap_or(""));
            immutable(&mut out, "spec.names.kind", k, ok);
        }
        immutable(&mut out, "spec.group", group, str_at(old_spec, "group"));
        let old_plural = old_spec.pointer("/names/plural").and_then(Value::as_str).unwrap_or("");
        immutable(&mut out, "spec.names.plural", plural, old_plural);
        validate_stored_versions(spec, old, &mut out);
    }
    out
}

fn str_at<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn immutable(out: &mut Vec<Cause>, field: &str, new: &str, old: &str) {
    if new != old {
        out.push(invalid(field.into(), Bad::Str(new), "field is immutable"));
    }
}

pub(crate) const DNS1035_ERR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name' or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_label(s: &str, first_alpha: bool) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (if first_alpha { b[0].is_ascii_lowercase() } else { b[0].is_ascii_lowercase() || b[0].is_ascii_digit() })
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

/// `IsDNS1035Label` error strings.
pub(crate) fn dns1035_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !is_label(s, true) {
        errs.push(DNS1035_ERR.to_owned());
    }
    errs
}

fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if !s.split('.').all(|l| is_label(l, false)) {
        errs.push(DNS1123_SUBDOMAIN_ERR.to_owned());
    }
    errs
}

fn validate_spec(spec: &Value, out: &mut Vec<Cause>) {
    let group = str_at(spec, "group");
    if group.is_empty() {
        out.push(required("spec.group".into()));
    } else {
        let errs = dns1123_subdomain_errors(group);
        if !errs.is_empty() {
            out.push(invalid("spec.group".into(), Bad::Str(group), &errs.join(",")));
        } else if !group.contains('.') {
            out.push(invalid("spec.group".into(), Bad::Str(group), "should be a domain with at least one dot"));
        }
    }
    match str_at(spec, "scope") {
        "" => out.push(required("spec.scope".into())),
        "Cluster" | "Namespaced" => {}
        s => out.push(not_supported("spec.scope".into(), Bad::Str(s), &["Cluster".into(), "Namespaced".into()])),
    }

    let versions = spec.get("versions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut storage = 0;
    let mut unique = true;
    let mut seen = std::collections::HashSet::new();
    for (i, v) in versions.iter().enumerate() {
        let vp = format!("spec.versions[{i}]");
        let vname = str_at(v, "name");
        if v.get("storage") == Some(&Value::Bool(true)) {
            storage += 1;
        }
        if !seen.insert(vname) {
            unique = false;
        }
        let errs = dns1035_errors(vname);
        if !errs.is_empty() {
            out.push(invalid(format!("{vp}.name"), Bad::Str(vname), &errs.join(",")));
        }
        validate_version(v, &vp, out);
    }
    let versions_val = spec.get("versions").unwrap_or(&Value::Null);
    if !unique {
        out.push(versions_invalid(versions_val, "must contain unique version names"));
    }
    if storage != 1 {
        out.push(versions_invalid(versions_val, "must have exactly one version marked as storage version"));
    }

    let names = spec.get("names").unwrap_or(&Value::Null);
    for k in ["plural", "singular", "kind", "listKind"] {
        if str_at(names, k).is_empty() {
            out.push(required(format!("spec.names.{k}")));
        }
    }
    validate_names(names, "spec.names", out);
    validate_conversion(spec.get("conversion"), out);
}

/// `field.Invalid(spec.versions, spec.Versions, msg)`; Go prints the internal structs as JSON.
fn versions_invalid(versions: &Value, msg: &str) -> Cause {
    let mut c = invalid("spec.versions".into(), Bad::Str(""), msg);
    c.message = format!("Invalid value: {}: {msg}", go_json(versions));
    c
}

/// `ValidateCustomResourceDefinitionNames`.
pub(crate) fn validate_names(names: &Value, path: &str, out: &mut Vec<Cause>) {
    for k in ["plural", "singular"] {
        let v = str_at(names, k);
        let errs = dns1035_errors(v);
        if !v.is_empty() && !errs.is_empty() {
            out.push(invalid(format!("{path}.{k}"), Bad::Str(v), &errs.join(",")));
        }
    }
    for k in ["kind", "listKind"] {
        let v = str_at(names, k);
        let errs = dns1035_errors(&v.to_lowercase());
        if !v.is_empty() && !errs.is_empty() {
            let msg = format!("may have mixed case, but should otherwise match: {}", errs.join(","));
            out.push(invalid(format!("{path}.{k}"), Bad::Str(v), &msg));
        }
    }
    for k in ["shortNames", "categories"] {
        for (i, s) in names.get(k).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let s = s.as_str().unwrap_or("");
            let errs = dns1035_errors(s);
            if !errs.is_empty() {
                out.push(invalid(format!("{path}.{k}[{i}]"), Bad::Str(s), &errs.join(",")));
            }
        }
    }
    let (kind, list_kind) = (str_at(names, "kind"), str_at(names, "listKind"));
    if !kind.is_empty() && kind == list_kind {
        out.push(invalid(format!("{path}.listKind"), Bad::Str(list_kind), "kind and listKind may not be the same"));
    }
}

fn validate_version(v: &Value, vp: &str, out: &mut Vec<Cause>) {
    let schema = v.pointer("/schema/openAPIV3Schema");
    match schema {
        Some(s) if s.is_object() => {
            let status = v.pointer("/subresources/status").is_some_and(|s| !s.is_null());
            validate_version_schema(s, &format!("{vp}.schema.openAPIV3Schema"), status, out);
        }
        _ => out.push(required(format!("{vp}.schema.openAPIV3Schema"))),
    }
    if let Some(scale) = v.pointer("/subresources/scale").filter(|s| !s.is_null()) {
        let sp = format!("{vp}.subresources.scale");
        scale_path(scale, "specReplicasPath", &sp, &[".spec."], "should be a json path under .spec", true, out);
        scale_path(scale, "statusReplicasPath", &sp, &[".status."], "should be a json path under .status", true, out);
        let msg = "should be a json path under either .spec or .status";
        scale_path(scale, "labelSelectorPath", &sp, &[".spec.", ".status."], msg, false, out);
    }
    let cols = v.get("additionalPrinterColumns").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    for (i, c) in cols.iter().enumerate() {
        validate_column(c, &format!("{vp}.additionalPrinterColumns[{i}]"), out);
    }
}

fn simple_json_path_error(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("must not be empty")
    } else if !s.starts_with('.') {
        Some("must be a simple json path starting with .")
    } else {
        None
    }
}

fn scale_path(scale: &Value, key: &str, sp: &str, prefixes: &[&str], msg: &str, req: bool, out: &mut Vec<Cause>) {
    let f = format!("{sp}.{key}");
    let p = str_at(scale, key);
    if p.is_empty() {
        if req {
            out.push(required(f));
        }
        return;
    }
    if let Some(e) = simple_json_path_error(p) {
        out.push(invalid(f, Bad::Str(p), e));
    } else if !prefixes.iter().any(|pre| p.starts_with(pre)) {
        out.push(invalid(f, Bad::Str(p), msg));
    }
}

fn validate_column(c: &Value, cp: &str, out: &mut Vec<Cause>) {
    const TYPES: &str = "boolean,date,integer,number,string";
    const FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";
    if str_at(c, "name").is_empty() {
        out.push(required(format!("{cp}.name")));
    }
    let t = str_at(c, "type");
    if t.is_empty() {
        out.push(required_detail(format!("{cp}.type"), &format!("must be one of {TYPES}")));
    } else if !TYPES.split(',').any(|x| x == t) {
        out.push(invalid(format!("{cp}.type"), Bad::Str(t), &format!("must be one of {TYPES}")));
    }
    let f = str_at(c, "format");
    if !f.is_empty() && !FORMATS.split(',').any(|x| x == f) {
        out.push(invalid(format!("{cp}.format"), Bad::Str(f), &format!("must be one of {FORMATS}")));
    }
    let jp = str_at(c, "jsonPath");
    if jp.is_empty() {
        out.push(required(format!("{cp}.JSONPath")));
    } else if let Some(e) = simple_json_path_error(jp) {
        out.push(invalid(format!("{cp}.JSONPath"), Bad::Str(jp), e));
    }
}

fn validate_conversion(conv: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(conv) = conv.filter(|c| c.is_object()) else {
        return;
    };
    let strategy = str_at(conv, "strategy");
    match strategy {
        "" => out.push(required("spec.conversion.strategy".into())),
        "None" | "Webhook" => {}
        s => {
            out.push(not_supported("spec.conversion.strategy".into(), Bad::Str(s), &["None".into(), "Webhook".into()]))
        }
    }
    if strategy == "Webhook" {
        match conv.pointer("/webhook/clientConfig").filter(|c| c.is_object()) {
            None => out.push(required_detail(
                "spec.conversion.webhookClientConfig".into(),
                "required when strategy is set to Webhook",
            )),
            Some(cc) => {
                if cc.get("url").is_some() == cc.get("service").is_some() {
                    out.push(required_detail(
                        "spec.conversion.webhookClientConfig".into(),
                        "exactly one of url or service is required",
                    ));
                }
            }
        }
        let crv = conv.pointer("/webhook/conversionReviewVersions").and_then(Value::as_array);
        if crv.is_none_or(|v| v.is_empty()) {
            out.push(required("spec.conversion.conversionReviewVersions".into()));
        }
    } else if conv.get("webhook").is_some_and(|w| !w.is_null()) {
        out.push(forbidden(
            "spec.conversion.webhookClientConfig".into(),
            "should not be set when strategy is not set to Webhook",
        ));
    }
}

/// `ValidateCustomResourceDefinitionStoredVersions` with the stored versions of `old`.
fn validate_stored_versions(spec: &Value, old: &Value, out: &mut Vec<Cause>) {
    let Some(stored) = old.pointer("/status/storedVersions").and_then(Value::as_array) else {
        return;
    };
    let versions = spec.get("versions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    for (i, s) in stored.iter().enumerate() {
        let s = s.as_str().unwrap_or("");
        if !versions.iter().any(|v| str_at(v, "name") == s) {
            let msg = format!("missing from spec.versions; {s} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {s} and removes {s} from status.storedVersions");
            out.push(invalid(format!("status.storedVersions[{i}]"), Bad::Str(s), &msg));
        }
    }
}
