//! Inputs: produce records and hand them to the pipeline through `InputContext`.

pub mod logstreamer;
pub mod nats;
mod nats_consumer;
pub mod stdin;
pub mod tcp;
mod tcp_acks;
