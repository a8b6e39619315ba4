//! Label and field selectors (`?labelSelector=`, `?fieldSelector=`), parsed with
//! the grammar and error texts of k8s.io/apimachinery's `labels` and `fields`.

pub mod field;
pub mod label;
mod label_parse;
pub mod validation;

pub use field::{FieldSelector, FieldSelectorError};
pub use label::{labels_of, LabelSelector, SelectorError};
