//! End-to-end tests of the real `hekad` binary (one test binary, one module per area).

mod bad_config;
mod buffering;
mod cli;
mod dashboard;
mod hostile;
mod lua_modules;
mod nats;
mod ops;
mod plugin_tests;
mod reload_live;
mod seed;
mod stdin_pipe;
mod tcp_agent;
mod tcp_tls;
mod tcp_to_file;
mod trials;
