//! Integration tests: the real `octoshare-wait` binary against an emulator per test.

pub mod support;

mod errors;
mod outputs;
mod polling;
