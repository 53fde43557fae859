//! ns/message of the seed's `config/lua/log_aggregator.lua` through [`LuaFilter`],
//! next to a native Rust aggregator, with the same messages and timer cadence as
//! heka-sandbox's `aggregator` bench (so the figures compare with its wasm rows).
//! A plain bin (harness = false): `cargo bench -p heka-lua --bench lua_aggregator`.
//!
//! The script builds its buffer with `buffer = buffer .. payload`, so each message
//! copies what has accumulated since the last timer_event: Lua's cost here grows with
//! the timer cadence (as it did in Heka); the wasm guest appends in place.

use std::time::{Duration, Instant};

use heka_lua::LuaConfig;
use heka_message::{Message, Value};
use heka_pipeline::{Filter, FilterContext, Pack, PluginResult, Settings};

/// The same logic as the seed script, natively.
struct NativeAggregator {
    buffer: Vec<u8>,
}

impl Filter for NativeAggregator {
    fn process_message(&mut self, msg: &Message, _ctx: &mut FilterContext) -> PluginResult {
        self.buffer.extend_from_slice(msg.payload());
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
            m.add_field("payload_name", Value::String(Vec::new()), "");
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
        payload: Some(
            format!("2026-11-25 12:00:00 web1 app[{i}]: GET /api/v1/items 200 12ms user=alice\n")
                .into(),
        ),
        hostname: Some("web1".into()),
        pid: Some(4242),
        ..Default::default()
    }
}

/// Runs `total` messages through `f` in batches of `batch`, a timer_event every
/// `timer_every` messages; returns ns/message.
fn run(f: &mut dyn Filter, packs: &[Pack], batch: usize, total: usize, timer_every: usize) -> f64 {
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
        if since_timer >= timer_every {
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
    timer_every: usize,
) -> f64 {
    let mut f = make();
    run(&mut *f, packs, batch, 20_000, timer_every); // warm-up
    let mut best = f64::MAX;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        best = best.min(run(&mut *f, packs, batch, 100_000, timer_every));
    }
    println!("{name:<44} {best:>8.1} ns/message");
    best
}

fn main() {
    let packs: Vec<Pack> = (0..1000).map(|i| Pack::new(message(i), None)).collect();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/lua/log_aggregator.lua");
    let lua = || -> Box<dyn Filter> {
        // 1000 lines of ~71 bytes exceed Heka's 63 KiB output_limit: raise it (as the
        // wasm bench does).
        let mut cfg = LuaConfig::new("Agg");
        cfg.spec.limits.output_limit = 1 << 20;
        Box::new(heka_lua::load_filter(&script, cfg).expect("load the seed aggregator"))
    };
    println!(
        "payload ~{} bytes; seed log_aggregator.lua",
        packs[0].msg.payload().len()
    );
    // Per-call costs, to read the figures above: an empty process_message, and one
    // that only reads the Payload.
    let dir = std::env::temp_dir().join(format!("heka-lua-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, source) in [
        (
            "  noop process_message",
            "function process_message() return 0 end\nfunction timer_event() end",
        ),
        (
            "  read_message(\"Payload\") only",
            "function process_message() local p = read_message(\"Payload\") return 0 end\nfunction timer_event() end",
        ),
    ] {
        let file = dir.join("probe.lua");
        std::fs::write(&file, source).expect("write probe");
        measure(
            name,
            || Box::new(heka_lua::load_filter(&file, LuaConfig::new("Probe")).expect("load probe")),
            &packs,
            100,
            1000,
        );
    }
    for timer_every in [1000, 100] {
        println!("timer_event every {timer_every} messages:");
        let native = measure(
            "  native Rust aggregator",
            || Box::new(NativeAggregator { buffer: Vec::new() }),
            &packs,
            100,
            timer_every,
        );
        let l1 = measure(
            "  lua aggregator (LuaFilter), batch 1",
            lua,
            &packs,
            1,
            timer_every,
        );
        let l100 = measure(
            "  lua aggregator (LuaFilter), batch 100",
            lua,
            &packs,
            100,
            timer_every,
        );
        println!(
            "  ratios to native: batch 1 = {:.1}x, batch 100 = {:.1}x",
            l1 / native,
            l100 / native
        );
    }
}
