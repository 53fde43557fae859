//! Splitters: config structs and factories for the stock splitters of
//! `heka_pipeline::splitters`. Each section (or the always-present default) becomes
//! a factory; every stream or connection gets a fresh instance, as Heka's templates.
//! The common splitter options (`keep_truncated`, `min_buffer_size`, ...) are read by
//! the assembler into `SplitOptions`; these files only handle each type's own keys.

pub mod heka_framing;
pub mod null;
pub mod regex;
pub mod token;
