//! End-to-end tests live in `tests/` of this crate; they drive the real `hekad` binary.
