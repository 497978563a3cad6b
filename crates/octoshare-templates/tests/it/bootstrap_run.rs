//! Runs the bootstrap script, in every format, against stub commands.

use octoshare_templates::{BootstrapFormat, END_OF_INPUTS_MARKER, render_bootstrap};

use crate::evaluate::{Values, evaluate_octostache, evaluate_tftpl};
use crate::sandbox::{HOSTNAME, Run, Sandbox};

const APT_GET: [&str; 5] = ["apt-get", "-q", "-y", "-o", "DPkg::Lock::Timeout=600"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn apt_get(arguments: &[&str]) -> Vec<String> {
    strings(&APT_GET)
        .into_iter()
        .chain(strings(arguments))
        .collect()
}

fn tentacle(arguments: &[&str]) -> Vec<String> {
    std::iter::once("Tentacle".to_owned())
        .chain(strings(arguments))
        .collect()
}

fn render(format: BootstrapFormat, values: &Values) -> String {
    let rendered = render_bootstrap(format, &values.config()).unwrap();
    match format {
        BootstrapFormat::Bash => rendered,
        BootstrapFormat::Tftpl => evaluate_tftpl(&rendered, values),
        BootstrapFormat::Octostache => evaluate_octostache(&rendered, &values.octopus_variables()),
    }
}

/// The environment each format needs: the Bash format reads the key from the environment.
fn environment(format: BootstrapFormat, values: &Values) -> Vec<(&'static str, String)> {
    match format {
        BootstrapFormat::Bash => vec![("OCTOPUS_API_KEY", values.api_key.clone())],
        _ => Vec::new(),
    }
}

fn run(sandbox: &Sandbox, format: BootstrapFormat, values: &Values) -> Run {
    let script = render(format, values);
    let environment = environment(format, values);
    let environment: Vec<(&str, &str)> = environment
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    sandbox.run(&script, &environment)
}

/// Host and port of an `https://host[:port]` address (host lower-cased).
fn host_and_port(address: &str) -> (String, Option<u16>) {
    let authority = address
        .split_once("://")
        .unwrap()
        .1
        .split(['/', '?', '#'])
        .next()
        .unwrap();
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') => {
            (host.to_lowercase(), Some(port.parse().unwrap()))
        }
        _ => (authority.to_lowercase(), None),
    }
}

/// The primary address Tentacle polls for `values`: `https://host:port`, and the port.
fn primary(values: &Values) -> (String, u16) {
    let explicit_port: Option<u16> =
        (!values.server_comms_port.is_empty()).then(|| values.server_comms_port.parse().unwrap());
    let (host, port) = if values.server_comms_address.is_empty() {
        let (host, _) = host_and_port(&values.server_url);
        (host, explicit_port.unwrap_or(10943))
    } else {
        let (host, own_port) = host_and_port(&values.server_comms_address);
        (host, explicit_port.or(own_port).unwrap_or(443))
    };
    (format!("https://{host}:{port}"), port)
}

/// The `register-worker` argv the script must produce for `values`.
fn expected_registration(values: &Values) -> Vec<String> {
    let (_, port) = primary(values);
    let name = if values.worker_name.is_empty() {
        HOSTNAME
    } else {
        &values.worker_name
    };
    let mut argv = tentacle(&[
        "register-worker",
        "--instance",
        "Tentacle",
        "--server",
        &values.server_url,
        "--apiKey",
        &values.api_key,
        "--comms-style",
        "TentacleActive",
    ]);
    if !values.server_comms_address.is_empty() {
        argv.extend(strings(&[
            "--server-comms-address",
            &values.server_comms_address,
        ]));
    }
    argv.extend(strings(&[
        "--server-comms-port",
        &port.to_string(),
        "--space",
        &values.space,
        "--workerpool",
        &values.worker_pool,
    ]));
    if !values.machine_policy.is_empty() {
        argv.extend(strings(&["--policy", &values.machine_policy]));
    }
    argv.extend(strings(&["--name", name, "--force"]));
    argv
}

/// Every Tentacle call of a registration: register-worker, clear-trusted-servers keeping the
/// primary, poll-server per node (its own port, else the primary's), service --restart.
fn expected_registration_calls(values: &Values) -> Vec<Vec<String>> {
    let (primary_address, primary_port) = primary(values);
    let mut calls = vec![
        expected_registration(values),
        tentacle(&[
            "clear-trusted-servers",
            "--instance",
            "Tentacle",
            "--keep",
            &primary_address,
        ]),
    ];
    for node in &values.extra_server_nodes {
        let port = host_and_port(node).1.unwrap_or(primary_port);
        calls.push(tentacle(&[
            "poll-server",
            "--instance",
            "Tentacle",
            "--reuse-server-thumbprint",
            "--server-comms-address",
            node,
            "--server-comms-port",
            &port.to_string(),
        ]));
    }
    calls.push(tentacle(&[
        "service",
        "--instance",
        "Tentacle",
        "--restart",
    ]));
    calls
}

/// The addresses the fake Tentacle polls after a run.
fn polled(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .trusted_servers()
        .into_iter()
        .map(|server| server.address)
        .collect()
}

/// The key appears in no argv but register-worker's, in no environment and in no output.
fn assert_key_confined(run: &Run, key: &str) {
    for call in &run.calls {
        let is_registration = call.program() == "Tentacle" && call.argv[1] == "register-worker";
        if !is_registration {
            assert!(
                !call.argv.iter().any(|argument| argument.contains(key)),
                "the API key is in the argv of {:?}",
                call.argv
            );
        }
        assert!(
            !call.environment.iter().any(|entry| entry.contains(key)),
            "the API key is in the environment of {}",
            call.program()
        );
    }
    assert!(!run.stdout.contains(key), "the API key is on stdout");
    assert!(!run.stderr.contains(key), "the API key is on stderr");
}

fn setup_calls(sandbox: &Sandbox) -> Vec<Vec<String>> {
    vec![
        tentacle(&["new-certificate", "--instance", "Tentacle", "--if-blank"]),
        tentacle(&[
            "configure",
            "--instance",
            "Tentacle",
            "--app",
            &format!("{}/home/Octopus/Applications", sandbox.root_text()),
            "--noListen",
            "True",
        ]),
        tentacle(&["service", "--instance", "Tentacle", "--install", "--start"]),
    ]
}

#[test]
fn first_boot_installs_tentacle_creates_the_instance_and_registers_the_worker() {
    let sandbox = Sandbox::new();
    let values = Values::typical();
    let run = run(&sandbox, BootstrapFormat::Bash, &values);
    run.assert_success();

    let root = sandbox.root_text();
    let keyring = format!("{root}/etc/apt/keyrings/octopus.gpg");
    let config_file = format!("{root}/etc/octopus/Tentacle/tentacle-Tentacle.config");
    let mut expected = vec![
        strings(&["id", "-u"]),
        strings(&[
            "dpkg-query",
            "--show",
            "--showformat=${db:Status-Status} ${Version}",
            "tentacle",
        ]),
        apt_get(&["update"]),
        apt_get(&[
            "install",
            "--no-install-recommends",
            "ca-certificates",
            "curl",
            "gnupg",
        ]),
        strings(&[
            "install",
            "-m",
            "0755",
            "-d",
            &format!("{root}/etc/apt/keyrings"),
            &format!("{root}/etc/apt/sources.list.d"),
        ]),
        strings(&[
            "curl",
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--retry",
            "5",
            "https://apt.octopus.com/public.key",
        ]),
        strings(&["gpg", "--batch", "--yes", "--dearmor", "--output", &keyring]),
        strings(&["dpkg", "--print-architecture"]),
        apt_get(&["update"]),
        apt_get(&["install", "tentacle"]),
        tentacle(&[
            "create-instance",
            "--instance",
            "Tentacle",
            "--config",
            &config_file,
        ]),
    ];
    expected.extend(setup_calls(&sandbox));
    expected.extend(expected_registration_calls(&values));
    expected.push(strings(&[
        "install",
        "-m",
        "0700",
        "-d",
        &format!("{root}/var/lib/octoshare"),
    ]));
    assert_eq!(run.argvs(), expected);

    let apt_source =
        std::fs::read_to_string(sandbox.root().join("etc/apt/sources.list.d/octopus.list"))
            .unwrap();
    assert_eq!(
        apt_source,
        format!("deb [arch=amd64 signed-by={keyring}] https://apt.octopus.com/ stable main\n")
    );
    assert_key_confined(&run, &values.api_key);
    assert_eq!(polled(&sandbox), ["https://octopus.example.com:10943"]);
}

#[test]
fn second_boot_with_the_same_settings_does_not_register_again() {
    for format in BootstrapFormat::ALL {
        let sandbox = Sandbox::new();
        let values = Values::typical();
        run(&sandbox, format, &values).assert_success();
        let second = run(&sandbox, format, &values);
        second.assert_success();

        let mut expected = vec![
            strings(&["id", "-u"]),
            strings(&[
                "dpkg-query",
                "--show",
                "--showformat=${db:Status-Status} ${Version}",
                "tentacle",
            ]),
        ];
        expected.extend(setup_calls(&sandbox));
        assert_eq!(second.argvs(), expected, "{format}");
        assert!(
            second
                .stdout
                .contains("is already registered with these settings"),
            "{format}"
        );
        assert_key_confined(&second, &values.api_key);
    }
}

#[test]
fn changed_settings_register_again_and_poll_the_extra_nodes() {
    let sandbox = Sandbox::new();
    let mut values = Values::typical();
    run(&sandbox, BootstrapFormat::Bash, &values).assert_success();

    values.worker_pool = "GCP Worker Pool TF".to_owned();
    values.extra_server_nodes = vec!["https://node2.example.com".to_owned()];
    let changed = run(&sandbox, BootstrapFormat::Bash, &values);
    changed.assert_success();

    let tentacle_calls: Vec<Vec<String>> = changed
        .argvs()
        .into_iter()
        .filter(|argv| argv[0] == "Tentacle")
        .collect();
    let mut expected = setup_calls(&sandbox);
    expected.extend(expected_registration_calls(&values));
    assert_eq!(tentacle_calls, expected);
    assert_eq!(
        polled(&sandbox),
        [
            "https://octopus.example.com:10943",
            "https://node2.example.com:10943"
        ]
    );

    let unchanged = run(&sandbox, BootstrapFormat::Bash, &values);
    unchanged.assert_success();
    assert!(unchanged.tentacle_calls("register-worker").is_empty());
}

#[test]
fn an_octopus_cloud_comms_address_is_polled_on_443_in_every_format() {
    for format in BootstrapFormat::ALL {
        let sandbox = Sandbox::new();
        let mut values = Values::typical();
        values.server_url = "https://acme.octopus.app".to_owned();
        values.server_comms_address = "https://polling.acme.octopus.app".to_owned();
        values.server_comms_port = String::new();
        let run = run(&sandbox, format, &values);
        run.assert_success();
        let registration = &run.tentacle_calls("register-worker")[0].argv;
        assert_eq!(*registration, expected_registration(&values), "{format}");
        let comms = registration
            .iter()
            .position(|argument| argument == "--server-comms-address")
            .expect("--server-comms-address is passed");
        assert_eq!(
            registration[comms..comms + 4],
            strings(&[
                "--server-comms-address",
                "https://polling.acme.octopus.app",
                "--server-comms-port",
                "443"
            ]),
            "{format}"
        );
        assert_eq!(
            polled(&sandbox),
            ["https://polling.acme.octopus.app:443"],
            "{format}"
        );
    }
}

#[test]
fn ha_nodes_are_polled_on_their_own_port_or_the_primarys() {
    let sandbox = Sandbox::new();
    let mut values = Values::typical();
    values.server_url = "https://octo.example.com/".to_owned();
    values.server_comms_port = String::new();
    // Same address, unique port per node, and one node on its own address.
    values.extra_server_nodes = vec![
        "https://octo.example.com:10944".to_owned(),
        "https://OCTO.example.com:10945/".to_owned(),
        "https://node4.example.com".to_owned(),
    ];
    let run = run(&sandbox, BootstrapFormat::Bash, &values);
    run.assert_success();
    let ports: Vec<(&str, &str)> = run
        .tentacle_calls("poll-server")
        .iter()
        .map(|call| (call.argv[6].as_str(), call.argv[8].as_str()))
        .collect();
    assert_eq!(
        ports,
        [
            ("https://octo.example.com:10944", "10944"),
            ("https://OCTO.example.com:10945/", "10945"),
            ("https://node4.example.com", "10943"),
        ]
    );
    let servers = sandbox.trusted_servers();
    assert_eq!(
        polled(&sandbox),
        [
            "https://octo.example.com:10943",
            "https://octo.example.com:10944",
            "https://octo.example.com:10945",
            "https://node4.example.com:10943",
        ]
    );
    // Every node reuses the primary's server thumbprint and subscription.
    assert!(
        servers
            .iter()
            .all(|server| server.thumbprint == servers[0].thumbprint
                && server.subscription == servers[0].subscription),
        "{servers:?}"
    );
}

#[test]
fn re_registration_leaves_exactly_the_current_servers() {
    let sandbox = Sandbox::new();
    let mut values = Values::typical();
    values.extra_server_nodes = vec![
        "https://node2.example.com".to_owned(),
        "https://node3.example.com".to_owned(),
    ];
    run(&sandbox, BootstrapFormat::Bash, &values).assert_success();
    let subscription = sandbox.trusted_servers()[0].subscription.clone();

    // A node leaves the cluster.
    values.extra_server_nodes.pop();
    run(&sandbox, BootstrapFormat::Bash, &values).assert_success();
    assert_eq!(
        polled(&sandbox),
        [
            "https://octopus.example.com:10943",
            "https://node2.example.com:10943"
        ]
    );
    assert_eq!(
        sandbox.trusted_servers()[0].subscription,
        subscription,
        "the same server keeps its subscription id"
    );

    // The comms port changes.
    values.server_comms_port = "10950".to_owned();
    run(&sandbox, BootstrapFormat::Bash, &values).assert_success();
    assert_eq!(
        polled(&sandbox),
        [
            "https://octopus.example.com:10950",
            "https://node2.example.com:10950"
        ]
    );

    // The worker moves to another server (Octopus Cloud): only that server is left, and the
    // nodes reuse its thumbprint, not the old server's.
    values.server_url = "https://acme.octopus.app".to_owned();
    values.server_comms_address = "https://polling.acme.octopus.app".to_owned();
    values.server_comms_port = String::new();
    values.extra_server_nodes.clear();
    let moved = run(&sandbox, BootstrapFormat::Bash, &values);
    moved.assert_success();
    let servers = sandbox.trusted_servers();
    assert_eq!(polled(&sandbox), ["https://polling.acme.octopus.app:443"]);
    assert_eq!(servers[0].thumbprint, "SERVER-acme.octopus.app");
}

#[test]
fn a_boot_with_nothing_to_change_needs_no_api_key_in_every_format() {
    for format in BootstrapFormat::ALL {
        let sandbox = Sandbox::new();
        let mut values = Values::typical();
        values.extra_server_nodes = vec!["https://node2.example.com".to_owned()];
        run(&sandbox, format, &values).assert_success();

        // The key file was removed after the first boot, and the template holds no key.
        let mut keyless = values.clone();
        keyless.api_key = String::new();
        let script = render(format, &keyless);
        let second = sandbox.run(&script, &[]);
        second.assert_success();
        assert!(
            second.tentacle_calls("register-worker").is_empty(),
            "{format}"
        );
        assert!(
            second
                .stdout
                .contains("is already registered with these settings"),
            "{format}"
        );
        assert_eq!(
            polled(&sandbox),
            [
                "https://octopus.example.com:10943",
                "https://node2.example.com:10943"
            ],
            "{format}"
        );
    }
}

#[test]
fn a_changed_setting_without_a_key_fails_before_installing_anything() {
    let sandbox = Sandbox::new();
    let mut values = Values::typical();
    run(&sandbox, BootstrapFormat::Bash, &values).assert_success();
    values.worker_pool = "Other Pool".to_owned();
    let script = render_bootstrap(BootstrapFormat::Bash, &values.config()).unwrap();
    let run = sandbox.run(&script, &[]);
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "configure-worker: error: no Octopus API key: set OCTOPUS_API_KEY or write the key to {}/etc/octoshare/api-key (owner root, mode 0600)\n",
            sandbox.root_text()
        )
    );
    assert_eq!(run.argvs(), vec![strings(&["id", "-u"])]);
    assert_eq!(polled(&sandbox), ["https://octopus.example.com:10943"]);
}

#[test]
fn addresses_that_are_not_https_host_port_fail_naming_the_input() {
    let sandbox = Sandbox::new();
    let template =
        render_bootstrap(BootstrapFormat::Octostache, &Values::typical().config()).unwrap();
    for (name, value, message) in [
        (
            "OctoShare.ServerCommsAddress",
            "polling.acme.octopus.app",
            "configure-worker: error: server comms address 'polling.acme.octopus.app' is not https://host[:port]: set OctoShare.ServerCommsAddress\n",
        ),
        (
            "OctoShare.ExtraServerNodes",
            "https://node2\nnode3:10943",
            "configure-worker: error: extra server node 'node3:10943' is not https://host[:port]: set OctoShare.ExtraServerNodes\n",
        ),
        (
            "OctoShare.ServerCommsPort",
            "70000",
            "configure-worker: error: server comms port '70000' is not a TCP port (1-65535): set OctoShare.ServerCommsPort\n",
        ),
    ] {
        let mut variables = Values::typical().octopus_variables();
        variables.insert(name, value.to_owned());
        let run = sandbox.run(&evaluate_octostache(&template, &variables), &[]);
        assert_eq!(run.exit_code, Some(1), "{name}");
        assert_eq!(run.stderr, message, "{name}");
        assert!(run.calls.is_empty(), "{name}");
    }
}

#[test]
fn a_recreated_instance_registers_again_even_with_the_same_settings() {
    let sandbox = Sandbox::new();
    let values = Values::typical();
    run(&sandbox, BootstrapFormat::Bash, &values).assert_success();
    std::fs::remove_file(
        sandbox
            .root()
            .join("etc/octopus/Tentacle/tentacle-Tentacle.config"),
    )
    .unwrap();

    let again = run(&sandbox, BootstrapFormat::Bash, &values);
    again.assert_success();
    assert_eq!(again.tentacle_calls("create-instance").len(), 1);
    assert_eq!(again.tentacle_calls("register-worker").len(), 1);
}

#[test]
fn hostile_values_reach_tentacle_and_apt_byte_exact_in_every_format() {
    for format in BootstrapFormat::ALL {
        let sandbox = Sandbox::new();
        let values = Values::hostile();
        let run = run(&sandbox, format, &values);
        run.assert_success();

        let registrations = run.tentacle_calls("register-worker");
        assert_eq!(registrations.len(), 1, "{format}");
        let registration_calls: Vec<Vec<String>> = run
            .argvs()
            .into_iter()
            .skip_while(|argv| argv.get(1).map(String::as_str) != Some("register-worker"))
            .filter(|argv| argv[0] == "Tentacle")
            .collect();
        assert_eq!(
            registration_calls,
            expected_registration_calls(&values),
            "{format}"
        );

        let polled: Vec<&str> = run
            .tentacle_calls("poll-server")
            .iter()
            .map(|call| call.argv[6].as_str())
            .collect();
        let expected_nodes: Vec<&str> = values
            .extra_server_nodes
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(polled, expected_nodes, "{format}");

        let pinned = format!("tentacle={}", values.tentacle_version);
        assert!(
            run.argvs()
                .contains(&apt_get(&["install", "--allow-downgrades", &pinned])),
            "{format}: the pinned version was not installed"
        );
        assert_key_confined(&run, &values.api_key);
    }
}

#[test]
fn every_format_runs_the_same_script_body() {
    let values = Values::hostile();
    let body = |format| {
        let script = render(format, &values);
        let start = script
            .find(END_OF_INPUTS_MARKER)
            .unwrap_or_else(|| panic!("{format} has no end-of-inputs marker"));
        script[start..].to_owned()
    };
    let bash = body(BootstrapFormat::Bash);
    assert_eq!(body(BootstrapFormat::Tftpl), bash);
    assert_eq!(body(BootstrapFormat::Octostache), bash);
}

#[test]
fn octostache_variables_left_undefined_take_the_defaults() {
    let sandbox = Sandbox::new();
    let values = Values::typical();
    let mut variables = values.octopus_variables();
    variables.retain(|name, _| {
        [
            "OctoShare.Server.Url",
            "OctoShare.Api.Key",
            "OctoShare.Space",
            "OctoShare.WorkerPool.Name",
        ]
        .contains(name)
    });
    let template = render_bootstrap(BootstrapFormat::Octostache, &values.config()).unwrap();
    let run = sandbox.run(&evaluate_octostache(&template, &variables), &[]);
    run.assert_success();

    let registrations = run.tentacle_calls("register-worker");
    assert_eq!(registrations[0].argv, expected_registration(&values));
    assert!(run.argvs().contains(&apt_get(&["install", "tentacle"])));
    assert!(run.tentacle_calls("poll-server").is_empty());
}

#[test]
fn octostache_file_without_a_space_fails_naming_the_variable() {
    let sandbox = Sandbox::new();
    let values = Values::typical();
    let mut variables = values.octopus_variables();
    variables.remove("OctoShare.Space");
    let template = render_bootstrap(BootstrapFormat::Octostache, &values.config()).unwrap();
    let run = sandbox.run(&evaluate_octostache(&template, &variables), &[]);
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(
        run.stderr,
        "configure-worker: error: no initial space: set OctoShare.Space\n"
    );
    assert!(run.calls.is_empty());
}

#[test]
fn bash_format_reads_the_key_from_a_root_only_file() {
    let sandbox = Sandbox::new();
    let values = Values::typical();
    sandbox.write_api_key_file(&values.api_key, 0o600);
    let script = render_bootstrap(BootstrapFormat::Bash, &values.config()).unwrap();
    let run = sandbox.run(&script, &[]);
    run.assert_success();
    assert_eq!(
        run.tentacle_calls("register-worker")[0].argv,
        expected_registration(&values)
    );
    assert_key_confined(&run, &values.api_key);
}

#[test]
fn bash_format_refuses_a_key_file_others_can_read() {
    let sandbox = Sandbox::new();
    let values = Values::typical();
    sandbox.write_api_key_file(&values.api_key, 0o644);
    let script = render_bootstrap(BootstrapFormat::Bash, &values.config()).unwrap();
    let run = sandbox.run(&script, &[]);
    assert_eq!(run.exit_code, Some(1));
    let key_file = format!("{}/etc/octoshare/api-key", sandbox.root_text());
    assert_eq!(
        run.stderr,
        format!(
            "configure-worker: error: refusing to read {key_file}: mode 644 lets other users read it (chmod 600 {key_file})\n"
        )
    );
    assert!(run.tentacle_calls("register-worker").is_empty());
    assert_key_confined(&run, &values.api_key);
}

#[test]
fn bash_format_without_any_key_fails_with_a_clear_message() {
    let sandbox = Sandbox::new();
    let script = render_bootstrap(BootstrapFormat::Bash, &Values::typical().config()).unwrap();
    let run = sandbox.run(&script, &[]);
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "configure-worker: error: no Octopus API key: set OCTOPUS_API_KEY or write the key to {}/etc/octoshare/api-key (owner root, mode 0600)\n",
            sandbox.root_text()
        )
    );
    assert_eq!(run.argvs(), vec![strings(&["id", "-u"])]);
}

#[test]
fn not_running_as_root_fails_before_changing_anything() {
    let sandbox = Sandbox::new();
    let values = Values::typical();
    let script = render_bootstrap(BootstrapFormat::Bash, &values.config()).unwrap();
    let run = sandbox.run(
        &script,
        &[
            ("OCTOSHARE_TEST_UID", "1000"),
            ("OCTOPUS_API_KEY", values.api_key.as_str()),
        ],
    );
    assert_eq!(run.exit_code, Some(1));
    assert!(run.stderr.contains("must run as root"), "{}", run.stderr);
    assert_eq!(run.argvs(), vec![strings(&["id", "-u"])]);
    assert_key_confined(&run, &values.api_key);
}

#[test]
fn a_pinned_version_is_installed_once_and_then_kept() {
    let sandbox = Sandbox::new();
    let mut values = Values::typical();
    run(&sandbox, BootstrapFormat::Bash, &values).assert_success();

    values.tentacle_version = "8.2.100".to_owned();
    let pinned = run(&sandbox, BootstrapFormat::Bash, &values);
    pinned.assert_success();
    assert!(pinned.argvs().contains(&apt_get(&[
        "install",
        "--allow-downgrades",
        "tentacle=8.2.100"
    ])));

    let kept = run(&sandbox, BootstrapFormat::Bash, &values);
    kept.assert_success();
    assert!(!kept.argvs().iter().any(|argv| argv[0] == "apt-get"));
    assert!(
        kept.stdout
            .contains("Tentacle 8.2.100 is already installed")
    );
}

/// The script's call of `octoshare retire-on-shutdown install`.
fn retire_install(values: &Values) -> Vec<String> {
    strings(&[
        "octoshare",
        "retire-on-shutdown",
        "install",
        "--server",
        &values.server_url,
        "--api-key-file",
        "/etc/octoshare/api-key",
        "--tentacle-config",
        "/etc/octopus/Tentacle/tentacle-Tentacle.config",
        "--tentacle-service",
        "Tentacle.service",
    ])
}

#[test]
fn retire_on_shutdown_hands_the_unit_to_octoshare_with_the_key_in_its_environment_only() {
    let mut values = Values::typical();
    values.retire_on_shutdown = "True".to_owned();
    for format in BootstrapFormat::ALL {
        let sandbox = Sandbox::new();
        sandbox.fake_octoshare();
        let run = run(&sandbox, format, &values);
        run.assert_success();
        let octoshare: Vec<_> = run
            .calls
            .iter()
            .filter(|call| call.program() == "octoshare")
            .collect();
        assert_eq!(octoshare.len(), 1, "{format:?}: {:?}", run.argvs());
        // After Tentacle is set up and registered: the unit is ordered after its service.
        assert_eq!(
            run.argvs().last(),
            Some(&retire_install(&values)),
            "{format:?}"
        );
        // The key reaches octoshare in its environment (to keep it in the root-only file), never
        // in an argv or the output; no other command gets it.
        let key_entry = format!("OCTOPUS_API_KEY={}", values.api_key);
        assert!(
            octoshare[0].environment.contains(&key_entry),
            "{format:?}: octoshare did not get the key"
        );
        for call in &run.calls {
            let is_registration = call.program() == "Tentacle" && call.argv[1] == "register-worker";
            assert!(
                is_registration || !call.argv.iter().any(|word| word.contains(&values.api_key)),
                "{format:?}: the key is in the argv of {:?}",
                call.argv
            );
            assert!(
                call.program() == "octoshare"
                    || !call
                        .environment
                        .iter()
                        .any(|entry| entry.contains(&values.api_key)),
                "{format:?}: the key is in the environment of {}",
                call.program()
            );
        }
        assert!(!run.stdout.contains(&values.api_key));
        assert!(!run.stderr.contains(&values.api_key));
    }
}

#[test]
fn retire_on_shutdown_off_leaves_no_trace_in_the_script_nor_its_run() {
    let sandbox = Sandbox::new();
    sandbox.fake_octoshare();
    for setting in ["", "False", "no", "0"] {
        let mut values = Values::typical();
        values.retire_on_shutdown = setting.to_owned();
        for format in BootstrapFormat::ALL {
            let script = render(format, &values);
            assert!(
                !script.contains("retire-on-shutdown") && !script.contains("release_sha256"),
                "{format:?} with {setting:?} has the section"
            );
            let run = run(&sandbox, format, &values);
            run.assert_success();
            assert!(
                !run.calls.iter().any(|call| call.program() == "octoshare"),
                "{format:?} with {setting:?} ran octoshare"
            );
        }
    }
}

#[test]
fn retire_on_shutdown_without_octoshare_fails_naming_the_fix() {
    let sandbox = Sandbox::new();
    let mut values = Values::typical();
    values.retire_on_shutdown = "True".to_owned();
    let run = run(&sandbox, BootstrapFormat::Bash, &values);
    assert!(!run.success, "{run:?}");
    assert!(
        run.stderr.contains("octoshare is not on PATH")
            && run.stderr.contains("no release is pinned"),
        "{}",
        run.stderr
    );
}
