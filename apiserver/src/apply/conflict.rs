//! Apply conflicts and the engine's error type, with kube-apiserver's wording
//! (`internal.NewConflictError`, `getConflictMessage`, `printManager`).

use super::managed::ManagerId;
use super::path::Path;

/// One field owned by another manager that the apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name, e.g. `kubectl-client-side-apply`.
    pub manager: String,
    /// The path as structured-merge-diff prints it, e.g. `.spec.replicas` or
    /// `.spec.containers[name="nginx"].image`.
    pub path: String,
    /// The other manager's entry key (operation, apiVersion, subresource).
    pub(crate) id: ManagerId,
    /// The path itself.
    pub(crate) raw: Path,
}

impl Conflict {
    /// Go's `printManager`: `"name"`, plus ` with subresource "status"`, plus
    /// ` using apps/v1` for Update managers.
    pub fn manager_description(&self) -> String {
        let mut s = super::path::go_quote(&self.id.manager);
        if !self.id.subresource.is_empty() {
            s = format!("{s} with subresource {}", super::path::go_quote(&self.id.subresource));
        }
        if self.id.operation == "Update" {
            s = format!("{s} using {}", self.id.api_version);
        }
        s
    }
}

/// Why an apply or update failed. [`ApplyError::code`] is kube's HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// 409: fields owned by other managers would change (apply without force).
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// 500 in kube (it answers InternalError for a patch object that does not
    /// fit the schema): missing or duplicate list keys, type mismatches.
    #[error("{0}")]
    InvalidConfig(String),
    /// 400: `metadata.managedFields must be nil`, wrong apiVersion/kind.
    #[error("{0}")]
    BadRequest(String),
    /// 500: the live object's managedFields cannot be decoded.
    #[error("{0}")]
    BadManagedFields(String),
    /// 500: the live object cannot be merged (e.g. list elements without keys).
    #[error("{0}")]
    Internal(String),
}

impl ApplyError {
    /// The Status message kube-apiserver sends.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The HTTP status code kube-apiserver answers with.
    pub fn code(&self) -> u16 {
        match self {
            ApplyError::Conflicts(_) => 409,
            ApplyError::BadRequest(_) => 400,
            ApplyError::InvalidConfig(_) | ApplyError::BadManagedFields(_) | ApplyError::Internal(_) => 500,
        }
    }

    /// The Status reason (`Conflict`, `BadRequest`, `InternalError`).
    pub fn reason(&self) -> &'static str {
        match self.code() {
            409 => "Conflict",
            400 => "BadRequest",
            _ => "InternalError",
        }
    }

    /// `Status.details.causes` as (reason, message, field): for conflicts
    /// `("FieldManagerConflict", "conflict with \"m\" using apps/v1", ".spec.replicas")`.
    pub fn causes(&self) -> Vec<(String, String, String)> {
        match self {
            ApplyError::Conflicts(cs) => cs
                .iter()
                .map(|c| {
                    (
                        "FieldManagerConflict".to_string(),
                        format!("conflict with {}", c.manager_description()),
                        c.path.clone(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Go's `getConflictMessage`.
fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [c] = conflicts {
        return format!("Apply failed with 1 conflict: conflict with {}: {}", c.manager_description(), c.path);
    }
    let mut groups: Vec<(&ManagerId, String, Vec<&str>)> = Vec::new();
    for c in conflicts {
        match groups.iter_mut().find(|(id, _, _)| **id == c.id) {
            Some(g) => g.2.push(&c.path),
            None => groups.push((&c.id, c.manager_description(), vec![&c.path])),
        }
    }
    groups.sort_by_key(|g| g.0.key());
    let mut lines = Vec::new();
    for (_, desc, paths) in groups {
        lines.push(format!("conflicts with {desc}:"));
        lines.extend(paths.iter().map(|p| format!("- {p}")));
    }
    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
}
