//! ns/message of the seed's log aggregator and ns/call of its Slack encoder: native
//! Rust, wasm (the guest plugins), and the seed's Lua scripts through heka-lua, in
//! one run so the ratios compare like with like.
//!
//! Aggregator rows: wasm called once per message (batch of 1) and with batches of 100
//! and 1000 (what the filter runner hands over when messages queue up); Lua with the
//! seed's verbatim `config/lua/log_aggregator.lua` (string concatenation) and with
//! `config/lua/log_aggregator_table.lua` (a table joined on the timer). Every 1000
//! messages a timer_event flushes, as the ticker would, so buffers stay small (the
//! verbatim script's copying grows with the lines gathered per tick: it is quadratic).
//! Encoder rows: one ~17 KB message of 100 nginx-style lines (the seed pipeline's
//! shape), encoded to the Slack JSON body natively and by the wasm slack-encoder.
//!
//! A plain bin (harness = false): `cargo bench -p heka-sandbox --bench aggregator`.
//! Knobs (environment):
//! - `HEKA_BENCH_ONLY=<text>`: only the rows whose name contains it;
//! - `HEKA_BENCH_MESSAGES=<n>`: run each row once over n messages, no timing loop
//!   (for `valgrind --tool=callgrind`, whose instruction counts are stable where
//!   wall-clock time is not);
//! - `HEKA_BENCH_AGGREGATOR_WASM`, `HEKA_BENCH_ENCODER_WASM`: other components to run
//!   in place of the built guests (before/after comparisons).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heka_lua::LuaConfig;
use heka_message::{Message, Value};
use heka_pipeline::{Encoder, Filter, FilterContext, Pack, PluginResult, Settings};
use heka_sandbox::{SandboxConfig, SandboxEngine};

/// The same logic as guest-plugins/log-aggregator, natively.
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

/// The slack-encoder's output, natively (serde_json escapes runs of plain bytes too).
struct NativeSlack;

impl Encoder for NativeSlack {
    fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) -> PluginResult {
        out.extend_from_slice(
            b"{\"icon_emoji\":\":heavy_exclamation_mark:\",\"username\":\"something you like\",\"text\":",
        );
        serde_json::to_writer(&mut *out, msg.payload())
            .map_err(|e| heka_pipeline::PluginError::Failed(e.to_string()))?;
        out.extend_from_slice(b",\"channel\":\"#something\"}");
        Ok(())
    }
}

fn message(i: usize, payload: String) -> Message {
    Message {
        uuid: vec![7; 16],
        timestamp: 1_700_000_000_000_000_000 + i as i64,
        r#type: Some("logfile".into()),
        logger: Some("ExampleLog".into()),
        severity: Some(6),
        payload: Some(payload.into()),
        hostname: Some("web1".into()),
        pid: Some(4242),
        ..Default::default()
    }
}

fn log_line(i: usize) -> String {
    format!("2026-11-25 12:00:00 web1 app[{i}]: GET /api/v1/items 200 12ms user=alice\n")
}

/// An nginx access line of ~170 bytes (with the quotes JSON must escape).
fn nginx_line(i: usize) -> String {
    format!(
        "10.0.{}.{} - - [25/Nov/2026:12:00:{:02} +0000] \"GET /api/v1/items/{i}?page={} HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\"\n",
        i % 256,
        (i * 7) % 256,
        i % 60,
        i % 13,
        1000 + i * 37 % 9000
    )
}

const TIMER_EVERY: usize = 1000;

/// How rows are run: timed (best of runs for ~2 s) or once over a fixed count.
#[derive(Clone, Copy)]
enum Mode {
    Timed,
    Fixed(usize),
}

struct Bench {
    mode: Mode,
    only: Option<String>,
}

impl Bench {
    fn wanted(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|o| name.contains(o.as_str()))
    }

    /// Times `run(k)`, which processes k units: best of runs of `count` units for
    /// ~2 s, or one run of `HEKA_BENCH_MESSAGES / fixed_div`. ns per unit.
    fn measure(
        &self,
        name: &str,
        unit: &str,
        count: usize,
        fixed_div: usize,
        mut run: impl FnMut(usize),
    ) -> Option<f64> {
        if !self.wanted(name) {
            return None;
        }
        let per = match self.mode {
            Mode::Fixed(n) => {
                let k = (n / fixed_div).max(1);
                let start = Instant::now();
                run(k);
                start.elapsed().as_nanos() as f64 / k as f64
            }
            Mode::Timed => {
                run(count / 5); // warm-up
                let mut best = f64::MAX;
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(2) {
                    let start = Instant::now();
                    run(count);
                    best = best.min(start.elapsed().as_nanos() as f64 / count as f64);
                }
                best
            }
        };
        println!("{name:<46} {per:>9.1} ns/{unit}");
        Some(per)
    }
}

/// Runs `total` messages through `f` in batches of `batch`, a timer event every
/// [`TIMER_EVERY`] messages.
#[inline(never)]
fn run_filter(f: &mut dyn Filter, packs: &[Pack], batch: usize, total: usize) {
    let settings = Settings::default();
    let mut ctx = FilterContext::standalone("Agg", &settings, None);
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
}

#[inline(never)]
fn run_encoder(e: &mut dyn Encoder, msg: &Message, calls: usize, out: &mut Vec<u8>) {
    for _ in 0..calls {
        out.clear();
        e.encode(msg, out).expect("encode");
    }
}

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or(default)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:.1}x", a / b),
        _ => "-".into(),
    }
}

fn main() {
    let mode = match std::env::var("HEKA_BENCH_MESSAGES") {
        Ok(n) => Mode::Fixed(n.parse().expect("HEKA_BENCH_MESSAGES: a count")),
        Err(_) => Mode::Timed,
    };
    let b = Bench {
        mode,
        only: std::env::var("HEKA_BENCH_ONLY").ok(),
    };
    let packs: Vec<Pack> = (0..1000)
        .map(|i| Pack::new(message(i, log_line(i)), None))
        .collect();
    let engine = SandboxEngine::new(None).expect("engine");
    let agg_path = env_path(
        "HEKA_BENCH_AGGREGATOR_WASM",
        heka_guest_build::log_aggregator(),
    );
    let agg = engine.load(&agg_path).expect("load the aggregator");
    let wasm = || {
        // 1000 lines of ~71 bytes exceed Heka's 63 KiB output_limit: raise it.
        let mut cfg = SandboxConfig::new("Agg");
        cfg.spec.limits.output_limit = 1 << 20;
        heka_sandbox::new_filter(&engine, &agg, cfg).expect("instantiate")
    };
    let lua_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/lua");
    let lua = |file: &str| {
        let mut cfg = LuaConfig::new("Agg");
        cfg.spec.limits.output_limit = 1 << 20;
        heka_lua::load_filter(&lua_dir.join(file), cfg).expect("load the Lua aggregator")
    };
    println!(
        "aggregator: payload ~{} bytes, timer_event every {TIMER_EVERY} messages",
        packs[0].msg.payload().len()
    );
    let filter_row = |name: &str, batch: usize, f: &mut dyn Filter| {
        b.measure(name, "message", 100_000, 1, |n| {
            run_filter(f, &packs, batch, n)
        })
    };
    let native = filter_row(
        "native Rust aggregator",
        1000,
        &mut NativeAggregator { buffer: Vec::new() },
    );
    // Wasm rows also print the guest's instructions per message (wasmtime fuel of the
    // last batch call / its size; fuel is ~1 per wasm instruction).
    let wasm_row = |name: &str, batch: usize| {
        let mut f = wasm();
        let r = filter_row(name, batch, &mut f);
        if r.is_some() {
            let settings = Settings::default();
            let mut ctx = FilterContext::standalone("Agg", &settings, None);
            f.process_batch(&packs[..batch], &mut ctx).expect("batch");
            println!(
                "{:<46} {:>9} fuel/message",
                "",
                f.engine().last_fuel_used() / batch as u64
            );
        }
        r
    };
    let w1 = wasm_row("wasm aggregator, batch 1", 1);
    let w100 = wasm_row("wasm aggregator, batch 100", 100);
    let w1000 = wasm_row("wasm aggregator, batch 1000", 1000);
    let lv = filter_row(
        "lua log_aggregator.lua (verbatim), batch 1000",
        1000,
        &mut lua("log_aggregator.lua"),
    );
    let lt = filter_row(
        "lua log_aggregator_table.lua, batch 1000",
        1000,
        &mut lua("log_aggregator_table.lua"),
    );
    println!(
        "ratios: wasm/native batch 1 = {}, batch 100 = {}, batch 1000 = {}",
        ratio(w1, native),
        ratio(w100, native),
        ratio(w1000, native)
    );
    println!(
        "        lua/wasm (batch 1000): verbatim = {}, table = {}; lua table/native = {}",
        ratio(lv, w1000),
        ratio(lt, w1000),
        ratio(lt, native)
    );

    let body: String = (0..100).map(nginx_line).collect();
    let big = message(0, body);
    println!(
        "encoder: one message of 100 lines, {} bytes, to a Slack JSON body",
        big.payload().len()
    );
    let enc_path = env_path("HEKA_BENCH_ENCODER_WASM", heka_guest_build::slack_encoder());
    let enc = engine.load(&enc_path).expect("load the encoder");
    let mut out = Vec::new();
    // HEKA_BENCH_MESSAGES counts log lines: 100 per call.
    let ne = b.measure("native Slack encoder", "call", 2_000, 100, |n| {
        run_encoder(&mut NativeSlack, &big, n, &mut out)
    });
    let mut wenc =
        heka_sandbox::new_encoder(&engine, &enc, SandboxConfig::new("Slack")).expect("encoder");
    let we = b.measure("wasm slack-encoder", "call", 2_000, 100, |n| {
        run_encoder(&mut wenc, &big, n, &mut out)
    });
    println!("ratio: wasm/native encoder = {}", ratio(we, ne));
}
