//! Compaction: drops history before a revision (always physical here).

use super::{header, Applier};
use crate::error::{Error, Result};
use crate::proto::etcdserverpb::{CompactionRequest, CompactionResponse};

pub(super) fn apply(a: &mut Applier, r: &CompactionRequest) -> Result<CompactionResponse> {
    let current = a.writer.rev();
    if r.revision <= a.shared.store.compact_rev() {
        return Err(Error::Compacted);
    }
    if r.revision > current {
        return Err(Error::FutureRevision);
    }
    a.writer.compact(r.revision);
    Ok(CompactionResponse { header: header(current) })
}
