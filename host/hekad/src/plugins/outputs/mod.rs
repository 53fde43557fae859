//! outputs.

pub mod dashboard;
pub mod file;
pub mod http;
pub mod log;
pub mod nats;
pub mod tcp;
