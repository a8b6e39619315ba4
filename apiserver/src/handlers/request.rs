//! Request URL parsing: path → group/version/namespace/resource/name/subresource
//! and verb, following kube-apiserver's RequestInfoFactory; query → options.

use std::collections::HashMap;

use crate::error::ApiError;

/// What a resource request addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub resource: String,
    pub name: String,
    pub subresource: String,
    pub verb: Verb,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verb {
    #[default]
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
    /// kube-apiserver's metric verb (upper case, WATCH/LIST split).
    pub fn metric(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::List => "LIST",
            Verb::Watch => "WATCH",
            Verb::Create => "POST",
            Verb::Update => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
            Verb::DeleteCollection => "DELETE",
        }
    }
}

/// Query parameters, decoded once.
#[derive(Debug, Clone, Default)]
pub struct Query(pub HashMap<String, String>);

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        let mut m = HashMap::new();
        if let Some(q) = q {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Query(m)
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|s| !s.is_empty())
    }
    pub fn flag(&self, k: &str) -> bool {
        matches!(self.0.get(k).map(String::as_str), Some("true" | "1" | "True"))
    }
    pub fn int(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::BadRequest(format!("invalid value for {k}: \"{v}\": not an integer"))),
        }
    }
    /// `dryRun=All` (the only value kube accepts).
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.0.get("dryRun").map(String::as_str) {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(v) => Err(ApiError::BadRequest(format!("Invalid dry run value: \"{v}\": supported values: \"All\""))),
        }
    }
}

/// Parses `/api/v1/...` or `/apis/<group>/<version>/...`; None if the path is
/// not a resource path.
pub fn parse(method: &http::Method, path: &str, query: &Query) -> Option<RequestInfo> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    let mut info = RequestInfo { group: group.into(), version: version.into(), ..Default::default() };
    let mut rest = rest;
    let mut legacy_watch = false;
    if rest[0] == "watch" {
        legacy_watch = true;
        rest = &rest[1..];
    }
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        info.namespace = rest[1].to_string();
        if rest.len() > 2 && rest[2] != "status" && rest[2] != "finalize" {
            rest = &rest[2..];
        }
    }
    match rest {
        [] => return None,
        [r] => info.resource = r.to_string(),
        [r, n] => {
            info.resource = r.to_string();
            info.name = n.to_string();
        }
        [r, n, s] => {
            info.resource = r.to_string();
            info.name = n.to_string();
            info.subresource = s.to_string();
        }
        _ => return None,
    }
    // `namespaces/<name>` addresses the namespace itself.
    if info.resource == "namespaces" && !info.name.is_empty() && info.namespace == info.name {
        info.namespace.clear();
    }
    let is_watch = legacy_watch || query.flag("watch");
    info.verb = match *method {
        http::Method::GET | http::Method::HEAD => {
            if is_watch {
                Verb::Watch
            } else if info.name.is_empty() {
                Verb::List
            } else {
                Verb::Get
            }
        }
        http::Method::POST => Verb::Create,
        http::Method::PUT => Verb::Update,
        http::Method::PATCH => Verb::Patch,
        http::Method::DELETE => {
            if info.name.is_empty() {
                Verb::DeleteCollection
            } else {
                Verb::Delete
            }
        }
        _ => return None,
    };
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn p(m: Method, path: &str, q: &str) -> RequestInfo {
        parse(&m, path, &Query::parse(Some(q))).unwrap()
    }

    #[test]
    fn shapes() {
        let i = p(Method::GET, "/api/v1/namespaces/default/pods", "");
        assert_eq!((i.namespace.as_str(), i.resource.as_str(), i.verb), ("default", "pods", Verb::List));
        let i = p(Method::GET, "/api/v1/namespaces/default/pods/web/status", "");
        assert_eq!((i.name.as_str(), i.subresource.as_str(), i.verb), ("web", "status", Verb::Get));
        let i = p(Method::GET, "/api/v1/namespaces/kube-system", "");
        assert_eq!((i.namespace.as_str(), i.resource.as_str(), i.name.as_str()), ("", "namespaces", "kube-system"));
        let i = p(Method::PUT, "/api/v1/namespaces/foo/finalize", "");
        assert_eq!((i.resource.as_str(), i.name.as_str(), i.subresource.as_str()), ("namespaces", "foo", "finalize"));
        let i = p(Method::GET, "/apis/apps/v1/deployments", "watch=true");
        assert_eq!((i.group.as_str(), i.verb), ("apps", Verb::Watch));
        let i = p(Method::GET, "/api/v1/watch/namespaces/a/pods/x", "");
        assert_eq!((i.namespace.as_str(), i.name.as_str(), i.verb), ("a", "x", Verb::Watch));
        let i = p(Method::DELETE, "/api/v1/namespaces/a/pods", "");
        assert_eq!(i.verb, Verb::DeleteCollection);
        assert!(parse(&Method::GET, "/apis/apps/v1", &Query::default()).is_none());
    }
}
