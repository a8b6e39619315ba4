//! The event printer (`printEvent`) for `v1` events and `events.k8s.io/v1` events;
//! kube prints both through the one internal Event type, so the latter's fields are
//! mapped onto the former's first.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::docs;
use super::duration::{parse_time, since};
use super::util::{at, int_at, str_at};
use super::{Column, Printer, Row, NAME};

static COLUMNS: &[Column] = &[
    Column::s("Last Seen", docs::EV_LAST),
    Column::s("Type", docs::EV_TYPE),
    Column::s("Reason", docs::EV_REASON),
    Column::s("Object", docs::EV_OBJECT),
    Column::s("Subobject", docs::EV_FIELD_PATH).wide(),
    Column::s("Source", docs::EV_SOURCE).wide(),
    Column::s("Message", docs::EV_MESSAGE),
    Column::s("First Seen", docs::EV_FIRST).wide(),
    Column::s("Count", docs::EV_COUNT).wide(),
    NAME.wide(),
];

pub(super) static CORE_EVENTS: Printer = Printer { columns: COLUMNS, print: print_event };

pub(super) static EVENTS_V1: Printer = Printer { columns: COLUMNS, print: |ev, now| print_event(&as_core(ev), now) };

/// An `events.k8s.io/v1` Event in the `v1` shape (the conversion kube does to its internal type).
fn as_core(ev: &Value) -> Value {
    let f = |k: &str| ev.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "metadata": f("metadata"),
        "involvedObject": f("regarding"),
        "reason": f("reason"),
        "message": f("note"),
        "source": f("deprecatedSource"),
        "firstTimestamp": f("deprecatedFirstTimestamp"),
        "lastTimestamp": f("deprecatedLastTimestamp"),
        "count": f("deprecatedCount"),
        "type": f("type"),
        "eventTime": f("eventTime"),
        "series": f("series"),
        "reportingComponent": f("reportingController"),
        "reportingInstance": f("reportingInstance"),
    })
}

/// `formatEventSource`: component (or reporting controller), then `, host` (or instance).
fn event_source(ev: &Value) -> String {
    let first = |a: &'static [&'static str], b: &'static [&'static str]| {
        let s = str_at(ev, a);
        if s.is_empty() {
            str_at(ev, b)
        } else {
            s
        }
    };
    let component = first(&["source", "component"], &["reportingComponent"]);
    let instance = first(&["source", "host"], &["reportingInstance"]);
    if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    }
}

fn print_event(ev: &Value, now: Timestamp) -> Row {
    // Unset firstTimestamp falls back to eventTime, unset lastTimestamp to first seen.
    let first_seen = match parse_time(at(ev, &["firstTimestamp"])) {
        Some(_) => since(at(ev, &["firstTimestamp"]), now),
        None => since(at(ev, &["eventTime"]), now),
    };
    let mut last_seen = match parse_time(at(ev, &["lastTimestamp"])) {
        Some(_) => since(at(ev, &["lastTimestamp"]), now),
        None => first_seen.clone(),
    };
    let mut count = int_at(ev, &["count"]);
    if let Some(series) = at(ev, &["series"]) {
        last_seen = since(at(series, &["lastObservedTime"]), now);
        count = int_at(series, &["count"]);
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let kind = str_at(ev, &["involvedObject", "kind"]).to_lowercase();
    let object_name = str_at(ev, &["involvedObject", "name"]);
    let target = if object_name.is_empty() { kind } else { format!("{kind}/{object_name}") };
    vec![
        Value::from(last_seen),
        Value::from(str_at(ev, &["type"])),
        Value::from(str_at(ev, &["reason"])),
        Value::from(target),
        Value::from(str_at(ev, &["involvedObject", "fieldPath"])),
        Value::from(event_source(ev)),
        Value::from(str_at(ev, &["message"]).trim()),
        Value::from(first_seen),
        Value::from(count),
        Value::from(str_at(ev, &["metadata", "name"])),
    ]
    .into()
}
