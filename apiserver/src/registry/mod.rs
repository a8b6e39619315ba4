//! Per-resource strategy: defaults, validation, selectable fields, version
//! conversion and ClusterIP/NodePort allocation.

pub mod convert;
pub mod defaults;
pub mod fields;
pub mod ipalloc;
pub mod validation;
