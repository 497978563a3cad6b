//! Integration tests of `octoshare-share`: the real binary (and, for the many seeded fault runs,
//! the library in-process) against the Octopus emulator, with request counts from its log.

mod cli;
mod decisions;
mod faults;
mod kinds;
pub mod support;
