//! Smoke tests of the benchmark: one tiny size through the library, and the RSS measurer.

use std::time::Duration;

use octoshare_bench::Fleet;
use octoshare_bench::bench::run_baseline;
use octoshare_bench::measure::Launch;

#[test]
fn runbook_baseline_makes_the_runbooks_requests() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fleet = Fleet {
        spaces: 3,
        workers: 2,
    };
    let result = run_baseline(&runtime, Duration::ZERO, &fleet).unwrap();
    // Get Space List: one page of spaces, then each space's pools.
    assert_eq!(result.discover.requests.get, 1 + 3);
    assert_eq!(result.discover.requests.writes(), 0);
    // Add workers: the initial pool and its workers, then per remaining space its pools,
    // its policies and one POST per worker, one request at a time.
    assert_eq!(result.share.requests.get, 2 + 2 * 2);
    assert_eq!(result.share.requests.post, 2 * 2);
    assert_eq!(result.share.requests.not_ok, 0);
    assert_eq!(result.total.requests.peak_in_flight, 1);
    assert_eq!(result.total.requests.total(), 4 + 6 + 4);
}

#[test]
fn measure_rss_reports_the_childs_peak_memory() {
    let bench = std::path::Path::new(env!("CARGO_BIN_EXE_octoshare-bench"));
    let run = Launch {
        program: bench,
        args: vec!["--version".to_owned()],
        env: Vec::new(),
        measurer: Some(bench),
    }
    .run()
    .unwrap();
    assert!(
        run.stdout.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        run.stdout
    );
    let kib = run.max_rss_kib.unwrap();
    assert!((100..1_000_000).contains(&kib), "{kib} KiB");
}
