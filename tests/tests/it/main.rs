//! The end-to-end reliability and security suite (see `RELIABILITY.md`): seeded chaos,
//! concurrent runs, a bad-input table, secret leaks, fuzzing, interruption and an opt-in live
//! suite against a real Octopus Server. One integration-test binary, one module per family.

mod bad_input;
mod chaos;
mod chaos_retire;
mod concurrent;
mod fuzz;
mod interrupt;
mod live;
mod name_rule;
mod network;
mod secrets;
mod status_reconcile;
mod step_templates;
mod support;
