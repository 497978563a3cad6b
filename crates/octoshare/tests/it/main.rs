//! Process-level tests of the `octoshare` binary, each against its own Octopus API emulator.

mod demo;
mod documents;
mod emulator;
mod help;
mod install;
mod reconcile;
mod reconciler;
mod run;
mod status;
mod support;
mod user_data;
