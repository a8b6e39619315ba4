//! Watch: the hub that fans committed events out to watchers.

use crate::proto::mvccpb::Event;

/// Receives every committed batch of events, in revision order.
#[derive(Default)]
pub struct WatchHub {}

impl WatchHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called by the applier after each durable flush, in order.
    pub fn notify(&self, _rev: i64, _events: Vec<Event>) {}
}
