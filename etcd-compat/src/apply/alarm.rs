//! Alarms: activate/deactivate/get, and the NOSPACE cap on writes.

use super::{header, Applier};
use crate::alarm::AlarmSet;
use crate::error::{Error, Result};
use crate::proto::capstanpb::command::Op;
use crate::proto::etcdserverpb::alarm_request::AlarmAction;
use crate::proto::etcdserverpb::request_op::Request;
use crate::proto::etcdserverpb::{AlarmRequest, AlarmResponse, AlarmType, TxnRequest};
use crate::storage::Table;

/// etcd's quota cost of a txn counts only its top-level puts (nested txns
/// and deletes cost nothing), so only those are capped.
pub fn txn_has_put(t: &TxnRequest) -> bool {
    t.success.iter().chain(t.failure.iter()).any(|op| matches!(op.request, Some(Request::RequestPut(_))))
}

/// With NOSPACE raised, etcd refuses anything that can grow the db.
pub(super) fn check_capped(alarms: &AlarmSet, op: &Op) -> Result<()> {
    if !alarms.is_active(AlarmType::Nospace) {
        return Ok(());
    }
    match op {
        Op::Put(_) | Op::LeaseGrant(_) => Err(Error::NoSpace),
        Op::Txn(t) if txn_has_put(t) => Err(Error::NoSpace),
        _ => Ok(()),
    }
}

pub(super) fn apply(a: &mut Applier, r: &AlarmRequest) -> Result<AlarmResponse> {
    let alarm = AlarmType::try_from(r.alarm).unwrap_or(AlarmType::None);
    let alarms = a.shared.alarms.clone();
    let changed = match AlarmAction::try_from(r.action).unwrap_or(AlarmAction::Get) {
        AlarmAction::Get => {
            let list = if alarm == AlarmType::None { alarms.list() } else { alarms.get(alarm) };
            return Ok(AlarmResponse { header: header(a.writer.rev()), alarms: list });
        }
        AlarmAction::Activate => {
            if alarm == AlarmType::None {
                return Ok(AlarmResponse { header: header(a.writer.rev()), alarms: vec![] });
            }
            if alarms.activate(r.member_id, alarm) {
                a.writer.batch_mut().put(Table::Alarm, AlarmSet::key(r.member_id, alarm), vec![1]);
            }
            alarms.get(alarm).into_iter().filter(|m| m.member_id == r.member_id).collect()
        }
        AlarmAction::Deactivate => match alarms.deactivate(r.member_id, alarm) {
            Some(m) => {
                a.writer.batch_mut().delete(Table::Alarm, AlarmSet::key(r.member_id, alarm));
                vec![m]
            }
            None => vec![],
        },
    };
    Ok(AlarmResponse { header: header(a.writer.rev()), alarms: changed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::etcdserverpb::{DeleteRangeRequest, PutRequest, RequestOp};

    fn op(r: Request) -> RequestOp {
        RequestOp { request: Some(r) }
    }

    #[test]
    fn only_top_level_puts_are_capped() {
        let nested = TxnRequest { success: vec![op(Request::RequestPut(PutRequest::default()))], ..Default::default() };
        let t = TxnRequest {
            success: vec![
                op(Request::RequestTxn(nested)),
                op(Request::RequestDeleteRange(DeleteRangeRequest::default())),
            ],
            ..Default::default()
        };
        assert!(!txn_has_put(&t));
        let alarms = AlarmSet::default();
        alarms.activate(1, AlarmType::Nospace);
        assert!(check_capped(&alarms, &Op::Txn(t)).is_ok());
        let t = TxnRequest { failure: vec![op(Request::RequestPut(PutRequest::default()))], ..Default::default() };
        assert_eq!(check_capped(&alarms, &Op::Txn(t)), Err(Error::NoSpace));
        assert_eq!(check_capped(&alarms, &Op::Put(PutRequest::default())), Err(Error::NoSpace));
    }
}
