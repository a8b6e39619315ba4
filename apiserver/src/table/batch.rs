//! Printers of the `batch` group: jobs and cronjobs.

use jiff::Timestamp;
use serde_json::Value;

use super::docs;
use super::duration::{human_duration, parse_time, since};
use super::util::{
    age, at, condition_true, container_cells, deleting, format_label_selector, int_at, list_at, name, opt_bool,
    opt_int, opt_str, print_bool, str_at,
};
use super::{Column, Printer, Row, AGE, CONTAINERS, IMAGES, NAME};

/// The printer of a `batch` resource.
pub(super) fn printer(plural: &str) -> Option<&'static Printer> {
    match plural {
        "jobs" => Some(&JOBS),
        "cronjobs" => Some(&CRON_JOBS),
        _ => None,
    }
}

static JOBS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Status", "Status of the job."),
        Column::s("Completions", docs::JOB_SUCCEEDED),
        Column::s("Duration", "Time required to complete the job."),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::s("Selector", docs::JOB_SELECTOR).wide(),
    ],
    print: print_job,
};

/// The STATUS of a job, by precedence of its conditions.
fn job_status(job: &Value) -> &'static str {
    if condition_true(job, "Complete") {
        "Complete"
    } else if condition_true(job, "Failed") {
        "Failed"
    } else if deleting(job) {
        "Terminating"
    } else if condition_true(job, "Suspended") {
        "Suspended"
    } else if condition_true(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

fn print_job(job: &Value, now: Timestamp) -> Row {
    let succeeded = int_at(job, &["status", "succeeded"]);
    let completions = opt_int(job, &["spec", "completions"]);
    let parallelism = opt_int(job, &["spec", "parallelism"]);
    let completions_cell = match (completions, parallelism) {
        (Some(c), _) => format!("{succeeded}/{c}"),
        (None, Some(p)) if p > 1 => format!("{succeeded}/1 of {p}"),
        // Both unset default to 1 (a non-parallel job).
        (None, _) => format!("{succeeded}/1"),
    };
    let duration =
        match (parse_time(at(job, &["status", "startTime"])), parse_time(at(job, &["status", "completionTime"]))) {
            (None, _) => String::new(),
            (Some(start), None) => human_duration(now.duration_since(start)),
            (Some(start), Some(done)) => human_duration(done.duration_since(start)),
        };
    let (names, images) = container_cells(list_at(job, &["spec", "template", "spec", "containers"]));
    vec![
        name(job),
        Value::from(job_status(job)),
        Value::from(completions_cell),
        Value::from(duration),
        age(job, now),
        names,
        images,
        Value::from(format_label_selector(at(job, &["spec", "selector"]))),
    ]
    .into()
}

static CRON_JOBS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Schedule", docs::CJ_SCHEDULE),
        Column::s("Timezone", docs::CJ_TIMEZONE),
        Column::b("Suspend", docs::CJ_SUSPEND),
        Column::i("Active", docs::CJ_ACTIVE),
        Column::s("Last Schedule", docs::CJ_LAST_SCHEDULE),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::s("Selector", docs::JOB_SELECTOR).wide(),
    ],
    print: print_cron_job,
};

fn print_cron_job(cj: &Value, now: Timestamp) -> Row {
    let last_schedule = match at(cj, &["status", "lastScheduleTime"]) {
        Some(t) => since(Some(t), now),
        None => "<none>".to_string(),
    };
    // printBoolPtr; batch/v1 defaults suspend to false.
    let suspend = print_bool(opt_bool(cj, &["spec", "suspend"]).unwrap_or(false));
    let template = at(cj, &["spec", "jobTemplate", "spec"]);
    let (names, images) =
        container_cells(template.map_or(&[][..], |t| list_at(t, &["template", "spec", "containers"])));
    vec![
        name(cj),
        Value::from(str_at(cj, &["spec", "schedule"])),
        Value::from(opt_str(cj, &["spec", "timeZone"]).unwrap_or("<none>")),
        Value::from(suspend),
        Value::from(list_at(cj, &["status", "active"]).len()),
        Value::from(last_schedule),
        age(cj, now),
        names,
        images,
        Value::from(format_label_selector(template.and_then(|t| at(t, &["selector"])))),
    ]
    .into()
}
