//! Range: etcd's option handling on top of a [`ReadView`] (limit, sort,
//! min/max revision filters, keys_only, count_only, `more`).

use crate::error::Result;
use crate::mvcc::{KeyRange, RangeOptions, ReadView};
use crate::proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use crate::proto::etcdserverpb::{RangeRequest, RangeResponse, ResponseHeader};
use crate::proto::mvccpb::KeyValue;

pub fn range(view: &impl ReadView, r: &RangeRequest) -> Result<RangeResponse> {
    let filtered =
        r.min_mod_revision != 0 || r.max_mod_revision != 0 || r.min_create_revision != 0 || r.max_create_revision != 0;
    let sort_order = SortOrder::try_from(r.sort_order).unwrap_or(SortOrder::None);
    let sort_target = SortTarget::try_from(r.sort_target).unwrap_or(SortTarget::Key);
    // Sorting or filtering needs every key before the limit applies.
    let mut limit = if sort_order != SortOrder::None || filtered { 0 } else { r.limit };
    if limit > 0 {
        limit += 1; // one extra tells whether there is more
    }
    let opts = RangeOptions { limit: limit.max(0) as usize, rev: r.revision, count_only: r.count_only };
    let rr = view.range(KeyRange::new(&r.key, &r.range_end), opts)?;
    let mut kvs = rr.kvs;
    if r.max_mod_revision != 0 {
        kvs.retain(|kv| kv.mod_revision <= r.max_mod_revision);
    }
    if r.min_mod_revision != 0 {
        kvs.retain(|kv| kv.mod_revision >= r.min_mod_revision);
    }
    if r.min_create_revision != 0 {
        kvs.retain(|kv| kv.create_revision >= r.min_create_revision);
    }
    if r.max_create_revision != 0 {
        kvs.retain(|kv| kv.create_revision <= r.max_create_revision);
    }
    let order =
        if sort_target != SortTarget::Key && sort_order == SortOrder::None { SortOrder::Ascend } else { sort_order };
    if order != SortOrder::None {
        sort(&mut kvs, sort_target, order);
    }
    let mut more = false;
    if r.limit > 0 && kvs.len() > r.limit as usize {
        kvs.truncate(r.limit as usize);
        more = true;
    }
    if r.keys_only {
        for kv in &mut kvs {
            kv.value.clear();
        }
    }
    Ok(RangeResponse {
        header: Some(ResponseHeader { revision: rr.rev, ..Default::default() }),
        kvs,
        more,
        count: rr.count as i64,
    })
}

fn sort(kvs: &mut [KeyValue], target: SortTarget, order: SortOrder) {
    let key = |a: &KeyValue, b: &KeyValue| match target {
        SortTarget::Key => a.key.cmp(&b.key),
        SortTarget::Version => a.version.cmp(&b.version),
        SortTarget::Create => a.create_revision.cmp(&b.create_revision),
        SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
        SortTarget::Value => a.value.cmp(&b.value),
    };
    // Stable either way, as Go's sort.Sort is for the small inputs it insertion-sorts.
    if order == SortOrder::Descend {
        kvs.sort_by(|a, b| key(b, a));
    } else {
        kvs.sort_by(key);
    }
}
