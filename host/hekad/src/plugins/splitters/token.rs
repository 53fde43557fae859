//! `TokenSplitter`: one record per `count` occurrences of a one-byte `delimiter`
//! (default `"\n"`, count 1), delimiters kept. The default splitter of
//! LogstreamerInput and StdinInput.
//!
//! ```toml
//! [split_on_nul]
//! type = "TokenSplitter"
//! delimiter = "\u0000"
//! ```

use std::sync::Arc;

use heka_pipeline::SplitterFactory;
use heka_pipeline::splitters::TokenSplitter;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[x]` keys of a TokenSplitter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSplitterConfig {
    /// Exactly one byte (Heka: "must be a single character").
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Delimiters per record (0 is treated as 1).
    #[serde(default = "default_count")]
    pub count: usize,
}

fn default_delimiter() -> String {
    "\n".into()
}

fn default_count() -> usize {
    1
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<SplitterFactory, ConfigError> {
    let cfg: TokenSplitterConfig = ctx.parse()?;
    let [delimiter] = cfg.delimiter.as_bytes() else {
        return Err(ctx.invalid(
            Some("delimiter"),
            format!(
                "TokenSplitter delimiter must be a single byte, got {:?}",
                cfg.delimiter
            ),
        ));
    };
    let (delimiter, count) = (*delimiter, cfg.count);
    Ok(Arc::new(move || {
        Box::new(TokenSplitter::new(delimiter, count))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let cfg: TokenSplitterConfig = crate::config::from_table(&toml::Table::new()).unwrap();
        assert_eq!((cfg.delimiter.as_str(), cfg.count), ("\n", 1));
        let t: toml::Table = toml::from_str("bogus = 1").unwrap();
        assert!(crate::config::from_table::<TokenSplitterConfig>(&t).is_err());
    }
}
