//! Path and query parameters of the REST operations, as kube-apiserver
//! declares them (names and types; the descriptions are our own wording).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Integer,
    Boolean,
}

impl ParamType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
        }
    }
}

/// A path or query parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub name: &'static str,
    pub in_path: bool,
    pub ty: ParamType,
    pub description: &'static str,
}

const fn q(name: &'static str, ty: ParamType, description: &'static str) -> Param {
    Param { name, in_path: false, ty, description }
}

const fn p(name: &'static str, description: &'static str) -> Param {
    Param { name, in_path: true, ty: ParamType::String, description }
}

use ParamType::{Boolean as B, Integer as I, String as S};

pub(crate) const NAME: Param = p("name", "name of the object");
pub(crate) const NAMESPACE: Param = p("namespace", "object name and auth scope, such as for teams and projects");
pub(crate) const PRETTY: Param = q("pretty", S, "If 'true', then the output is pretty printed.");
const ALLOW_BOOKMARKS: Param = q("allowWatchBookmarks", B, "Ask for BOOKMARK watch events; servers may ignore it.");
const CONTINUE: Param = q("continue", S, "Token from a previous paginated list response to fetch the next page.");
const FIELD_SELECTOR: Param = q("fieldSelector", S, "Restrict the returned objects by their fields.");
const LABEL_SELECTOR: Param = q("labelSelector", S, "Restrict the returned objects by their labels.");
const LIMIT: Param = q("limit", I, "Maximum number of items to return in one page of a list.");
const RESOURCE_VERSION: Param = q("resourceVersion", S, "Which resourceVersion the list or watch is served from.");
const RESOURCE_VERSION_MATCH: Param =
    q("resourceVersionMatch", S, "How resourceVersion is applied to a list: Exact or NotOlderThan.");
const SEND_INITIAL_EVENTS: Param =
    q("sendInitialEvents", B, "Start a watch with synthetic ADDED events for the state.");
const TIMEOUT_SECONDS: Param = q("timeoutSeconds", I, "Timeout for the list or watch call, in seconds.");
const WATCH: Param = q("watch", B, "Watch for changes to the described resources and return them as a stream.");
const DRY_RUN: Param = q("dryRun", S, "When present (All), modifications are not persisted.");
const FIELD_MANAGER: Param = q("fieldManager", S, "Name of the actor or entity making these changes.");
const FIELD_VALIDATION: Param = q(
    "fieldValidation",
    S,
    "How to handle unknown or duplicate fields in the request object: Ignore, Warn (default) or Strict.",
);
const FORCE: Param = q("force", B, "Force an apply request, taking over fields owned by other managers.");
const GRACE_PERIOD: Param = q("gracePeriodSeconds", I, "Seconds before the object should be deleted; 0 = now.");
const IGNORE_READ_ERRORS: Param = q(
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    B,
    "Delete a corrupt object that cannot be read from storage (unsafe).",
);
const ORPHAN: Param = q("orphanDependents", B, "Deprecated: use propagationPolicy.");
const PROPAGATION: Param = q("propagationPolicy", S, "Garbage collection policy: Orphan, Background or Foreground.");

pub(crate) const LIST_PARAMS: &[Param] = &[
    ALLOW_BOOKMARKS,
    CONTINUE,
    FIELD_SELECTOR,
    LABEL_SELECTOR,
    LIMIT,
    RESOURCE_VERSION,
    RESOURCE_VERSION_MATCH,
    SEND_INITIAL_EVENTS,
    TIMEOUT_SECONDS,
    WATCH,
];
pub(crate) const WRITE_PARAMS: &[Param] = &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
pub(crate) const PATCH_PARAMS: &[Param] = &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE];
pub(crate) const DELETE_PARAMS: &[Param] = &[DRY_RUN, GRACE_PERIOD, IGNORE_READ_ERRORS, ORPHAN, PROPAGATION];
pub(crate) const DELETE_COLLECTION_PARAMS: &[Param] = &[
    CONTINUE,
    DRY_RUN,
    FIELD_SELECTOR,
    GRACE_PERIOD,
    IGNORE_READ_ERRORS,
    LABEL_SELECTOR,
    LIMIT,
    ORPHAN,
    PROPAGATION,
    RESOURCE_VERSION,
    RESOURCE_VERSION_MATCH,
    SEND_INITIAL_EVENTS,
    TIMEOUT_SECONDS,
];
