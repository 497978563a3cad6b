//! Integration tests: a real HTTP client (reqwest) against emulators on `127.0.0.1:0`.

mod support;

mod auth;
mod collections;
mod faults;
mod infrastructure;
mod kinds;
mod leases;
mod load;
mod permissions;
mod resources;
mod runtime;
mod scenario_files;
mod schedule;
mod ts_client;
mod workers;
