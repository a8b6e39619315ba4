//! Subresources with their own shape (scale, pods/binding, pods/eviction) and
//! service ClusterIP/NodePort allocation.

use std::net::Ipv4Addr;

use bytes::Bytes;
use serde_json::{json, Value};

use super::codec::{self, Response};
use super::delete::{delete_one, DeleteOptions};
use super::request::RequestInfo;
use super::update::guaranteed_update;
use super::{object, store, Api, Ctx};
use crate::error::{ApiError, Cause};

fn main_ctx<'a>(ctx: &Ctx<'a>, info: &'a RequestInfo) -> Ctx<'a> {
    Ctx { api: ctx.api, ri: ctx.ri, info, query: ctx.query, parts: ctx.parts }
}

fn selector_string(obj: &Value) -> String {
    let sel = obj.pointer("/spec/selector");
    let labels = sel.and_then(|s| s.get("matchLabels")).or(
        if obj.pointer("/spec/selector/matchLabels").is_none()
            && obj.pointer("/spec/selector/matchExpressions").is_none()
        {
            sel
        } else {
            None
        },
    );
    let mut parts: Vec<String> = labels
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}"))).collect())
        .unwrap_or_default();
    if let Some(exprs) = obj.pointer("/spec/selector/matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let vals: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => parts.push(format!("{key} in ({})", vals.join(","))),
                "NotIn" => parts.push(format!("{key} notin ({})", vals.join(","))),
                "Exists" => parts.push(key.to_string()),
                "DoesNotExist" => parts.push(format!("!{key}")),
                _ => {}
            }
        }
    }
    parts.sort();
    parts.join(",")
}

/// The scale paths of a custom resource (`None`: the built-in `.spec.replicas` layout).
fn custom_scale(ctx: &Ctx<'_>) -> Option<crate::crd::registry::ScalePaths> {
    crate::crd::registry::serving(ctx.ri)?.version(ctx.ri.version)?.scale.clone()
}

fn path_value<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    crate::crd::jsonpath::JsonPath::parse(path).ok()?.first(obj)
}

fn scale_for(ctx: &Ctx<'_>, obj: &Value) -> Value {
    let Some(p) = custom_scale(ctx) else { return scale_of(obj) };
    let mut s = scale_of(obj);
    s["spec"]["replicas"] = path_value(obj, &p.spec_replicas).and_then(Value::as_i64).unwrap_or(0).into();
    s["status"]["replicas"] = path_value(obj, &p.status_replicas).and_then(Value::as_i64).unwrap_or(0).into();
    let selector = p.label_selector.as_deref().and_then(|l| path_value(obj, l)).and_then(Value::as_str).unwrap_or("");
    match s["status"].as_object_mut() {
        Some(st) if selector.is_empty() => {
            st.remove("selector");
        }
        Some(st) => {
            st.insert("selector".into(), selector.into());
        }
        None => {}
    }
    s
}

fn scale_of(obj: &Value) -> Value {
    let m = object::meta(obj).cloned().unwrap_or_default();
    let mut meta = serde_json::Map::new();
    for f in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = m.get(f) {
            meta.insert(f.into(), v.clone());
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector_string(obj),
        },
    })
}

pub async fn get_scale(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let cur = store::read(ctx).await?;
    Ok(codec::json(200, &scale_for(ctx, &codec::served(ctx.ri, cur.obj))))
}

async fn set_replicas(ctx: &Ctx<'_>, replicas: i64, want_rv: Option<String>) -> Result<Response, ApiError> {
    if replicas < 0 {
        return Err(ApiError::Invalid {
            kind: "Scale".into(),
            group: "autoscaling".into(),
            name: ctx.info.name.clone(),
            causes: vec![Cause::invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
        });
    }
    let dry_run = ctx.query.dry_run()?;
    let custom = custom_scale(ctx);
    // Written through the scale endpoint itself, so managedFields name `subresource: scale`.
    let (obj, _) = guaranteed_update(ctx, dry_run, want_rv.is_some(), |cur| {
        let mut o = cur.clone();
        if let Some(rv) = &want_rv {
            object::meta_mut(&mut o).insert("resourceVersion".into(), rv.clone().into());
        }
        match &custom {
            Some(p) => {
                crate::crd::jsonpath::set_simple(&mut o, &p.spec_replicas, replicas.into());
            }
            None => {
                if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("replicas".into(), replicas.into());
                }
            }
        }
        Ok(o)
    })
    .await?;
    Ok(codec::json(200, &scale_for(ctx, &obj)))
}

pub async fn update_scale(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    let mut s = codec::decode(&body, ctx.header("content-type"))?;
    codec::check_type(&mut s, "autoscaling/v1", "Scale")?;
    let replicas = s.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    let rv = Some(object::meta_str(&s, "resourceVersion").to_string()).filter(|r| !r.is_empty());
    set_replicas(ctx, replicas, rv).await
}

pub async fn patch_scale(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    let cur = store::read(ctx).await?;
    let scale = scale_for(ctx, &codec::served(ctx.ri, cur.obj.clone()));
    let patched = super::patch::apply_scale(ctx, &scale, &body)?;
    let replicas = patched.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    let rv = Some(object::meta_str(&patched, "resourceVersion").to_string())
        .filter(|r| !r.is_empty() && *r != cur.mod_revision.to_string());
    set_replicas(ctx, replicas, rv).await
}

/// pods/binding and the bindings resource: set spec.nodeName once.
pub async fn bind_pod(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    let b = codec::decode(&body, ctx.header("content-type"))?;
    let pod = if ctx.info.name.is_empty() { object::name_of(&b).to_string() } else { ctx.info.name.clone() };
    let node = b.pointer("/target/name").and_then(Value::as_str).unwrap_or("").to_string();
    if node.is_empty() {
        return Err(ApiError::Invalid {
            kind: "Binding".into(),
            group: String::new(),
            name: pod,
            causes: vec![Cause::required("target.name")],
        });
    }
    let Some(pods) = crate::catalog::find("", "v1", "pods") else { return Err(ApiError::Internal("no pods".into())) };
    let info =
        RequestInfo { resource: "pods".into(), name: pod.clone(), subresource: "binding".into(), ..ctx.info.clone() };
    let pctx = Ctx { api: ctx.api, ri: pods, info: &info, query: ctx.query, parts: ctx.parts };
    let dry_run = ctx.query.dry_run()?;
    guaranteed_update(&pctx, dry_run, false, |cur| {
        let assigned = cur.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("");
        if !assigned.is_empty() {
            return Err(ApiError::Conflict {
                resource: "pods".into(),
                group: String::new(),
                name: pod.clone(),
                message: format!("Operation cannot be fulfilled on pods/binding \"{pod}\": pod {pod} is already assigned to node \"{assigned}\""),
            });
        }
        if object::is_deleting(cur) {
            return Err(ApiError::Conflict {
                resource: "pods".into(),
                group: String::new(),
                name: pod.clone(),
                message: format!("Operation cannot be fulfilled on pods/binding \"{pod}\": pod {pod} is being deleted, cannot be assigned to a host"),
            });
        }
        let mut o = cur.clone();
        if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("nodeName".into(), node.clone().into());
        }
        let cond = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": object::now_rfc3339()});
        if let Some(o) = o.as_object_mut() {
            let st = o.entry("status").or_insert_with(|| json!({}));
            if let Some(st) = st.as_object_mut() {
                let conds = st.entry("conditions").or_insert_with(|| json!([]));
                if let Some(a) = conds.as_array_mut() {
                    a.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
                    a.push(cond);
                }
            }
        }
        Ok(o)
    })
    .await?;
    Ok(codec::json(
        201,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

/// pods/eviction: a delete with the Eviction's DeleteOptions.
pub async fn evict_pod(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    let e = codec::decode(&body, ctx.header("content-type"))?;
    let info = RequestInfo { subresource: String::new(), ..ctx.info.clone() };
    let main = main_ctx(ctx, &info);
    let opts = DeleteOptions {
        grace_period: e.pointer("/deleteOptions/gracePeriodSeconds").and_then(Value::as_i64),
        uid: e.pointer("/deleteOptions/preconditions/uid").and_then(Value::as_str).map(str::to_string),
        resource_version: e
            .pointer("/deleteOptions/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        dry_run: ctx.query.dry_run()?,
        ..Default::default()
    };
    delete_one(&main, &opts).await?;
    Ok(codec::json(
        201,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

/// Addresses and ports a service write took (to give back if the write fails).
#[derive(Debug, Default)]
pub struct Allocated {
    ips: Vec<Ipv4Addr>,
    ports: Vec<i64>,
}

fn is_services(ctx: &Ctx<'_>) -> bool {
    ctx.ri.group.is_empty() && ctx.ri.plural == "services"
}

fn alloc_error(field: &str, value: impl std::fmt::Display, e: impl std::fmt::Display, name: &str) -> ApiError {
    ApiError::Invalid {
        kind: "Service".into(),
        group: String::new(),
        name: name.into(),
        causes: vec![Cause::invalid(field, value, e)],
    }
}

/// Fills in spec.clusterIP(s) and nodePorts on create (old = None) or update.
pub fn allocate_service(
    ctx: &Ctx<'_>,
    svc: &mut Value,
    old: Option<&Value>,
    dry_run: bool,
) -> Result<Allocated, ApiError> {
    let mut out = Allocated::default();
    if !is_services(ctx) {
        return Ok(out);
    }
    let name = object::name_of(svc).to_string();
    let api: &Api = ctx.api;
    let ty = svc.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) else { return Ok(out) };
    if ty != "ExternalName" && old.is_none() {
        match spec.get("clusterIP").and_then(Value::as_str).unwrap_or("") {
            "None" => {}
            "" => {
                let ip = api.ips.allocate_next().ok_or_else(|| {
                    alloc_error("spec.clusterIP", "", "failed to allocate a serviceIP: range is full", &name)
                })?;
                if dry_run {
                    api.ips.release(ip);
                } else {
                    out.ips.push(ip);
                }
                spec.insert("clusterIP".into(), ip.to_string().into());
            }
            s => {
                let ip: Ipv4Addr = s.parse().map_err(|_| {
                    alloc_error(
                        "spec.clusterIP",
                        s,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        &name,
                    )
                })?;
                api.ips.allocate_specific(ip).map_err(|e| alloc_error("spec.clusterIPs", s, e, &name))?;
                if dry_run {
                    api.ips.release(ip);
                } else {
                    out.ips.push(ip);
                }
            }
        }
        if let Some(ip) = spec.get("clusterIP").cloned() {
            spec.insert("clusterIPs".into(), json!([ip]));
        }
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        let old_ports: Vec<i64> = old
            .and_then(|o| o.pointer("/spec/ports"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|p| p.get("nodePort").and_then(Value::as_i64)).collect())
            .unwrap_or_default();
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                let Some(p) = p.as_object_mut() else { continue };
                match p.get("nodePort").and_then(Value::as_i64) {
                    Some(n) if old_ports.contains(&n) => {}
                    Some(n) => {
                        let port = n;
                        api.ports
                            .allocate_specific(port)
                            .map_err(|e| alloc_error(&format!("spec.ports[{i}].nodePort"), n, e, &name))?;
                        if dry_run {
                            api.ports.release(port);
                        } else {
                            out.ports.push(port);
                        }
                    }
                    None => {
                        let port = api.ports.allocate_next().ok_or_else(|| {
                            alloc_error(&format!("spec.ports[{i}].nodePort"), "", "range is full", &name)
                        })?;
                        if dry_run {
                            api.ports.release(i64::from(port));
                        } else {
                            out.ports.push(i64::from(port));
                        }
                        p.insert("nodePort".into(), port.into());
                    }
                }
            }
        }
    }
    Ok(out)
}

pub fn release_service(ctx: &Ctx<'_>, a: &Allocated) {
    for ip in &a.ips {
        ctx.api.ips.release(*ip);
    }
    for p in &a.ports {
        ctx.api.ports.release(*p);
    }
}

pub fn release_deleted_service(ctx: &Ctx<'_>, svc: &Value) {
    if !is_services(ctx) {
        return;
    }
    if let Some(ip) = svc.pointer("/spec/clusterIP").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
        ctx.api.ips.release(ip);
    }
    for p in svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten() {
        if let Some(n) = p.get("nodePort").and_then(Value::as_i64) {
            ctx.api.ports.release(n);
        }
    }
}

pub fn mark_service_allocations(api: &Api, svc: &Value) {
    if let Some(ip) = svc.pointer("/spec/clusterIP").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
        api.ips.mark_used(ip);
    }
    for p in svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten() {
        if let Some(n) = p.get("nodePort").and_then(Value::as_i64) {
            api.ports.mark_used(n);
        }
    }
}
