//! What a fresh message is stamped with: the time ([`now_ns`]) and a random id
//! ([`new_uuid`]), and the headers Heka's pools give a new pack
//! ([`stamped_message`]). Runners read the clock here for timer events too.

use std::time::{SystemTime, UNIX_EPOCH};

use heka_message::Message;
use rand::RngCore;

/// A fresh random (v4) UUID. Uses the thread's fast RNG rather than a syscall per
/// message; uniqueness, not secrecy, is what a message id needs.
pub(crate) fn new_uuid() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .as_uuid()
        .as_bytes()
        .to_vec()
}

/// Now, in ns since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A message with the headers Heka's pools give a fresh pack: a new Uuid, Timestamp
/// = now, and the given Logger, Hostname and Pid.
pub(crate) fn stamped_message(logger: &str, hostname: &str, pid: i32) -> Message {
    Message {
        uuid: new_uuid(),
        timestamp: now_ns(),
        logger: Some(logger.to_owned()),
        hostname: Some(hostname.to_owned()),
        pid: Some(pid),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_fresh_messages() {
        let m = stamped_message("in", "host", 42);
        assert_eq!(m.uuid.len(), 16);
        assert_eq!(m.uuid[6] >> 4, 4, "version 4");
        assert_ne!(m.uuid, stamped_message("in", "host", 42).uuid);
        assert!(m.timestamp > 1_600_000_000_000_000_000);
        assert_eq!(m.logger.as_deref(), Some("in"));
        assert_eq!(m.hostname.as_deref(), Some("host"));
        assert_eq!(m.pid, Some(42));
    }
}
