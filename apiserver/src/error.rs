//! The crate's error type. Every variant maps to a Kubernetes `Status` (code and
//! reason) in `status.rs`, so a handler can return it as is.

use crate::storage::StorageError;

/// One cause of an `Invalid` error, as kube-apiserver reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// e.g. `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueForbidden`,
    /// `FieldValueDuplicate`, `FieldValueTooLong`, `FieldValueTypeInvalid`.
    pub reason: String,
    /// Full message, e.g. `Required value` or `Invalid value: "x": a lowercase RFC 1123 ...`.
    pub message: String,
    /// Field path, e.g. `metadata.name`, `spec.containers[0].image`.
    pub field: String,
}

impl Cause {
    pub fn required(field: impl Into<String>) -> Self {
        Self { reason: "FieldValueRequired".into(), message: "Required value".into(), field: field.into() }
    }
    pub fn invalid(field: impl Into<String>, value: impl std::fmt::Display, detail: impl std::fmt::Display) -> Self {
        Self {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: \"{value}\": {detail}"),
            field: field.into(),
        }
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            reason: "FieldValueForbidden".into(),
            message: format!("Forbidden: {}", detail.into()),
            field: field.into(),
        }
    }
    pub fn not_supported(field: impl Into<String>, value: impl std::fmt::Display, supported: &[&str]) -> Self {
        let list = supported.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
        Self {
            reason: "FieldValueNotSupported".into(),
            message: format!("Unsupported value: \"{value}\": supported values: {list}"),
            field: field.into(),
        }
    }
    pub fn duplicate(field: impl Into<String>, value: impl std::fmt::Display) -> Self {
        Self {
            reason: "FieldValueDuplicate".into(),
            message: format!("Duplicate value: \"{value}\""),
            field: field.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 NotFound: `<resource>.<group> "<name>" not found`.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, group: String, kind_plural: String, name: String },
    /// 409 AlreadyExists.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, group: String, kind_plural: String, name: String },
    /// 409 Conflict (optimistic concurrency, preconditions).
    #[error("{message}")]
    Conflict { resource: String, group: String, name: String, message: String },
    /// 409 Conflict of a server-side apply: the managers owning the fields, as causes.
    #[error("{message}")]
    ApplyConflict { message: String, causes: Vec<Cause> },
    /// 422 Invalid with causes.
    #[error("{kind} \"{name}\" is invalid")]
    Invalid { kind: String, group: String, name: String, causes: Vec<Cause> },
    /// 422 Invalid without field causes (e.g. a JSON patch that cannot be applied).
    #[error("{0}")]
    Unprocessable(String),
    /// 400 BadRequest.
    #[error("{0}")]
    BadRequest(String),
    /// 405 MethodNotAllowed.
    #[error("{0}")]
    MethodNotSupported(String),
    /// 406 NotAcceptable.
    #[error("{0}")]
    NotAcceptable(String),
    /// 415 UnsupportedMediaType.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413 RequestEntityTooLarge.
    #[error("{0}")]
    TooLarge(String),
    /// 410 Expired (too old resource version, compacted continue token).
    #[error("{0}")]
    Expired(String),
    /// 410 Gone.
    #[error("{0}")]
    Gone(String),
    /// 401 Unauthorized.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403 Forbidden.
    #[error("{0}")]
    Forbidden(String),
    /// 429 TooManyRequests.
    #[error("{0}")]
    TooManyRequests(String),
    /// 504 Timeout.
    #[error("{0}")]
    Timeout(String),
    /// 503 ServiceUnavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500 InternalError.
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// A storage failure that is not one of the above.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;
