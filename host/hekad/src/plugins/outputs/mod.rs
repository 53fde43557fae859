//! outputs.

pub mod file;
pub mod http;
pub mod log;
