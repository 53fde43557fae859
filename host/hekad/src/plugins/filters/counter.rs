//! `CounterFilter`: counts the messages it is given and, every `ticker_interval`
//! seconds (default 5), injects `Type = heka.counter-output` with
//! `Payload = "Got N messages. R msg/sec"`; every 10th report also an aggregate
//! (`"AGG Sum. Min: .. Max: .. Mean: .."`) over the last ten rates, as Heka's.
//! Nothing is reported for intervals without new messages.
//!
//! ```toml
//! [Counter]
//! type = "CounterFilter"
//! message_matcher = "Type != 'heka.counter-output'"
//! ticker_interval = 1
//! ```

use heka_message::Message;
use heka_pipeline::{Filter, FilterContext, PluginResult};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::{BuildContext, BuiltFilter};

/// CounterFilter has no options besides the common filter ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterFilterConfig {}

/// The Type of every report.
pub const OUTPUT_TYPE: &str = "heka.counter-output";

/// The runtime filter.
#[derive(Debug, Default)]
pub struct CounterFilter {
    count: u64,
    last_count: u64,
    /// ns of the previous report (or of the first message).
    last_ns: Option<i64>,
    rates: Vec<f64>,
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<BuiltFilter, ConfigError> {
    let _: CounterFilterConfig = ctx.parse()?;
    Ok(CounterFilter::default().into())
}

impl CounterFilter {
    /// The reports due at `now_ns` (Payloads), updating the tallies.
    fn tally(&mut self, now_ns: i64) -> Vec<String> {
        let sent = self.count - self.last_count;
        let last = self.last_ns.replace(now_ns);
        if sent == 0 {
            return Vec::new();
        }
        let elapsed = last.map_or(0.0, |l| (now_ns - l) as f64 / 1e9);
        let rate = if elapsed > 0.0 {
            sent as f64 / elapsed
        } else {
            0.0
        };
        self.last_count = self.count;
        self.rates.push(rate);
        let mut out = vec![format!("Got {} messages. {rate:.2} msg/sec", self.count)];
        if self.rates.len() == 10 {
            let min = self.rates.iter().copied().fold(f64::INFINITY, f64::min);
            let max = self.rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = self.rates.iter().sum::<f64>() / self.rates.len() as f64;
            out.push(format!(
                "AGG Sum. Min: {min:.2}   Max: {max:.2}   Mean: {mean:.2}"
            ));
            self.rates.clear();
        }
        out
    }
}

impl Filter for CounterFilter {
    fn process_message(&mut self, _msg: &Message, _ctx: &mut FilterContext) -> PluginResult {
        self.count += 1;
        Ok(())
    }

    fn timer_event(&mut self, now_ns: i64, ctx: &mut FilterContext) -> PluginResult {
        for payload in self.tally(now_ns) {
            let mut msg = ctx.new_message();
            msg.r#type = Some(OUTPUT_TYPE.into());
            msg.payload = Some(payload.into_bytes());
            if let Err(e) = ctx.inject(msg) {
                // Not fatal: the count goes on and the next report carries it.
                tracing::warn!(filter = ctx.name(), error = %e, "CounterFilter: report not injected");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_count_and_rate_then_aggregate() {
        let mut f = CounterFilter::default();
        assert!(f.tally(0).is_empty(), "nothing counted yet");
        let mut reports = Vec::new();
        for tick in 1..=10 {
            f.count += 10;
            reports.extend(f.tally(tick * 1_000_000_000));
        }
        assert_eq!(reports[0], "Got 10 messages. 10.00 msg/sec");
        assert_eq!(reports[9], "Got 100 messages. 10.00 msg/sec");
        assert_eq!(
            reports[10],
            "AGG Sum. Min: 10.00   Max: 10.00   Mean: 10.00"
        );
        assert!(f.tally(11_000_000_000).is_empty(), "no new messages");
    }
}
