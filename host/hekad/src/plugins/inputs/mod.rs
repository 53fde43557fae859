//! Inputs: produce records and hand them to the pipeline through `InputContext`.

pub mod logstreamer;
pub mod stdin;
pub mod tcp;
mod tcp_acks;
