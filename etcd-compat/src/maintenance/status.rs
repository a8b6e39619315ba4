//! The member's Status, as etcd 3.5 reports it, and etcd's text form of an
//! alarm (what Status `errors` and `etcdctl alarm list` show).

use crate::error::Result;
use crate::node::Node;
use crate::proto::etcdserverpb::{AlarmMember, AlarmType, StatusResponse};

/// The etcd version this server reports being compatible with.
pub const SERVER_VERSION: &str = "3.5.17";

/// An alarm in gogoproto's compact text form, trailing space included:
/// `memberID:10276657743932975437 alarm:NOSPACE `.
pub fn alarm_text(m: &AlarmMember) -> String {
    let mut s = String::new();
    if m.member_id != 0 {
        s.push_str(&format!("memberID:{} ", m.member_id));
    }
    if m.alarm != 0 {
        match AlarmType::try_from(m.alarm) {
            Ok(a) => s.push_str(&format!("alarm:{} ", a.as_str_name())),
            Err(_) => s.push_str(&format!("alarm:{} ", m.alarm)),
        }
    }
    s
}

/// Status of this member as etcd reports it: leader, Raft term and index.
pub fn status(node: &Node) -> Result<StatusResponse> {
    let size = node.store().engine().size()?;
    let applied = node.applied_index();
    let raft_index = node.raft_index().max(applied);
    Ok(StatusResponse {
        header: Some(node.header()),
        version: SERVER_VERSION.to_string(),
        db_size: i64::try_from(size.total).unwrap_or(i64::MAX),
        db_size_in_use: i64::try_from(size.in_use).unwrap_or(i64::MAX),
        leader: node.leader().unwrap_or(0),
        raft_index,
        raft_applied_index: applied,
        raft_term: node.raft_term(),
        errors: node.shared().alarms.list().iter().map(alarm_text).collect(),
        is_learner: node.is_learner(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_text_matches_gogoproto() {
        let m = AlarmMember { member_id: 14720799474854129801, alarm: AlarmType::Nospace as i32 };
        assert_eq!(alarm_text(&m), "memberID:14720799474854129801 alarm:NOSPACE ");
        let c = AlarmMember { member_id: 1, alarm: AlarmType::Corrupt as i32 };
        assert_eq!(alarm_text(&c), "memberID:1 alarm:CORRUPT ");
        assert_eq!(alarm_text(&AlarmMember { member_id: 0, alarm: 0 }), "");
    }
}
