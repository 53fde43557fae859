//! The load generator (Heka's `heka-flood` job for log files): deterministic
//! nginx-style access lines, 100–250 bytes each, from a fixed seed.
//!
//! The same seed and line number always give the same line, on every machine and
//! for every version of this crate: the generator is a hand-written SplitMix64 over
//! fixed tables rather than `rand`, whose algorithms may change between releases
//! (a benchmark must be able to regenerate last month's file byte for byte).
//! [`Flood::line`] writes into a caller's buffer: generating allocates nothing.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Shortest and longest generated line, newline included.
pub const MIN_LINE: usize = 100;
pub const MAX_LINE: usize = 250;

const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD"];
const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/v1/items",
    "/api/v1/items/search",
    "/api/v2/users/profile/settings",
    "/static/js/app.bundle.min.js",
    "/static/css/site.css",
    "/images/products/large/product-photo.jpg",
    "/checkout/cart/update",
    "/healthz",
];
const STATUS: &[u16] = &[
    200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 403, 404, 500, 503,
];
const REFERRERS: &[&str] = &[
    "-",
    "https://www.example.com/",
    "https://www.example.com/search?q=heka+log+router",
    "https://news.example.org/articles/2026/11/25/logging-at-scale",
];
const AGENTS: &[&str] = &[
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "Go-http-client/1.1",
    "kube-probe/1.31",
];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// SplitMix64: a fixed, tiny, well-distributed generator.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A deterministic stream of access-log lines.
#[derive(Clone, Debug)]
pub struct Flood {
    rng: SplitMix64,
    n: u64,
}

impl Flood {
    /// The stream for `seed`, from its first line.
    pub fn new(seed: u64) -> Flood {
        Flood {
            rng: SplitMix64(seed),
            n: 0,
        }
    }

    /// Lines generated so far.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Appends the next line (newline included) to `out`.
    pub fn line(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        let r = &mut self.rng;
        let ip = r.next();
        let secs = self.n / 1000;
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "{}.{}.{}.{} - - [{:02}/{}/2026:{:02}:{:02}:{:02} +0000] \"{} {}?id={} HTTP/1.1\" {} {} \"{}\" \"{}\" rt={}.{:03}",
            10 + (ip & 0x7f),
            (ip >> 8) & 0xff,
            (ip >> 16) & 0xff,
            1 + ((ip >> 24) % 254),
            1 + (secs / 86_400) % 28,
            MONTHS[((secs / (86_400 * 28)) % 12) as usize],
            (secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60,
            METHODS[r.below(METHODS.len())],
            PATHS[r.below(PATHS.len())],
            r.next() % 1_000_000,
            STATUS[r.below(STATUS.len())],
            r.next() % 100_000,
            REFERRERS[r.below(REFERRERS.len())],
            AGENTS[r.below(AGENTS.len())],
            r.next() % 3,
            r.next() % 1000,
        );
        // Pad short lines and cut long ones into [MIN_LINE, MAX_LINE], newline included.
        let target = MIN_LINE + r.below(MAX_LINE - MIN_LINE + 1);
        let len = out.len() - start;
        if len + 1 < target {
            out.extend_from_slice(b" pad=");
            let pad = (target - 1).saturating_sub(out.len() - start);
            out.extend(std::iter::repeat_n(b'x', pad));
        }
        out.truncate(start + target - 1);
        out.push(b'\n');
        self.n += 1;
    }
}

/// What [`write_file`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub lines: u64,
    pub bytes: u64,
}

/// Writes `lines` lines of `seed`'s stream to `path` (replacing it), as fast as the
/// disk takes them.
pub fn write_file(path: &Path, seed: u64, lines: u64) -> io::Result<Written> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut flood = Flood::new(seed);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut bytes = 0;
    while flood.count() < lines {
        flood.line(&mut buf);
        if buf.len() >= 60 * 1024 {
            out.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    bytes += buf.len() as u64;
    out.flush()?;
    Ok(Written { lines, bytes })
}

/// Writes the first `lines` lines of `seed`'s stream round-robin into `files` files
/// `dir/access-<i>.log` (replacing them): the same lines as [`write_file`], spread.
pub fn write_spread(dir: &Path, seed: u64, lines: u64, files: usize) -> io::Result<Written> {
    let files = files.max(1);
    let mut outs = (0..files)
        .map(|i| {
            File::create(dir.join(format!("access-{i}.log")))
                .map(|f| BufWriter::with_capacity(16 * 1024, f))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut flood = Flood::new(seed);
    let mut buf = Vec::with_capacity(MAX_LINE);
    let mut bytes = 0;
    while flood.count() < lines {
        buf.clear();
        let i = (flood.count() % files as u64) as usize;
        flood.line(&mut buf);
        outs[i].write_all(&buf)?;
        bytes += buf.len() as u64;
    }
    for out in &mut outs {
        out.flush()?;
    }
    Ok(Written { lines, bytes })
}

/// Writes about `total` bytes of lines of exactly `line_len` bytes (newline included)
/// to `path`, each made of `seed`'s stream with the inner newlines turned to spaces.
pub fn write_long_lines(
    path: &Path,
    seed: u64,
    total: u64,
    line_len: usize,
) -> io::Result<Written> {
    let line_len = line_len.max(MAX_LINE + 1);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut flood = Flood::new(seed);
    let mut line = Vec::with_capacity(line_len + MAX_LINE);
    let (mut lines, mut bytes) = (0, 0);
    while bytes < total.max(1) {
        line.clear();
        while line.len() < line_len {
            flood.line(&mut line);
            if let Some(last) = line.last_mut() {
                *last = b' ';
            }
        }
        line.truncate(line_len - 1);
        line.push(b'\n');
        out.write_all(&line)?;
        lines += 1;
        bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(Written { lines, bytes })
}

/// Appends `lines` lines of `seed`'s stream to `path` at `rate` lines per second
/// (in slices of 10 ms, each one `write`), starting at line `skip` of the stream.
pub fn append_at_rate(
    path: &Path,
    seed: u64,
    skip: u64,
    lines: u64,
    rate: u64,
) -> io::Result<Written> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut flood = Flood::new(seed);
    let mut buf = Vec::new();
    for _ in 0..skip {
        flood.line(&mut buf);
        buf.clear();
    }
    let start = Instant::now();
    let slice = Duration::from_millis(10);
    let mut bytes = 0;
    let mut done = 0;
    while done < lines {
        let due = ((start.elapsed() + slice).as_secs_f64() * rate as f64) as u64;
        while done < lines.min(due) {
            flood.line(&mut buf);
            done += 1;
        }
        file.write_all(&buf)?;
        bytes += buf.len() as u64;
        buf.clear();
        std::thread::sleep(slice);
    }
    Ok(Written { lines, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_deterministic_and_within_bounds() {
        let mut a = Flood::new(42);
        let mut b = Flood::new(42);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..10_000 {
            x.clear();
            y.clear();
            a.line(&mut x);
            b.line(&mut y);
            assert_eq!(x, y);
            assert!((MIN_LINE..=MAX_LINE).contains(&x.len()), "{}", x.len());
            assert_eq!(x.iter().filter(|&&c| c == b'\n').count(), 1);
            assert!(!x.contains(&b'\\') && !x[..x.len() - 1].contains(&b'\r'));
        }
        let mut c = Flood::new(43);
        let mut z = Vec::new();
        c.line(&mut z);
        let mut first = Vec::new();
        Flood::new(42).line(&mut first);
        assert_ne!(z, first);
    }

    #[test]
    fn spread_and_long_lines_hold_what_they_say() {
        let dir = tempfile::tempdir().unwrap();
        let w = write_spread(dir.path(), 7, 1000, 10).unwrap();
        let mut all = Vec::new();
        for i in 0..10 {
            all.extend(std::fs::read(dir.path().join(format!("access-{i}.log"))).unwrap());
        }
        assert_eq!(w.bytes, all.len() as u64);
        assert_eq!(memchr::memchr_iter(b'\n', &all).count(), 1000);
        let path = dir.path().join("long.log");
        let w = write_long_lines(&path, 7, 200_000, 65536).unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!((w.lines, w.bytes), (4, data.len() as u64));
        assert!(
            data.split_inclusive(|&c| c == b'\n')
                .all(|l| l.len() == 65536)
        );
    }

    #[test]
    fn write_file_counts_lines_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let w = write_file(&path, 7, 1234).unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(w.bytes, data.len() as u64);
        assert_eq!(memchr::memchr_iter(b'\n', &data).count(), 1234);
    }
}
