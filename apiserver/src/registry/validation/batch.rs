//! Jobs and CronJobs, including a parser for cron schedules with robfig/cron's
//! error messages (the library kube uses).

use serde_json::Value;

use crate::error::Cause;

use super::meta::{selector_matches, validate_label_selector};
use super::podspec::{validate_template, Opts};
use super::util::{
    boolean, get, go_json, int, invalid, invalid_raw, invalid_value, is_set, nonneg, not_supported, not_supported_raw,
    opt_s, required_detail, s, same, selector_json, str_map,
};

/// Labels kube's Job strategy puts on generated pod templates.
pub(crate) const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
pub(crate) const JOB_NAME: &str = "batch.kubernetes.io/job-name";
pub(crate) const LEGACY_CONTROLLER_UID: &str = "controller-uid";
pub(crate) const LEGACY_JOB_NAME: &str = "job-name";

pub(crate) fn validate_job(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    if old.is_none() {
        errs.extend(generated_selector(obj));
    }
    let null = Value::Null;
    let spec = get(obj, &["spec"]).unwrap_or(&null);
    errs.extend(job_spec(spec, "spec"));
    let sel = get(spec, &["selector"]).filter(|v| !v.is_null());
    match sel {
        None => errs.push(Cause::required("spec.selector")),
        Some(sel) => errs.extend(validate_label_selector(Some(sel), "spec.selector")),
    }
    let labels = str_map(spec, &["template", "metadata", "labels"]);
    if sel.is_some() && !selector_matches(sel, &labels) {
        errs.push(invalid_value(
            "spec.template.metadata.labels",
            get(spec, &["template", "metadata", "labels"]),
            "`selector` does not match template `labels`",
        ));
    }
    if old.is_none() && int(spec, &["completions"]).is_some_and(|c| c > 0) && s(spec, &["completionMode"]) == "Indexed"
    {
        let name = s(obj, &["metadata", "name"]);
        let host = format!("{name}-{}", int(spec, &["completions"]).unwrap_or(1) - 1);
        if !super::names::is_dns1123_label(&host).is_empty() {
            errs.push(invalid(
                "metadata.name",
                name,
                format!("will not able to create pod with invalid DNS label: {host}"),
            ));
        }
    }
    if let Some(old) = old {
        errs.extend(job_update(obj, old));
    }
    errs
}

/// `validateGeneratedSelector` on create (the lead ran `prepare_create` first).
fn generated_selector(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if boolean(obj, &["spec", "manualSelector"]) == Some(true) || !is_set(obj, &["spec", "selector"]) {
        return errs;
    }
    let uid = s(obj, &["metadata", "uid"]);
    let name = s(obj, &["metadata", "name"]);
    if uid.is_empty() {
        errs.push(Cause::required("metadata.uid"));
    }
    let labels = str_map(obj, &["spec", "template", "metadata", "labels"]);
    let expected = [(LEGACY_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, name), (CONTROLLER_UID, uid), (JOB_NAME, name)];
    for (key, want) in expected {
        let path = format!("spec.template.metadata.labels[{key}]");
        match labels.iter().find(|(k, _)| k == key) {
            None => errs.push(required_detail(path, &format!("must be '{want}'"))),
            Some((_, have)) if have != want => errs.push(invalid_value(
                path,
                get(obj, &["spec", "template", "metadata", "labels"]),
                format!("must be '{want}'"),
            )),
            _ => {}
        }
    }
    let expected: Vec<(String, String)> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let sel = get(obj, &["spec", "selector"]);
    if !selector_matches(sel, &expected) {
        errs.push(invalid_raw("spec.selector", selector_json(sel), "`selector` not auto-generated"));
    }
    errs
}

/// `validateJobSpec` at `path` (`spec` or `spec.jobTemplate.spec`).
fn job_spec(spec: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        nonneg(&mut errs, spec, &[key], &format!("{path}.{key}"));
    }
    if is_set(spec, &["maxFailedIndexes"]) && !is_set(spec, &["backoffLimitPerIndex"]) {
        errs.push(required_detail(format!("{path}.backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
    }
    let mode = opt_s(spec, &["completionMode"]);
    match mode {
        Some("NonIndexed") | None => {
            for key in ["backoffLimitPerIndex", "maxFailedIndexes"] {
                if let Some(v) = int(spec, &[key]) {
                    errs.push(invalid_raw(format!("{path}.{key}"), v, "requires indexed completion mode"));
                }
            }
        }
        Some("Indexed") => {
            if !is_set(spec, &["completions"]) {
                errs.push(required_detail(format!("{path}.completions"), "when completion mode is Indexed"));
            }
        }
        Some(other) => errs.push(not_supported(format!("{path}.completionMode"), other, &["NonIndexed", "Indexed"])),
    }
    if let Some(p) = opt_s(spec, &["podReplacementPolicy"]) {
        if p != "Failed" && p != "TerminatingOrFailed" {
            errs.push(not_supported(format!("{path}.podReplacementPolicy"), p, &["Failed", "TerminatingOrFailed"]));
        } else if is_set(spec, &["podFailurePolicy"]) && p != "Failed" {
            errs.push(not_supported(format!("{path}.podReplacementPolicy"), p, &["Failed"]));
        }
    }
    let null = Value::Null;
    let t = get(spec, &["template"]).unwrap_or(&null);
    errs.extend(validate_template(t, &format!("{path}.template"), &Opts::default()));
    let rp_path = format!("{path}.template.spec.restartPolicy");
    match s(t, &["spec", "restartPolicy"]) {
        "Always" | "" => errs.push(required_detail(rp_path, "valid values: \"OnFailure\", \"Never\"")),
        "OnFailure" if is_set(spec, &["podFailurePolicy"]) => {
            errs.push(invalid(rp_path, "OnFailure", "only \"Never\" is supported when podFailurePolicy is specified"))
        }
        "OnFailure" | "Never" => {}
        other => errs.push(not_supported(rp_path, other, &["OnFailure", "Never"])),
    }
    errs
}

fn job_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let field = |key: &str| (get(new, &["spec", key]), get(old, &["spec", key]));
    let (nc, oc) = field("completions");
    let indexed = s(new, &["spec", "completionMode"]) == "Indexed";
    // Indexed Jobs may resize when completions and parallelism move together.
    let elastic = indexed && nc.is_some() && nc == get(new, &["spec", "parallelism"]);
    if !same(nc, oc) && !elastic {
        if indexed && nc.is_some() {
            errs.push(invalid_value("spec.completions", nc, "can only be modified in tandem with spec.parallelism"));
        } else {
            errs.push(invalid_value("spec.completions", nc, "field is immutable"));
        }
    }
    let (ns, os) = field("selector");
    if !same(ns, os) {
        errs.push(invalid_raw("spec.selector", selector_json(ns), "field is immutable"));
    }
    let mut nt = get(new, &["spec", "template"]).cloned().unwrap_or(Value::Null);
    let mut ot = get(old, &["spec", "template"]).cloned().unwrap_or(Value::Null);
    // A suspended Job that never started may change its scheduling directives.
    if boolean(old, &["spec", "suspend"]) == Some(true) && !is_set(old, &["status", "startTime"]) {
        for t in [&mut nt, &mut ot] {
            if let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("labels");
                m.remove("annotations");
            }
            if let Some(m) = t.get_mut("spec").and_then(Value::as_object_mut) {
                for key in ["nodeSelector", "tolerations", "schedulingGates"] {
                    m.remove(key);
                }
                if let Some(a) = m.get_mut("affinity").and_then(Value::as_object_mut) {
                    a.remove("nodeAffinity");
                }
            }
        }
    }
    if !same(Some(&nt), Some(&ot)) {
        errs.push(invalid_raw(
            "spec.template",
            go_json(get(new, &["spec", "template"]).unwrap_or(&Value::Null)),
            "field is immutable",
        ));
    }
    for key in ["completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"] {
        let (n, o) = field(key);
        if !same(n, o) {
            errs.push(invalid_value(format!("spec.{key}"), n, "field is immutable"));
        }
    }
    errs
}

pub(crate) fn validate_cron_job(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let schedule = s(obj, &["spec", "schedule"]);
    if schedule.is_empty() {
        errs.push(Cause::required("spec.schedule"));
    } else {
        if let Err(e) = parse_schedule(schedule) {
            errs.push(invalid("spec.schedule", schedule, e));
        }
        let allow_tz = old.is_some_and(|o| s(o, &["spec", "schedule"]).contains("TZ"));
        if allow_tz && schedule.contains("TZ") && is_set(obj, &["spec", "timeZone"]) {
            errs.push(invalid(
                "spec.schedule",
                schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        } else if !allow_tz && schedule.contains("TZ") {
            errs.push(invalid(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    nonneg(&mut errs, obj, &["spec", "startingDeadlineSeconds"], "spec.startingDeadlineSeconds");
    if let Some(tz) = opt_s(obj, &["spec", "timeZone"]) {
        if old.is_none_or(|o| opt_s(o, &["spec", "timeZone"]) != Some(tz)) {
            errs.extend(validate_time_zone(tz));
        }
    }
    match s(obj, &["spec", "concurrencyPolicy"]) {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(Cause::required("spec.concurrencyPolicy")),
        other => errs.push(not_supported("spec.concurrencyPolicy", other, &["Allow", "Forbid", "Replace"])),
    }
    let null = Value::Null;
    let jt = get(obj, &["spec", "jobTemplate", "spec"]).unwrap_or(&null);
    errs.extend(job_spec(jt, "spec.jobTemplate.spec"));
    if let Some(sel) = get(jt, &["selector"]).filter(|v| !v.is_null()) {
        errs.push(invalid_raw(
            "spec.jobTemplate.spec.selector",
            selector_json(Some(sel)),
            "`selector` will be auto-generated",
        ));
    }
    if boolean(jt, &["manualSelector"]) == Some(true) {
        errs.push(not_supported_raw("spec.jobTemplate.spec.manualSelector", "true", &["nil", "false"]));
    }
    nonneg(&mut errs, obj, &["spec", "successfulJobsHistoryLimit"], "spec.successfulJobsHistoryLimit");
    nonneg(&mut errs, obj, &["spec", "failedJobsHistoryLimit"], "spec.failedJobsHistoryLimit");
    let name = s(obj, &["metadata", "name"]);
    if old.is_none() && name.len() > 52 {
        errs.push(invalid("metadata.name", name, "must be no more than 52 characters"));
    }
    errs
}

fn validate_time_zone(tz: &str) -> Vec<Cause> {
    let path = "spec.timeZone";
    if tz.is_empty() {
        return vec![invalid(path, tz, "timeZone must be nil or non-empty string")];
    }
    let part_ok = |p: &str| {
        p != "."
            && p != ".."
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    if !tz.split('/').all(part_ok) {
        return vec![invalid(path, tz, format!("unknown time zone {tz}"))];
    }
    if tz.eq_ignore_ascii_case("local") {
        return vec![invalid(
            path,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        )];
    }
    if !zone_known(tz) {
        return vec![invalid(path, tz, format!("unknown time zone {tz}"))];
    }
    Vec::new()
}

/// A zone is unknown only when a time zone database is present and lacks it.
fn zone_known(name: &str) -> bool {
    jiff::tz::TimeZone::get(name).is_ok() || jiff::tz::db().is_definitively_empty()
}

/// robfig/cron's `ParseStandard`: five fields or a `@` descriptor.
pub(crate) fn parse_schedule(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let (tz, rest) = spec.split_once(' ').unwrap_or((spec, ""));
        let name = tz.split_once('=').map(|(_, n)| n).unwrap_or("");
        if !zone_known(name) {
            return Err(format!("provided bad location {name}: unknown time zone {name}"));
        }
        spec = rest.trim();
    }
    if spec.starts_with('@') {
        return match spec {
            "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => Ok(()),
            s if s.starts_with("@every ") => {
                let d = &s["@every ".len()..];
                parse_go_duration(d)
                    .map_err(|_| format!("failed to parse duration {s}: time: invalid duration \"{d}\""))
            }
            s => Err(format!("unrecognized descriptor: {s}")),
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const DOW: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(i64, i64, &[&str], i64); 5] =
        [(0, 59, &[], 0), (0, 23, &[], 0), (1, 31, &[], 0), (1, 12, MONTHS, 1), (0, 6, DOW, 0)];
    for (field, (min, max, names, base)) in fields.iter().zip(bounds) {
        for expr in field.split(',') {
            parse_range(expr, min, max, names, base)?;
        }
    }
    Ok(())
}

fn parse_range(expr: &str, min: i64, max: i64, names: &[&str], base: i64) -> Result<(), String> {
    let range_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let (start, mut end) = if low_high[0] == "*" || low_high[0] == "?" {
        (min, max)
    } else {
        let start = int_or_name(low_high[0], names, base)?;
        let end = match low_high.len() {
            1 => start,
            2 => int_or_name(low_high[1], names, base)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_step.len() {
        1 => 1,
        2 => {
            if single && low_high[0] != "*" && low_high[0] != "?" {
                end = max;
            }
            must_int(range_step[1])?
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < min {
        return Err(format!("beginning of range ({start}) below minimum ({min}): {expr}"));
    }
    if end > max {
        return Err(format!("end of range ({end}) above maximum ({max}): {expr}"));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn int_or_name(expr: &str, names: &[&str], base: i64) -> Result<i64, String> {
    match names.iter().position(|n| n.eq_ignore_ascii_case(expr)) {
        Some(i) => Ok(i as i64 + base),
        None => must_int(expr),
    }
}

fn must_int(expr: &str) -> Result<i64, String> {
    let n: i64 = expr
        .parse()
        .map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing \"{expr}\": invalid syntax"))?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    Ok(n)
}

/// Go's `time.ParseDuration` grammar (sign, then number+unit pairs).
fn parse_go_duration(d: &str) -> Result<(), ()> {
    let mut rest = d.strip_prefix(['-', '+']).unwrap_or(d);
    if rest == "0" {
        return Ok(());
    }
    if rest.is_empty() {
        return Err(());
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or(())?;
        if num_end == 0 || rest[..num_end] == *"." {
            return Err(());
        }
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&&rest[..unit_end]) {
            return Err(());
        }
        rest = &rest[unit_end..];
    }
    Ok(())
}
