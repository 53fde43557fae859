//! Built-in splitters: TokenSplitter, RegexSplitter, HekaFramingSplitter, NullSplitter.
//!
//! Each one only answers "where is the next record in this buffer?"
//! ([`crate::Splitter::find_record`]); the [`crate::SplitRunner`] owns the buffer,
//! offsets, size limits and EOF handling. They are plain constructors with validated
//! arguments; the `hekad` crate maps the TOML options onto them.

mod framing;
mod null;
mod regex;
mod token;

pub use self::framing::HekaFramingSplitter;
pub use self::null::NullSplitter;
pub use self::regex::{RegexSplitter, RegexSplitterError};
pub use self::token::TokenSplitter;
