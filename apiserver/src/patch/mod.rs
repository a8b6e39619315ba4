//! Patch types of the PATCH verb: JSON patch (RFC 6902), JSON merge patch
//! (RFC 7396, with evanphx/json-patch's null pruning) and strategic merge patch
//! (k8s.io/apimachinery `strategicpatch` semantics). Server-side apply is a later
//! stage and is reported as [`PatchError::Unsupported`].
//!
//! Everything works on `serde_json::Value`: the handler passes the current
//! object as kube-apiserver would encode it, the raw request body, and, for
//! strategic merge patch, a [`SchemaCursor`] on the resource's OpenAPI
//! definition (built-in resources only: kube-apiserver answers 415 to a
//! strategic merge patch of a custom resource, and that choice is the handler's).

mod json;
mod merge;
pub mod meta;
mod schema;
mod strategic;
#[cfg(test)]
mod strategic_go_tests;
mod strategic_list;
#[cfg(test)]
mod strategic_tests;

use serde_json::Value;

pub use schema::{PatchMeta, SchemaCursor, PATCH_MERGE_KEY_EXTENSION, PATCH_STRATEGY_EXTENSION};

/// kube-apiserver's limit on the number of operations in one JSON patch.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The patch content types kube-apiserver accepts (the list its 415 answer names).
pub const PATCH_CONTENT_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// The kind of a PATCH request, chosen by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7396, the successor of RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type` header value; parameters such as
    /// `; charset=utf-8` are ignored and the media type is case-insensitive.
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }

    /// The canonical media type.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// Why a patch failed. [`PatchError::code`] gives the HTTP status kube-apiserver
/// answers with; the `Display` text is the detail message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// 400 BadRequest: the body is not a patch of the requested type (not JSON,
    /// wrong top-level shape) or a strategic-merge directive is malformed
    /// (`$retainKeys`, `$setElementOrder/...`, `$deleteFromPrimitiveList/...`).
    #[error("{0}")]
    Decode(String),
    /// 422: the patch is well formed but cannot be applied, e.g. a failing
    /// JSON-patch `test`, a missing path, a list of lists. kube-apiserver's
    /// Status message for these is the generic "the server rejected our request
    /// due to an error in our request"; this text is the underlying detail.
    #[error("{0}")]
    Apply(String),
    /// A strategic merge patch that contradicts the data or the schema (missing
    /// merge key, `$setElementOrder` not matching the patch list, unknown
    /// `$patch` directive...). kube-apiserver lets these through as 500
    /// InternalError (`Internal error occurred: <message>`).
    #[error("{0}")]
    Merge(String),
    /// 413 RequestEntityTooLarge: more JSON-patch operations than kube allows.
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations { max: usize, got: usize },
    /// The patch type is not implemented here (server-side apply, for now).
    #[error("{0}")]
    Unsupported(String),
}

impl PatchError {
    /// The HTTP status code kube-apiserver uses for this failure.
    pub fn code(&self) -> u16 {
        match self {
            PatchError::Decode(_) => 400,
            PatchError::Apply(_) => 422,
            PatchError::Merge(_) => 500,
            PatchError::TooManyOperations { .. } => 413,
            PatchError::Unsupported(_) => 415,
        }
    }
}

/// Applies `patch` (the raw request body) of type `kind` to `original`.
///
/// `schema` only matters for [`PatchType::StrategicMerge`]; without it maps
/// merge recursively and every list is replaced, as Go does for data without
/// struct tags.
pub fn apply_patch(
    kind: PatchType,
    original: &Value,
    patch: &[u8],
    schema: Option<SchemaCursor<'_>>,
) -> Result<Value, PatchError> {
    match kind {
        PatchType::Json => json::apply_json_patch(original, patch),
        PatchType::Merge => merge::apply_merge_patch(original, patch),
        PatchType::StrategicMerge => {
            let patch = strategic::decode_patch(patch)?;
            strategic::strategic_merge(original, patch, schema)
        }
        PatchType::Apply => {
            Err(PatchError::Unsupported("server-side apply (application/apply-patch+yaml) is not supported yet".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_ignore_parameters_and_case() {
        assert_eq!(PatchType::from_content_type("application/json-patch+json"), Some(PatchType::Json));
        assert_eq!(PatchType::from_content_type("application/merge-patch+json; charset=utf-8"), Some(PatchType::Merge));
        assert_eq!(
            PatchType::from_content_type(" Application/Strategic-Merge-Patch+JSON ;charset=UTF-8"),
            Some(PatchType::StrategicMerge)
        );
        assert_eq!(PatchType::from_content_type("application/apply-patch+yaml"), Some(PatchType::Apply));
        assert_eq!(PatchType::from_content_type("application/json"), None);
        assert_eq!(PatchType::from_content_type(""), None);
        for t in PATCH_CONTENT_TYPES {
            let kind = PatchType::from_content_type(t);
            assert_eq!(kind.map(PatchType::content_type), Some(*t));
        }
    }

    #[test]
    fn apply_is_unsupported_for_now() {
        let err = apply_patch(PatchType::Apply, &json!({}), b"a: b", None).unwrap_err();
        assert!(matches!(err, PatchError::Unsupported(_)));
        assert_eq!(err.code(), 415);
    }

    #[test]
    fn error_codes_follow_kube() {
        assert_eq!(PatchError::Decode(String::new()).code(), 400);
        assert_eq!(PatchError::Apply(String::new()).code(), 422);
        assert_eq!(PatchError::Merge(String::new()).code(), 500);
        let too_many = PatchError::TooManyOperations { max: 10_000, got: 10_001 };
        assert_eq!(too_many.code(), 413);
        assert_eq!(too_many.to_string(), "The allowed maximum operations in a JSON patch is 10000, got 10001");
    }
}
