//! `cargo xtask bench`: octoshare against the original runbook's algorithm, on the emulator with
//! a fixed latency per request, for a grid of space and worker counts.
//!
//! For every size (S spaces that all have the pool, the first holding W polling workers) the
//! bench starts a fresh emulator and
//!
//! 1. replays the runbook's request pattern in-process with the octoshare-core client
//!    ([`baseline`]): the yardstick;
//! 2. runs the real release binaries against fresh emulators: `octoshare-discover`, then
//!    `octoshare-share` (every worker created), then `octoshare-share` again (nothing to do), and
//!    `octoshare run` (the full run, the figure compared with the runbook);
//! 3. counts what the server saw (the emulator's request log) and the wall time of each, and the
//!    peak RSS of the octoshare processes (through the `measure-rss` subcommand, see
//!    [`measure::measure_rss_main`]);
//! 4. runs `octoshare run` again on the same instance (the re-run: nothing to do), and once more
//!    against a throttled server ([`bench::run_throttled`]: at most 4 requests at once, 429 with
//!    `Retry-After` beyond), with the adaptive limit and with `--fixed-concurrency`.
//!
//! The report ([`report::BenchReport`]) is printed as Markdown, written between markers into
//! `BENCHMARKS.md` and as JSON, shows every figure next to the previous run's (the results file
//! it replaces, [`report::PreviousRun`]) and checks the targets of issues 8 and 18.

pub mod baseline;
pub mod bench;
pub mod commands;
pub mod fleet;
pub mod measure;
pub mod report;

pub use bench::{Measurements, Settings, run};
pub use fleet::{Fleet, POOL};
pub use report::BenchReport;
