//! Integration tests of the wait library: the polling schedule under Tokio's paused clock.

mod schedule;
