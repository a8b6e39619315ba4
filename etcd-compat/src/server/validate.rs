//! Request checks etcd's v3rpc layer runs before proposing.

use crate::error::{Error, Result};
use crate::proto::etcdserverpb::{DeleteRangeRequest, PutRequest, RangeRequest};

pub fn check_range(r: &RangeRequest) -> Result<()> {
    if r.key.is_empty() {
        return Err(Error::EmptyKey);
    }
    Ok(())
}

pub fn check_put(r: &PutRequest) -> Result<()> {
    if r.key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if r.ignore_value && !r.value.is_empty() {
        return Err(Error::ValueProvided);
    }
    if r.ignore_lease && r.lease != 0 {
        return Err(Error::LeaseProvided);
    }
    Ok(())
}

pub fn check_delete(r: &DeleteRangeRequest) -> Result<()> {
    if r.key.is_empty() {
        return Err(Error::EmptyKey);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_checks_match_etcd() {
        assert_eq!(check_put(&PutRequest::default()), Err(Error::EmptyKey));
        let r = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ignore_value: true, ..Default::default() };
        assert_eq!(check_put(&r), Err(Error::ValueProvided));
        let r = PutRequest { key: b"k".to_vec(), lease: 5, ignore_lease: true, ..Default::default() };
        assert_eq!(check_put(&r), Err(Error::LeaseProvided));
        assert_eq!(check_range(&RangeRequest::default()), Err(Error::EmptyKey));
    }
}
