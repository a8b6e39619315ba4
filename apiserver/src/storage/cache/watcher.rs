//! One watcher of a [`super::WatchCache`]: its backlog from history, then the
//! shared broadcast channel.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use super::CacheEvent;

/// A watch on the cache: events in revision order without gap or duplicate.
pub struct CacheWatch {
    backlog: VecDeque<Arc<CacheEvent>>,
    rx: broadcast::Receiver<Arc<CacheEvent>>,
    /// Live events at or below this revision are skipped (a start revision
    /// newer than the cache's).
    after: i64,
    /// The revision of the last event returned, or the start revision.
    last: i64,
    rev_rx: watch::Receiver<i64>,
}

impl CacheWatch {
    pub(super) fn new(
        backlog: VecDeque<Arc<CacheEvent>>,
        rx: broadcast::Receiver<Arc<CacheEvent>>,
        after: i64,
        rev_rx: watch::Receiver<i64>,
    ) -> Self {
        Self { backlog, rx, after, last: after, rev_rx }
    }

    /// The next event; `None` means the watch must end (the watcher fell too
    /// far behind, or the cache relisted or stopped) and the client relists.
    pub async fn next(&mut self) -> Option<Arc<CacheEvent>> {
        if let Some(ev) = self.backlog.pop_front() {
            self.last = ev.revision;
            return Some(ev);
        }
        loop {
            match self.rx.recv().await {
                Ok(ev) if ev.revision <= self.after => continue,
                Ok(ev) => {
                    self.last = ev.revision;
                    return Some(ev);
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "ending a watcher that fell behind");
                    return None;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Like [`CacheWatch::next`] without waiting: `Ok(None)` when nothing is
    /// pending, `Err(())` when the watch must end.
    #[allow(clippy::result_unit_err)]
    pub fn try_next(&mut self) -> Result<Option<Arc<CacheEvent>>, ()> {
        if let Some(ev) = self.backlog.pop_front() {
            self.last = ev.revision;
            return Ok(Some(ev));
        }
        loop {
            match self.rx.try_recv() {
                Ok(ev) if ev.revision <= self.after => continue,
                Ok(ev) => {
                    self.last = ev.revision;
                    return Ok(Some(ev));
                }
                Err(broadcast::error::TryRecvError::Empty) => return Ok(None),
                Err(_) => return Err(()),
            }
        }
    }

    /// The revision a bookmark may carry now: every event up to it has been
    /// returned by `next`. That is the cache's revision when nothing is
    /// pending for this watcher, else the last event's revision.
    pub fn current_revision(&self) -> i64 {
        // Read the revision before checking for pending events: the cache
        // broadcasts events before it publishes their revision.
        let rev = *self.rev_rx.borrow();
        if self.backlog.is_empty() && self.rx.is_empty() {
            rev.max(self.last)
        } else {
            self.last
        }
    }
}
