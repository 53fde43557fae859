//! A section's common options (what every plugin of its kind has) turned into the
//! pipeline's option structs: splitter options, inputs' templates, matchers, ticker
//! intervals, retries, buffering and framing. Each check reports its own problem and
//! the others still run, so a section with two mistakes gets two lines.

use std::sync::Arc;
use std::time::Duration;

use heka_message::{HEADER_FRAMING_SIZE, MAX_HEADER_SIZE, Matcher};
use heka_pipeline::SplitOptions;
use heka_pipeline::{BufferOptions, FilterOptions, InputOptions, OutputOptions, RetryOptions};

use super::Pass;
use crate::config::{Common, Config, ErrorKind, PluginKind, Retries, RetriesConfig, Section};
use crate::registry::Registration;

/// Heka's MAX_RECORD_SIZE: a whole framed record of the largest message.
fn max_record_size(max_message_size: usize) -> usize {
    max_message_size + MAX_HEADER_SIZE + HEADER_FRAMING_SIZE
}

/// A splitter section's options (its type's buffer size unless it sets one).
pub(crate) fn split(config: &Config, section: &Section, reg: &Registration) -> SplitOptions {
    let mut options = SplitOptions {
        max_record_size: max_record_size(config.globals.max_message_size),
        min_buffer_size: reg.min_buffer_size,
        ..SplitOptions::default()
    };
    if let Common::Splitter(c) = &section.common {
        options.keep_truncated = c.keep_truncated;
        options.deliver_incomplete_final = c.deliver_incomplete_final;
        if let Some(n) = c.min_buffer_size {
            options.min_buffer_size = (n as usize).clamp(1, options.max_record_size);
        }
        if c.use_message_bytes.is_some() {
            tracing::debug!(splitter = %section.name, "use_message_bytes is decided by the splitter type");
        }
    }
    options
}

fn ticker(seconds: Option<u64>, reg: &Registration) -> Option<Duration> {
    let s = seconds.unwrap_or(reg.ticker_interval);
    (s > 0).then(|| Duration::from_secs(s))
}

fn warn_unsupported(section: &Section, use_buffering: Option<bool>) {
    if use_buffering == Some(true) {
        tracing::warn!(plugin = %section.name, "use_buffering (disk queue) is not supported yet; ignored");
    }
}

impl Pass<'_> {
    /// An input's splitter and decoder templates (by name, else its type's defaults)
    /// and its decode options.
    pub(super) fn input_options(
        &mut self,
        section: &Section,
        reg: &Registration,
    ) -> Option<InputOptions> {
        let Common::Input(c) = &section.common else {
            self.report(section, None, ErrorKind::Plugin("not an input".into()));
            return None;
        };
        let splitter = self.reference(
            section,
            "splitter",
            (c.splitter.as_deref(), Some(reg.splitter)),
            PluginKind::Splitter,
            |pass, name| pass.splitters.get(name).cloned(),
        );
        let decoder = self.reference(
            section,
            "decoder",
            (c.decoder.as_deref(), reg.decoder),
            PluginKind::Decoder,
            |pass, name| {
                let (factory, type_name) = pass.decoders.get(name)?;
                Some((factory.clone(), (name.to_owned(), (*type_name).to_owned())))
            },
        );
        let template = splitter??;
        let mut options = InputOptions::new(template.factory, template.options);
        let (decoder, decoder_section) = decoder?.unzip();
        options.decoder = decoder;
        options.decoder_section = decoder_section;
        options.can_exit = c.can_exit;
        options.send_decode_failures = c.send_decode_failures;
        options.log_decode_failures = c.log_decode_failures;
        Some(options)
    }

    /// A filter's matcher, ticker and exit options.
    pub(super) fn filter_options(
        &mut self,
        section: &Section,
        reg: &Registration,
    ) -> Option<FilterOptions> {
        let Common::Filter(c) = &section.common else {
            self.report(section, None, ErrorKind::Plugin("not a filter".into()));
            return None;
        };
        warn_unsupported(section, c.use_buffering);
        let mut options = FilterOptions::new(self.matcher(section, c.message_matcher.as_deref())?);
        options.message_signer = c.message_signer.as_deref().map(Arc::from);
        options.ticker_interval = ticker(c.ticker_interval, reg);
        options.can_exit = c.can_exit.unwrap_or(reg.sandbox);
        options.is_sandbox = reg.sandbox;
        Some(options)
    }

    /// An output's matcher, encoder template, framing, retries and disk buffer.
    pub(super) fn output_options(
        &mut self,
        section: &Section,
        reg: &Registration,
    ) -> Option<OutputOptions> {
        let Common::Output(c) = &section.common else {
            self.report(section, None, ErrorKind::Plugin("not an output".into()));
            return None;
        };
        let matcher = self.matcher(section, c.message_matcher.as_deref());
        let encoder = self.reference(
            section,
            "encoder",
            (c.encoder.as_deref().or(reg.encoder), None),
            PluginKind::Encoder,
            |pass, name| {
                let (factory, type_name) = pass.encoders.get(name)?;
                Some((factory.clone(), (name.to_owned(), (*type_name).to_owned())))
            },
        );
        if c.encoder.is_none() && reg.requires_encoder {
            let missing = ErrorKind::MissingEncoder(reg.name.to_owned());
            self.report(section, Some("encoder"), missing);
        }
        let retries = self.retries(section, &c.retries);
        let use_buffering = Some(c.use_buffering.unwrap_or(reg.buffered));
        let buffering = self.buffering(section, use_buffering, c.buffering.as_ref());
        let mut options = OutputOptions::new(matcher?);
        options.message_signer = c.message_signer.as_deref().map(Arc::from);
        let encoder = encoder?;
        if encoder.is_none() && reg.requires_encoder {
            return None;
        }
        let (encoder, encoder_section) = encoder.unzip();
        let encoder_type = encoder_section
            .as_ref()
            .map(|(_, type_name)| type_name.as_str());
        options.use_framing = c
            .use_framing
            .unwrap_or(reg.frames_protobuf && encoder_type == Some("ProtobufEncoder"));
        options.encoder = encoder;
        options.encoder_section = encoder_section;
        options.ticker_interval = ticker(c.ticker_interval, reg);
        options.can_exit = c.can_exit.unwrap_or(reg.sandbox);
        options.retries = retries?;
        options.buffering = buffering?;
        Some(options)
    }

    /// The section's `message_matcher` (none: Heka's "the plugin gets nothing").
    fn matcher(&mut self, section: &Section, expression: Option<&str>) -> Option<Matcher> {
        let expression = expression.unwrap_or("FALSE");
        match Matcher::parse(expression) {
            Ok(m) => Some(m),
            Err(e) => {
                let kind = ErrorKind::BadMatcher {
                    expression: e.expression,
                    offset: e.offset,
                    expected: e.expected,
                    found: e.found,
                };
                self.report(section, Some("message_matcher"), kind);
                None
            }
        }
    }

    fn retries(&mut self, section: &Section, r: &RetriesConfig) -> Option<RetryOptions> {
        match r.parse() {
            Ok(Retries {
                delay,
                max_delay,
                max_jitter,
                max_retries,
            }) => Some(RetryOptions {
                delay,
                max_delay,
                max_jitter,
                max_retries,
            }),
            Err((key, msg)) => {
                self.report(section, Some(key), ErrorKind::InvalidValue(msg));
                None
            }
        }
    }

    /// `Some(None)`: no disk buffer; `None`: a problem, reported.
    fn buffering(
        &mut self,
        section: &Section,
        use_buffering: Option<bool>,
        buffering: Option<&crate::config::BufferingConfig>,
    ) -> Option<Option<BufferOptions>> {
        if use_buffering != Some(true) {
            return Some(None);
        }
        let globals = &self.config.globals;
        let buffering = buffering.cloned().unwrap_or_default();
        match buffering.options(&globals.base_dir, globals.max_message_size) {
            Ok(options) => Some(Some(options)),
            Err((key, msg)) => {
                self.report(section, Some(key), ErrorKind::InvalidValue(msg));
                None
            }
        }
    }
}
