//! The committed scripts pass `bash -n` and shellcheck: every step template's ScriptBody (as
//! Octopus runs it) and `configure-worker.sh`.

use serde_json::Value;

use crate::shell_lint::{assert_bash_syntax, assert_shellcheck_clean};
use crate::{committed_step_templates, committed_templates, octostache};

#[test]
fn every_script_body_passes_bash_n_and_shellcheck() {
    for (file_name, text) in committed_templates() {
        let template: Value = serde_json::from_str(&text).unwrap();
        let body = template["Properties"]["Octopus.Action.Script.ScriptBody"]
            .as_str()
            .unwrap();
        let body = octostache::substitute(body).unwrap();
        assert_bash_syntax(&file_name, &body);
        assert_shellcheck_clean(&file_name, &body);
    }
}

#[test]
fn committed_configure_worker_sh_passes_bash_n_and_shellcheck() {
    let script =
        std::fs::read_to_string(committed_step_templates().join("configure-worker.sh")).unwrap();
    assert_bash_syntax("configure-worker.sh", &script);
    assert_shellcheck_clean("configure-worker.sh", &script);
}
