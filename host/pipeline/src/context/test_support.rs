//! What the contexts' tests share: an ack sink that records verdicts, and settings.

pub(super) use crate::ack::testing::Record;
use crate::settings::Settings;

/// Settings with hostname "h" and pid 9.
pub(super) fn settings() -> Settings {
    Settings {
        hostname: "h".into(),
        pid: 9,
        ..Settings::default()
    }
}
