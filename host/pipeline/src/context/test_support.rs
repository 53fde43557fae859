//! What the contexts' tests share: an ack sink that records verdicts, and settings.

use std::sync::Mutex;

use crate::ack::AckSink;
use crate::settings::Settings;

/// Records every (ack id, delivered) verdict, in order.
#[derive(Default)]
pub(super) struct Record(pub(super) Mutex<Vec<(u64, bool)>>);

impl AckSink for Record {
    fn completed(&self, id: u64, delivered: bool) {
        self.0.lock().unwrap().push((id, delivered));
    }
}

/// Settings with hostname "h" and pid 9.
pub(super) fn settings() -> Settings {
    Settings {
        hostname: "h".into(),
        pid: 9,
        ..Settings::default()
    }
}
