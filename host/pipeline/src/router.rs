//! The router: filled in below.
