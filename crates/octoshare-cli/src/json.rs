//! The JSON documents of every binary (`--output json`) and the share report file: typed
//! structs with PascalCase keys at every level (Octopus's own convention, and the output
//! variables' names), serialised once, pretty, as one document. `docs/json-output.md`
//! describes each; [`schemas`] gives the JSON Schema of each, which `cargo xtask codegen`
//! writes under `docs/schemas/`.
//!
//! Every document is a [`Document`]: the command's own keys, then `Error` and `ExitCode` when
//! it failed. The output variables are top-level keys with the names Octopus sees (lists as
//! arrays, counts as numbers), so a runbook or CI script reads the same names in either mode.

use octoshare_core::RequestCounts;
use octoshare_discover::{DiscoverOutcome, SkippedSpace};
use octoshare_retire::RetireOutcome;
use octoshare_share::{ShareReport, Totals};
use octoshare_status::{StatusMatrix, StatusTotals};
use octoshare_wait::WaitOutcome;
use schemars::JsonSchema;
use serde::Serialize;
use std::time::Duration;

/// A whole document: the command's keys (absent when it failed before it had any), then the
/// failure's `Error` and `ExitCode` when it failed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Document<D> {
    /// The command's keys.
    #[serde(flatten)]
    pub body: Option<D>,
    /// `Error` and `ExitCode`, when the command failed.
    #[serde(flatten)]
    pub failure: Option<FailureFields>,
}

/// The keys of a failed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct FailureFields {
    /// The one-line error message (the same line as on stderr).
    pub error: String,
    /// The process's exit code.
    pub exit_code: u8,
}

/// A command whose document holds nothing but a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NoDocument {}

/// `octoshare-discover`'s output variables (the first four are the original runbook's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DiscoverOutputs {
    /// The initial space's name.
    pub initial_space_name: String,
    /// The initial space's `Spaces-N` Id.
    pub initial_space_id: String,
    /// The other qualifying spaces' Ids, in the server's order (comma-joined as a variable).
    pub remaining_space_ids: Vec<String>,
    /// The pool's name as the initial space spells it.
    pub worker_pool_name: String,
    /// The other qualifying spaces' names (comma-joined as a variable).
    pub remaining_space_names: Vec<String>,
    /// How many spaces have the pool, the initial one included.
    pub qualifying_space_count: u64,
}

impl DiscoverOutputs {
    /// The outputs of a discovery.
    pub fn of(outcome: &DiscoverOutcome) -> DiscoverOutputs {
        DiscoverOutputs {
            initial_space_name: outcome.initial.space.name.clone(),
            initial_space_id: outcome.initial.space.id.to_string(),
            remaining_space_ids: outcome
                .remaining
                .iter()
                .map(|target| target.space.id.to_string())
                .collect(),
            worker_pool_name: outcome.worker_pool_name().to_owned(),
            remaining_space_names: outcome
                .remaining
                .iter()
                .map(|target| target.space.name.clone())
                .collect(),
            qualifying_space_count: outcome.qualifying_space_count() as u64,
        }
    }
}

/// `octoshare-discover --output json`: the output variables and the spaces that were skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DiscoverDocument {
    /// The output variables.
    #[serde(flatten)]
    pub outputs: DiscoverOutputs,
    /// Searched spaces that could not qualify: their worker pools may not be read (403), or
    /// their pool of that name is a dynamic worker pool. `Id`, `Name`, `Reason` each.
    pub skipped_spaces: Vec<SkippedSpace>,
}

impl DiscoverDocument {
    /// The document of a discovery.
    pub fn of(outcome: &DiscoverOutcome) -> DiscoverDocument {
        DiscoverDocument {
            outputs: DiscoverOutputs::of(outcome),
            skipped_spaces: outcome.skipped_spaces.clone(),
        }
    }
}

/// `octoshare-wait`'s output variables: what the last poll that completed counted. Both are
/// absent when no poll completed (the wait was interrupted before the first answer, or every
/// poll failed until the deadline): the number of registered workers is then unknown, which is
/// not the same as 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct WaitOutputs {
    /// How many workers the last completed poll counted (absent: unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub registered_worker_count: Option<u64>,
    /// Their names, sorted (comma-joined as a variable; absent: unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    pub registered_worker_names: Option<Vec<String>>,
}

impl WaitOutputs {
    /// The outputs of a wait: the last completed poll's count and names, or none when no poll
    /// completed.
    pub fn of(outcome: &WaitOutcome) -> WaitOutputs {
        let known = outcome.count_is_known();
        WaitOutputs {
            registered_worker_count: known.then_some(outcome.count),
            registered_worker_names: known.then(|| outcome.registered_worker_names.clone()),
        }
    }
}

/// `octoshare-share`'s output variables (in a dry run: what a real run would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ShareOutputs {
    /// Workers created.
    pub created_worker_count: u64,
    /// Workers updated (the pool added, or a stale endpoint replaced).
    pub updated_worker_count: u64,
    /// Workers already shared.
    pub unchanged_worker_count: u64,
    /// Stale workers deleted or removed from the pool.
    pub pruned_worker_count: u64,
    /// Failed workers plus spaces that failed as a whole.
    pub failed_count: u64,
}

impl ShareOutputs {
    /// The outputs of a share, from its totals.
    pub fn of(totals: &Totals) -> ShareOutputs {
        ShareOutputs {
            created_worker_count: totals.created,
            updated_worker_count: totals.updated,
            unchanged_worker_count: totals.unchanged,
            pruned_worker_count: totals.pruned,
            failed_count: totals.failed,
        }
    }
}

/// `octoshare-share --output json`: the outputs and the whole report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ShareDocument {
    /// The output variables.
    #[serde(flatten)]
    pub outputs: ShareOutputs,
    /// The per-space, per-worker report (the same as the `--report` file).
    pub report: ShareReport,
}

/// `octoshare retire`'s output variables (in a dry run: what a real run would retire, and the
/// spaces where a task holds the worker now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RetireOutputs {
    /// Registrations this run deleted.
    pub retired_worker_count: u64,
    /// Spaces where every registration found is now gone, in the server's order
    /// (comma-joined as a variable).
    pub retired_space_ids: Vec<String>,
    /// Spaces where a task still holds a registration, left disabled (comma-joined as a
    /// variable).
    pub still_busy_space_ids: Vec<String>,
}

impl RetireOutputs {
    /// The outputs of a retirement.
    pub fn of(outcome: &RetireOutcome) -> RetireOutputs {
        let ids =
            |ids: Vec<octoshare_core::SpaceId>| ids.into_iter().map(|id| id.to_string()).collect();
        RetireOutputs {
            retired_worker_count: outcome.retired_worker_count(),
            retired_space_ids: ids(outcome.retired_space_ids()),
            still_busy_space_ids: ids(outcome.still_busy_space_ids()),
        }
    }
}

/// `octoshare retire --output json`: the outputs, what the retirement did (the library's
/// `RetireOutcome`: `Status`, `Registrations` with their leases, `ForcedTasks`, ...) and the
/// HTTP requests it made.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RetireDocument {
    /// The output variables.
    #[serde(flatten)]
    pub outputs: RetireOutputs,
    /// What the retirement did.
    #[serde(flatten)]
    pub outcome: RetireOutcome,
    /// HTTP attempts the retirement made (the search, disables, lease polls, task reads and
    /// cancels, deletes).
    pub requests: Requests,
}

/// HTTP attempts a run made, by method, and how many were retries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Requests {
    /// GET requests.
    pub get: u64,
    /// POST requests.
    pub post: u64,
    /// PUT requests.
    pub put: u64,
    /// DELETE requests.
    pub delete: u64,
    /// Attempts that were retries of an earlier one.
    pub retries: u64,
}

impl From<RequestCounts> for Requests {
    fn from(counts: RequestCounts) -> Requests {
        Requests {
            get: counts.get,
            post: counts.post,
            put: counts.put,
            delete: counts.delete,
            retries: counts.retries,
        }
    }
}

/// How a phase of `octoshare run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum PhaseStatus {
    /// It ran to the end (for share: possibly with per-space failures, see the report).
    Done,
    /// It was not needed (wait without `--count`); `Reason` says why.
    Skipped,
    /// It failed; `Error` says why.
    Failed,
    /// It was interrupted (SIGINT/SIGTERM); `Error` says what was known then.
    Interrupted,
    /// An earlier phase failed or was interrupted.
    NotRun,
}

/// One phase of `octoshare run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Phase<T> {
    /// How it ended.
    pub status: PhaseStatus,
    /// How long it took, in milliseconds (absent when it did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it failed (one line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the step returned, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<T>,
}

/// The three phases of `octoshare run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Phases {
    /// Discover; its outcome holds the resolved initial and remaining spaces with their pools.
    pub discover: Phase<DiscoverOutcome>,
    /// Wait; its outcome holds the counts, the status and the polls.
    pub wait: Phase<WaitOutcome>,
    /// Share; its result is the document's `Report`.
    pub share: Phase<NoDocument>,
}

/// `octoshare run --output json`: every phase's output variables (only those of phases that
/// ran), share's report, and the run's detail.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RunDocument {
    /// Discover's output variables.
    #[serde(flatten)]
    pub discover: Option<DiscoverOutputs>,
    /// Wait's output variables (absent when wait was skipped or did not run).
    #[serde(flatten)]
    pub wait: Option<WaitOutputs>,
    /// Share's output variables (absent when share did not run).
    #[serde(flatten)]
    pub share: Option<ShareOutputs>,
    /// Share's report (absent when share did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ShareReport>,
    /// How each phase ended.
    pub phases: Phases,
    /// The HTTP attempts the run made.
    pub requests: Requests,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Wall time of the whole run, in milliseconds.
    pub elapsed_ms: u64,
}

/// Requests the emulator logged during one demo run, by method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LoggedRequests {
    /// GET requests.
    pub get: u64,
    /// POST requests.
    pub post: u64,
    /// PUT requests.
    pub put: u64,
    /// DELETE requests.
    pub delete: u64,
}

/// `octoshare demo --output json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DemoDocument {
    /// Where the embedded emulator listened.
    pub emulator_url: String,
    /// The two runs' documents, as `octoshare run --output json` prints them.
    pub runs: Vec<Document<RunDocument>>,
    /// The requests the emulator logged during each run.
    pub run_requests: Vec<LoggedRequests>,
    /// Wall time of the whole demo, in milliseconds.
    pub elapsed_ms: u64,
}

/// `octoshare emulator --output json` (printed when it stops).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EmulatorDocument {
    /// Where it listened.
    pub url: String,
    /// The API key it accepted.
    pub api_key: String,
    /// How many requests it served.
    pub request_count: u64,
}

/// `octoshare install`'s output variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InstallOutputs {
    /// Templates created (or that would be, in a dry run).
    pub created_template_count: u64,
    /// Templates updated.
    pub updated_template_count: u64,
    /// Templates already the same.
    pub unchanged_template_count: u64,
    /// Spaces where something failed.
    pub failed_space_count: u64,
}

/// What happened to a template in a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum TemplateAction {
    /// Created (POST), or would be in a dry run.
    Created,
    /// Updated (PUT), or would be in a dry run.
    Updated,
    /// Already the same: no request.
    Unchanged,
    /// The request failed.
    Failed,
    /// Not sent because the run was interrupted, or sent and abandoned by the interruption
    /// before its answer (`Error` says which).
    NotAttempted,
}

/// One template in one space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InstalledTemplate {
    /// The template's name.
    pub name: String,
    /// What happened.
    pub action: TemplateAction,
    /// The space's `ActionTemplates-N` Id (when known).
    pub id: Option<String>,
    /// The space's template version after the install (when known).
    pub version: Option<i64>,
    /// Compared fields that differed (updates).
    pub changed_fields: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// How installing into a space went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum InstallStatus {
    /// Every template is in place.
    Succeeded,
    /// The space, or some template, failed.
    Failed,
    /// Not attempted because the run was interrupted.
    NotAttempted,
}

/// One space of `octoshare install`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InstalledSpace {
    /// The `--spaces` entry (or `all`).
    pub entry: String,
    /// `Spaces-N`, when the entry named a space.
    pub id: Option<String>,
    /// The space's name, when the entry named a space.
    pub name: Option<String>,
    /// How it went.
    pub status: InstallStatus,
    /// Why the space failed as a whole.
    pub error: Option<String>,
    /// Per-template results.
    pub templates: Vec<InstalledTemplate>,
}

/// `octoshare install --output json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InstallDocument {
    /// The output variables.
    #[serde(flatten)]
    pub outputs: InstallOutputs,
    /// Per-space results.
    pub spaces: Vec<InstalledSpace>,
    /// The HTTP attempts it made.
    pub requests: Requests,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// `octoshare user-data --output json`: the bootstrap script, wrapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UserDataDocument {
    /// `bash`, `tftpl` or `octostache`.
    pub format: String,
    /// The script.
    pub script: String,
}

/// `octoshare status --output json` (and `--format json`), and the status part of
/// `octoshare reconcile`'s `/status.json`: the worker × space matrix with where and when it was
/// read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct StatusDocument {
    /// The matrix: `WorkerPoolName`, `SourceSpace`, `Spaces`, `Workers`, `SkippedWorkers`,
    /// `Totals`, `Drift`.
    #[serde(flatten)]
    pub matrix: StatusMatrix,
    /// The Octopus server read.
    pub server_url: String,
    /// When the matrix was read (RFC 3339, UTC).
    pub generated_at: String,
    /// The HTTP attempts reading it took, discover's included (in `octoshare reconcile`: the
    /// whole cycle's, share's included).
    pub requests: Requests,
}

/// What started a reconcile cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum CycleTrigger {
    /// The first cycle, when the process started.
    Startup,
    /// The interval elapsed.
    Interval,
    /// A retry after a failed cycle (capped exponential backoff).
    Retry,
    /// An authenticated `POST /webhook` (a burst of them starts one cycle).
    Webhook,
}

/// How a reconcile cycle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum CycleResult {
    /// Everything was read and every write needed was done.
    Success,
    /// Something failed (see `Error`); the next cycle retries with backoff.
    Failure,
    /// A signal stopped the cycle (SIGINT or SIGTERM): no new write was sent; a write in
    /// flight finished, or past its 2 s grace period was abandoned (counted `NotAttempted` in
    /// `Changes`; it may or may not have been applied, and the next cycle settles it).
    Interrupted,
}

/// One reconcile cycle: discover → status → share when something drifted → status again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ReconcileCycle {
    /// The cycle's number, from 1.
    pub cycle: u64,
    /// What started it.
    pub trigger: CycleTrigger,
    /// How it ended.
    pub result: CycleResult,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Other qualifying spaces (the matrix's columns), when discover succeeded.
    pub spaces: Option<u64>,
    /// Shared source workers (the matrix's rows), when the matrix was read.
    pub workers: Option<u64>,
    /// Whether the matrix drifted at the end of the cycle.
    pub drift: Option<bool>,
    /// The matrix's counts at the end of the cycle.
    pub totals: Option<StatusTotals>,
    /// Whether share ran (only when the matrix drifted).
    pub share_ran: bool,
    /// What share did, when it ran.
    pub changes: Option<Totals>,
    /// The HTTP attempts of the cycle (an idle cycle: the space list, each space's pools and
    /// one worker list per qualifying space).
    pub requests: Requests,
    /// The failure, one line.
    pub error: Option<String>,
    /// The exit code the cycle stands for (what `--once` exits with).
    pub exit_code: u8,
}

/// How many reconcile cycles succeeded and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CycleCounts {
    /// Successful cycles.
    pub success: u64,
    /// Failed cycles.
    pub failure: u64,
}

/// `octoshare reconcile`'s state: `GET /status.json`, and the document `--output json` prints
/// when it stops (after one cycle with `--once`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ReconcileDocument {
    /// Whether the last successful cycle is younger than 3 intervals (what `/healthz` says).
    pub healthy: bool,
    /// The interval, in milliseconds.
    pub interval_ms: u64,
    /// Cycles so far, by result.
    pub cycles: CycleCounts,
    /// Failed cycles since the last success.
    pub consecutive_failures: u64,
    /// When the last successful cycle started (RFC 3339, UTC).
    pub last_success_at: Option<String>,
    /// The last cycle.
    pub last_cycle: Option<ReconcileCycle>,
    /// The latest matrix read.
    pub status: Option<StatusDocument>,
    /// The report of the last share a cycle ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ShareReport>,
}

/// One line of `octoshare reconcile`'s log with `--log-format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "Event")]
pub enum ReconcileLogLine {
    /// The HTTP endpoints are served.
    Listening {
        /// `http://ADDRESS`.
        #[serde(rename = "Url")]
        url: String,
    },
    /// A cycle ended.
    Cycle(Box<ReconcileCycle>),
    /// A signal stopped the process.
    Stopped {
        /// `SIGINT` or `SIGTERM` (or `None` when it stopped without one).
        #[serde(rename = "Signal")]
        signal: Option<String>,
        /// Cycles run.
        #[serde(rename = "Cycles")]
        cycles: CycleCounts,
    },
}

/// A duration in whole milliseconds, as the documents write them.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Every JSON document by file name stem (`docs/schemas/<name>.schema.json`), with its schema
/// (titled with that name).
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    let titled = |name: &'static str, mut schema: schemars::Schema| {
        schema.insert("title".to_owned(), name.into());
        (name, schema)
    };
    vec![
        titled(
            "octoshare-discover",
            schemars::schema_for!(Document<DiscoverDocument>),
        ),
        titled(
            "octoshare-wait",
            schemars::schema_for!(Document<WaitOutputs>),
        ),
        titled(
            "octoshare-share",
            schemars::schema_for!(Document<ShareDocument>),
        ),
        titled("share-report", schemars::schema_for!(ShareReport)),
        titled(
            "octoshare-run",
            schemars::schema_for!(Document<RunDocument>),
        ),
        titled(
            "octoshare-demo",
            schemars::schema_for!(Document<DemoDocument>),
        ),
        titled(
            "octoshare-emulator",
            schemars::schema_for!(Document<EmulatorDocument>),
        ),
        titled(
            "octoshare-install",
            schemars::schema_for!(Document<InstallDocument>),
        ),
        titled(
            "octoshare-user-data",
            schemars::schema_for!(UserDataDocument),
        ),
        titled(
            "octoshare-status",
            schemars::schema_for!(Document<StatusDocument>),
        ),
        titled(
            "octoshare-reconcile",
            schemars::schema_for!(Document<ReconcileDocument>),
        ),
        titled(
            "reconcile-log-line",
            schemars::schema_for!(ReconcileLogLine),
        ),
        titled(
            "octoshare-retire",
            schemars::schema_for!(Document<RetireDocument>),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_adds_error_and_exit_code_after_the_keys() {
        let document = Document {
            body: Some(WaitOutputs {
                registered_worker_count: Some(1),
                registered_worker_names: Some(vec!["a".to_owned()]),
            }),
            failure: Some(FailureFields {
                error: "timed out".to_owned(),
                exit_code: 4,
            }),
        };
        let value = serde_json::to_value(&document).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "RegisteredWorkerCount",
                "RegisteredWorkerNames",
                "Error",
                "ExitCode"
            ]
        );
        let empty: Document<NoDocument> = Document {
            body: None,
            failure: Some(FailureFields {
                error: "boom".to_owned(),
                exit_code: 7,
            }),
        };
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            serde_json::json!({"Error": "boom", "ExitCode": 7})
        );
    }

    /// Every key of every schema, at every level, is PascalCase.
    #[test]
    fn every_schema_uses_pascal_case_keys() {
        fn check(name: &str, value: &serde_json::Value) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                        for key in properties.keys() {
                            assert!(
                                key.starts_with(|c: char| c.is_ascii_uppercase())
                                    && !key.contains('_'),
                                "{name}: {key} is not PascalCase"
                            );
                        }
                    }
                    for child in map.values() {
                        check(name, child);
                    }
                }
                serde_json::Value::Array(items) => {
                    for item in items {
                        check(name, item);
                    }
                }
                _ => {}
            }
        }
        for (name, schema) in schemas() {
            check(name, &serde_json::to_value(&schema).unwrap());
        }
    }
}
