//! [`Buffer`]: the circular buffer's data and rules without Lua: which row a time
//! falls in, how the window advances, the `cbuf` text and the restoration text.
//!
//! Times are whole seconds since the epoch (callers pass nanoseconds; `ns / 1e9`
//! truncated, then aligned down to the row). The newest row is `current_row`, at
//! `current_time`; a time more than `rows - 1` rows behind it is outside the window,
//! a later one advances the window (clearing the rows it passes to NaN) when the
//! operation writes, and is outside when it only reads.

use std::fmt::Write as _;

use crate::number::push_heka_number;

/// Longest column name kept (Heka's 16-byte field less its NUL).
const NAME_MAX: usize = 15;
/// Longest unit kept (Heka's 8-byte field less its NUL).
const UNIT_MAX: usize = 7;
/// The largest buffer accepted (cells); Heka bounded it only by `memory_limit`,
/// which is charged for it as well (see the module doc).
pub(crate) const MAX_CELLS: usize = 1 << 22;

/// How a column combines when buffers are aggregated (`set_header`'s last argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aggregation {
    Sum,
    Min,
    Max,
    None,
}

impl Aggregation {
    pub(crate) fn parse(s: &str) -> Option<Aggregation> {
        Some(match s {
            "sum" => Aggregation::Sum,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "none" => Aggregation::None,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::None => "none",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) unit: String,
    pub(crate) aggregation: Aggregation,
}

/// What `output`/`inject_payload` writes: the whole buffer or the changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Cbuf,
    Cbufd,
}

/// The buffer: `rows × columns` doubles, row-major, NaN where nothing was written.
#[derive(Debug)]
pub(crate) struct Buffer {
    pub(crate) rows: usize,
    pub(crate) columns: usize,
    pub(crate) seconds_per_row: i64,
    /// Seconds since the epoch of the newest row.
    pub(crate) current_time: i64,
    pub(crate) current_row: usize,
    pub(crate) headers: Vec<Header>,
    pub(crate) values: Vec<f64>,
    pub(crate) delta: bool,
    pub(crate) format: Format,
}

impl Buffer {
    /// Heka's `circular_buffer.new`; the caller has checked the ranges.
    pub(crate) fn new(rows: usize, columns: usize, seconds_per_row: i64, delta: bool) -> Buffer {
        let headers = (1..=columns)
            .map(|i| Header {
                name: format!("Column_{i}"),
                unit: "count".into(),
                aggregation: Aggregation::Sum,
            })
            .collect();
        Buffer {
            rows,
            columns,
            seconds_per_row,
            current_time: seconds_per_row * (rows as i64 - 1),
            current_row: rows - 1,
            headers,
            values: vec![f64::NAN; rows * columns],
            delta,
            format: Format::Cbuf,
        }
    }

    /// Seconds of the oldest row.
    pub(crate) fn start_time(&self) -> i64 {
        self.current_time - self.seconds_per_row * (self.rows as i64 - 1)
    }

    /// The row-aligned second of `ns`.
    pub(crate) fn row_time(&self, ns: f64) -> i64 {
        let t = (ns / 1e9) as i64;
        t - t.rem_euclid(self.seconds_per_row)
    }

    /// The row holding time `ns`, advancing the window to it when `advance` and it is
    /// newer; `None` when it is outside the window.
    pub(crate) fn row(&mut self, ns: f64, advance: bool) -> Option<usize> {
        if !ns.is_finite() || ns < 0.0 {
            return None;
        }
        let t = self.row_time(ns);
        let current = self.current_time / self.seconds_per_row;
        let requested = t / self.seconds_per_row;
        let delta = requested - current;
        let row = (requested % self.rows as i64) as usize;
        if delta > 0 && advance {
            self.clear_rows(delta);
            self.current_time = t;
            self.current_row = row;
            Some(row)
        } else if delta > 0 || delta.unsigned_abs() >= self.rows as u64 {
            None
        } else {
            Some(row)
        }
    }

    /// Sets the `n` rows after the current one to NaN (all of them at most).
    fn clear_rows(&mut self, n: i64) {
        let n = (n as u64).min(self.rows as u64) as usize;
        let mut row = self.current_row;
        for _ in 0..n {
            row = (row + 1) % self.rows;
            let start = row * self.columns;
            self.values[start..start + self.columns].fill(f64::NAN);
        }
    }

    /// Heka's `set_header` cleaning: names keep `[A-Za-z0-9]` (15 bytes at most),
    /// units also `/` and `*` (7 bytes); everything else becomes `_`.
    pub(crate) fn set_header(&mut self, column: usize, name: &[u8], unit: &[u8], agg: Aggregation) {
        let clean = |s: &[u8], max: usize, extra: &[u8]| -> String {
            s.iter()
                .take(max)
                .take_while(|&&c| c != 0)
                .map(|&c| {
                    if c.is_ascii_alphanumeric() || extra.contains(&c) {
                        c as char
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        self.headers[column] = Header {
            name: clean(name, NAME_MAX, b""),
            unit: clean(unit, UNIT_MAX, b"/*"),
            aggregation: agg,
        };
    }

    /// The values of `column` from `start_row` to `end_row` inclusive, wrapping.
    pub(crate) fn column_range(&self, column: usize, start_row: usize, end_row: usize) -> Vec<f64> {
        let mut out = Vec::new();
        let mut row = start_row;
        loop {
            out.push(self.values[row * self.columns + column]);
            if row == end_row {
                return out;
            }
            row = (row + 1) % self.rows;
        }
    }

    /// The JSON header line of both output formats (with its newline).
    pub(crate) fn write_header(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"time\":{},\"rows\":{},\"columns\":{},\"seconds_per_row\":{},\"column_info\":[",
            self.start_time(),
            self.rows,
            self.columns,
            self.seconds_per_row
        );
        for (i, h) in self.headers.iter().enumerate() {
            if i != 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"name\":\"{}\",\"unit\":\"{}\",\"aggregation\":\"{}\"}}",
                h.name,
                h.unit,
                h.aggregation.name()
            );
        }
        out.push_str("]}\n");
    }

    /// The `cbuf` text: the header, then every row oldest first, tab-separated.
    pub(crate) fn write_cbuf(&self, out: &mut String) {
        self.write_header(out);
        for i in 1..=self.rows {
            let row = (self.current_row + i) % self.rows;
            for c in 0..self.columns {
                if c != 0 {
                    out.push('\t');
                }
                push_heka_number(out, self.values[row * self.columns + c]);
            }
            out.push('\n');
        }
    }

    /// The preservation text up to the values (the caller appends the deltas and
    /// `")\n"`), as Heka's `serialize_circular_buffer` wrote it.
    pub(crate) fn write_restore(&self, key: &str, out: &mut String) {
        let _ = writeln!(
            out,
            "if {key} == nil then {key} = circular_buffer.new({}, {}, {}{}) end",
            self.rows,
            self.columns,
            self.seconds_per_row,
            if self.delta { ", true" } else { "" }
        );
        for (i, h) in self.headers.iter().enumerate() {
            let _ = writeln!(
                out,
                "{key}:set_header({}, \"{}\", \"{}\", \"{}\")",
                i + 1,
                h.name,
                h.unit,
                h.aggregation.name()
            );
        }
        let _ = write!(
            out,
            "{key}:fromstring(\"{} {}",
            self.current_time, self.current_row
        );
        for v in &self.values {
            out.push(' ');
            push_heka_number(out, *v);
        }
    }

    /// Reads `fromstring`'s text: `time row v...` (then, for a delta buffer, the
    /// saved delta rows, returned unparsed for the caller). Nothing changes unless
    /// the whole text is valid.
    pub(crate) fn restore(&mut self, text: &str) -> Result<Vec<f64>, String> {
        let mut words = text.split_ascii_whitespace();
        let time = words
            .next()
            .and_then(|w| w.parse::<i64>().ok())
            .ok_or("fromstring() invalid time/row")?;
        let row = words
            .next()
            .and_then(|w| w.parse::<usize>().ok())
            .filter(|r| *r < self.rows)
            .ok_or("fromstring() invalid time/row")?;
        let len = self.values.len();
        let mut values = Vec::with_capacity(len);
        for w in words.by_ref().take(len) {
            values
                .push(parse_double(w).ok_or_else(|| format!("fromstring() invalid value '{w}'"))?);
        }
        if values.len() != len {
            return Err(format!(
                "fromstring() too few values: {}, expected {len}",
                values.len()
            ));
        }
        let rest: Vec<f64> = words
            .map(|w| parse_double(w).ok_or_else(|| format!("fromstring() invalid value '{w}'")))
            .collect::<Result<_, _>>()?;
        if !rest.is_empty() && !self.delta {
            return Err(format!("fromstring() too many values, more than: {len}"));
        }
        if !rest.is_empty() && !rest.len().is_multiple_of(self.columns + 1) {
            return Err("fromstring() invalid delta".into());
        }
        self.current_time = time;
        self.current_row = row;
        self.values = values;
        Ok(rest)
    }
}

/// `strtod` for the words Heka wrote: numbers, `nan`, `inf`, `-inf`.
pub(crate) fn parse_double(w: &str) -> Option<f64> {
    match w {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => w
            .parse::<f64>()
            .ok()
            .filter(|_| !w.starts_with(['+', 'i', 'I', 'N', 'n'])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_advance_and_clear() {
        let mut b = Buffer::new(3, 1, 1, false);
        assert_eq!((b.start_time(), b.current_time), (0, 2));
        assert_eq!(b.row(0.0, true), Some(0));
        b.values[0] = 1.0;
        assert_eq!(b.row(4e9, true), Some(1));
        assert_eq!(b.current_time, 4);
        // Row 0 (time 3) was cleared, row 2 (time 2) kept.
        assert!(b.values[0].is_nan());
        assert_eq!(b.row(1e9, false), None, "older than the window");
        assert_eq!(b.row(5e9, false), None, "newer, read only");
        assert_eq!(b.row(-1.0, true), None);
    }

    #[test]
    fn headers_are_cleaned_and_cut() {
        let mut b = Buffer::new(2, 1, 60, false);
        b.set_header(0, b"HTTP 200 responses!", b"m/s per*x", Aggregation::Max);
        assert_eq!(b.headers[0].name, "HTTP_200_respon");
        assert_eq!(b.headers[0].unit, "m/s_per");
    }

    #[test]
    fn restore_round_trips_and_refuses_bad_text() {
        let mut b = Buffer::new(2, 2, 1, false);
        b.values = vec![1.0, f64::NAN, f64::INFINITY, -0.5];
        let mut text = String::new();
        b.write_restore("x", &mut text);
        let inner = text
            .rsplit_once("fromstring(\"")
            .map(|(_, r)| r)
            .unwrap_or("");
        let mut c = Buffer::new(2, 2, 1, false);
        assert!(c.restore(inner).is_ok());
        assert_eq!(c.values[0], 1.0);
        assert!(c.values[1].is_nan());
        assert_eq!(c.values[2], f64::INFINITY);
        assert!(c.restore("1 0 1 2").unwrap_err().contains("too few"));
        assert!(c.restore("1 0 1 2 3 4 5").unwrap_err().contains("too many"));
        assert!(c.restore("1 9 1 2 3 4").unwrap_err().contains("time/row"));
    }
}
