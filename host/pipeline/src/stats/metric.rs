//! The atomic cells a runner bumps on its hot path: [`Counter`] (monotonic),
//! [`Gauge`] (set or raised) and [`MaxRatio`] (the largest ratio seen), each one
//! relaxed atomic so that the ops listener reads them from its own thread, lock-free.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count (Prometheus counter).
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n` (relaxed: readers want a recent value, not an ordering).
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (Prometheus gauge), as an unsigned integer.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Raises the value to `v` if `v` is larger (a high-water mark).
    #[inline]
    pub fn raise(&self, v: u64) {
        self.0.fetch_max(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A high-water mark of a ratio (0.0 and up), stored as `f64` bits. Non-negative
/// floats order like their bit patterns, so `fetch_max` on the bits is a float max.
#[derive(Debug, Default)]
pub struct MaxRatio(AtomicU64);

impl MaxRatio {
    /// Raises the mark to `ratio` (negative or NaN values are ignored).
    #[inline]
    pub fn raise(&self, ratio: f64) {
        if ratio >= 0.0 {
            self.0.fetch_max(ratio.to_bits(), Ordering::Relaxed);
        }
    }

    /// The mark.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}
