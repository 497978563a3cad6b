//! Seeded families (chaos): which seeds run, and running them on a few threads with every
//! failing seed reported with the way to run it again alone.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::env_count;

/// The seeds to run: `{prefix}_SEED` alone, else `0..{prefix}_SEEDS` (default `default`).
pub fn seeds(prefix: &str, default: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var(format!("{prefix}_SEED"))
        && let Ok(seed) = seed.trim().parse()
    {
        return vec![seed];
    }
    (0..env_count(&format!("{prefix}_SEEDS"), default)).collect()
}

/// Runs `run` for every seed on 4 threads (stalls are waiting, not work, so several seeds at once
/// keep the wall time down) and returns the outcomes in completion order. Panics listing every
/// failed seed with `describe(seed)`, its message and `{prefix}_SEED=<seed>` to re-run it alone.
pub fn run_seeds<T: Send>(
    seeds: &[u64],
    prefix: &str,
    describe: impl Fn(u64) -> String + Sync,
    run: impl Fn(u64) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<T>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::SeqCst)) {
                    match std::panic::catch_unwind(AssertUnwindSafe(|| run(seed))) {
                        Ok(outcome) => outcomes.lock().expect("outcomes").push(outcome),
                        Err(panic) => {
                            let message = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                                .unwrap_or_default();
                            failures.lock().expect("failures").push(format!(
                                "seed {seed} ({}) failed: {message}\nre-run it alone with {prefix}_SEED={seed}",
                                describe(seed)
                            ));
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().expect("failures");
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed:\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n\n")
    );
    outcomes.into_inner().expect("outcomes")
}
