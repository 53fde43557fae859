//! `RegexSplitter`: records separated by matches of `delimiter` (at most one capture
//! group; default `"\n"`); with a group the captured text ends the record
//! (`delimiter_eol = true`, default) or starts the next one.
//!
//! ```toml
//! [multiline]
//! type = "RegexSplitter"
//! delimiter = '\n(\d{4}-\d{2}-\d{2})'
//! delimiter_eol = false
//! ```

use std::sync::Arc;

use heka_pipeline::SplitterFactory;
use heka_pipeline::splitters::RegexSplitter;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[x]` keys of a RegexSplitter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexSplitterConfig {
    /// The record boundary (RE2 syntax, at most one capture group).
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Captured text ends the record (true) or begins the next (false).
    #[serde(default = "default_eol")]
    pub delimiter_eol: bool,
}

fn default_delimiter() -> String {
    "\n".into()
}

fn default_eol() -> bool {
    true
}

/// Registry constructor. The regex is compiled once here (errors name the key);
/// each instance clones the compiled splitter.
pub fn build(ctx: &BuildContext) -> Result<SplitterFactory, ConfigError> {
    let cfg: RegexSplitterConfig = ctx.parse()?;
    let template = RegexSplitter::new(&cfg.delimiter, cfg.delimiter_eol)
        .map_err(|e| ctx.invalid(Some("delimiter"), e.to_string()))?;
    Ok(Arc::new(move || Box::new(template.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let cfg: RegexSplitterConfig = crate::config::from_table(&toml::Table::new()).unwrap();
        assert_eq!(cfg.delimiter, "\n");
        assert!(cfg.delimiter_eol);
    }
}
