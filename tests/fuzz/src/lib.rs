//! A small mutation fuzzer for stable Rust, shared by the `fuzz_*` tests of
//! heka-message, heka-pipeline and hekad (cargo-fuzz needs nightly, which we do not
//! have; this is the property-test equivalent the issue allows).
//!
//! Inputs are made by stacking 1–4 mutations (bit flips, byte sets, inserts of
//! random bytes or of target-specific tokens, deletions, duplications, splices with
//! another corpus entry, truncations) on a corpus entry, plus 5% purely random
//! inputs. Inputs the target *accepts* join the corpus (up to [`MAX_CORPUS`]), so
//! mutations go on from valid inputs rather than drifting into noise. There is no
//! coverage feedback: it is a blunt instrument, aimed by good seeds.
//!
//! A target is a closure returning `Ok(true)` (accepted), `Ok(false)` (rejected the
//! way its API promises) or `Err(why)` (a broken promise). Panics are caught. Every
//! input is timed: one slower than [`Budget::per_input`] fails the run, and one still
//! running after [`WATCHDOG`] (a hang) makes a watchdog thread print it and abort.
//! A failing input is printed as a Rust byte-string literal ready to paste into a
//! regression test, with the seed that found it.
//!
//! Environment: `HEKA_FUZZ_SECS` (run each target that long instead of its default
//! of a few seconds), `HEKA_FUZZ_SEED` (replay a run's choices).

#![warn(missing_docs)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Corpus entries kept (seeds included).
pub const MAX_CORPUS: usize = 4096;
/// Longest input generated.
pub const MAX_LEN: usize = 4096;
/// An input still running after this long is a hang: printed, then the process aborts.
pub const WATCHDOG: Duration = Duration::from_secs(30);

/// How long to fuzz, and how long one input may take.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Total time (overridden by `HEKA_FUZZ_SECS`).
    pub total: Duration,
    /// Longest acceptable time for one input (debug build, loaded machine).
    pub per_input: Duration,
}

impl Budget {
    /// `default_secs` unless `HEKA_FUZZ_SECS` says otherwise; 2 s per input.
    pub fn from_env(default_secs: f64) -> Budget {
        let secs = std::env::var("HEKA_FUZZ_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(default_secs);
        Budget {
            total: Duration::from_secs_f64(secs.max(0.0)),
            per_input: Duration::from_secs(2),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Inputs tried.
    pub cases: u64,
    /// Inputs the target accepted (`Ok(true)`).
    pub accepted: u64,
    /// Inputs the target rejected as its API promises (`Ok(false)`).
    pub rejected: u64,
    /// Corpus size at the end (seeds included).
    pub corpus: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The slowest single input.
    pub slowest: Duration,
    /// The seed of the run (`HEKA_FUZZ_SEED` replays it).
    pub seed: u64,
}

impl Stats {
    /// Inputs per second.
    pub fn per_second(&self) -> f64 {
        self.cases as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// SplitMix64: small, seeded, good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, n)`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Applies 1–4 random mutations to a copy of `base`.
pub fn mutate(rng: &mut Rng, base: &[u8], corpus: &[Vec<u8>], tokens: &[&[u8]]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(10) {
            // Flip one bit.
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            // Set a byte to an edge value or a random one.
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                const EDGES: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, 0x1e, 0x1f, b'\n'];
                v[i] = if rng.below(2) == 0 {
                    EDGES[rng.below(EDGES.len())]
                } else {
                    rng.next_u64() as u8
                };
            }
            // Insert random bytes.
            2 => {
                let at = rng.below(v.len() + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                v.splice(at..at, bytes);
            }
            // Insert a token of the target's language.
            3 | 4 if !tokens.is_empty() => {
                let at = rng.below(v.len() + 1);
                let t = tokens[rng.below(tokens.len())];
                v.splice(at..at, t.iter().copied());
            }
            // Delete a range.
            5 if !v.is_empty() => {
                let at = rng.below(v.len());
                let n = 1 + rng.below((v.len() - at).min(16));
                v.drain(at..at + n);
            }
            // Duplicate a range in place.
            6 if !v.is_empty() => {
                let at = rng.below(v.len());
                let n = 1 + rng.below((v.len() - at).min(32));
                let copy = v[at..at + n].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, copy);
            }
            // Splice: our prefix, another entry's suffix.
            7 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            // Truncate.
            8 if !v.is_empty() => {
                let n = rng.below(v.len());
                v.truncate(n);
            }
            // Overwrite a byte with a neighbour's value (repeats, near-misses).
            _ if v.len() > 1 => {
                let i = rng.below(v.len() - 1);
                v[i] = v[i + 1];
            }
            _ => v.push(rng.next_u64() as u8),
        }
    }
    v.truncate(MAX_LEN);
    v
}

/// Renders `bytes` as a Rust byte-string literal.
pub fn literal(bytes: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// What the watchdog looks at: the input being run and since when.
struct Current {
    input: Mutex<Vec<u8>>,
    /// Milliseconds since `origin` when the input started; 0 = idle.
    started_ms: AtomicU64,
    done: AtomicBool,
}

/// Fuzzes `target` with inputs grown from `seeds` for `budget`; panics (failing the
/// test) on the first broken promise, panic or slow input, printing the input.
/// Returns the figures, also printed as one `fuzz <name>: ...` line.
pub fn run(
    name: &str,
    seeds: &[Vec<u8>],
    tokens: &[&[u8]],
    budget: Budget,
    mut target: impl FnMut(&[u8]) -> Result<bool, String>,
) -> Stats {
    let seed = std::env::var("HEKA_FUZZ_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let mut rng = Rng::new(seed);
    let mut corpus: Vec<Vec<u8>> = seeds.to_vec();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let origin = Instant::now();
    let current = Arc::new(Current {
        input: Mutex::new(Vec::new()),
        started_ms: AtomicU64::new(0),
        done: AtomicBool::new(false),
    });
    let watchdog = {
        let current = current.clone();
        let name = name.to_owned();
        std::thread::spawn(move || {
            while !current.done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let started = current.started_ms.load(Ordering::Relaxed);
                let now = origin.elapsed().as_millis() as u64;
                if started != 0 && now.saturating_sub(started) > WATCHDOG.as_millis() as u64 {
                    let input = current
                        .input
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone();
                    eprintln!(
                        "fuzz {name}: HANG (> {WATCHDOG:?}) on input {} (HEKA_FUZZ_SEED={seed}); aborting",
                        literal(&input)
                    );
                    std::process::abort();
                }
            }
        })
    };
    let mut stats = Stats {
        cases: 0,
        accepted: 0,
        rejected: 0,
        corpus: 0,
        elapsed: Duration::ZERO,
        slowest: Duration::ZERO,
        seed,
    };
    let mut failure: Option<String> = None;
    // The seeds themselves first, then mutants until the budget is spent.
    let mut pending: Vec<Vec<u8>> = corpus.iter().rev().cloned().collect();
    while failure.is_none() && (!pending.is_empty() || origin.elapsed() < budget.total) {
        let input = match pending.pop() {
            Some(i) => i,
            None if rng.below(20) == 0 => {
                let n = rng.below(256);
                (0..n).map(|_| rng.next_u64() as u8).collect()
            }
            None => {
                let base = &corpus[rng.below(corpus.len())];
                mutate(&mut rng, base, &corpus, tokens)
            }
        };
        current
            .input
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone_from(&input);
        let t0 = Instant::now();
        current.started_ms.store(
            origin.elapsed().as_millis().max(1) as u64,
            Ordering::Relaxed,
        );
        let result = catch_unwind(AssertUnwindSafe(|| target(&input)));
        current.started_ms.store(0, Ordering::Relaxed);
        let took = t0.elapsed();
        stats.cases += 1;
        stats.slowest = stats.slowest.max(took);
        let why = match result {
            Ok(Ok(true)) => {
                stats.accepted += 1;
                if corpus.len() < MAX_CORPUS {
                    if !corpus.contains(&input) {
                        corpus.push(input.clone());
                    }
                } else if rng.below(16) == 0 {
                    // Full: replace a random non-seed entry, so long runs keep moving.
                    let i = seeds.len() + rng.below(corpus.len() - seeds.len());
                    corpus[i] = input.clone();
                }
                None
            }
            Ok(Ok(false)) => {
                stats.rejected += 1;
                None
            }
            Ok(Err(why)) => Some(why),
            Err(panic) => Some(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string payload)".into())
            )),
        };
        let why = why.or_else(|| {
            (took > budget.per_input).then(|| format!("took {took:?} (> {:?})", budget.per_input))
        });
        if let Some(why) = why {
            failure = Some(format!(
                "fuzz {name}: {why}\ninput ({} bytes): {}\nreplay: HEKA_FUZZ_SEED={seed}",
                input.len(),
                literal(&input)
            ));
        }
    }
    current.done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    stats.elapsed = origin.elapsed();
    stats.corpus = corpus.len();
    eprintln!(
        "fuzz {name}: {} cases in {:.1} s ({:.0}/s), {} accepted, {} rejected, corpus {}, slowest {:?}, seed {}",
        stats.cases,
        stats.elapsed.as_secs_f64(),
        stats.per_second(),
        stats.accepted,
        stats.rejected,
        stats.corpus,
        stats.slowest,
        stats.seed
    );
    if let Some(f) = failure {
        panic!("{f}");
    }
    stats
}
