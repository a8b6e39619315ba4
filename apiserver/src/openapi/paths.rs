//! The REST operations of every catalog resource, in a neutral form that
//! `v2.rs` and `v3.rs` render: one [`PathItem`] per URL template with its
//! operations, following kube-apiserver's naming (operationId
//! `<verb><Group><Version>[Namespaced]<Kind>[Sub]`, `x-kubernetes-action`,
//! `x-kubernetes-group-version-kind`, tags `<group>_<version>`).

use super::params::{
    Param, DELETE_COLLECTION_PARAMS, DELETE_PARAMS, LIST_PARAMS, NAME, NAMESPACE, PATCH_PARAMS, PRETTY, WRITE_PARAMS,
};
use crate::catalog::{self, ResourceInfo};
use crate::discovery::{subresources_of, SubresourceInfo};

pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";

/// Core resources whose DELETE answers with the deleted object rather than a
/// Status (kube-apiserver's `ReturnDeletedObject` registries).
const DELETE_RETURNS_OBJECT: &[&str] = &[
    "persistentvolumeclaims",
    "persistentvolumes",
    "pods",
    "podtemplates",
    "resourcequotas",
    "serviceaccounts",
    "services",
];

/// Media types a PATCH accepts (kubectl looks for the strategic one).
pub(crate) const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// What a response body may be encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Produces {
    Object,
    /// Lists also stream watch events when `watch=true`.
    List,
    Watch,
}

impl Produces {
    pub(crate) fn media_types(self) -> &'static [&'static str] {
        match self {
            Self::Object => &["application/json", "application/yaml"],
            Self::List | Self::Watch => &["application/json", "application/yaml", "application/json;stream=watch"],
        }
    }
}

/// One HTTP method on one path.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    /// `get`, `post`, `put`, `patch` or `delete`.
    pub method: &'static str,
    pub id: String,
    pub description: String,
    /// `x-kubernetes-action`; empty for discovery endpoints.
    pub action: &'static str,
    /// `x-kubernetes-group-version-kind`, if the operation is about one kind.
    pub gvk: Option<(&'static str, &'static str, &'static str)>,
    pub params: &'static [Param],
    /// Request body definition and whether it is required.
    pub body: Option<(String, bool)>,
    /// Response codes (besides 401) with the body definition of each.
    pub responses: Vec<(u16, String)>,
    pub produces: Produces,
    pub tag: String,
}

impl Operation {
    pub(crate) fn consumes(&self) -> &'static [&'static str] {
        if self.method == "patch" {
            PATCH_TYPES
        } else {
            &["*/*"]
        }
    }
}

/// One URL template with its shared parameters and operations.
#[derive(Debug, Clone)]
pub(crate) struct PathItem {
    pub path: String,
    pub params: Vec<Param>,
    pub ops: Vec<Operation>,
}

/// `apps` → `Apps`, `rbac.authorization.k8s.io` → `RbacAuthorization`, core → `Core`.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    group.trim_end_matches(".k8s.io").split('.').map(capitalize).collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `core_v1`, `apps_v1`, `rbacAuthorization_v1`.
pub(crate) fn tag(group: &str, version: &str) -> String {
    let camel = group_camel(group);
    let mut c = camel.chars();
    let lower: String = c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default();
    format!("{lower}_{version}")
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub(crate) fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

fn ok_codes(codes: &[u16], def: &str) -> Vec<(u16, String)> {
    codes.iter().map(|c| (*c, def.to_string())).collect()
}

/// Builds operations of one resource; `gv` is e.g. `AppsV1`, `scope`
/// `Namespaced` or empty.
struct Builder<'a> {
    r: &'static ResourceInfo,
    gv: String,
    scope: &'a str,
    tag: String,
}

impl Builder<'_> {
    fn op(
        &self,
        method: &'static str,
        verb: &str,
        action: &'static str,
        suffix: &str,
        description: String,
    ) -> Operation {
        let r = self.r;
        Operation {
            method,
            id: format!("{verb}{}{}{}{suffix}", self.gv, self.scope, r.kind),
            description,
            action,
            gvk: Some((r.group, r.version, r.kind)),
            params: &[],
            body: None,
            responses: Vec::new(),
            produces: Produces::Object,
            tag: self.tag.clone(),
        }
    }

    fn sub_op(&self, s: &SubresourceInfo, verb: &str) -> Option<Operation> {
        let r = self.r;
        let (method, prefix, action, phrase) = match verb {
            "get" => ("get", "read", "get", format!("read {} of the specified {}", s.name, r.kind)),
            "update" => ("put", "replace", "put", format!("replace {} of the specified {}", s.name, r.kind)),
            "patch" => ("patch", "patch", "patch", format!("partially update {} of the specified {}", s.name, r.kind)),
            "create" => ("post", "create", "post", format!("create {} of a {}", s.name, r.kind)),
            _ => return None,
        };
        let mut op = self.op(method, prefix, action, &capitalize(s.name), phrase);
        op.gvk = Some((s.group, s.version, s.kind));
        let def = s.definition;
        match method {
            "get" => op.responses = ok_codes(&[200], def),
            "put" => {
                op.params = WRITE_PARAMS;
                op.body = Some((def.into(), true));
                op.responses = ok_codes(&[200, 201], def);
            }
            "patch" => {
                op.params = PATCH_PARAMS;
                op.body = Some((PATCH.into(), true));
                op.responses = ok_codes(&[200, 201], def);
            }
            _ => {
                op.params = WRITE_PARAMS;
                op.body = Some((def.into(), true));
                op.responses = ok_codes(&[200, 201, 202], def);
            }
        }
        Some(op)
    }
}

fn resource_paths(r: &'static ResourceInfo, out: &mut Vec<PathItem>) {
    let base = prefix(r.group, r.version);
    let can = |v: &str| r.verbs.contains(&v);
    let b = Builder {
        r,
        gv: format!("{}{}", group_camel(r.group), capitalize(r.version)),
        scope: if r.namespaced { "Namespaced" } else { "" },
        tag: tag(r.group, r.version),
    };
    let (kind, def, list_def) = (r.kind, r.definition, format!("{}List", r.definition));
    let ns = if r.namespaced { "/namespaces/{namespace}" } else { "" };
    let scope_params: Vec<Param> = if r.namespaced { vec![NAMESPACE] } else { Vec::new() };
    let with = |first: &[Param], last: &[Param]| -> Vec<Param> {
        first.iter().chain(scope_params.iter()).chain(last.iter()).copied().collect()
    };

    let mut collection = Vec::new();
    if can("deletecollection") {
        let mut op = b.op("delete", "delete", "deletecollection", "", format!("delete collection of {kind}"));
        op.id = format!("delete{}Collection{}{kind}", b.gv, b.scope);
        op.params = DELETE_COLLECTION_PARAMS;
        op.body = Some((DELETE_OPTIONS.into(), false));
        op.responses = ok_codes(&[200], STATUS);
        collection.push(op);
    }
    if can("list") {
        let mut op = b.op("get", "list", "list", "", format!("list or watch objects of kind {kind}"));
        op.params = LIST_PARAMS;
        op.responses = ok_codes(&[200], &list_def);
        op.produces = Produces::List;
        collection.push(op);
    }
    if can("create") {
        let mut op = b.op("post", "create", "post", "", format!("create a {kind}"));
        op.params = WRITE_PARAMS;
        op.body = Some((def.into(), true));
        op.responses = ok_codes(&[200, 201, 202], def);
        collection.push(op);
    }
    if !collection.is_empty() {
        out.push(PathItem { path: format!("{base}{ns}/{}", r.plural), params: with(&[], &[PRETTY]), ops: collection });
    }

    let item_path = format!("{base}{ns}/{}/{{name}}", r.plural);
    let mut item = Vec::new();
    if can("delete") {
        let mut op = b.op("delete", "delete", "delete", "", format!("delete a {kind}"));
        op.params = DELETE_PARAMS;
        op.body = Some((DELETE_OPTIONS.into(), false));
        let returns_object = r.group.is_empty() && DELETE_RETURNS_OBJECT.contains(&r.plural);
        op.responses = ok_codes(&[200, 202], if returns_object { def } else { STATUS });
        item.push(op);
    }
    if can("get") {
        let mut op = b.op("get", "read", "get", "", format!("read the specified {kind}"));
        op.responses = ok_codes(&[200], def);
        item.push(op);
    }
    if can("patch") {
        let mut op = b.op("patch", "patch", "patch", "", format!("partially update the specified {kind}"));
        op.params = PATCH_PARAMS;
        op.body = Some((PATCH.into(), true));
        op.responses = ok_codes(&[200, 201], def);
        item.push(op);
    }
    if can("update") {
        let mut op = b.op("put", "replace", "put", "", format!("replace the specified {kind}"));
        op.params = WRITE_PARAMS;
        op.body = Some((def.into(), true));
        op.responses = ok_codes(&[200, 201], def);
        item.push(op);
    }
    if !item.is_empty() {
        out.push(PathItem { path: item_path.clone(), params: with(&[NAME], &[PRETTY]), ops: item });
    }

    for s in subresources_of(r).into_iter().filter(|s| !s.definition.is_empty()) {
        let ops: Vec<Operation> = s.verbs.iter().filter_map(|v| b.sub_op(&s, v)).collect();
        if !ops.is_empty() {
            out.push(PathItem { path: format!("{item_path}/{}", s.name), params: with(&[NAME], &[PRETTY]), ops });
        }
    }

    let all_params: Vec<Param> = LIST_PARAMS.iter().chain([&PRETTY]).copied().collect();
    if r.namespaced && can("list") {
        let mut op = b.op("get", "list", "list", "", format!("list or watch objects of kind {kind}"));
        op.id = format!("list{}{kind}ForAllNamespaces", b.gv);
        op.responses = ok_codes(&[200], &list_def);
        op.produces = Produces::List;
        out.push(PathItem { path: format!("{base}/{}", r.plural), params: all_params.clone(), ops: vec![op] });
    }
    if can("watch") {
        // The deprecated `/watch/` paths kube still serves and publishes.
        let mut watch = |path: String, id: String, action: &'static str, what: &str, params: Vec<Param>| {
            let mut op = b.op("get", "watch", action, "", what.to_string());
            op.id = id;
            op.responses = ok_codes(&[200], WATCH_EVENT);
            op.produces = Produces::Watch;
            out.push(PathItem { path, params, ops: vec![op] });
        };
        let (gv, sc, pl) = (&b.gv, b.scope, r.plural);
        let list_params: Vec<Param> = LIST_PARAMS.iter().chain(scope_params.iter()).chain([&PRETTY]).copied().collect();
        let mut item_params: Vec<Param> = vec![NAME];
        item_params.extend(list_params.iter().copied());
        watch(
            format!("{base}/watch{ns}/{pl}"),
            format!("watch{gv}{sc}{kind}List"),
            "watchlist",
            &format!("watch individual changes to a list of {kind}"),
            list_params,
        );
        watch(
            format!("{base}/watch{ns}/{pl}/{{name}}"),
            format!("watch{gv}{sc}{kind}"),
            "watch",
            &format!("watch changes to an object of kind {kind}"),
            item_params,
        );
        if r.namespaced {
            watch(
                format!("{base}/watch/{pl}"),
                format!("watch{gv}{kind}ListForAllNamespaces"),
                "watchlist",
                &format!("watch individual changes to a list of {kind}"),
                all_params,
            );
        }
    }
}

fn discovery_op(id: String, def: &str, tag: String, description: &str) -> Operation {
    Operation {
        method: "get",
        id,
        description: description.into(),
        action: "",
        gvk: None,
        params: &[],
        body: None,
        responses: ok_codes(&[200], &format!("{META}{def}")),
        produces: Produces::Object,
        tag,
    }
}

/// Every path of one served group/version (plus its discovery endpoint),
/// sorted by path; empty if the group/version is not served.
pub(crate) fn group_version_paths(group: &str, version: &str) -> Vec<PathItem> {
    let mut out = Vec::new();
    for r in catalog::resources_of(group, version) {
        resource_paths(r, &mut out);
    }
    if out.is_empty() {
        return out;
    }
    let id = format!("get{}{}APIResources", group_camel(group), capitalize(version));
    out.push(PathItem {
        path: format!("{}/", prefix(group, version)),
        params: Vec::new(),
        ops: vec![discovery_op(id, "APIResourceList", tag(group, version), "get available resources")],
    });
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// `/api/` (core versions), `/apis/` (group list) or `/apis/<group>/`.
pub(crate) fn discovery_root(group: Option<&str>) -> Option<PathItem> {
    let (path, op) = match group {
        None => (
            "/api/".to_string(),
            discovery_op("getCoreAPIVersions".into(), "APIVersions", "core".into(), "get available API versions"),
        ),
        Some("") => (
            "/apis/".to_string(),
            discovery_op("getAPIVersions".into(), "APIGroupList", "apis".into(), "get available API versions"),
        ),
        Some(g) => {
            catalog::groups().iter().find(|(name, _)| *name == g)?;
            let camel = group_camel(g);
            let t = tag(g, "").trim_end_matches('_').to_string();
            (
                format!("/apis/{g}/"),
                discovery_op(format!("get{camel}APIGroup"), "APIGroup", t, "get information of a group"),
            )
        }
    };
    Some(PathItem { path, params: Vec::new(), ops: vec![op] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kube() {
        assert_eq!(group_camel("rbac.authorization.k8s.io"), "RbacAuthorization");
        assert_eq!(tag("rbac.authorization.k8s.io", "v1"), "rbacAuthorization_v1");
        assert_eq!(tag("", "v1"), "core_v1");
        let paths = group_version_paths("apps", "v1");
        let ids: Vec<&str> = paths.iter().flat_map(|p| p.ops.iter().map(|o| o.id.as_str())).collect();
        for id in [
            "listAppsV1NamespacedDeployment",
            "createAppsV1NamespacedDeployment",
            "deleteAppsV1CollectionNamespacedDeployment",
            "readAppsV1NamespacedDeployment",
            "patchAppsV1NamespacedDeploymentScale",
            "replaceAppsV1NamespacedDeploymentStatus",
            "listAppsV1DeploymentForAllNamespaces",
            "watchAppsV1NamespacedDeploymentList",
            "getAppsV1APIResources",
        ] {
            assert!(ids.contains(&id), "{id}");
        }
        let nodes = group_version_paths("", "v1");
        assert!(nodes.iter().any(|p| p.path == "/api/v1/nodes/{name}/status"));
        assert!(nodes.iter().any(|p| p.ops.iter().any(|o| o.id == "createCoreV1NamespacedPodEviction")));
        assert!(nodes.iter().any(|p| p.ops.iter().any(|o| o.id == "replaceCoreV1NamespaceFinalize")));
    }
}
