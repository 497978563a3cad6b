//! The bootstrap script stays far below AWS's 16 KB user-data limit (Azure allows 64 KB, GCP
//! 256 KiB).

use octoshare_templates::{BootstrapFormat, render_bootstrap};

use crate::evaluate::{Values, evaluate_octostache, evaluate_tftpl};

/// Three quarters of AWS's 16 KB: room for longer values and a few more lines.
const BUDGET: usize = 12 * 1024;
const AWS_USER_DATA_LIMIT: usize = 16 * 1024;

#[test]
fn every_format_stays_within_three_quarters_of_the_aws_user_data_limit() {
    let values = Values::typical();
    let tftpl = render_bootstrap(BootstrapFormat::Tftpl, &values.config()).unwrap();
    let octostache = render_bootstrap(BootstrapFormat::Octostache, &values.config()).unwrap();
    let scripts = [
        (
            "bash",
            render_bootstrap(BootstrapFormat::Bash, &values.config()).unwrap(),
        ),
        ("tftpl", tftpl.clone()),
        ("tftpl rendered", evaluate_tftpl(&tftpl, &values)),
        ("octostache", octostache.clone()),
        (
            "octostache substituted",
            evaluate_octostache(&octostache, &values.octopus_variables()),
        ),
    ];
    for (name, script) in scripts {
        assert!(
            script.len() <= BUDGET,
            "the {name} script is {} bytes; keep it under {BUDGET} (AWS allows {AWS_USER_DATA_LIMIT})",
            script.len()
        );
    }
}
