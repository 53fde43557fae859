//! Decoders: turn a record (or its message bytes) into messages.

pub mod protobuf;
