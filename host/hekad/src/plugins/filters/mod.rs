//! Filters: consume routed messages, inject new ones.

pub mod counter;
pub mod sandbox_filter;
