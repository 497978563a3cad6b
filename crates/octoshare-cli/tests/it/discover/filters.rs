//! `--include-space` / `--exclude-space`: filtered-out spaces cost no request.

use super::support::{TF_POOL, discover, four_spaces, id, pool_reads, start};

/// The spaces whose pools were read, sorted (the reads run concurrently: arrival order varies).
fn read_space_ids(emulator: &octopus_emulator::Emulator) -> Vec<String> {
    let mut ids: Vec<String> = pool_reads(&emulator.requests())
        .iter()
        .map(|request| {
            request
                .path
                .split('/')
                .nth(2)
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ids.sort_by_key(|id| {
        id.trim_start_matches("Spaces-")
            .parse::<u64>()
            .unwrap_or(u64::MAX)
    });
    ids
}

#[test]
fn include_globs_limit_the_search_by_name() {
    let emulator = start(four_spaces());
    let run = discover(
        &emulator,
        &["--worker-pool", TF_POOL, "--include-space", "p*"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs["InitialSpaceName"], "Payments");
    assert_eq!(outputs["RemainingSpaceNames"], "Platform");
    assert_eq!(
        read_space_ids(&emulator),
        [id(&emulator, "Payments"), id(&emulator, "Platform")]
    );
    assert!(run.stdout.contains("in 2 spaces"), "{}", run.stdout);
    assert!(run.stdout.contains("(2 of 4 excluded by"), "{}", run.stdout);
}

#[test]
fn exclude_globs_match_ids_and_win_over_includes() {
    let emulator = start(four_spaces());
    let payments = id(&emulator, "Payments");
    let run = discover(
        &emulator,
        &[
            "--worker-pool",
            TF_POOL,
            "--include-space",
            "P*",
            "--include-space",
            "default",
            "--exclude-space",
            &payments.to_lowercase(),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs["InitialSpaceName"], "Default");
    assert_eq!(outputs["RemainingSpaceNames"], "Platform");
    assert_eq!(
        read_space_ids(&emulator),
        [id(&emulator, "Default"), id(&emulator, "Platform")]
    );
}

#[test]
fn invalid_glob_is_a_usage_error() {
    let emulator = start(four_spaces());
    let run = discover(
        &emulator,
        &["--worker-pool", TF_POOL, "--exclude-space", "[Team"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_line()
            .starts_with("invalid --exclude-space pattern '[Team'"),
        "{}",
        run.stderr
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn zero_concurrency_is_refused_by_the_flag_parser() {
    let emulator = start(four_spaces());
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--concurrency", "0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--concurrency"), "{}", run.stderr);
    assert!(emulator.requests().is_empty());
}
