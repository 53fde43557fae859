//! Encoders: serialise a message for an output.

pub mod payload;
pub mod protobuf;
pub mod slack;
