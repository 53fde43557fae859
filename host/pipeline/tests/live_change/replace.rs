//! Replacements under load: state taken over, held acks moved, nothing lost or
//! repeated, and the order that keeps a retiring filter from waiting on an output.

use super::*;

#[test]
fn a_filter_replaced_under_load_takes_over_its_state_and_nothing_is_lost() {
    let (feed, rx) = crossbeam_channel::unbounded();
    let acks = Arc::new(AckLog::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let mut builder = PipelineBuilder::new(Settings::default());
    let input = FeedInput {
        feed: rx,
        acks: acks.clone(),
        runs: runs.clone(),
    };
    builder.add_input("feed", Box::new(input), input_options());
    let v1 = Counter {
        version: "v1",
        count: 0,
    };
    builder.add_filter("count", Box::new(v1), routed("Type == 'line'"));
    let (counts, plugin, options) = output("Type == 'count'");
    builder.add_output("counts", plugin, options);
    let (old_lines, plugin, options) = output("Type == 'line'");
    builder.add_output("old", plugin, options);
    let pipeline = builder.start().expect("start");

    // Steady load from another thread while the change is applied.
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                feed.send(n).expect("feed");
                if n.is_multiple_of(64) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            n
        })
    };
    eventually("some counts", || counts.len() > 200);

    let mut change = Change::new();
    let v2 = Counter {
        version: "v2",
        count: 0,
    };
    change
        .remove("count")
        .add_filter("count", Box::new(v2), routed("Type == 'line'"), true);
    let (new_lines, plugin, options) = output("Type == 'line'");
    change.remove("old").add_output("new", plugin, options);
    let applied = pipeline.stop_handle().apply(change).expect("applied");
    assert_eq!(applied.carried, ["count"]);
    assert!(applied.warnings.is_empty(), "{:?}", applied.warnings);

    eventually("counts after the change", || {
        counts.payloads().iter().any(|p| p.starts_with("v2:")) && new_lines.len() > 100
    });
    stop.store(true, Ordering::Relaxed);
    let sent = feeder.join().expect("feeder");
    eventually("every count", || counts.len() as u64 == sent);
    eventually("every ack", || acks.0.lock().unwrap().len() as u64 == sent);

    // The input ran once: it was never restarted.
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Each line counted once, in order; the count went on across the replacement.
    let payloads = counts.payloads();
    let switch = payloads.iter().position(|p| p.starts_with("v2:")).unwrap();
    for (i, p) in payloads.iter().enumerate() {
        let version = if i < switch { "v1" } else { "v2" };
        let want = format!("{version}:{}:{}", i + 1, i + 1);
        assert_eq!(p, &want, "count {i} of {sent}");
    }
    // The removed output delivered what it was sent and the added one the rest:
    // together every line once.
    let mut lines: Vec<u64> = old_lines
        .payloads()
        .iter()
        .chain(new_lines.payloads().iter())
        .map(|p| p.parse().unwrap())
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=sent).collect::<Vec<_>>());
    let acked = acks.0.lock().unwrap().clone();
    assert!(
        acked.iter().all(|&(_, delivered)| delivered),
        "an ack was abandoned"
    );

    pipeline.shutdown();
    assert_eq!(pipeline.wait(), heka_pipeline::ExitStatus::Clean);
}

/// An output that notes when its runner started it (the runner asks every output
/// for its pipelined side once at start).
struct NotesStart {
    inner: CollectOutput,
    started: Arc<AtomicBool>,
}
impl Output for NotesStart {
    fn send(&mut self, msg: &Message, payload: &[u8]) -> Result<(), OutputError> {
        self.inner.send(msg, payload)
    }
    fn pipelined(&mut self) -> Option<&mut dyn heka_pipeline::PipelinedOutput> {
        self.started.store(true, Ordering::SeqCst);
        None
    }
}

/// A [`Counter`] that notes, when it hands its state over, whether `output` had
/// started by then.
struct NotesOrder {
    inner: Counter,
    output: Arc<AtomicBool>,
    started_first: Arc<AtomicBool>,
}
impl Filter for NotesOrder {
    fn process_message(&mut self, msg: &Message, ctx: &mut FilterContext) -> PluginResult {
        self.inner.process_message(msg, ctx)
    }
    fn hand_over(&mut self) -> Option<Vec<u8>> {
        let started = self.output.load(Ordering::SeqCst);
        self.started_first.store(started, Ordering::SeqCst);
        self.inner.hand_over()
    }
}

/// A filter and the output it injects into replaced together, with queues of one
/// batch, so the retiring filter's last injections may meet a full queue: the new
/// output starts before the filter retires (a retiring filter never waits on an output
/// that waits on it), and nothing is lost or counted twice.
#[test]
fn a_filter_and_its_output_replaced_together_through_full_queues() {
    let (feed, rx) = crossbeam_channel::unbounded();
    let acks = Arc::new(AckLog::default());
    let settings = Settings {
        plugin_chansize: 1,
        ..Settings::default()
    };
    let mut builder = PipelineBuilder::new(settings);
    let input = FeedInput {
        feed: rx,
        acks: acks.clone(),
        runs: Arc::new(AtomicUsize::new(0)),
    };
    builder.add_input("feed", Box::new(input), input_options());
    let new_output_started = Arc::new(AtomicBool::new(false));
    let started_first = Arc::new(AtomicBool::new(false));
    let v1 = NotesOrder {
        inner: Counter {
            version: "v1",
            count: 0,
        },
        output: new_output_started.clone(),
        started_first: started_first.clone(),
    };
    builder.add_filter("count", Box::new(v1), routed("Type == 'line'"));
    let (old_counts, plugin, options) = output("Type == 'count'");
    builder.add_output("counts", plugin, options);
    let pipeline = builder.start().expect("start");
    for n in 1..=2000 {
        feed.send(n).unwrap();
    }
    let mut change = Change::new();
    let v2 = Counter {
        version: "v2",
        count: 0,
    };
    change
        .remove("count")
        .add_filter("count", Box::new(v2), routed("Type == 'line'"), true);
    let new_counts = Collected::default();
    let plugin = NotesStart {
        inner: CollectOutput(new_counts.clone()),
        started: new_output_started,
    };
    let options = OutputOptions::new(matcher("Type == 'count'"));
    change
        .remove("counts")
        .add_output("counts", Box::new(plugin), options);
    let applied = pipeline.stop_handle().apply(change).expect("applied");
    assert_eq!(applied.carried, ["count"]);
    assert!(applied.warnings.is_empty(), "{:?}", applied.warnings);
    assert!(
        started_first.load(Ordering::SeqCst),
        "the filter retired before the output it feeds was replaced"
    );
    for n in 2001..=3000 {
        feed.send(n).unwrap();
    }
    eventually("every count", || {
        old_counts.len() + new_counts.len() == 3000
    });
    eventually("every ack", || acks.0.lock().unwrap().len() == 3000);
    let all: Vec<String> = old_counts
        .payloads()
        .into_iter()
        .chain(new_counts.payloads())
        .collect();
    let counted: Vec<u64> = all
        .iter()
        .map(|p| p.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(counted, (1..=3000).collect::<Vec<_>>(), "the count went on");
    assert!(
        acks.0
            .lock()
            .unwrap()
            .iter()
            .all(|&(_, delivered)| delivered)
    );
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), heka_pipeline::ExitStatus::Clean);
}

/// Counts silently; its timer event injects `total:<count>` and starts again. The
/// acks of what it counted are held until that injection is delivered.
struct Totals {
    count: u64,
    seen: Arc<AtomicUsize>,
}
impl Filter for Totals {
    fn process_message(&mut self, _msg: &Message, _ctx: &mut FilterContext) -> PluginResult {
        self.count += 1;
        self.seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn timer_event(&mut self, _now_ns: i64, ctx: &mut FilterContext) -> PluginResult {
        if self.count > 0 {
            let mut out = ctx.new_message();
            out.r#type = Some("total".into());
            out.payload = Some(format!("total:{}", self.count).into_bytes());
            self.count = 0;
            ctx.inject(out)
                .map_err(|e| PluginError::Fatal(e.to_string()))?;
        }
        Ok(())
    }
    fn hand_over(&mut self) -> Option<Vec<u8>> {
        Some(self.count.to_le_bytes().to_vec())
    }
    fn take_over(&mut self, state: &[u8]) -> Result<(), String> {
        let bytes: [u8; 8] = state.try_into().map_err(|_| "bad state".to_owned())?;
        self.count = u64::from_le_bytes(bytes);
        Ok(())
    }
}

fn totals(seen: &Arc<AtomicUsize>, ticker: Duration) -> (Box<dyn Filter>, FilterOptions) {
    let mut options = routed("Type == 'line'");
    options.ticker_interval = Some(ticker);
    let plugin = Totals {
        count: 0,
        seen: seen.clone(),
    };
    (Box::new(plugin), options)
}

#[test]
fn held_acks_move_to_the_replacement_and_complete_with_its_injection() {
    let (feed, rx) = crossbeam_channel::unbounded();
    let acks = Arc::new(AckLog::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let mut builder = PipelineBuilder::new(Settings::default());
    let input = FeedInput {
        feed: rx,
        acks: acks.clone(),
        runs,
    };
    builder.add_input("feed", Box::new(input), input_options());
    // The first version's ticker never fires within the test.
    let (plugin, options) = totals(&seen, Duration::from_secs(3600));
    builder.add_filter("totals", plugin, options);
    let (got, plugin, options) = output("Type == 'total'");
    builder.add_output("out", plugin, options);
    let pipeline = builder.start().expect("start");

    for n in 1..=10 {
        feed.send(n).unwrap();
    }
    eventually("ten counted", || seen.load(Ordering::SeqCst) == 10);
    assert!(acks.0.lock().unwrap().is_empty(), "held by the filter");

    let mut change = Change::new();
    let (plugin, options) = totals(&seen, Duration::from_millis(20));
    change
        .remove("totals")
        .add_filter("totals", plugin, options, true);
    let applied = pipeline.stop_handle().apply(change).expect("applied");
    assert_eq!(applied.carried, ["totals"]);

    // The new version's first timer event injects the count it took over, and that
    // injection carries the acks the old version held.
    eventually("the total", || got.len() == 1);
    assert_eq!(got.payloads(), ["total:10"]);
    eventually("every ack", || acks.0.lock().unwrap().len() == 10);
    let mut acked = acks.0.lock().unwrap().clone();
    acked.sort_unstable();
    assert_eq!(acked, (1..=10).map(|n| (n, true)).collect::<Vec<_>>());
    pipeline.shutdown();
    pipeline.wait();
}
