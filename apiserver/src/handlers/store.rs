//! Reads and guarded writes against the backend, in kube-apiserver's shapes:
//! objects are stored without resourceVersion; the etcd mod_revision becomes
//! the resourceVersion on the way out; updates retry on a lost race unless the
//! caller pinned a resourceVersion.

use serde_json::Value;

use super::object;
use super::Ctx;
use crate::catalog::ResourceInfo;
use crate::error::ApiError;
use crate::storage::{KeyValue, TxnOutcome};

/// A stored object with its revision.
#[derive(Debug, Clone)]
pub struct Current {
    pub obj: Value,
    pub mod_revision: i64,
}

pub fn decode_kv(kv: &KeyValue) -> Result<Current, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::Internal(format!("stored object at {} is not JSON: {e}", kv.key)))?;
    object::set_resource_version(&mut obj, kv.mod_revision);
    Ok(Current { obj, mod_revision: kv.mod_revision })
}

pub fn encode(obj: &Value) -> Result<bytes::Bytes, ApiError> {
    object::storage_bytes(obj).map_err(|e| ApiError::Internal(format!("encoding object: {e}")))
}

/// Linearizable read of the object the request names.
pub async fn read(ctx: &Ctx<'_>) -> Result<Current, ApiError> {
    let (kv, _) = ctx.api.backend.get(&ctx.key()).await?;
    decode_kv(&kv.ok_or_else(|| ctx.not_found())?)
}

pub fn conflict(ri: &ResourceInfo, name: &str) -> ApiError {
    ApiError::Conflict {
        resource: ri.plural.into(),
        group: ri.group.into(),
        name: name.into(),
        message: format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            ri.group_resource()
        ),
    }
}

/// Outcome of one guarded write, with the revision it happened at.
pub enum Written {
    Stored(i64),
    /// Finalizers were cleared on a deleting object: it is gone.
    Deleted(i64),
}

/// Writes `new` over the object at `mod_revision`. `Ok(None)`: lost the race.
pub async fn write_update(ctx: &Ctx<'_>, new: &Value, mod_revision: i64) -> Result<Option<Written>, ApiError> {
    let key = ctx.key();
    // A deleting object whose last finalizer went away is removed, as kube does.
    if object::is_deleting(new) && object::finalizers(new).is_empty() && !namespace_spec_finalizers_left(ctx.ri, new) {
        return match ctx.api.backend.delete(&key, mod_revision).await? {
            TxnOutcome::Done(kv) => Ok(Some(Written::Deleted(kv.mod_revision))),
            TxnOutcome::Conflict(_) => Ok(None),
        };
    }
    match ctx.api.backend.update(&key, encode(new)?, mod_revision).await? {
        TxnOutcome::Done(kv) => Ok(Some(Written::Stored(kv.mod_revision))),
        TxnOutcome::Conflict(_) => Ok(None),
    }
}

fn namespace_spec_finalizers_left(ri: &ResourceInfo, obj: &Value) -> bool {
    ri.group.is_empty()
        && ri.plural == "namespaces"
        && obj.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}
