//! A tiny seeded PRNG (SplitMix64) so every trial's schedule is a pure function of
//! its printed seed: replaying a failure needs only that number.

/// `heka_fuzz::Rng` (the same SplitMix64) with the trials' helpers.
#[derive(Debug, Clone)]
pub struct Rng(heka_fuzz::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(heka_fuzz::Rng::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, n)` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[lo, hi)` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> std::time::Duration {
        std::time::Duration::from_millis(lo + self.below(hi - lo))
    }

    /// A fresh generator for a sub-task, derived from this one.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}
