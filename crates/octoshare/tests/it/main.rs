//! Process-level tests of the `octoshare` binary, each against its own Octopus API emulator.

mod browser;
mod demo;
mod deploy;
mod documents;
mod emulator;
mod help;
mod install;
mod metrics;
mod reconcile;
mod reconciler;
mod requests;
mod retire;
mod retire_on_shutdown;
mod run;
mod shell;
mod status;
mod support;
mod user_data;
