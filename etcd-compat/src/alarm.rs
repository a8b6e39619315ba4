//! Raised alarms (NOSPACE, CORRUPT), persisted so they survive restarts.

use parking_lot::RwLock;

use crate::proto::etcdserverpb::{AlarmMember, AlarmType};

#[derive(Debug, Default)]
pub struct AlarmSet {
    alarms: RwLock<Vec<AlarmMember>>,
}

impl AlarmSet {
    pub fn new(initial: Vec<AlarmMember>) -> Self {
        Self { alarms: RwLock::new(initial) }
    }

    pub fn replace(&self, all: Vec<AlarmMember>) {
        *self.alarms.write() = all;
    }

    /// Raises an alarm; returns false if it was already raised.
    pub fn activate(&self, member: u64, alarm: AlarmType) -> bool {
        let mut a = self.alarms.write();
        if a.iter().any(|m| m.member_id == member && m.alarm == alarm as i32) {
            return false;
        }
        a.push(AlarmMember { member_id: member, alarm: alarm as i32 });
        true
    }

    /// Clears an alarm; returns the cleared entry if it was raised.
    pub fn deactivate(&self, member: u64, alarm: AlarmType) -> Option<AlarmMember> {
        let mut a = self.alarms.write();
        let pos = a.iter().position(|m| m.member_id == member && m.alarm == alarm as i32)?;
        Some(a.remove(pos))
    }

    pub fn list(&self) -> Vec<AlarmMember> {
        self.alarms.read().clone()
    }

    pub fn get(&self, alarm: AlarmType) -> Vec<AlarmMember> {
        self.alarms.read().iter().filter(|m| m.alarm == alarm as i32).cloned().collect()
    }

    pub fn is_active(&self, alarm: AlarmType) -> bool {
        self.alarms.read().iter().any(|m| m.alarm == alarm as i32)
    }

    /// Key under which an alarm is persisted in the alarm table.
    pub fn key(member: u64, alarm: AlarmType) -> Vec<u8> {
        let mut k = member.to_be_bytes().to_vec();
        k.extend_from_slice(&(alarm as i32).to_be_bytes());
        k
    }
}
