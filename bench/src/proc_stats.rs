//! CPU time and peak RSS of a running process, from `/proc` (Linux), and of this
//! process, from `getrusage`.
//!
//! Sampled the moment the last line arrives, before hekad is asked to stop, so the
//! figures cover the work measured and not the shutdown.

use std::path::PathBuf;

/// CPU seconds (user + system) and peak resident set size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub cpu_secs: f64,
    pub peak_rss_kib: u64,
}

/// The usage of process `pid` so far (all its threads).
pub fn of_pid(pid: u32) -> std::io::Result<Usage> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(dir.join("stat"))?;
    let status = std::fs::read_to_string(dir.join("status"))?;
    Ok(Usage {
        cpu_secs: cpu_from_stat(&stat).unwrap_or(0.0),
        peak_rss_kib: hwm_from_status(&status).unwrap_or(0),
    })
}

/// CPU seconds per thread of process `pid` (name, seconds), busiest first: which
/// stage of the pipeline bounds it.
pub fn threads_of_pid(pid: u32) -> Vec<(String, f64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut threads: Vec<(String, f64)> = dir
        .flatten()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let name = stat[stat.find('(')? + 1..stat.rfind(')')?].to_owned();
            Some((name, cpu_from_stat(&stat)?))
        })
        .collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    threads
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in seconds. The
/// command name (field 2) may hold spaces and parentheses: fields are counted from
/// the last `)`.
fn cpu_from_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) as f64 / ticks)
}

/// `VmHWM` (peak RSS) of a `/proc/<pid>/status` text, in KiB.
fn hwm_from_status(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// This process's usage (all threads).
pub fn of_self() -> Usage {
    // SAFETY: getrusage writes into the struct we hand it.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    Usage {
        cpu_secs: secs(ru.ru_utime) + secs(ru.ru_stime),
        peak_rss_kib: ru.ru_maxrss as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_strange_command_name() {
        let stat = "123 (a) b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        let cpu = cpu_from_stat(stat).unwrap();
        // SAFETY: as above.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert!((cpu - 300.0 / ticks).abs() < 1e-9);
    }

    #[test]
    fn parses_vm_hwm_and_reads_our_own_process() {
        assert_eq!(
            hwm_from_status("Name:\tx\nVmHWM:\t   5480 kB\n"),
            Some(5480)
        );
        let me = of_pid(std::process::id()).unwrap();
        assert!(me.peak_rss_kib > 0);
        assert!(of_self().peak_rss_kib > 0);
        let threads = threads_of_pid(std::process::id());
        assert!(!threads.is_empty());
    }
}
