//! outputs.

pub mod dashboard;
pub mod file;
pub mod http;
pub mod log;
pub mod tcp;
