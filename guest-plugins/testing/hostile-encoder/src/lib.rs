//! Test guest: an encoder that floods the host with injections in one `encode` call
//! (only the last one is the encoded output, so the host must not keep the others):
//! `inject_payload` of `size` bytes (default 60,000), `count` times (default
//! 1,000,000), ignoring errors. Messages whose Payload starts with "healthy" are
//! encoded as their Payload.

use heka_sdk::{Encoder, Message, Result};

struct Flood {
    count: i64,
    size: usize,
}

impl Encoder for Flood {
    fn new() -> Result<Self> {
        Ok(Flood {
            count: heka_sdk::config_i64("count", 1_000_000),
            size: usize::try_from(heka_sdk::config_i64("size", 60_000)).unwrap_or(60_000),
        })
    }

    fn encode(&mut self, msg: &Message) -> Result {
        if msg.payload().starts_with(b"healthy") {
            return heka_sdk::inject_payload("txt", "", msg.payload());
        }
        let data = "x".repeat(self.size);
        for _ in 0..self.count {
            let _ = heka_sdk::inject_payload("txt", "flood", &data);
        }
        Ok(())
    }
}

heka_sdk::export_encoder!(Flood);
