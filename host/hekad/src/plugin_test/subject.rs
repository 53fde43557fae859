//! [`Subject`]: the plugin under test, built by the daemon's own constructor (the
//! registry row of its `type`, over the same [`BuildContext`]) and driven through the
//! pipeline's plugin traits the way the runners drive it.
//!
//! Nothing here re-implements a sandbox rule: a SandboxFilter is
//! `heka_pipeline::sandbox::SandboxFilter` over the wasm or Lua engine, injections pass
//! the same [`FilterContext`] checks (counts, loops, circular matchers), messages go
//! in as the filter runner batches them ([`Filter::process_batch`]), and a restart
//! is the daemon's clean stop (`shutdown`, or dropping an encoder or decoder, saves
//! `preserve_data`) followed by a fresh build (which restores it). What differs is
//! only the clock: `timer_event` gets the spec's virtual time, and no thread or
//! queue stands between the harness and the plugin.

use std::sync::Arc;

use heka_message::{Matcher, Message};
use heka_pipeline::{
    Decoder, Encoder, Filter, FilterContext, Pack, PluginError, PluginStats, Registry,
};

use crate::config::{Common, Config, ConfigError, ErrorKind, PluginKind, Section};
use crate::plugins::{BuildContext, settings};
use crate::registry::{self, Ctor};

/// What a plugin produced: a message (filters, decoders, inputs, framed output
/// streams), bytes (encoders, output streams) or an HTTP request (HttpOutput).
#[derive(Debug, Clone)]
pub enum Output {
    Message(Box<Message>),
    Bytes(Vec<u8>),
    Request(Box<super::live::Request>),
}

/// One message for the plugin, with the record's bytes when a splitter of whole
/// framed messages found it (a decoder gets them as `raw`; other kinds get the
/// message they hold).
#[derive(Debug)]
pub struct Input {
    pub msg: Message,
    pub raw: Option<Vec<u8>>,
}

/// How a call went, beyond its outputs.
#[derive(Debug, Default)]
pub struct Tally {
    /// Messages the plugin failed (Heka's negative return), with the reasons.
    pub failures: Vec<String>,
    /// Messages the filter's `message_matcher` did not match (never delivered).
    pub unmatched: usize,
    /// The termination reason, once terminated.
    pub terminated: Option<String>,
}

enum Plugin {
    Filter {
        filter: Box<dyn Filter>,
        ctx: Box<FilterContext>,
        matcher: Option<Matcher>,
        timer_on_shutdown: bool,
    },
    Encoder(Box<dyn Encoder>),
    Decoder(Box<dyn Decoder>),
}

/// The plugin under test and what it did so far.
pub struct Subject<'a> {
    config: &'a Config,
    section: &'a Section,
    /// `None` only between the two halves of a restart.
    plugin: Option<Plugin>,
    stats: Arc<PluginStats>,
    pub outputs: Vec<Output>,
    pub tally: Tally,
}

impl<'a> Subject<'a> {
    /// Builds section `name` of `config` with its registered constructor.
    pub fn build(config: &'a Config, name: &str) -> Result<Subject<'a>, ConfigError> {
        let section = config
            .section(name)
            .ok_or_else(|| ConfigError::new(&config.path, ErrorKind::MissingKey).section(name))?;
        let registry = Arc::new(Registry::new());
        let stats = registry.plugin(name, pipeline_kind(section.kind));
        let plugin = build_plugin(config, section, &stats)?;
        Ok(Subject {
            config,
            section,
            plugin: Some(plugin),
            stats,
            outputs: Vec::new(),
            tally: Tally::default(),
        })
    }

    /// Whether the plugin was terminated (later inputs are not delivered).
    pub fn terminated(&self) -> bool {
        self.tally.terminated.is_some()
    }

    /// The sandbox figures: peak memory (bytes) and the worst call's budget share
    /// (`None` for a native plugin).
    pub fn figures(&self) -> Option<(u64, f64)> {
        let sandbox = self.stats.sandbox();
        sandbox.engine()?;
        Some((
            sandbox.memory_max_bytes.get(),
            sandbox.call_budget_max_ratio.get(),
        ))
    }

    /// Delivers `msgs` as the runners would: one batch to a filter (those its matcher
    /// selects), one call per message to an encoder or decoder.
    pub fn deliver(&mut self, inputs: Vec<Input>) {
        let Some(plugin) = self
            .plugin
            .as_mut()
            .filter(|_| self.tally.terminated.is_none())
        else {
            return;
        };
        if let Plugin::Decoder(decoder) = plugin {
            let result = call_each(
                inputs,
                &mut self.outputs,
                &mut self.tally,
                |input, outputs| {
                    let mut out = Vec::new();
                    decoder.decode(input.msg, input.raw.as_deref(), &mut out)?;
                    outputs.extend(out.into_iter().map(|m| Output::Message(Box::new(m))));
                    Ok(())
                },
            );
            return self.settle(result);
        }
        // Filters and encoders get messages: a framed record is the message it holds.
        let mut msgs = Vec::with_capacity(inputs.len());
        for input in inputs {
            match input.raw.map(|raw| heka_message::decode_message(&raw)) {
                None => msgs.push(input.msg),
                Some(Ok(m)) => msgs.push(m),
                Some(Err(e)) => self
                    .tally
                    .failures
                    .push(format!("record is not a Heka message: {e}")),
            }
        }
        let result = match plugin {
            Plugin::Filter {
                filter,
                ctx,
                matcher,
                ..
            } => {
                let before = msgs.len();
                let batch: Vec<Pack> = msgs
                    .into_iter()
                    .filter(|m| matcher.as_ref().is_none_or(|x| x.matches(m)))
                    .map(|m| Pack::new(m, None))
                    .collect();
                self.tally.unmatched += before - batch.len();
                let result = if batch.is_empty() {
                    Ok(())
                } else {
                    filter.process_batch(&batch, ctx)
                };
                self.tally.failures.extend(ctx.take_failure_reasons());
                collect(ctx, &mut self.outputs);
                result
            }
            Plugin::Encoder(encoder) => {
                call_each(msgs, &mut self.outputs, &mut self.tally, |msg, outputs| {
                    let mut out = Vec::new();
                    encoder.encode(&msg, &mut out)?;
                    outputs.push(Output::Bytes(out));
                    Ok(())
                })
            }
            Plugin::Decoder(_) => Ok(()),
        };
        self.settle(result);
    }

    /// A `timer_event(now_ns)` (filters only; specs refuse ticks for other kinds).
    pub fn tick(&mut self, now_ns: i64) {
        if self.terminated() {
            return;
        }
        if let Some(Plugin::Filter { filter, ctx, .. }) = &mut self.plugin {
            ctx.begin_timer();
            let result = filter.timer_event(now_ns, ctx);
            collect(ctx, &mut self.outputs);
            self.settle(result);
        }
    }

    /// A clean stop (the daemon's: the final timer event when configured, then
    /// `shutdown` / drop, which save `preserve_data`) and, with `again`, a fresh
    /// instance from the same constructor.
    pub fn stop(&mut self, now_ns: i64, again: bool) -> Result<(), ConfigError> {
        if self.terminated() {
            return Ok(());
        }
        if let Some(Plugin::Filter {
            timer_on_shutdown: true,
            ..
        }) = self.plugin
        {
            self.tick(now_ns);
        }
        let terminated = self.terminated();
        if let Some(Plugin::Filter { filter, .. }) = &mut self.plugin
            && !terminated
        {
            filter.shutdown();
        }
        if !again {
            return Ok(());
        }
        // The old instance goes first: an encoder or decoder saves its state when
        // dropped, and the fresh one restores it when built.
        drop(self.plugin.take());
        self.plugin = Some(build_plugin(self.config, self.section, &self.stats)?);
        Ok(())
    }

    fn settle(&mut self, result: Result<(), PluginError>) {
        match result {
            Ok(()) | Err(PluginError::Skip) => {}
            // The filter runner's contract: an error from a whole batch is fatal.
            Err(PluginError::Failed(reason) | PluginError::Fatal(reason)) => {
                self.tally.terminated = Some(reason);
            }
        }
    }
}

fn pipeline_kind(kind: PluginKind) -> heka_pipeline::PluginKind {
    match kind {
        PluginKind::Encoder => heka_pipeline::PluginKind::Encoder,
        PluginKind::Decoder => heka_pipeline::PluginKind::Decoder,
        _ => heka_pipeline::PluginKind::Filter,
    }
}

/// One instance of `section`, from the registry row of its type.
fn build_plugin(
    config: &Config,
    section: &Section,
    stats: &Arc<PluginStats>,
) -> Result<Plugin, ConfigError> {
    let ctx = BuildContext::new(config, section);
    let Some(row) = registry::lookup(&section.type_name) else {
        let names = crate::config::closest(&section.type_name, registry::names());
        return Err(ctx.error_kind(
            Some("type"),
            ErrorKind::UnknownType {
                type_name: section.type_name.clone(),
                suggestions: names,
            },
        ));
    };
    let fatal = |e: PluginError| ctx.error(Some("filename"), e.to_string());
    match row.ctor {
        Ctor::Filter(ctor) => {
            let built = ctor(&ctx)?;
            let expr = match &section.common {
                Common::Filter(c) => c.message_matcher.clone(),
                _ => None,
            };
            let matcher = match expr {
                Some(e) => Some(
                    Matcher::parse(&e)
                        .map_err(|err| ctx.invalid(Some("message_matcher"), err.to_string()))?,
                ),
                None => None,
            };
            let mut filter = built.filter;
            filter.attach_stats(stats);
            let ctx = FilterContext::standalone(
                section.name.as_str(),
                &settings(&config.globals),
                matcher.clone(),
            );
            Ok(Plugin::Filter {
                filter,
                ctx: Box::new(ctx),
                matcher,
                timer_on_shutdown: built.timer_event_on_shutdown.unwrap_or(false),
            })
        }
        Ctor::Encoder(ctor) => {
            let factory = ctor(&ctx)?;
            let mut encoder = factory().map_err(fatal)?;
            encoder.attach_stats(&|| stats.clone());
            Ok(Plugin::Encoder(encoder))
        }
        Ctor::Decoder(ctor) => {
            let factory = ctor(&ctx)?;
            let mut decoder = factory().map_err(fatal)?;
            decoder.attach_stats(&|| stats.clone());
            Ok(Plugin::Decoder(decoder))
        }
        _ => Err(ctx.invalid(
            Some("type"),
            "hekad test runs filters, encoders and decoders",
        )),
    }
}

fn collect(ctx: &mut FilterContext, outputs: &mut Vec<Output>) {
    outputs.extend(
        ctx.take_injected()
            .into_iter()
            .map(|m| Output::Message(Box::new(m))),
    );
}

/// One call per message (encoders, decoders): outputs kept, failures counted, a
/// fatal outcome returned (the later messages are not delivered).
fn call_each<T>(
    msgs: Vec<T>,
    outputs: &mut Vec<Output>,
    tally: &mut Tally,
    mut call: impl FnMut(T, &mut Vec<Output>) -> Result<(), PluginError>,
) -> Result<(), PluginError> {
    for msg in msgs {
        match call(msg, outputs) {
            Ok(()) | Err(PluginError::Skip) => {}
            Err(PluginError::Failed(reason)) => tally.failures.push(reason),
            Err(fatal) => return Err(fatal),
        }
    }
    Ok(())
}
