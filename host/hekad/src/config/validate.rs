//! Cross-checks once every section is known: registered types (with "did you mean"),
//! references between plugins (`decoder`, `splitter`, `encoder` name a section of the
//! right kind), matchers that parse, and outputs that need an encoder having one.
//!
//! Plugin-specific keys are checked when the plugins are built (`crate::build`), which
//! `hekad validate` also does.

use std::collections::BTreeMap;

use heka_message::Matcher;

use super::common::Common;
use super::error::{ConfigError, ErrorKind};
use super::suggest::closest;
use super::{Config, PluginKind, Section};
use crate::registry;

/// Adds a section for every always-present type (ProtobufDecoder, ProtobufEncoder,
/// the stock splitters) the configuration does not define itself.
pub(super) fn add_default_plugins(sections: &mut Vec<Section>) {
    for reg in registry::REGISTRY.iter().filter(|r| r.always_present) {
        if sections.iter().any(|s| s.name == reg.name) {
            continue;
        }
        sections.push(Section {
            name: reg.name.to_owned(),
            type_name: reg.name.to_owned(),
            kind: reg.kind(),
            table: toml::Table::new(),
            common: Common::default_for(reg.kind()),
            source: None,
            key_sources: BTreeMap::new(),
        });
    }
}

/// Appends every problem found to `errors`.
pub(super) fn check(config: &Config, errors: &mut Vec<ConfigError>) {
    for section in &config.sections {
        let Some(reg) = registry::lookup(&section.type_name) else {
            let key = section.key_sources.contains_key("type").then_some("type");
            errors.push(config.error_at(
                section,
                key,
                ErrorKind::UnknownType {
                    type_name: section.type_name.clone(),
                    suggestions: closest(&section.type_name, registry::names()),
                },
            ));
            continue;
        };
        match &section.common {
            Common::Input(c) => {
                check_reference(
                    config,
                    section,
                    "decoder",
                    c.decoder.as_deref(),
                    reg.decoder,
                    PluginKind::Decoder,
                    errors,
                );
                check_reference(
                    config,
                    section,
                    "splitter",
                    c.splitter.as_deref(),
                    Some(reg.splitter),
                    PluginKind::Splitter,
                    errors,
                );
            }
            Common::Filter(c) => {
                check_matcher(config, section, c.message_matcher.as_deref(), errors)
            }
            Common::Output(c) => {
                check_matcher(config, section, c.message_matcher.as_deref(), errors);
                if c.encoder.is_none() && reg.requires_encoder {
                    errors.push(config.error_at(
                        section,
                        Some("encoder"),
                        ErrorKind::MissingEncoder(reg.name.to_owned()),
                    ));
                }
                check_reference(
                    config,
                    section,
                    "encoder",
                    c.encoder.as_deref(),
                    None,
                    PluginKind::Encoder,
                    errors,
                );
            }
            Common::Splitter(_) | Common::Decoder | Common::Encoder => {}
        }
    }
}

/// `key` (explicit `named`, else the type's `default`) must name a section of `kind`.
fn check_reference(
    config: &Config,
    section: &Section,
    key: &'static str,
    named: Option<&str>,
    default: Option<&str>,
    kind: PluginKind,
    errors: &mut Vec<ConfigError>,
) {
    let Some(name) = named.or(default) else {
        return;
    };
    match config.section(name) {
        Some(target) if target.kind == kind => {}
        Some(target) => errors.push(config.error_at(
            section,
            Some(key),
            ErrorKind::WrongKind {
                name: name.to_owned(),
                expected: kind.as_str(),
                actual: target.kind.as_str(),
            },
        )),
        None => {
            let candidates = config
                .sections
                .iter()
                .filter(|s| s.kind == kind)
                .map(|s| s.name.as_str());
            errors.push(config.error_at(
                section,
                Some(key),
                ErrorKind::MissingReference {
                    kind: kind.as_str(),
                    name: name.to_owned(),
                    suggestions: closest(name, candidates),
                },
            ));
        }
    }
}

fn check_matcher(
    config: &Config,
    section: &Section,
    expression: Option<&str>,
    errors: &mut Vec<ConfigError>,
) {
    let Some(expression) = expression else {
        return;
    };
    if let Err(e) = Matcher::parse(expression) {
        errors.push(config.error_at(
            section,
            Some("message_matcher"),
            ErrorKind::BadMatcher {
                expression: e.expression,
                offset: e.offset,
                expected: e.expected,
                found: e.found,
            },
        ));
    }
}
