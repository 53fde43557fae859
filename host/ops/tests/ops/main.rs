//! The ops listener against a real pipeline: `/metrics` (lint and promtool), health,
//! status, history, terminations, the live tail, sandbox outputs and the token rule.

mod api;
mod common;
mod health;
mod metrics;
mod outputs;
