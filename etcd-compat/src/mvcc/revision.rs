//! A revision: `main` is the store revision of a txn, `sub` the change index in it.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Revision {
    pub main: i64,
    pub sub: i64,
}

/// Byte length of an encoded revision key (without the tombstone mark).
pub const REV_BYTES: usize = 16;
const TOMBSTONE: u8 = b't';

impl Revision {
    pub fn new(main: i64, sub: i64) -> Self {
        Self { main, sub }
    }

    /// Big-endian, so the engine's key order is revision order.
    pub fn to_key(self, tombstone: bool) -> Vec<u8> {
        let mut k = Vec::with_capacity(REV_BYTES + 1);
        k.extend_from_slice(&self.main.to_be_bytes());
        k.extend_from_slice(&self.sub.to_be_bytes());
        if tombstone {
            k.push(TOMBSTONE);
        }
        k
    }

    /// The smallest key at or after `main` (for scans by main revision).
    pub fn start_key(main: i64) -> Vec<u8> {
        Revision::new(main, 0).to_key(false)
    }

    /// Decodes a key; the flag says whether it marks a tombstone.
    pub fn from_key(k: &[u8]) -> Result<(Revision, bool)> {
        if k.len() != REV_BYTES && k.len() != REV_BYTES + 1 {
            return Err(Error::Corrupt(format!("revision key of {} bytes", k.len())));
        }
        let mut main = [0u8; 8];
        let mut sub = [0u8; 8];
        main.copy_from_slice(&k[..8]);
        sub.copy_from_slice(&k[8..16]);
        let rev = Revision::new(i64::from_be_bytes(main), i64::from_be_bytes(sub));
        Ok((rev, k.len() == REV_BYTES + 1 && k[REV_BYTES] == TOMBSTONE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_revision_order() {
        let a = Revision::new(2, 9).to_key(false);
        let b = Revision::new(3, 0).to_key(true);
        assert!(a < b);
        assert_eq!(Revision::from_key(&b).unwrap(), (Revision::new(3, 0), true));
        assert_eq!(Revision::from_key(&a).unwrap(), (Revision::new(2, 9), false));
        assert!(Revision::from_key(b"short").is_err());
    }
}
