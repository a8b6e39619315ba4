//! Table printer tests: expected cells are what kube-apiserver 1.34 prints for the
//! same objects.

mod core;
mod duration;
mod envelope;
mod other;
mod pods;
mod workloads;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::catalog::{self, ResourceInfo};
use crate::table::{to_table, IncludeObject};

/// The fixed "now" of every test.
pub(super) fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().expect("now")
}

/// An RFC 3339 timestamp `secs` seconds before [`now`].
pub(super) fn ago(secs: i64) -> String {
    let t = now().checked_sub(SignedDuration::from_secs(secs)).expect("in range");
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) fn info(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
    catalog::find(group, version, plural).expect("resource in catalog")
}

/// The cells kube prints for one object (wide cells included).
pub(super) fn cells_of(info: &ResourceInfo, obj: Value) -> Vec<Value> {
    let table = to_table(info, &[obj], IncludeObject::None, now(), None);
    table["rows"][0]["cells"].as_array().expect("cells").clone()
}

/// Cells of a preferred-version resource.
pub(super) fn cells(group: &str, plural: &str, obj: Value) -> Vec<Value> {
    cells_of(catalog::preferred(group, plural).expect("resource in catalog"), obj)
}

/// Column names, with `*` marking wide (priority 1) columns.
pub(super) fn headers(group: &str, plural: &str) -> Vec<String> {
    let info = catalog::preferred(group, plural).expect("resource in catalog");
    crate::table::column_definitions(info)
        .iter()
        .map(|c| {
            let name = c["name"].as_str().expect("name").to_string();
            if c["priority"] == 1 {
                format!("*{name}")
            } else {
                name
            }
        })
        .collect()
}

/// Shorthand for expected string cells.
pub(super) fn strs(v: &[&str]) -> Vec<Value> {
    v.iter().map(|s| Value::from(*s)).collect()
}
