//! Auth at apply time: etcd's authApplierV3 re-checks the proposer's
//! permissions against the state the command is applied on (so a role revoked
//! in between wins), and the auth management commands change the auth store.

use super::Applier;
use crate::auth::Access;
use crate::error::{Error, Result};
use crate::proto::capstanpb::command::Op;
use crate::proto::capstanpb::Command;
use crate::proto::etcdserverpb::ResponseHeader;

/// Every key a lease holds, as writes: attaching to or revoking a lease needs them all.
fn lease_keys(a: &Applier, id: i64, out: &mut Vec<Access>) {
    if let Some(lease) = a.shared.lessor.lock().get(id) {
        out.extend(lease.keys.iter().map(|k| Access::write(k, &[])));
    }
}

/// What applying `op` needs permission for (etcd's authApplierV3 checks).
fn access_of(a: &Applier, op: &Op) -> Vec<Access> {
    let mut out = Vec::new();
    match op {
        Op::Put(r) => {
            out.push(Access::write(&r.key, &[]));
            if r.lease != 0 {
                lease_keys(a, r.lease, &mut out);
            }
            if r.prev_kv {
                out.push(Access::read(&r.key, &[]));
            }
        }
        Op::DeleteRange(r) => {
            out.push(Access::write(&r.key, &r.range_end));
            if r.prev_kv {
                out.push(Access::read(&r.key, &r.range_end));
            }
        }
        Op::Txn(t) => Access::of_txn(t, &mut out),
        Op::LeaseRevoke(r) => lease_keys(a, r.id, &mut out),
        // etcd checks no permission for these at apply; the server decides.
        Op::Compaction(_) | Op::LeaseGrant(_) | Op::Alarm(_) => {}
        Op::AuthEnable(_)
        | Op::AuthDisable(_)
        | Op::UserAdd(_)
        | Op::UserDelete(_)
        | Op::UserChangePassword(_)
        | Op::UserGrantRole(_)
        | Op::UserRevokeRole(_)
        | Op::RoleAdd(_)
        | Op::RoleDelete(_)
        | Op::RoleGrantPermission(_)
        | Op::RoleRevokePermission(_) => out.push(Access::Admin),
    }
    out
}

/// Re-checks a command proposed on behalf of a user. Commands without a user
/// were either proposed while auth was off or come from the server itself
/// (lease expiry, quota alarms) and pass.
pub(super) fn check(a: &Applier, cmd: &Command, op: &Op) -> Result<()> {
    if cmd.user.is_empty() || !a.shared.auth.is_enabled() {
        return Ok(());
    }
    a.shared.auth.check(&cmd.user, &access_of(a, op))
}

/// Applies an auth management command.
pub(super) fn apply(a: &mut Applier, op: &Op) -> Result<ResponseHeader> {
    let auth = a.shared.auth.clone();
    let batch = a.writer.batch_mut();
    match op {
        Op::AuthEnable(_) => auth.enable(batch),
        Op::AuthDisable(_) => auth.disable(batch),
        Op::UserAdd(r) => auth.user_add(r, batch),
        Op::UserDelete(r) => auth.user_delete(r, batch),
        Op::UserChangePassword(r) => auth.user_change_password(r, batch),
        Op::UserGrantRole(r) => auth.user_grant_role(r, batch),
        Op::UserRevokeRole(r) => auth.user_revoke_role(r, batch),
        Op::RoleAdd(r) => auth.role_add(r, batch),
        Op::RoleDelete(r) => auth.role_delete(r, batch),
        Op::RoleGrantPermission(r) => auth.role_grant_permission(r, batch),
        Op::RoleRevokePermission(r) => auth.role_revoke_permission(r, batch),
        _ => Err(Error::NotCapable),
    }?;
    Ok(ResponseHeader { revision: a.writer.rev(), ..Default::default() })
}
