//! `heka-sandbox`: the WebAssembly sandbox host.
