//! Every form of the bootstrap script passes `bash -n` and shellcheck.

use octoshare_templates::{BootstrapFormat, render_bootstrap};

use crate::evaluate::{Values, evaluate_octostache, evaluate_tftpl};
use crate::shell_lint::{assert_bash_syntax, assert_shellcheck_clean};

fn assert_clean(name: &str, script: &str) {
    assert_bash_syntax(name, script);
    assert_shellcheck_clean(name, script);
}

#[test]
fn bash_format_passes_bash_n_and_shellcheck() {
    for values in [Values::typical(), Values::hostile()] {
        let script = render_bootstrap(BootstrapFormat::Bash, &values.config()).unwrap();
        assert_clean("the bash format", &script);
    }
}

#[test]
fn octostache_file_passes_bash_n_and_shellcheck_before_and_after_substitution() {
    let values = Values::hostile();
    let template = render_bootstrap(BootstrapFormat::Octostache, &values.config()).unwrap();
    assert_clean("configure-worker.sh", &template);
    let substituted = evaluate_octostache(&template, &values.octopus_variables());
    assert_clean("configure-worker.sh after substitution", &substituted);
}

#[test]
fn tftpl_rendered_by_terraform_passes_bash_n_and_shellcheck() {
    let template = render_bootstrap(BootstrapFormat::Tftpl, &Values::typical().config()).unwrap();
    for values in [Values::typical(), Values::hostile()] {
        assert_clean(
            "configure-worker.sh.tftpl after templatefile()",
            &evaluate_tftpl(&template, &values),
        );
    }
}
