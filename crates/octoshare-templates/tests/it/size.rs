//! The bootstrap script the cloud receives stays within budget: with retire-on-shutdown off at
//! most three quarters of AWS's 16 KB user-data limit, with it on (octoshare's pinned download and
//! one `octoshare retire-on-shutdown install`) within the limit itself. Azure allows 64 KB, GCP
//! 256 KiB.

use octoshare_templates::step_templates::ReleasePin;
use octoshare_templates::{BootstrapConfig, BootstrapFormat, render_bootstrap};

use crate::evaluate::{Values, evaluate_octostache, evaluate_tftpl};

/// Three quarters of AWS's 16 KB: room for longer values and a few more lines.
const BUDGET: usize = 12 * 1024;
const AWS_USER_DATA_LIMIT: usize = 16 * 1024;
/// The static files themselves (never sent as they are: Terraform and Octopus render them) hold
/// the retire-on-shutdown section inside a conditional, so they are measured against the limit
/// a rendering with the option on must meet, which they exceed only by the directive lines.
const STATIC_FILE_CEILING: usize = AWS_USER_DATA_LIMIT + 128;

/// A release pin as `cargo xtask codegen` gives the committed files once a release is recorded.
fn pinned(mut config: BootstrapConfig) -> BootstrapConfig {
    config.release = Some(ReleasePin {
        version: "0.1.0".to_owned(),
        url: "https://github.com/octoshare/octoshare/releases/download/v0.1.0/octoshare-0.1.0-x86_64-unknown-linux-gnu.tar.gz".to_owned(),
        sha256: Some("0123456789abcdef".repeat(4)),
    });
    config
}

/// Every form the cloud receives with `values`: `(name, script)`.
fn received(values: &Values) -> Vec<(String, String)> {
    let config = pinned(values.config());
    let tftpl = render_bootstrap(BootstrapFormat::Tftpl, &config).unwrap();
    let octostache = render_bootstrap(BootstrapFormat::Octostache, &config).unwrap();
    vec![
        (
            "bash".to_owned(),
            render_bootstrap(BootstrapFormat::Bash, &config).unwrap(),
        ),
        ("tftpl rendered".to_owned(), evaluate_tftpl(&tftpl, values)),
        (
            "octostache substituted".to_owned(),
            evaluate_octostache(&octostache, &values.octopus_variables()),
        ),
    ]
}

#[test]
fn every_form_the_cloud_receives_stays_within_budget() {
    let mut values = Values::typical();
    let mut measured = Vec::new();
    for (option, budget) in [("off", BUDGET), ("on", AWS_USER_DATA_LIMIT)] {
        values.retire_on_shutdown = if option == "on" { "True" } else { "False" }.to_owned();
        for (name, script) in received(&values) {
            measured.push(format!("{name} ({option}): {}", script.len()));
            assert!(
                script.len() <= budget,
                "the {name} script with retire on shutdown {option} is {} bytes; keep it under {budget} (AWS allows {AWS_USER_DATA_LIMIT})",
                script.len()
            );
        }
    }
    // The option off leaves no trace of the section; on, it is there in every form.
    values.retire_on_shutdown = "False".to_owned();
    for (name, script) in received(&values) {
        assert!(!script.contains("retire-on-shutdown install"), "{name}");
    }
    values.retire_on_shutdown = "True".to_owned();
    for (name, script) in received(&values) {
        assert!(script.contains("retire-on-shutdown install"), "{name}");
    }
    let config = pinned(values.config());
    for format in [BootstrapFormat::Tftpl, BootstrapFormat::Octostache] {
        let file = render_bootstrap(format, &config).unwrap();
        measured.push(format!("{format:?} file: {}", file.len()));
        assert!(
            file.len() <= STATIC_FILE_CEILING,
            "the {format:?} file is {} bytes; keep it under {STATIC_FILE_CEILING}",
            file.len()
        );
    }
    println!("{}", measured.join("\n"));
}
