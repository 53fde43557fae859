//! `heka-sdk`: the guest SDK.
