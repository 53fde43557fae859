//! Built-in splitters: TokenSplitter, RegexSplitter, HekaFramingSplitter, NullSplitter.
