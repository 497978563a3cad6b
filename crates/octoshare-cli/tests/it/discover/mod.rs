//! Integration tests: the real `octoshare-discover` binary against an emulator per test.

pub mod support;

mod errors;
mod filters;
mod outputs;
mod permissions;
mod search;
