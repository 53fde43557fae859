//! Test guest: a decoder that floods the host with `inject_message` in one `decode`
//! call: `count` messages (default 1,000,000) of `size` bytes of Payload (default
//! 60,000), ignoring errors. Records that start with "healthy" pass unchanged.

use heka_sdk::{Decoder, Message, Result};

struct Flood {
    count: i64,
    size: usize,
}

impl Decoder for Flood {
    fn new() -> Result<Self> {
        Ok(Flood {
            count: heka_sdk::config_i64("count", 1_000_000),
            size: usize::try_from(heka_sdk::config_i64("size", 60_000)).unwrap_or(60_000),
        })
    }

    fn decode(&mut self, msg: &Message) -> Result {
        if msg.payload().starts_with(b"healthy") {
            return Ok(());
        }
        let m = Message {
            payload: Some(vec![b'x'; self.size]),
            ..Default::default()
        };
        for _ in 0..self.count {
            let _ = heka_sdk::inject_message(&m);
        }
        Ok(())
    }
}

heka_sdk::export_decoder!(Flood);
