//! `[x]` keys of a FileOutput, with Heka's defaults, and the parsing of its octal
//! permission strings.

use std::path::PathBuf;

use serde::Deserialize;

/// Buffered bytes that force a write regardless of the flush rules.
pub const MAX_BUFFERED: usize = 1024 * 1024;

/// `[x]` keys of a FileOutput (`encoder` and `use_framing` are common output keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    /// The file to append to.
    pub path: PathBuf,
    /// Octal permissions of a created file.
    #[serde(default = "default_perm")]
    pub perm: String,
    /// Octal permissions of created parent directories.
    #[serde(default = "default_folder_perm")]
    pub folder_perm: String,
    /// Milliseconds between writes of the batch; 0 turns the interval rule off.
    #[serde(default = "default_flush_interval")]
    pub flush_interval: u32,
    /// Messages per batch (0 counts as 1, Heka's minimum).
    #[serde(default = "default_flush_count")]
    pub flush_count: u32,
    /// How the two rules combine: `AND` (both) or `OR` (either).
    #[serde(default = "default_flush_operator")]
    pub flush_operator: String,
    /// Hours between file rotations (0 = none, 1, 4, 12, 24); with rotation `path`
    /// is a strftime pattern.
    #[serde(default)]
    pub rotation_interval: u32,
}

fn default_perm() -> String {
    "644".to_owned()
}
fn default_folder_perm() -> String {
    "700".to_owned()
}
fn default_flush_interval() -> u32 {
    1000
}
fn default_flush_count() -> u32 {
    1
}
fn default_flush_operator() -> String {
    "AND".to_owned()
}

/// Parses Heka's octal permission strings ("644", "0644").
pub(super) fn parse_perm(text: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(text, 8)
        .map_err(|_| format!("{text:?} is not an octal permission like \"644\""))?;
    if mode > 0o7777 {
        return Err(format!("{text:?} is not a permission (above 7777)"));
    }
    Ok(mode)
}
