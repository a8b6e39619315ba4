//! `metav1.Status` bodies for errors and for successful deletes, as
//! kube-apiserver writes them.

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::storage::StorageError;

fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: &str, group: &str, kind: &str) -> Map<String, Value> {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), name.into());
    }
    if !group.is_empty() {
        d.insert("group".into(), group.into());
    }
    if !kind.is_empty() {
        d.insert("kind".into(), kind.into());
    }
    d
}

/// HTTP code and `Status` object for an error.
pub fn error_status(err: &ApiError) -> (u16, Value) {
    let (code, reason, message, details): (u16, &str, String, Option<Map<String, Value>>) = match err {
        ApiError::NotFound { resource, name, .. } if resource.is_empty() && name.is_empty() => {
            (404, "NotFound", "the server could not find the requested resource".to_string(), Some(Map::new()))
        }
        ApiError::NotFound { resource, group, kind_plural, name } => (
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(resource, group)),
            Some(details(name, group, kind_plural)),
        ),
        ApiError::AlreadyExists { resource, group, kind_plural, name } => (
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(resource, group)),
            Some(details(name, group, kind_plural)),
        ),
        ApiError::Conflict { resource, group, name, message } => {
            (409, "Conflict", message.clone(), Some(details(name, group, resource)))
        }
        ApiError::Invalid { kind, group, name, causes } => {
            let parts: Vec<String> = causes
                .iter()
                .map(|c| if c.field.is_empty() { c.message.clone() } else { format!("{}: {}", c.field, c.message) })
                .collect();
            let joined = if parts.len() == 1 { parts[0].clone() } else { format!("[{}]", parts.join(", ")) };
            let mut d = details(name, group, kind);
            d.insert(
                "causes".into(),
                Value::Array(
                    causes
                        .iter()
                        .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                        .collect(),
                ),
            );
            // kube qualifies the kind with its group (`Deployment.apps "web" is invalid`).
            let qualified_kind = if group.is_empty() { kind.clone() } else { format!("{kind}.{group}") };
            (422, "Invalid", format!("{qualified_kind} \"{name}\" is invalid: {joined}"), Some(d))
        }
        ApiError::ApplyConflict { message, causes } => {
            let mut d = Map::new();
            d.insert(
                "causes".into(),
                causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect(),
            );
            (409, "Conflict", message.clone(), Some(d))
        }
        ApiError::BadRequest(m) => (400, "BadRequest", m.clone(), None),
        ApiError::Unprocessable(m) => (422, "Invalid", m.clone(), None),
        ApiError::MethodNotSupported(m) => (405, "MethodNotAllowed", m.clone(), None),
        ApiError::NotAcceptable(m) => (406, "NotAcceptable", m.clone(), None),
        ApiError::UnsupportedMediaType(m) => (415, "UnsupportedMediaType", m.clone(), None),
        ApiError::TooLarge(m) => (413, "RequestEntityTooLarge", m.clone(), None),
        ApiError::Expired(m) => (410, "Expired", m.clone(), None),
        ApiError::Gone(m) => (410, "Gone", m.clone(), None),
        ApiError::Unauthorized => (401, "Unauthorized", "Unauthorized".into(), None),
        ApiError::Forbidden(m) => (403, "Forbidden", m.clone(), None),
        ApiError::TooManyRequests(m) => (429, "TooManyRequests", m.clone(), None),
        ApiError::Timeout(m) => (504, "Timeout", m.clone(), None),
        ApiError::Unavailable(m) => (503, "ServiceUnavailable", m.clone(), None),
        ApiError::Internal(m) => {
            let mut d = Map::new();
            d.insert("causes".into(), json!([{"message": m}]));
            (500, "InternalError", format!("Internal error occurred: {m}"), Some(d))
        }
        ApiError::Storage(StorageError::Compacted { .. }) => {
            (410, "Expired", "The resourceVersion for the provided list is too old.".into(), None)
        }
        ApiError::Storage(StorageError::Timeout(m)) => (504, "Timeout", m.clone(), None),
        ApiError::Storage(e) => {
            let m = e.to_string();
            let mut d = Map::new();
            d.insert("causes".into(), json!([{"message": m}]));
            (500, "InternalError", format!("Internal error occurred: {m}"), Some(d))
        }
    };
    let mut s = Map::new();
    s.insert("kind".into(), "Status".into());
    s.insert("apiVersion".into(), "v1".into());
    s.insert("metadata".into(), json!({}));
    s.insert("status".into(), "Failure".into());
    s.insert("message".into(), message.into());
    s.insert("reason".into(), reason.into());
    if let Some(d) = details {
        s.insert("details".into(), Value::Object(d));
    }
    s.insert("code".into(), code.into());
    (code, Value::Object(s))
}

/// The `Status` a delete returns once the object is gone.
pub fn success_status(name: &str, group: &str, kind_plural: &str, uid: Option<&str>) -> Value {
    let mut d = details(name, group, kind_plural);
    if let Some(u) = uid {
        d.insert("uid".into(), u.into());
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Cause;

    #[test]
    fn not_found_names_group_and_resource() {
        let e = ApiError::NotFound {
            resource: "deployments".into(),
            group: "apps".into(),
            kind_plural: "deployments".into(),
            name: "web".into(),
        };
        let (code, s) = error_status(&e);
        assert_eq!(code, 404);
        assert_eq!(s["message"], "deployments.apps \"web\" not found");
        assert_eq!(s["details"]["group"], "apps");
    }

    #[test]
    fn invalid_joins_causes_like_kube() {
        let e = ApiError::Invalid {
            kind: "Pod".into(),
            group: String::new(),
            name: "p".into(),
            causes: vec![Cause::required("spec.containers"), Cause::invalid("metadata.name", "A", "bad")],
        };
        let (code, s) = error_status(&e);
        assert_eq!(code, 422);
        assert_eq!(
            s["message"],
            "Pod \"p\" is invalid: [spec.containers: Required value, metadata.name: Invalid value: \"A\": bad]"
        );
        assert_eq!(s["details"]["causes"][0]["field"], "spec.containers");
    }
}
