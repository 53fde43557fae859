//! Server-side history: once a second, every plugin's rates, queue fill, utilization
//! and sandbox memory go into a ring of the last [`crate::OpsConfig::history_seconds`]
//! samples, so a freshly opened page draws its graphs at once (no peer keeps this;
//! Heka graphed only what sandboxes emitted).
//!
//! Memory is bounded: plugins × [`SERIES`] series × capacity points of 4 bytes, plus
//! one timestamp per point (≈ 7 KB per plugin for five minutes). Samples are taken on
//! a thread of its own from the registry's atomics; the pipeline does no extra work.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use heka_pipeline::Registry;
use serde::Serialize;

/// The series kept per plugin, in the order of a history point's values.
pub const SERIES: [&str; 6] = ["in", "out", "errors", "queue", "utilization", "memory"];

/// One plugin's values at one sample: messages/s in and out, errors/s, queue length
/// (batches), busy share of the second, sandbox memory (bytes).
type Point = [f32; 6];

/// The ring, shared by the sampler (writer) and the handlers (readers).
#[derive(Debug, Default)]
pub struct Ring {
    capacity: usize,
    times: VecDeque<f64>,
    plugins: HashMap<String, VecDeque<Point>>,
}

/// `GET /api/v1/history`: columns, oldest first.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub interval_seconds: f64,
    /// Unix seconds of each sample.
    pub time: Vec<f64>,
    /// Per plugin, per series name, one value per sample (aligned on the right with
    /// `time`: a plugin added later has fewer).
    pub plugins: HashMap<String, HashMap<&'static str, Vec<f32>>>,
}

impl Ring {
    fn new(capacity: usize) -> Ring {
        Ring {
            capacity: capacity.max(2),
            ..Ring::default()
        }
    }

    fn push(&mut self, time: f64, points: Vec<(String, Point)>) {
        if self.times.len() == self.capacity {
            self.times.pop_front();
        }
        self.times.push_back(time);
        let capacity = self.capacity;
        for (name, point) in points {
            let series = self.plugins.entry(name).or_default();
            if series.len() == capacity {
                series.pop_front();
            }
            series.push_back(point);
        }
    }

    /// The last `seconds` samples (all when larger than the ring).
    pub fn view(&self, seconds: usize) -> HistoryView {
        let take = seconds.min(self.times.len());
        let skip = self.times.len() - take;
        let plugins = self
            .plugins
            .iter()
            .map(|(name, points)| {
                let from = points.len().saturating_sub(take);
                let columns = SERIES
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (*s, points.iter().skip(from).map(|p| p[i]).collect()))
                    .collect();
                (name.clone(), columns)
            })
            .collect();
        HistoryView {
            interval_seconds: INTERVAL.as_secs_f64(),
            time: self.times.iter().skip(skip).copied().collect(),
            plugins,
        }
    }

    /// The latest utilization of `plugin` (busy share of the last second).
    pub fn utilization(&self, plugin: &str) -> Option<f32> {
        self.plugins.get(plugin)?.back().map(|p| p[4])
    }
}

/// How often a sample is taken.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Counters at the previous sample, to turn them into rates.
#[derive(Default, Clone, Copy)]
struct Previous {
    received: u64,
    sent: u64,
    errors: u64,
    busy_ns: u64,
}

/// The sampling thread.
pub struct Sampler {
    ring: Arc<Mutex<Ring>>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `registry` every [`INTERVAL`], keeping `capacity` samples.
    pub fn start(registry: Arc<Registry>, capacity: usize) -> std::io::Result<Sampler> {
        let ring = Arc::new(Mutex::new(Ring::new(capacity)));
        let (stop_tx, stop_rx) = std::sync::mpsc::channel();
        let thread_ring = ring.clone();
        let thread = std::thread::Builder::new()
            .name("ops-history".to_owned())
            .spawn(move || sample_loop(&registry, &thread_ring, &stop_rx))?;
        Ok(Sampler {
            ring,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The ring the handlers read.
    pub fn ring(&self) -> Arc<Mutex<Ring>> {
        self.ring.clone()
    }

    /// Stops the thread (also on drop).
    pub fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sample_loop(registry: &Registry, ring: &Mutex<Ring>, stop: &Receiver<()>) {
    let mut previous: HashMap<String, Previous> = HashMap::new();
    let mut last = Instant::now();
    // The first sample only sets the baseline (a rate needs two readings).
    take(registry, &mut previous, None);
    loop {
        match stop.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let now = Instant::now();
        let elapsed = now.duration_since(last).as_secs_f64().max(1e-3);
        last = now;
        let points = take(registry, &mut previous, Some(elapsed));
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        if let Ok(mut ring) = ring.lock() {
            ring.push(time, points);
        }
    }
}

/// Reads every plugin; with `elapsed`, returns its rates since the previous reading.
fn take(
    registry: &Registry,
    previous: &mut HashMap<String, Previous>,
    elapsed: Option<f64>,
) -> Vec<(String, Point)> {
    let mut points = Vec::new();
    for p in registry.plugins() {
        let now = Previous {
            received: p.received_messages.get(),
            sent: p.sent_messages.get(),
            errors: p.receiving_errors.get() + p.processing_errors.get() + p.sending_errors.get(),
            busy_ns: p.busy_ns.get(),
        };
        let before = previous.insert(p.name().to_owned(), now).unwrap_or(now);
        if let Some(elapsed) = elapsed {
            let rate = |a: u64, b: u64| (a.saturating_sub(b) as f64 / elapsed) as f32;
            let utilization =
                (now.busy_ns.saturating_sub(before.busy_ns) as f64 / 1e9 / elapsed).min(1.0) as f32;
            points.push((
                p.name().to_owned(),
                [
                    rate(now.received, before.received),
                    rate(now.sent, before.sent),
                    rate(now.errors, before.errors),
                    p.queue().map_or(0.0, |q| q.0 as f32),
                    utilization,
                    p.sandbox().memory_bytes.get() as f32,
                ],
            ));
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_its_capacity_and_aligns_columns() {
        let mut ring = Ring::new(3);
        for t in 0..5 {
            let mut points = vec![("a".to_owned(), [t as f32; 6])];
            if t >= 3 {
                points.push(("b".to_owned(), [1.0; 6]));
            }
            ring.push(t as f64, points);
        }
        let view = ring.view(300);
        assert_eq!(view.time, [2.0, 3.0, 4.0]);
        assert_eq!(view.plugins["a"]["in"], [2.0, 3.0, 4.0]);
        assert_eq!(view.plugins["b"]["out"], [1.0, 1.0]);
        let view = ring.view(1);
        assert_eq!(view.time, [4.0]);
        assert_eq!(view.plugins["a"]["queue"], [4.0]);
        assert_eq!(ring.utilization("a"), Some(4.0));
    }
}
