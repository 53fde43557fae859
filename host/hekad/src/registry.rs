//! The one table of plugin types: type name -> constructor (and the type's defaults).
//!
//! Adding a plugin = one file under `plugins/<kind>/`, one row below, one test. Rows
//! are grouped by kind; each is a [`Registration`] built with `const` helpers, so a
//! row reads like its configuration:
//!
//! ```ignore
//! Registration::input("TcpInput", inputs::tcp::build)
//!     .default_splitter("HekaFramingSplitter")
//!     .default_decoder("ProtobufDecoder"),
//! ```
//!
//! Inputs, filters and outputs are built once per section; splitters, decoders and
//! encoders are templates: their constructor returns a factory that makes a fresh
//! instance per user (per connection, per output), as Heka does.
//!
//! Where a type lives, one step from its row: the row's constructor path is the file
//! (`inputs::tcp::build` → `plugins/inputs/tcp.rs`), which holds the config and the
//! runtime. **Splitters are the one kind whose runtime is elsewhere**, by rule: record
//! splitting is the pipeline's (its input runners, tests and benches use it without
//! hekad), so the runtime is in `heka_pipeline::splitters` and each splitter row names
//! that type in a comment; `plugins/splitters/<name>.rs` holds only the config and the
//! factory.
//!
//! This module is the middle layer: it imports `config` (kinds, errors) and
//! `plugins` (constructors); `config` imports neither, and `crate::assemble` joins
//! the three.

use heka_pipeline::{DecoderFactory, EncoderFactory, Input, Output, SplitterFactory};

use crate::config::{ConfigError, PluginKind};
use crate::plugins::{BuildContext, BuiltFilter};
#[allow(unused_imports)]
use crate::plugins::{decoders, encoders, filters, inputs, outputs, sandbox, splitters};

/// Builds an input.
pub type InputCtor = fn(&BuildContext) -> Result<Box<dyn Input>, ConfigError>;
/// Builds a filter.
pub type FilterCtor = fn(&BuildContext) -> Result<BuiltFilter, ConfigError>;
/// Builds an output.
pub type OutputCtor = fn(&BuildContext) -> Result<Box<dyn Output>, ConfigError>;
/// Builds a splitter template.
pub type SplitterCtor = fn(&BuildContext) -> Result<SplitterFactory, ConfigError>;
/// Builds a decoder template.
pub type DecoderCtor = fn(&BuildContext) -> Result<DecoderFactory, ConfigError>;
/// Builds an encoder template.
pub type EncoderCtor = fn(&BuildContext) -> Result<EncoderFactory, ConfigError>;

/// A constructor, which also says the plugin's kind.
#[derive(Clone, Copy)]
pub enum Ctor {
    Input(InputCtor),
    Splitter(SplitterCtor),
    Decoder(DecoderCtor),
    Filter(FilterCtor),
    Encoder(EncoderCtor),
    Output(OutputCtor),
}

impl Ctor {
    /// The kind this constructor builds.
    pub fn kind(&self) -> PluginKind {
        match self {
            Ctor::Input(_) => PluginKind::Input,
            Ctor::Splitter(_) => PluginKind::Splitter,
            Ctor::Decoder(_) => PluginKind::Decoder,
            Ctor::Filter(_) => PluginKind::Filter,
            Ctor::Encoder(_) => PluginKind::Encoder,
            Ctor::Output(_) => PluginKind::Output,
        }
    }
}

/// One registered plugin type.
#[derive(Clone, Copy)]
pub struct Registration {
    pub name: &'static str,
    pub ctor: Ctor,
    /// Inputs: the splitter used when the section names none (Heka: NullSplitter).
    pub splitter: &'static str,
    /// Inputs: the decoder used when the section names none.
    pub decoder: Option<&'static str>,
    /// Outputs: a missing `encoder` is a config error.
    pub requires_encoder: bool,
    /// Outputs: the encoder used when the section names none (Heka's TcpOutput:
    /// ProtobufEncoder).
    pub encoder: Option<&'static str>,
    /// Outputs: `use_buffering` defaults to true (Heka's TcpOutput).
    pub buffered: bool,
    /// Outputs: `use_framing` defaults to true when the encoder is ProtobufEncoder
    /// (Heka's FileOutput and TcpOutput).
    pub frames_protobuf: bool,
    /// Sandbox plugins: `can_exit` defaults to true, terminations are reported as
    /// `heka.sandbox-terminated`.
    pub sandbox: bool,
    /// Splitters: the initial buffer size (Heka: 8 KiB, NullSplitter 64 KiB).
    pub min_buffer_size: usize,
    /// Filters and outputs: `ticker_interval` when the section sets none (0 = none).
    pub ticker_interval: u64,
    /// Exists without a section, with its default config (Heka's always-registered
    /// ProtobufDecoder, ProtobufEncoder and the stock splitters).
    pub always_present: bool,
}

impl Registration {
    const fn new(name: &'static str, ctor: Ctor) -> Registration {
        Registration {
            name,
            ctor,
            splitter: "NullSplitter",
            decoder: None,
            requires_encoder: false,
            encoder: None,
            buffered: false,
            frames_protobuf: false,
            sandbox: false,
            min_buffer_size: 8 * 1024,
            ticker_interval: 0,
            always_present: false,
        }
    }
    pub const fn input(name: &'static str, ctor: InputCtor) -> Registration {
        Registration::new(name, Ctor::Input(ctor))
    }
    pub const fn splitter(name: &'static str, ctor: SplitterCtor) -> Registration {
        Registration::new(name, Ctor::Splitter(ctor))
    }
    pub const fn decoder(name: &'static str, ctor: DecoderCtor) -> Registration {
        Registration::new(name, Ctor::Decoder(ctor))
    }
    pub const fn filter(name: &'static str, ctor: FilterCtor) -> Registration {
        Registration::new(name, Ctor::Filter(ctor))
    }
    pub const fn encoder(name: &'static str, ctor: EncoderCtor) -> Registration {
        Registration::new(name, Ctor::Encoder(ctor))
    }
    pub const fn output(name: &'static str, ctor: OutputCtor) -> Registration {
        Registration::new(name, Ctor::Output(ctor))
    }
    pub const fn default_splitter(mut self, splitter: &'static str) -> Registration {
        self.splitter = splitter;
        self
    }
    pub const fn default_decoder(mut self, decoder: &'static str) -> Registration {
        self.decoder = Some(decoder);
        self
    }
    pub const fn requires_encoder(mut self) -> Registration {
        self.requires_encoder = true;
        self
    }
    pub const fn default_encoder(mut self, encoder: &'static str) -> Registration {
        self.encoder = Some(encoder);
        self
    }
    pub const fn buffered_by_default(mut self) -> Registration {
        self.buffered = true;
        self
    }
    pub const fn frames_protobuf(mut self) -> Registration {
        self.frames_protobuf = true;
        self
    }
    pub const fn sandbox(mut self) -> Registration {
        self.sandbox = true;
        self
    }
    pub const fn min_buffer_size(mut self, bytes: usize) -> Registration {
        self.min_buffer_size = bytes;
        self
    }
    pub const fn default_ticker_interval(mut self, seconds: u64) -> Registration {
        self.ticker_interval = seconds;
        self
    }
    pub const fn always_present(mut self) -> Registration {
        self.always_present = true;
        self
    }

    /// The kind of plugin this type builds.
    pub fn kind(&self) -> PluginKind {
        self.ctor.kind()
    }
}

/// Every plugin type hekad knows, grouped by kind.
pub static REGISTRY: &[Registration] = &[
    // --- inputs ---
    Registration::input("TcpInput", inputs::tcp::build)
        .default_splitter("HekaFramingSplitter")
        .default_decoder("ProtobufDecoder"),
    Registration::input("NatsInput", inputs::nats::build)
        .default_splitter("HekaFramingSplitter")
        .default_decoder("ProtobufDecoder"),
    Registration::input("StdinInput", inputs::stdin::build).default_splitter("TokenSplitter"),
    Registration::input("LogstreamerInput", inputs::logstreamer::build)
        .default_splitter("TokenSplitter"),
    // --- splitters (runtimes in heka_pipeline::splitters, see the module doc) ---
    // heka_pipeline::splitters::TokenSplitter
    Registration::splitter("TokenSplitter", splitters::token::build).always_present(),
    // heka_pipeline::splitters::RegexSplitter
    Registration::splitter("RegexSplitter", splitters::regex::build),
    // heka_pipeline::splitters::HekaFramingSplitter
    Registration::splitter("HekaFramingSplitter", splitters::heka_framing::build).always_present(),
    // heka_pipeline::splitters::NullSplitter
    Registration::splitter("NullSplitter", splitters::null::build)
        .min_buffer_size(64 * 1024)
        .always_present(),
    // --- decoders ---
    Registration::decoder("ProtobufDecoder", decoders::protobuf::build).always_present(),
    Registration::decoder("SandboxDecoder", sandbox::decoder).sandbox(),
    // --- filters ---
    Registration::filter("CounterFilter", filters::counter::build).default_ticker_interval(5),
    Registration::filter("SandboxFilter", sandbox::filter).sandbox(),
    Registration::filter("LogAggregatorFilter", filters::log_aggregator::build),
    // --- encoders ---
    Registration::encoder("ProtobufEncoder", encoders::protobuf::build).always_present(),
    Registration::encoder("PayloadEncoder", encoders::payload::build),
    Registration::encoder("SandboxEncoder", sandbox::encoder).sandbox(),
    Registration::encoder("SlackEncoder", encoders::slack::build),
    // --- outputs ---
    Registration::output("DashboardOutput", outputs::dashboard::build),
    Registration::output("FileOutput", outputs::file::build).frames_protobuf(),
    Registration::output("HttpOutput", outputs::http::build).requires_encoder(),
    Registration::output("LogOutput", outputs::log::build),
    Registration::output("NatsOutput", outputs::nats::build)
        .default_encoder("ProtobufEncoder")
        .frames_protobuf()
        .buffered_by_default()
        .default_ticker_interval(1),
    Registration::output("TcpOutput", outputs::tcp::build)
        .default_encoder("ProtobufEncoder")
        .frames_protobuf()
        .buffered_by_default()
        // A flush that failed (receiver down, acknowledgements late) is retried
        // every second even when no new message comes.
        .default_ticker_interval(1),
];

/// The registration of `type_name`.
pub fn lookup(type_name: &str) -> Option<&'static Registration> {
    REGISTRY.iter().find(|r| r.name == type_name)
}

/// Every registered type name.
pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|r| r.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kinds_match_suffixes() {
        let mut seen = std::collections::HashSet::new();
        for r in REGISTRY {
            assert!(seen.insert(r.name), "{} registered twice", r.name);
            assert_eq!(
                PluginKind::from_type_name(r.name),
                Some(r.kind()),
                "{}: suffix and constructor disagree",
                r.name
            );
        }
    }
}
