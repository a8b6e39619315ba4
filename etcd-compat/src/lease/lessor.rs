//! The lessor: granted TTLs, expiry deadlines and which keys hang off which lease.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// etcd's MaxLeaseTTL.
pub const LEASE_MAX_TTL: i64 = 9_000_000_000;
/// etcd's minimum with its default election timeout (ceil(1.5 × 1 s)).
pub const LEASE_MIN_TTL: i64 = 2;

#[derive(Debug, Clone)]
pub struct Lease {
    pub id: i64,
    /// Granted TTL in seconds.
    pub ttl: i64,
    pub expiry: Instant,
    pub keys: BTreeSet<Vec<u8>>,
}

impl Lease {
    /// Whole seconds left, as etcd truncates them.
    pub fn remaining_secs(&self, now: Instant) -> i64 {
        self.expiry.saturating_duration_since(now).as_secs() as i64
    }
}

#[derive(Debug, Default)]
pub struct Lessor {
    leases: HashMap<i64, Lease>,
    key_lease: HashMap<Vec<u8>, i64>,
}

impl Lessor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants a lease; the TTL is clamped up to the minimum as etcd does.
    pub fn grant(&mut self, id: i64, ttl: i64, now: Instant) -> Result<&Lease> {
        if ttl > LEASE_MAX_TTL {
            return Err(Error::LeaseTtlTooLarge);
        }
        if self.leases.contains_key(&id) {
            return Err(Error::LeaseExists);
        }
        let ttl = ttl.max(LEASE_MIN_TTL);
        let lease = Lease { id, ttl, expiry: now + Duration::from_secs(ttl as u64), keys: BTreeSet::new() };
        Ok(self.leases.entry(id).or_insert(lease))
    }

    /// Removes a lease; returns the keys attached to it.
    pub fn revoke(&mut self, id: i64) -> Result<Vec<Vec<u8>>> {
        let lease = self.leases.remove(&id).ok_or(Error::LeaseNotFound)?;
        for k in &lease.keys {
            self.key_lease.remove(k);
        }
        Ok(lease.keys.into_iter().collect())
    }

    pub fn exists(&self, id: i64) -> bool {
        self.leases.contains_key(&id)
    }

    pub fn get(&self, id: i64) -> Option<&Lease> {
        self.leases.get(&id)
    }

    pub fn lease_of(&self, key: &[u8]) -> Option<i64> {
        self.key_lease.get(key).copied()
    }

    /// Attaches `key` to `id`, detaching it from any previous lease.
    pub fn attach(&mut self, id: i64, key: &[u8]) {
        self.detach(key);
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.insert(key.to_vec());
            self.key_lease.insert(key.to_vec(), id);
        }
    }

    pub fn detach(&mut self, key: &[u8]) {
        if let Some(old) = self.key_lease.remove(key) {
            if let Some(l) = self.leases.get_mut(&old) {
                l.keys.remove(key);
            }
        }
    }

    /// KeepAlive: pushes the deadline out by the granted TTL.
    pub fn renew(&mut self, id: i64, now: Instant) -> Result<i64> {
        let l = self.leases.get_mut(&id).ok_or(Error::LeaseNotFound)?;
        l.expiry = now + Duration::from_secs(l.ttl as u64);
        Ok(l.ttl)
    }

    /// After a restart (or leadership change) every lease gets a full TTL again.
    pub fn promote(&mut self, now: Instant) {
        for l in self.leases.values_mut() {
            l.expiry = now + Duration::from_secs(l.ttl as u64);
        }
    }

    /// Leases past their deadline, oldest first.
    pub fn expired(&self, now: Instant) -> Vec<i64> {
        let mut v: Vec<&Lease> = self.leases.values().filter(|l| l.expiry <= now).collect();
        v.sort_by_key(|l| (l.expiry, l.id));
        v.into_iter().map(|l| l.id).collect()
    }

    /// All leases, ordered by deadline as etcd lists them.
    pub fn leases(&self) -> Vec<&Lease> {
        let mut v: Vec<&Lease> = self.leases.values().collect();
        v.sort_by_key(|l| (l.expiry, l.id));
        v
    }

    pub fn len(&self) -> usize {
        self.leases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_attach_revoke() {
        let now = Instant::now();
        let mut l = Lessor::new();
        assert_eq!(l.grant(7, 1, now).unwrap().ttl, LEASE_MIN_TTL);
        assert_eq!(l.grant(7, 10, now).unwrap_err(), Error::LeaseExists);
        assert_eq!(l.grant(8, LEASE_MAX_TTL + 1, now).unwrap_err(), Error::LeaseTtlTooLarge);
        l.grant(9, 100, now).unwrap();
        l.attach(7, b"a");
        l.attach(7, b"b");
        l.attach(9, b"b");
        assert_eq!(l.lease_of(b"b"), Some(9));
        assert_eq!(l.revoke(7).unwrap(), vec![b"a".to_vec()]);
        assert_eq!(l.revoke(7).unwrap_err(), Error::LeaseNotFound);
        assert_eq!(l.lease_of(b"a"), None);
        assert_eq!(l.expired(now + Duration::from_secs(99)), Vec::<i64>::new());
        assert_eq!(l.expired(now + Duration::from_secs(100)), vec![9]);
        assert_eq!(l.renew(9, now + Duration::from_secs(50)).unwrap(), 100);
        assert!(l.expired(now + Duration::from_secs(100)).is_empty());
    }
}
