//! Every failure: its documented exit code and one clear line on stderr.

use super::support::{TF_POOL, discover, discover_with_key, four_spaces, id, start};
use octopus_emulator::Fault;

#[test]
fn no_qualifying_space_exits_3_naming_the_pool_and_the_spaces_searched() {
    let emulator = start(four_spaces());
    let run = discover(&emulator, &["--worker-pool", "Azure Worker Pool TF"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.error_line(),
        "no space has a worker pool named 'Azure Worker Pool TF' (4 spaces searched): check --worker-pool and that the API key's user can see the spaces that have it"
    );
    assert!(run.outputs().is_empty());
    let result = octoshare_core::service_message::parse_service_messages(&run.stdout)
        .into_iter()
        .find(|message| message.name == "resultMessage")
        .expect("a resultMessage for Octopus");
    assert!(result.get("message").unwrap().starts_with("no space has"));
}

#[test]
fn no_qualifying_space_after_filters_says_how_many_were_excluded() {
    let emulator = start(four_spaces());
    let run = discover(
        &emulator,
        &["--worker-pool", TF_POOL, "--include-space", "Dev"],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.error_line().starts_with(
            "no space has a worker pool named 'AWS Worker Pool TF' (1 spaces searched, 3 excluded by --include-space/--exclude-space)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn initial_space_errors_say_why_it_does_not_qualify() {
    let emulator = start(four_spaces());
    let dev = id(&emulator, "Dev");
    let platform = id(&emulator, "Platform");

    let run = discover(
        &emulator,
        &["--worker-pool", TF_POOL, "--initial-space", "Nowhere"],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.error_line(),
        "--initial-space 'Nowhere' does not exist: none of the 4 spaces has that name or Id"
    );

    let run = discover(
        &emulator,
        &["--worker-pool", TF_POOL, "--initial-space", "dev"],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.error_line(),
        format!(
            "--initial-space Dev ({dev}) has no worker pool named 'AWS Worker Pool TF': pick one of the 3 qualifying spaces: Default ({}), Payments ({}), Platform ({platform})",
            id(&emulator, "Default"),
            id(&emulator, "Payments"),
        )
    );

    emulator.clear_requests();
    let run = discover(
        &emulator,
        &[
            "--worker-pool",
            TF_POOL,
            "--initial-space",
            &platform,
            "--exclude-space",
            "Plat*",
        ],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.error_line(),
        format!(
            "--initial-space Platform ({platform}) is filtered out by --include-space/--exclude-space: change the filters or the initial space"
        )
    );
    // Found out from the space list alone: no pool was read.
    assert_eq!(emulator.requests().len(), 1);
}

#[test]
fn rejected_api_key_exits_6() {
    let emulator = start(four_spaces());
    let run = discover_with_key(
        &emulator.url(),
        "API-WRONGKEY0000000000000000000000",
        &["--worker-pool", TF_POOL],
    );
    assert_eq!(run.code, 6, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("401"), "{line}");
    assert!(
        !line.contains("API-WRONGKEY"),
        "the key must never be printed: {line}"
    );
    assert_eq!(emulator.requests().len(), 1, "401 is not retried");
}

#[test]
fn unresponsive_server_exits_7() {
    // A socket that accepts connections (the kernel's backlog) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let run = discover_with_key(
        &url,
        "API-EMULATORADMIN000000000000001",
        &[
            "--worker-pool",
            TF_POOL,
            "--max-retries",
            "1",
            "--request-timeout",
            "200ms",
        ],
    );
    drop(listener);
    assert_eq!(run.code, 7, "{run:?}");
    let line = run.error_line();
    assert!(line.starts_with("while listing spaces: "), "{line}");
}

#[test]
fn server_errors_are_retried_then_exit_7() {
    let emulator = start(four_spaces());
    emulator.add_fault(Fault::status(503).path("/api/spaces/all"));
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--max-retries", "2"]);
    assert_eq!(run.code, 7, "{run:?}");
    run.error_line();
    assert_eq!(emulator.requests().len(), 3, "one attempt and two retries");
}
