//! Test guest: a filter that attacks the host in the way its `[<name>.config] mode`
//! names, so that one component serves every hostile case of the sandbox suite
//! (`tests/tests/e2e/hostile.rs`, `host/sandbox/tests/hostile.rs`). Messages whose
//! Payload starts with "healthy" are let through untouched in every mode, so a test
//! can prove the plugin was alive before the attack.
//!
//! Modes (all in `process_message` unless said otherwise):
//! - `inject-payload-flood`: `inject_payload` of `size` bytes (default 60,000), `count`
//!   times (default 1,000,000) in one call, ignoring errors.
//! - `inject-message-flood`: the same with `inject_message`.
//! - `sleep`: `std::thread::sleep` for an hour (a WASI pollable `block`).
//! - `poll`: `wasi:io/poll.poll` on a one-hour monotonic-clock subscription.
//! - `recurse`: unbounded recursion (stack overflow).
//! - `trap`: executes `unreachable`.
//! - `panic`: panics (the `panic` guest only does on a Payload of exactly "panic").
//! - `init-loop`: loops forever in `new` (the plugin never starts).
//! - `read-config`: reads the config value `blob` (as big as the user made it) and
//!   keeps a copy.
//! - `huge-state`: `save_state` returns `size` bytes.
//! - `loop`: loops forever (for `instruction_limit = 0`: only the wall-clock cap or
//!   the shutdown stops it).

use heka_sdk::{ConfigValue, Filter, Message, Result};

mod wasi {
    wit_bindgen::generate!({ path: "wit", world: "waits", generate_all });
}

const HOUR_NS: u64 = 3_600 * 1_000_000_000;

struct Hostile {
    mode: String,
    count: i64,
    size: usize,
    kept: Vec<String>,
}

fn spin(seed: u64) -> ! {
    let mut n = seed;
    loop {
        n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Called through this pointer, read with a volatile load, so that the optimiser can
/// neither inline nor turn the recursion into a loop.
static RECURSE: fn(u64) -> u64 = recurse;

/// Unbounded recursion on wasm's own call stack (no locals in linear memory: Rust's
/// shadow stack would overflow into an out-of-bounds access instead), so wasmtime
/// stops it with "call stack exhausted".
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    // SAFETY: a plain read of an initialised static.
    let next = unsafe { std::ptr::read_volatile(&RECURSE) };
    next(depth + 1).wrapping_mul(3).wrapping_add(depth)
}

impl Filter for Hostile {
    fn new() -> Result<Self> {
        let mode = heka_sdk::read_config("mode")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if mode == "init-loop" {
            spin(1);
        }
        Ok(Hostile {
            mode,
            count: heka_sdk::config_i64("count", 1_000_000),
            size: usize::try_from(heka_sdk::config_i64("size", 60_000)).unwrap_or(60_000),
            kept: Vec::new(),
        })
    }

    fn process_message(&mut self, msg: &Message) -> Result {
        if msg.payload().starts_with(b"healthy") {
            return Ok(());
        }
        match self.mode.as_str() {
            "inject-payload-flood" => {
                let data = "x".repeat(self.size);
                for _ in 0..self.count {
                    let _ = heka_sdk::inject_payload("txt", "flood", &data);
                }
            }
            "inject-message-flood" => {
                let m = Message {
                    payload: Some(vec![b'x'; self.size]),
                    ..Default::default()
                };
                for _ in 0..self.count {
                    let _ = heka_sdk::inject_message(&m);
                }
            }
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(3_600)),
            "poll" => {
                let p = wasi::wasi::clocks::monotonic_clock::subscribe_duration(HOUR_NS);
                wasi::wasi::io::poll::poll(&[&p]);
            }
            "recurse" => {
                std::hint::black_box(recurse(0));
            }
            "trap" => core::arch::wasm32::unreachable(),
            "panic" => panic!("hostile guest panicked on purpose"),
            "read-config" => {
                if let Some(ConfigValue::Text(blob)) = heka_sdk::read_config("blob") {
                    self.kept.push(blob);
                }
            }
            "loop" => spin(msg.payload().len() as u64),
            _ => {}
        }
        Ok(())
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        (self.mode == "huge-state").then(|| vec![b's'; self.size])
    }
}

heka_sdk::export_filter!(Hostile);
