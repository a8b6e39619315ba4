//! What each subresource answers with and which verbs it serves, as
//! kube-apiserver registers them. Shared by discovery and the OpenAPI paths.

use crate::catalog::ResourceInfo;

const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
const CONNECT: &[&str] = &["create", "get"];
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];

/// The response kind and verbs of one `<resource>/<subresource>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubresourceInfo {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// OpenAPI definition of the request and response body ("" for the
    /// streaming `connect` subresources, which OpenAPI paths leave out).
    pub definition: &'static str,
    pub verbs: &'static [&'static str],
}

/// The facts of `parent`'s subresource `sub`, or `None` for one we do not know.
pub fn subresource(parent: &'static ResourceInfo, sub: &'static str) -> Option<SubresourceInfo> {
    let own = |verbs| SubresourceInfo {
        name: sub,
        group: parent.group,
        version: parent.version,
        kind: parent.kind,
        definition: parent.definition,
        verbs,
    };
    // Streaming subresources answer with `<Kind>Options` kinds of core/v1.
    let connect = |kind, verbs| SubresourceInfo { name: sub, group: "", version: "v1", kind, definition: "", verbs };
    Some(match sub {
        "status" | "approval" | "ephemeralcontainers" | "resize" => own(GET_PATCH_UPDATE),
        "finalize" => own(&["update"]),
        "log" => SubresourceInfo { definition: "", ..own(&["get"]) },
        "attach" => connect("PodAttachOptions", CONNECT),
        "exec" => connect("PodExecOptions", CONNECT),
        "portforward" => connect("PodPortForwardOptions", CONNECT),
        "proxy" => match parent.kind {
            "Node" => connect("NodeProxyOptions", PROXY),
            "Service" => connect("ServiceProxyOptions", PROXY),
            _ => connect("PodProxyOptions", PROXY),
        },
        "token" => SubresourceInfo {
            name: sub,
            group: "authentication.k8s.io",
            version: "v1",
            kind: "TokenRequest",
            definition: "io.k8s.api.authentication.v1.TokenRequest",
            verbs: &["create"],
        },
        "scale" => SubresourceInfo {
            name: sub,
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            definition: "io.k8s.api.autoscaling.v1.Scale",
            verbs: GET_PATCH_UPDATE,
        },
        "binding" => SubresourceInfo {
            name: sub,
            group: "",
            version: "v1",
            kind: "Binding",
            definition: "io.k8s.api.core.v1.Binding",
            verbs: &["create"],
        },
        "eviction" => SubresourceInfo {
            name: sub,
            group: "policy",
            version: "v1",
            kind: "Eviction",
            definition: "io.k8s.api.policy.v1.Eviction",
            verbs: &["create"],
        },
        _ => return None,
    })
}

/// All known subresources of `parent`, sorted by name as kube lists them.
pub fn subresources_of(parent: &'static ResourceInfo) -> Vec<SubresourceInfo> {
    let mut subs: Vec<SubresourceInfo> = parent.subresources.iter().filter_map(|s| subresource(parent, s)).collect();
    subs.sort_by_key(|s| s.name);
    subs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;

    #[test]
    fn subresource_kinds_match_kube() {
        let pods = find("", "v1", "pods").expect("pods");
        let exec = subresource(pods, "exec").expect("exec");
        assert_eq!((exec.kind, exec.verbs, exec.definition), ("PodExecOptions", CONNECT, ""));
        assert_eq!(subresource(pods, "log").map(|s| (s.kind, s.verbs)), Some(("Pod", &["get"][..])));
        let sa = find("", "v1", "serviceaccounts").expect("serviceaccounts");
        let token = subresource(sa, "token").expect("token");
        assert_eq!((token.group, token.kind), ("authentication.k8s.io", "TokenRequest"));
        let svc = find("", "v1", "services").expect("services");
        assert_eq!(subresource(svc, "proxy").map(|s| s.kind), Some("ServiceProxyOptions"));
        assert!(subresource(pods, "nope").is_none());
        let names: Vec<&str> = subresources_of(pods).iter().map(|s| s.name).collect();
        assert_eq!(names, ["binding", "eviction", "status"]);
    }
}
