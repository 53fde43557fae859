//! `heka-guest-build`: paths of the guest plugins built from source.
