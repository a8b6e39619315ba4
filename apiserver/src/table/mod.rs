//! Server-side printing: `meta.k8s.io/v1` `Table` responses for `kubectl get`, and
//! `PartialObjectMetadata(List)` for metadata-only clients.
//!
//! kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the
//! cells it gets back, so the columns and cells here follow kube-apiserver's printers
//! (`pkg/printers/internalversion`) exactly. Rows always carry the wide (priority 1)
//! cells, as kube-apiserver generates with `Wide: true`; kubectl drops them unless
//! `-o wide`. Resources without a printer get the default convertor's NAME and
//! CREATED AT columns. The functions are pure: the handlers own HTTP and negotiation.

mod apps;
mod autoscaling;
mod batch;
mod corev1;
mod docs;
pub(crate) mod duration;
mod events;
mod other;
mod pod;
mod storage;
mod util;

#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde_json::{json, Map, Value};

use crate::catalog::ResourceInfo;

pub use duration::{human_duration, short_human_duration};

/// The `includeObject` table option: what each row's `object` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// `object: null`.
    None,
    /// A `PartialObjectMetadata` (kube's default; kubectl reads namespace and labels from it).
    Metadata,
    /// The full object (kubectl asks for this with `--sort-by`).
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter; absent or empty means `Metadata`.
    pub fn parse(v: Option<&str>) -> Result<Self, String> {
        match v.unwrap_or("") {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            other => Err(format!("unrecognized includeObject value: {other:?}")),
        }
    }
}

/// One `TableColumnDefinition`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    description: &'static str,
    priority: i32,
}

impl Column {
    /// A string column.
    pub(crate) const fn s(name: &'static str, description: &'static str) -> Self {
        Self { name, kind: "string", format: "", description, priority: 0 }
    }
    /// An integer column.
    pub(crate) const fn i(name: &'static str, description: &'static str) -> Self {
        Self { name, kind: "integer", format: "", description, priority: 0 }
    }
    /// A boolean column.
    pub(crate) const fn b(name: &'static str, description: &'static str) -> Self {
        Self { name, kind: "boolean", format: "", description, priority: 0 }
    }
    /// Shown only with `-o wide`.
    pub(crate) const fn wide(self) -> Self {
        Self { priority: 1, ..self }
    }
    /// Marks the column holding the object's name (`format: name`).
    pub(crate) const fn name_format(self) -> Self {
        Self { format: "name", ..self }
    }

    fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The NAME column every printer starts with.
pub(crate) const NAME: Column = Column::s("Name", docs::META_NAME).name_format();
/// The AGE column.
pub(crate) const AGE: Column = Column::s("Age", docs::META_CREATED);
/// Wide CONTAINERS / IMAGES columns of workload printers.
pub(crate) const CONTAINERS: Column = Column::s("Containers", "Names of each container in the template.").wide();
pub(crate) const IMAGES: Column = Column::s("Images", "Images referenced by each container in the template.").wide();

/// The cells (and row conditions) a printer produces for one object.
pub(crate) struct Row {
    cells: Vec<Value>,
    conditions: Vec<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Self { cells, conditions: Vec::new() }
    }
}

/// A resource's columns and its row function.
pub(crate) struct Printer {
    pub(crate) columns: &'static [Column],
    pub(crate) print: fn(&Value, Timestamp) -> Row,
}

/// The default convertor's columns (`rest.NewDefaultTableConvertor`).
static DEFAULT_COLUMNS: &[Column] =
    &[NAME, Column { name: "Created At", kind: "date", format: "", description: docs::META_CREATED, priority: 0 }];

fn default_row(obj: &Value, _now: Timestamp) -> Row {
    // Go formats the UTC creation time with RFC 3339 (whole seconds); unset is the zero time.
    let created = duration::parse_time(util::at(obj, &["metadata", "creationTimestamp"]))
        .map_or_else(|| "0001-01-01T00:00:00Z".to_string(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    vec![util::name(obj), Value::from(created)].into()
}

static DEFAULT: Printer = Printer { columns: DEFAULT_COLUMNS, print: default_row };

/// The printer kube-apiserver registers for a resource, or the default convertor.
fn printer_for(info: &ResourceInfo) -> &'static Printer {
    let found = match info.group {
        "" => corev1::printer(info.plural),
        "apps" => apps::printer(info.plural),
        "batch" => batch::printer(info.plural),
        group => other::printer(group, info.version, info.plural),
    };
    found.unwrap_or(&DEFAULT)
}

/// What prints a resource's rows: kube's printer for a built-in, or a
/// custom resource version's printer columns. Looked up once per table.
enum Rows {
    Builtin(&'static Printer),
    Custom(CustomVersion),
}

/// A custom resource's serving and version index (its printer columns live there).
struct CustomVersion(std::sync::Arc<crate::crd::registry::CrdServing>, usize);

impl std::ops::Deref for CustomVersion {
    type Target = crate::crd::registry::CrdVersion;
    fn deref(&self) -> &Self::Target {
        &self.0.versions[self.1]
    }
}

impl Rows {
    fn of(info: &ResourceInfo) -> Rows {
        if let Some(s) = crate::crd::registry::serving(info) {
            if let Some(idx) = s.versions.iter().position(|v| v.row.version == info.version) {
                return Rows::Custom(CustomVersion(s, idx));
            }
        }
        Rows::Builtin(printer_for(info))
    }

    fn columns(&self) -> Vec<Value> {
        match self {
            Rows::Builtin(p) => p.columns.iter().map(|c| c.to_json()).collect(),
            Rows::Custom(v) => crate::crd::table::columns(v),
        }
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Row {
        match self {
            Rows::Builtin(p) => (p.print)(obj, now),
            Rows::Custom(v) => crate::crd::table::cells(v, obj, now).into(),
        }
    }
}

/// The table's column definitions, wide ones included (`priority: 1`).
pub fn column_definitions(info: &ResourceInfo) -> Vec<Value> {
    Rows::of(info).columns()
}

/// A `Table` of `objects` (one object for a GET). `list_meta` is the list's
/// `metadata` (resourceVersion, continue, remainingItemCount); without it the
/// table takes a single object's resourceVersion, as kube does for a GET.
pub fn to_table(
    info: &ResourceInfo,
    objects: &[Value],
    include: IncludeObject,
    now: Timestamp,
    list_meta: Option<&Value>,
) -> Value {
    let printer = Rows::of(info);
    let rows: Vec<Value> = objects.iter().map(|o| row_json(info, &printer, o, include, now)).collect();
    let metadata = match (list_meta, objects) {
        (Some(m), _) => list_meta_of(m),
        (None, [one]) => object_rv_meta(one),
        (None, _) => Map::new(),
    };
    envelope(metadata, Value::from(printer.columns()), rows)
}

/// The object of one watch event as a one-row `Table`. kube-apiserver sends the
/// column definitions with the first event of a watch only (later events carry
/// `columnDefinitions: null`; kubectl reuses the columns it already has).
pub fn to_table_row_event(
    info: &ResourceInfo,
    obj: &Value,
    include: IncludeObject,
    now: Timestamp,
    with_columns: bool,
) -> Value {
    let printer = Rows::of(info);
    let columns = if with_columns { Value::from(printer.columns()) } else { Value::Null };
    envelope(object_rv_meta(obj), columns, vec![row_json(info, &printer, obj, include, now)])
}

/// An object's metadata as `meta.k8s.io/v1` `PartialObjectMetadata` (the whole
/// `metadata`, managedFields included, as `meta.AsPartialObjectMetadata` copies it).
pub fn partial_object_metadata(obj: &Value) -> Value {
    let metadata = obj.get("metadata").filter(|m| m.is_object()).cloned().unwrap_or_else(|| json!({}));
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}

/// A `PartialObjectMetadataList` of `items` (full objects or partial ones) with the
/// list's `metadata`.
pub fn partial_object_metadata_list(items: Vec<Value>, list_meta: Value) -> Value {
    let items: Vec<Value> = items.iter().map(partial_object_metadata).collect();
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta_of(&list_meta),
        "items": items,
    })
}

fn envelope(metadata: Map<String, Value>, columns: Value, rows: Vec<Value>) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// `ListMeta` with Go's omitempty: only non-empty resourceVersion, continue and
/// remainingItemCount.
fn list_meta_of(meta: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["resourceVersion", "continue"] {
        if let Some(s) = meta.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            out.insert(key.to_string(), Value::from(s));
        }
    }
    if let Some(n) = meta.get("remainingItemCount").and_then(Value::as_i64) {
        out.insert("remainingItemCount".to_string(), Value::from(n));
    }
    out
}

fn object_rv_meta(obj: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(rv) = util::opt_str(obj, &["metadata", "resourceVersion"]).filter(|s| !s.is_empty()) {
        out.insert("resourceVersion".to_string(), Value::from(rv));
    }
    out
}

fn row_json(info: &ResourceInfo, printer: &Rows, obj: &Value, include: IncludeObject, now: Timestamp) -> Value {
    let row = printer.cells(obj, now);
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => partial_object_metadata(obj),
        IncludeObject::Object => with_type_meta(info, obj),
    };
    let mut out = Map::new();
    out.insert("cells".to_string(), Value::from(row.cells));
    if !row.conditions.is_empty() {
        out.insert("conditions".to_string(), Value::from(row.conditions));
    }
    out.insert("object".to_string(), object);
    Value::Object(out)
}

/// The full object, with apiVersion and kind filled in when a list item lacks them.
fn with_type_meta(info: &ResourceInfo, obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(m) = obj.as_object_mut() {
        m.entry("apiVersion").or_insert_with(|| Value::from(info.api_version()));
        m.entry("kind").or_insert_with(|| Value::from(info.kind));
    }
    obj
}
