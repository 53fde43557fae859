//! Sandbox outputs: the latest `inject_payload(type, name, ...)` of a sandbox filter,
//! one per name, kept beside the plugin's statistics for the ops listener to serve.
//!
//! Heka's DashboardOutput received every `heka.sandbox-output` message through the
//! router and wrote it to `<Logger>.<name>.<type>` files for its page to fetch. Here
//! [`crate::sandbox::SandboxFilter`] records each payload as it injects it (Lua and
//! wasm alike: both are engines of that one contract), and the listener reads the
//! slots directly, so the graphs keep coming when the router wedges and nothing is
//! written to disk. The injected message itself still travels as in Heka.
//!
//! **Bound** (per filter): at most `max_names` outputs ([`Settings::max_sandbox_outputs`],
//! `[hekad] max_sandbox_outputs`, default [`DEFAULT_MAX_NAMES`]); each payload holds
//! at most the filter's `output_limit` bytes and its type and name together at most
//! `output_limit` too (the sandbox refuses larger injections before they get here).
//! So a filter's outputs hold at most [`bound_bytes`] = `max_names × 2 × output_limit`
//! bytes (32 × 2 × 63 KiB ≈ 4 MiB with the defaults), plus, briefly, one copy per
//! listener request that is still sending. A name past the cap is not kept and is counted
//! ([`SandboxOutputs::refused`]): the first names stay, so a script that invents
//! names cannot push its real graphs out.
//!
//! **Cost**: one mutex per filter, taken by the filter's own thread per
//! `inject_payload` and by the listener when it reads (never a global lock), a search
//! over at most `max_names` names, and one copy of the payload into the slot. The
//! slot's buffer is reused when no reader holds it, so the steady state allocates
//! nothing.
//!
//! [`Settings::max_sandbox_outputs`]: crate::Settings::max_sandbox_outputs

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Counter, wall_ns};

/// Outputs kept per filter unless `[hekad] max_sandbox_outputs` says otherwise.
pub const DEFAULT_MAX_NAMES: usize = 32;

/// The bound (module docs) on the bytes one filter's outputs hold:
/// `max_names × 2 × output_limit` (each payload, and its type and name together, at
/// most `output_limit`).
pub fn bound_bytes(max_names: usize, output_limit: usize) -> u64 {
    (max_names as u64)
        .saturating_mul(2)
        .saturating_mul(output_limit as u64)
}

/// One output: the payload of the latest `inject_payload` under its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOutput {
    /// `payload_name` (may be empty, Heka's default).
    pub name: String,
    /// `payload_type` (`cbuf`, `txt`, `json`, ...), as the script gave it.
    pub payload_type: String,
    /// The bytes, exactly as injected.
    pub payload: Vec<u8>,
    /// When it was injected, ns since the Unix epoch.
    pub updated_ns: i64,
}

/// A filter's latest outputs, one per name, bounded (module docs).
#[derive(Debug)]
pub struct SandboxOutputs {
    max_names: AtomicUsize,
    slots: Mutex<Vec<Arc<SandboxOutput>>>,
    /// Injections under a new name that were not kept (the cap was reached).
    pub refused: Counter,
}

impl Default for SandboxOutputs {
    fn default() -> SandboxOutputs {
        SandboxOutputs {
            max_names: AtomicUsize::new(DEFAULT_MAX_NAMES),
            slots: Mutex::new(Vec::new()),
            refused: Counter::default(),
        }
    }
}

impl SandboxOutputs {
    fn slots(&self) -> MutexGuard<'_, Vec<Arc<SandboxOutput>>> {
        // A panic while holding the lock leaves whole slots behind (each is replaced
        // or updated in one step), so a poisoned lock is still good to use.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most names kept. Lowering it (a reload) drops the newest names past it.
    pub fn set_max_names(&self, max: usize) {
        self.max_names.store(max, Ordering::Relaxed);
        self.slots().truncate(max);
    }

    /// The most names kept.
    pub fn max_names(&self) -> usize {
        self.max_names.load(Ordering::Relaxed)
    }

    /// Keeps `payload` as the latest output named `name`. False when the name is new
    /// and the cap is reached (counted in [`SandboxOutputs::refused`]).
    pub fn record(&self, payload_type: &str, name: &str, payload: &[u8]) -> bool {
        let now = wall_ns();
        let mut slots = self.slots();
        if let Some(slot) = slots.iter_mut().find(|s| s.name == name) {
            match Arc::get_mut(slot) {
                // No reader holds it: reuse the buffers.
                Some(out) => {
                    // Exact growth: the buffer never holds more than the largest
                    // payload (at most `output_limit`), whatever came before.
                    out.payload.clear();
                    out.payload.reserve_exact(payload.len());
                    out.payload.extend_from_slice(payload);
                    if out.payload_type != payload_type {
                        payload_type.clone_into(&mut out.payload_type);
                    }
                    out.updated_ns = now;
                }
                None => *slot = Arc::new(output(payload_type, name, payload, now)),
            }
            return true;
        }
        if slots.len() >= self.max_names() {
            drop(slots);
            self.refused.inc();
            return false;
        }
        slots.push(Arc::new(output(payload_type, name, payload, now)));
        true
    }

    /// Every output, in the order their names first appeared.
    pub fn list(&self) -> Vec<Arc<SandboxOutput>> {
        self.slots().clone()
    }

    /// How many names are kept.
    pub fn len(&self) -> usize {
        self.slots().len()
    }

    /// Whether no output was kept yet.
    pub fn is_empty(&self) -> bool {
        self.slots().is_empty()
    }

    /// The output named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<SandboxOutput>> {
        self.slots().iter().find(|s| s.name == name).cloned()
    }

    /// Bytes held: payloads, types and names (the bound's figure, for tests and stats).
    pub fn bytes_held(&self) -> usize {
        self.slots()
            .iter()
            .map(|s| s.payload.capacity() + s.payload_type.capacity() + s.name.capacity())
            .sum()
    }
}

fn output(payload_type: &str, name: &str, payload: &[u8], now: i64) -> SandboxOutput {
    SandboxOutput {
        name: name.to_owned(),
        payload_type: payload_type.to_owned(),
        payload: payload.to_vec(),
        updated_ns: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_payload_per_name_is_kept() {
        let o = SandboxOutputs::default();
        assert!(o.record("cbuf", "HTTP Status", b"first"));
        assert!(o.record("txt", "", b"\xff raw"));
        assert!(o.record("cbuf", "HTTP Status", b"second"));
        let list = o.list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "HTTP Status");
        assert_eq!(list[0].payload, b"second");
        // Bytes are bytes: not UTF-8, kept as they came.
        assert_eq!(o.get("").unwrap().payload, b"\xff raw");
        assert!(o.get("nope").is_none());
    }

    #[test]
    fn a_reader_holding_an_output_sees_it_unchanged() {
        let o = SandboxOutputs::default();
        o.record("json", "n", b"{\"a\":1}");
        let held = o.get("n").unwrap();
        o.record("txt", "n", b"later");
        assert_eq!(held.payload, b"{\"a\":1}");
        let now = o.get("n").unwrap();
        assert_eq!(
            (now.payload_type.as_str(), &now.payload[..]),
            ("txt", &b"later"[..])
        );
    }

    /// The documented bound: `max_names` outputs of at most `output_limit` bytes each,
    /// whatever a script injects; new names past the cap are counted, old ones update.
    #[test]
    fn memory_is_bounded_by_names_times_output_limit() {
        let output_limit = 1024;
        let o = SandboxOutputs::default();
        o.set_max_names(4);
        for i in 0..1000 {
            let name = format!("name-{i}");
            let size = (i * 37) % output_limit + 1;
            o.record("cbuf", &name, &vec![b'x'; size]);
            o.record("cbuf", "name-0", &vec![b'y'; size]);
        }
        assert_eq!(o.list().len(), 4);
        assert_eq!(o.refused.get(), 996);
        let bound = bound_bytes(4, output_limit) as usize;
        assert!(o.bytes_held() <= bound, "{} > {bound}", o.bytes_held());
        let names: Vec<_> = o.list().iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, ["name-0", "name-1", "name-2", "name-3"]);
        o.set_max_names(2);
        assert_eq!(o.list().len(), 2);
    }
}
