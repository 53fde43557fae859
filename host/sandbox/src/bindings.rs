//! Host bindings of `guest-sdk/wit/heka.wit`, one module per world. The encoder and
//! decoder worlds reuse the filter's `types` and `host` modules so the host side of
//! the imports is implemented once (`host.rs`).

pub mod filter {
    wasmtime::component::bindgen!({
        path: "../../guest-sdk/wit",
        world: "filter",
    });
}

pub mod encoder {
    wasmtime::component::bindgen!({
        path: "../../guest-sdk/wit",
        world: "encoder",
        with: {
            "heka:plugin/types": super::filter::heka::plugin::types,
            "heka:plugin/host": super::filter::heka::plugin::host,
        },
    });
}

pub mod decoder {
    wasmtime::component::bindgen!({
        path: "../../guest-sdk/wit",
        world: "decoder",
        with: {
            "heka:plugin/types": super::filter::heka::plugin::types,
            "heka:plugin/host": super::filter::heka::plugin::host,
        },
    });
}

pub use filter::heka::plugin::types::{ConfigValue, Level, Outcome};
