//! Numbered log lines for the agent → aggregator trials (TCP, NATS): each line is
//! `<prefix> <n, 8 digits> lorem ipsum…` cut to a fixed length, so a received line
//! tells its number and can be checked byte for byte against what was written.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::time::Instant;

/// The lines of one trial: a prefix and a length (without the newline).
#[derive(Debug, Clone, Copy)]
pub struct Lines {
    pub prefix: &'static str,
    pub len: usize,
}

impl Lines {
    /// Line `n`.
    pub fn line(&self, n: u64) -> String {
        let mut l = format!("{} {n:08} ", self.prefix);
        while l.len() < self.len {
            l.push_str("lorem ipsum ");
        }
        l.truncate(self.len);
        l
    }

    /// Appends the lines due at `rate` per second since `start` to `log`; returns the
    /// new count.
    pub fn write_due(&self, log: &mut File, written: u64, start: Instant, rate: u64) -> u64 {
        let due = start.elapsed().as_millis() as u64 * rate / 1000;
        let mut text = String::new();
        for n in written + 1..=due {
            text.push_str(&self.line(n));
            text.push('\n');
        }
        log.write_all(text.as_bytes()).expect("append");
        due.max(written)
    }

    /// Adds to `seen` how many times each line number appears in `text`; an error
    /// names a line that was never written.
    pub fn count(&self, text: &str, seen: &mut HashMap<u64, u32>) -> Result<(), String> {
        for l in text.lines() {
            let n = l
                .strip_prefix(self.prefix)
                .and_then(|r| r.strip_prefix(' '))
                .and_then(|r| r.get(..8))
                .and_then(|d| d.parse::<u64>().ok())
                .filter(|&n| l == self.line(n))
                .ok_or_else(|| format!("a line that was never written: {l:?}"))?;
            *seen.entry(n).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// The seed in environment variable `var`, else one from the clock (printed by the
/// trials so that a failure can be replayed).
pub fn seed_from_env(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}
