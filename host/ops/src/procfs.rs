//! The process figures Prometheus conventions expect (`process_*`), read from
//! `/proc/self` at scrape time. Linux only; elsewhere they are absent, not zero.

/// Resident memory, CPU seconds and open descriptors of this process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Process {
    pub resident_memory_bytes: u64,
    pub cpu_seconds: f64,
    pub open_fds: u64,
}

/// Reads them now; None when `/proc` cannot be read.
pub fn read() -> Option<Process> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let (page, ticks) = unsafe {
        (
            libc::sysconf(libc::_SC_PAGESIZE),
            libc::sysconf(libc::_SC_CLK_TCK),
        )
    };
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Some(Process {
        resident_memory_bytes: resident_pages * page.max(1) as u64,
        cpu_seconds: (utime + stime) as f64 / ticks.max(1) as f64,
        open_fds,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_memory_and_descriptors() {
        let p = super::read().expect("/proc is readable on Linux");
        assert!(p.resident_memory_bytes > 0);
        assert!(p.open_fds > 0);
    }
}
