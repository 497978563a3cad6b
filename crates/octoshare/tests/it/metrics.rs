//! `GET /metrics` read by Prometheus's own exposition-format parser (the `prometheus_client`
//! Python package, installed by `cargo xtask tools`): every family parses, with the types,
//! labels and values the reconciler's state says.

use crate::reconciler::{Reconciler, command};
use crate::support::{POOL, polling, start};
use octopus_emulator::{Scenario, SpaceSeed};
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Parses the text format with `prometheus_client.parser` and prints the families as JSON:
/// `{name: {"type": ..., "samples": [[sample name, {labels}, value], ...]}}`.
const PARSE: &str = r#"
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "samples": [[s.name, s.labels, None if math.isinf(s.value) else s.value] for s in family.samples],
    }
print(json.dumps(families))
"#;

fn parse(python: &std::path::Path, text: &str) -> Value {
    let mut child = Command::new(python)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the parser refused the metrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn value(families: &Value, family: &str, sample: &str, labels: &[(&str, &str)]) -> f64 {
    families[family]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no family {family}: {families:#}"))
        .iter()
        .find(|entry| {
            entry[0] == sample && labels.iter().all(|(name, value)| entry[1][name] == *value)
        })
        .unwrap_or_else(|| panic!("no {sample}{labels:?} in {family}"))[2]
        .as_f64()
        .unwrap()
}

#[test]
fn metrics_parse_with_the_prometheus_parser() {
    let Some(python) = octoshare_test_support::tools::require("prometheus-client") else {
        return;
    };
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Alpha")
                    .default_space()
                    .pool(POOL)
                    .worker(polling("worker-1", 1))
                    .worker(polling("worker-2", 2)),
            )
            .space(SpaceSeed::new("Beta").pool(POOL))
            .space(SpaceSeed::new("Delta").pool(POOL)),
    );
    let mut reconciler = Reconciler::start(
        command(&emulator),
        &["--interval", "1h", "--listen", "127.0.0.1:0"],
    );
    reconciler.wait_for_cycle("a successful cycle", |cycle| cycle["Result"] == "Success");
    let (code, text) = reconciler.get("/metrics");
    assert_eq!(code, 200);
    let families = parse(&python, &text);

    assert_eq!(families["octoshare_reconcile_cycles"]["type"], "counter");
    assert_eq!(
        value(
            &families,
            "octoshare_reconcile_cycles",
            "octoshare_reconcile_cycles_total",
            &[("result", "success")]
        ),
        1.0
    );
    assert_eq!(
        families["octoshare_reconcile_cycle_duration_seconds"]["type"],
        "histogram"
    );
    assert_eq!(
        value(
            &families,
            "octoshare_reconcile_cycle_duration_seconds",
            "octoshare_reconcile_cycle_duration_seconds_count",
            &[]
        ),
        1.0
    );
    assert!(
        value(
            &families,
            "octoshare_reconcile_last_success_timestamp_seconds",
            "octoshare_reconcile_last_success_timestamp_seconds",
            &[]
        ) > 1.6e9
    );
    assert_eq!(families["octoshare_workers"]["type"], "gauge");
    assert_eq!(
        value(
            &families,
            "octoshare_workers",
            "octoshare_workers",
            &[("state", "shared")]
        ),
        4.0
    );
    assert_eq!(
        value(
            &families,
            "octoshare_workers",
            "octoshare_workers",
            &[("state", "missing")]
        ),
        0.0
    );
    assert_eq!(
        value(&families, "octoshare_drift", "octoshare_drift", &[]),
        0.0
    );
    assert_eq!(
        value(
            &families,
            "octoshare_reconcile_worker_changes",
            "octoshare_reconcile_worker_changes_total",
            &[("action", "created")]
        ),
        4.0
    );
    let gets = value(
        &families,
        "octoshare_api_requests",
        "octoshare_api_requests_total",
        &[("method", "GET")],
    );
    let logged_gets = emulator
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .count();
    assert_eq!(gets as usize, logged_gets);
    assert_eq!(
        value(
            &families,
            "octoshare_api_requests",
            "octoshare_api_requests_total",
            &[("method", "POST")]
        ),
        4.0
    );
    // Metric names follow octoshare_<noun>_<unit>: counters end in _total (the parser strips
    // it from the family), seconds are base units.
    for name in families.as_object().unwrap().keys() {
        assert!(name.starts_with("octoshare_"), "{name}");
    }
}
