//! ns/message of the seed's log aggregator: native Rust, wasm called once per message
//! (batch of 1), and wasm with batches of 100 and 1000 (what the filter runner hands
//! over when messages queue up). Every 1000 messages a timer_event flushes, as the
//! ticker would, so the guest's buffer stays small. A plain bin (harness = false):
//! run `cargo bench -p heka-sandbox --bench aggregator`.

use std::time::{Duration, Instant};

use heka_message::{Message, Value};
use heka_pipeline::{Filter, FilterContext, Pack, PluginResult, Settings};
use heka_sandbox::{SandboxConfig, SandboxEngine, WasmFilter};

/// The same logic as guest-plugins/log-aggregator, natively.
struct NativeAggregator {
    buffer: String,
}

impl Filter for NativeAggregator {
    fn process_message(&mut self, msg: &Message, _ctx: &mut FilterContext) -> PluginResult {
        self.buffer.push_str(msg.payload());
        Ok(())
    }
    fn timer_event(&mut self, _ns: i64, ctx: &mut FilterContext) -> PluginResult {
        if !self.buffer.is_empty() {
            let mut m = ctx.new_message();
            m.r#type = Some("heka.sandbox-output".into());
            m.payload = Some(std::mem::take(&mut self.buffer));
            m.add_field(
                "payload_type",
                Value::String("txt".into()),
                "file-extension",
            );
            m.add_field("payload_name", Value::String(String::new()), "");
            ctx.inject(m)
                .map_err(|e| heka_pipeline::PluginError::Fatal(e.to_string()))?;
        }
        Ok(())
    }
}

fn message(i: usize) -> Message {
    Message {
        uuid: vec![7; 16],
        timestamp: 1_700_000_000_000_000_000 + i as i64,
        r#type: Some("logfile".into()),
        logger: Some("ExampleLog".into()),
        severity: Some(6),
        payload: Some(format!(
            "2026-11-25 12:00:00 web1 app[{i}]: GET /api/v1/items 200 12ms user=alice\n"
        )),
        hostname: Some("web1".into()),
        pid: Some(4242),
        ..Default::default()
    }
}

const TIMER_EVERY: usize = 1000;

/// Runs `total` messages through `f` in batches of `batch`; returns ns/message.
fn run(f: &mut dyn Filter, packs: &[Pack], batch: usize, total: usize) -> f64 {
    let settings = Settings::default();
    let mut ctx = FilterContext::standalone("Agg", &settings, None);
    let start = Instant::now();
    let mut done = 0;
    let mut since_timer = 0;
    while done < total {
        let off = done % packs.len();
        let n = batch.min(packs.len() - off).min(total - done);
        f.process_batch(&packs[off..off + n], &mut ctx)
            .expect("batch");
        done += n;
        since_timer += n;
        if since_timer >= TIMER_EVERY {
            ctx.begin_timer();
            f.timer_event(0, &mut ctx).expect("timer");
            ctx.take_injected();
            since_timer = 0;
        }
    }
    start.elapsed().as_nanos() as f64 / total as f64
}

/// Best of a few runs, each long enough to be stable.
fn measure(
    name: &str,
    mut make: impl FnMut() -> Box<dyn Filter>,
    packs: &[Pack],
    batch: usize,
) -> f64 {
    let mut f = make();
    run(&mut *f, packs, batch, 20_000); // warm-up
    let mut best = f64::MAX;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        best = best.min(run(&mut *f, packs, batch, 100_000));
    }
    println!("{name:<40} {best:>8.1} ns/message");
    best
}

fn main() {
    let packs: Vec<Pack> = (0..1000).map(|i| Pack::new(message(i), None)).collect();
    let engine = SandboxEngine::new(None).expect("engine");
    let path = heka_guest_build::log_aggregator();
    let loaded = engine.load(&path).expect("load");
    let wasm = || -> Box<dyn Filter> {
        // 1000 lines of ~71 bytes exceed Heka's 63 KiB output_limit: raise it.
        let mut cfg = SandboxConfig::new("Agg");
        cfg.output_limit = 1 << 20;
        Box::new(WasmFilter::new(&engine, &loaded, cfg).expect("instantiate"))
    };
    println!(
        "payload ~{} bytes; timer_event every {TIMER_EVERY} messages",
        packs[0].msg.payload().len()
    );
    let native = measure(
        "native Rust aggregator",
        || {
            Box::new(NativeAggregator {
                buffer: String::new(),
            })
        },
        &packs,
        1000,
    );
    let w1 = measure("wasm aggregator, batch 1", wasm, &packs, 1);
    let w100 = measure("wasm aggregator, batch 100", wasm, &packs, 100);
    let w1000 = measure("wasm aggregator, batch 1000", wasm, &packs, 1000);
    println!(
        "ratios to native: batch 1 = {:.1}x, batch 100 = {:.1}x, batch 1000 = {:.1}x",
        w1 / native,
        w100 / native,
        w1000 / native
    );
    println!("batch 1 / batch 100 = {:.1}x", w1 / w100);
}
