//! Finding the files of each log stream (Heka's `logstreamer/filehandling.go`).
//!
//! A scan walks `log_directory` recursively, keeps regular files whose path relative
//! to it matches `file_match` (anchored at both ends, as Heka anchors it after the
//! quoted directory), drops files older than `oldest_duration`, groups them into
//! streams by `differentiator` and sorts each stream oldest → newest by `priority`.
//! Capture values become sort integers through `translation` maps, the `MonthName` /
//! `DayName` built-ins, or plain digits; an empty (unmatched) value is looked up as
//! `missing`, and anything untranslatable sorts as -1 — Heka's exact rules, so that
//! existing configs order files the same way.
//!
//! A scan also notes each directory's modification time as it lists it
//! ([`DirStamp`]): as long as none of them changed, no file was created, removed or
//! renamed anywhere in the tree, so the tailer can check one stream's files with a
//! `stat` each instead of scanning everything again.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use regex::Regex;

use crate::error::TailError;

/// The discovery options of a LogstreamerInput.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryConfig {
    /// Root scanned recursively (symlinks in the root itself are resolved).
    pub log_directory: PathBuf,
    /// Regex matched against the path relative to `log_directory`; `$` is appended
    /// when missing.
    pub file_match: String,
    /// Capture names sorting a stream's files oldest → newest; `^Name` = descending.
    pub priority: Vec<String>,
    /// Parts of the stream name; capture names are replaced by the captured text.
    /// Empty = the single stream `default_stream`.
    pub differentiator: Vec<String>,
    /// Stream name when `differentiator` is empty (Heka: the plugin name).
    pub default_stream: String,
    /// Capture name → (value → sort integer). Keys are compared lower-cased.
    pub translation: HashMap<String, HashMap<String, i64>>,
    /// Files last modified longer ago are ignored (`None` = no limit).
    pub oldest_duration: Option<Duration>,
}

/// One matched file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Sort key, one integer per `priority` entry.
    pub scores: Vec<i64>,
}

/// Stream name → its files, oldest first.
pub type Streams = BTreeMap<String, Vec<LogFile>>;

/// A directory's modification time, taken just before a scan listed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirStamp {
    mtime: Option<SystemTime>,
    /// Until when the time proves nothing, if it was too close to the listing: file
    /// systems keep times at a coarse granularity (a clock tick; a second on ext4
    /// with small inodes, two on FAT), so an entry added just after the listing may
    /// leave the time as it was (git's "racily clean" index entries). A listing
    /// made after that instant shows any such entry.
    settles: Option<Instant>,
}

/// How long after a change a directory time is not trusted: a clock tick is at most
/// 10 ms on Linux; a time without nanoseconds may come from a file system that
/// keeps seconds only.
const RACY_FINE: Duration = Duration::from_millis(50);
const RACY_COARSE: Duration = Duration::from_secs(2);

impl DirStamp {
    /// `dir`'s time now.
    pub(crate) fn take(dir: &Path) -> DirStamp {
        let now = SystemTime::now();
        let mtime = std::fs::metadata(dir).and_then(|m| m.modified()).ok();
        let settles = mtime.and_then(|m| {
            let margin = match m.duration_since(SystemTime::UNIX_EPOCH) {
                Ok(d) if d.subsec_nanos() != 0 => RACY_FINE,
                _ => RACY_COARSE,
            };
            // A time in the future (a clock stepped back, a remote file system's
            // clock ahead) cannot say when the moment is over: it is taken at its
            // word, or every scan would schedule another one, forever.
            let age = now.duration_since(m).ok()?;
            let left = margin.checked_sub(age).filter(|d| !d.is_zero())?;
            Some(Instant::now() + left)
        });
        DirStamp { mtime, settles }
    }

    /// True when `dir`'s time is not the one noted: an entry was added, removed or
    /// renamed since.
    pub(crate) fn moved(&self, dir: &Path) -> bool {
        std::fs::metadata(dir).and_then(|m| m.modified()).ok() != self.mtime
    }

    /// True while an unchanged time does not prove unchanged entries.
    pub(crate) fn racy(&self) -> bool {
        self.settles.is_some_and(|t| Instant::now() < t)
    }

    /// When a new listing would see every entry a racy time may hide.
    pub(crate) fn settles(&self) -> Option<Instant> {
        self.settles
    }
}

/// Every directory a scan listed, with its time before the listing.
pub(crate) type DirStamps = Vec<(PathBuf, DirStamp)>;

/// Compiled discovery options.
#[derive(Debug, Clone)]
pub struct Discovery {
    root: PathBuf,
    regex: Regex,
    /// (capture group index, descending) per priority entry.
    priority: Vec<(Option<usize>, bool)>,
    differentiator: Vec<String>,
    translation: HashMap<String, HashMap<String, i64>>,
    oldest: Option<Duration>,
    has_priority: bool,
}

impl Discovery {
    /// Validates and compiles `config`. `log_directory` must exist.
    pub fn new(config: &DiscoveryConfig) -> Result<Discovery, TailError> {
        let root = std::fs::canonicalize(&config.log_directory).map_err(|source| {
            TailError::LogDirectory {
                path: config.log_directory.clone(),
                source,
            }
        })?;
        let mut pattern = config.file_match.trim_start_matches('^').to_owned();
        // A leading separator means "relative to log_directory" in Heka too.
        while pattern.starts_with('/') {
            pattern.remove(0);
        }
        if !pattern.ends_with('$') {
            pattern.push('$');
        }
        let regex = Regex::new(&format!("^(?:{pattern})")).map_err(|e| TailError::FileMatch {
            pattern: config.file_match.clone(),
            source: Box::new(e),
        })?;
        let mut priority = Vec::new();
        for p in &config.priority {
            let (name, desc) = match p.strip_prefix('^') {
                Some(n) => (n, true),
                None => (p.as_str(), false),
            };
            let idx = regex.capture_names().position(|n| n == Some(name));
            if idx.is_none() {
                // Heka sorts such entries as 0 for every file; refusing is kinder.
                return Err(TailError::UnknownPriority {
                    name: name.to_owned(),
                    pattern: config.file_match.clone(),
                });
            }
            priority.push((idx, desc));
        }
        let mut translation = HashMap::new();
        for (group, map) in &config.translation {
            if map.len() == 1
                && let Some(key) = map.keys().next()
                && !key.eq_ignore_ascii_case("missing")
            {
                return Err(TailError::Translation {
                    group: group.clone(),
                    key: key.clone(),
                });
            }
            let lowered = map.iter().map(|(k, v)| (k.to_lowercase(), *v)).collect();
            translation.insert(group.clone(), lowered);
        }
        let differentiator = if config.differentiator.is_empty() {
            vec![config.default_stream.clone()]
        } else {
            config.differentiator.clone()
        };
        Ok(Discovery {
            root,
            regex,
            has_priority: !priority.is_empty(),
            priority,
            differentiator,
            translation,
            oldest: config.oldest_duration.filter(|d| !d.is_zero()),
        })
    }

    /// The resolved `log_directory`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Scans the directory now. Streams with several files but no `priority` are
    /// left out with a warning, as Heka does.
    pub fn scan(&self) -> Streams {
        self.scan_with_stamps().0
    }

    /// [`Discovery::scan`], and the directories it listed.
    pub(crate) fn scan_with_stamps(&self) -> (Streams, DirStamps) {
        let mut found = Vec::new();
        let mut dirs = Vec::new();
        walk(&self.root, &mut found, &mut dirs);
        let now = SystemTime::now();
        let mut streams: Streams = BTreeMap::new();
        for (path, mtime) in found {
            if let (Some(oldest), Some(mtime)) = (self.oldest, mtime)
                && now.duration_since(mtime).is_ok_and(|age| age > oldest)
            {
                continue;
            }
            let Ok(rel) = path.strip_prefix(&self.root) else {
                continue;
            };
            let Some(rel) = rel.to_str() else { continue };
            let Some(caps) = self.regex.captures(rel) else {
                continue;
            };
            let scores = self
                .priority
                .iter()
                .map(|(idx, _)| self.score(*idx, &caps))
                .collect();
            let mut name = String::new();
            for d in &self.differentiator {
                match self
                    .regex
                    .capture_names()
                    .position(|n| n == Some(d.as_str()))
                {
                    Some(i) => name.push_str(caps.get(i).map_or("", |m| m.as_str())),
                    None => name.push_str(d),
                }
            }
            streams
                .entry(name)
                .or_default()
                .push(LogFile { path, scores });
        }
        streams.retain(|name, files| {
            if files.len() > 1 && !self.has_priority {
                tracing::warn!(stream = %name, files = files.len(),
                    "several log files match one stream but no priority is configured to order them; stream ignored");
                return false;
            }
            files.sort_by(|a, b| self.compare(a, b));
            true
        });
        (streams, dirs)
    }

    fn compare(&self, a: &LogFile, b: &LogFile) -> Ordering {
        for (i, (_, desc)) in self.priority.iter().enumerate() {
            let ord = a.scores[i].cmp(&b.scores[i]);
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        // Heka leaves ties in walk order; the path makes it deterministic.
        a.path.cmp(&b.path)
    }

    fn score(&self, idx: Option<usize>, caps: &regex::Captures<'_>) -> i64 {
        let Some(idx) = idx else { return 0 };
        let name = self.regex.capture_names().nth(idx).flatten().unwrap_or("");
        let raw = caps.get(idx).map_or("", |m| m.as_str());
        let value = if raw.is_empty() { "missing" } else { raw };
        let lower = value.to_lowercase();
        match name {
            "MonthName" => return month(&lower).unwrap_or(-1),
            "DayName" => return day(&lower).unwrap_or(-1),
            _ => {}
        }
        if let Some(map) = self.translation.get(name) {
            if let Some(v) = map.get(&lower) {
                return *v;
            }
            if map.len() > 1 {
                tracing::warn!(group = name, value, "value not found in translation map");
                return -1;
            }
        }
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return value.parse().unwrap_or(-1);
        }
        -1
    }
}

/// Recursive walk collecting regular files (symlinks below the root not followed,
/// as Go's `filepath.Walk`) and the directories' stamps, each taken before its
/// listing (a change during the listing shows as a change later, never as none).
/// Unreadable directories are skipped (their stamp still notes a change to them).
fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<SystemTime>)>, dirs: &mut DirStamps) {
    dirs.push((dir.to_path_buf(), DirStamp::take(dir)));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out, dirs);
        } else if kind.is_file() {
            let mtime = entry.metadata().ok().and_then(|m| m.modified().ok());
            out.push((path, mtime));
        }
    }
}

fn month(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .position(|m| *m == s || (s.len() == 3 && m.starts_with(s)))
        .map(|i| i as i64 + 1)
}

fn day(s: &str) -> Option<i64> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAYS.iter()
        .position(|d| *d == s || (s.len() == 3 && d.starts_with(s)))
        .map(|i| i as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x\n").unwrap();
    }

    fn names(files: &[LogFile], root: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn rotated_sequence_descending_seq() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "access.log",
            "access.log.1",
            "access.log.2.gz",
            "access.log.10",
            "other.log",
        ] {
            touch(dir.path(), f);
        }
        let d = Discovery::new(&DiscoveryConfig {
            log_directory: dir.path().into(),
            file_match: r"access\.log\.?(?P<Seq>\d*)(\.gz)?".into(),
            priority: vec!["^Seq".into()],
            default_stream: "web".into(),
            ..Default::default()
        })
        .unwrap();
        let streams = d.scan();
        assert_eq!(streams.len(), 1);
        assert_eq!(
            names(&streams["web"], d.root()),
            [
                "access.log.10",
                "access.log.2.gz",
                "access.log.1",
                "access.log"
            ]
        );
    }

    #[test]
    fn differentiator_months_and_translation() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "2013/March/web-a.log",
            "2013/January/web-a.log",
            "2012/December/web-a.log",
            "2013/January/web-b.log",
        ] {
            touch(dir.path(), f);
        }
        let d = Discovery::new(&DiscoveryConfig {
            log_directory: dir.path().into(),
            file_match: r"(?P<Year>\d{4})/(?P<MonthName>\w+)/web-(?P<Host>\w)\.log".into(),
            priority: vec!["Year".into(), "MonthName".into()],
            differentiator: vec!["site-".into(), "Host".into()],
            ..Default::default()
        })
        .unwrap();
        let streams = d.scan();
        assert_eq!(streams.keys().collect::<Vec<_>>(), ["site-a", "site-b"]);
        assert_eq!(
            names(&streams["site-a"], d.root()),
            [
                "2012/December/web-a.log",
                "2013/January/web-a.log",
                "2013/March/web-a.log"
            ]
        );
        let mut translation = HashMap::new();
        translation.insert("Seq".to_string(), HashMap::from([("only".to_string(), 1)]));
        let bad = Discovery::new(&DiscoveryConfig {
            log_directory: dir.path().into(),
            file_match: "(?P<Seq>x)".into(),
            translation,
            ..Default::default()
        });
        assert!(matches!(bad, Err(TailError::Translation { .. })));
    }

    #[test]
    fn missing_translation_and_no_priority() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["app.log", "app.log.old"] {
            touch(dir.path(), f);
        }
        let mut translation = HashMap::new();
        translation.insert(
            "Suffix".to_string(),
            HashMap::from([("missing".to_string(), 5), ("old".to_string(), 1)]),
        );
        let d = Discovery::new(&DiscoveryConfig {
            log_directory: dir.path().into(),
            file_match: r"app\.log\.?(?P<Suffix>\w*)".into(),
            priority: vec!["Suffix".into()],
            translation,
            default_stream: "app".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            names(&d.scan()["app"], d.root()),
            ["app.log.old", "app.log"]
        );
        // Without priority a two-file stream is refused (Heka logs an error).
        let d = Discovery::new(&DiscoveryConfig {
            log_directory: dir.path().into(),
            file_match: r"app\.log.*".into(),
            default_stream: "app".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(d.scan().is_empty());
    }
}
