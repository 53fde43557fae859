//! Filters: consume routed messages, inject new ones.

pub mod counter;
pub mod log_aggregator;
