//! Integration tests of the retire library against the emulator, with a virtual drain clock:
//! the order of requests, the drain's schedule, timeouts, force, interruption and re-runs.

mod drain;
mod faults;
mod kinds;
mod support;
mod this_machine;
