//! `octoshare install`: imports octoshare's step templates — the `step-templates/*.json` files
//! `cargo xtask codegen` generates, embedded in the binary at build time — into Octopus spaces
//! through `/api/{spaceId}/actiontemplates`.
//!
//! Per space: one GET of the space's templates, then for each embedded template a POST when the
//! space has none of that name (case-insensitive), a PUT when it has one whose meaningful content
//! differs, and nothing when it is the same (comparison rules: the `template` module). A second
//! install therefore makes one GET per space and no write. Spaces are worked on four at a time;
//! a failing space (or template) never stops the others.
//!
//! A create whose outcome is unknown (timeout, dropped connection, 5xx) is not repeated: the
//! space's templates are read again and the template counts as created if it is there now.
//!
//! # Output and exit codes
//!
//! Per-template lines for changes, a table (space × created/updated/unchanged/failed) and a
//! total. Output variables (`--output octopus`) and JSON keys: `CreatedTemplateCount`,
//! `UpdatedTemplateCount`, `UnchangedTemplateCount`, `FailedSpaceCount`; JSON also holds
//! `Spaces` (per space `{"id", "name", "entry", "status", "error", "templates": [{"name",
//! "action", "id", "version", "changedFields", "error"}]}`), `Requests` and `DryRun`.
//!
//! Exit code 0 when every space succeeded; 5 when some space failed (the others are done); 6
//! instead when a failure was a refused permission (a key without `ActionTemplateEdit`), as
//! for `octoshare-share`; 3/6/7 when the spaces cannot even be listed; 130/143 when interrupted
//! by SIGINT/SIGTERM (what was not done is `NotAttempted`; a write whose answer never came
//! says it may or may not have been applied; installing again settles it).

mod template;

use template::StepTemplate;

use anyhow::Context as _;
use futures::StreamExt as _;
use octoshare_cli::json::{
    self, InstallDocument, InstallOutputs, InstallStatus, InstalledSpace, InstalledTemplate,
};
use octoshare_cli::{
    CommonArgs, Emitter, Ending, Exit, ExitError, OutputMode, Shutdown, Signal, run_local,
};
use octoshare_core::{ActionTemplate, ApiError, Client, Space, SpaceId};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::process::ExitCode;

/// The exit codes, as `octoshare install --help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 done; 5 some spaces failed (the others were \
installed); 6 credentials or permission refused (the key needs ActionTemplateEdit); 7 server \
unreachable; 130/143 interrupted by SIGINT/SIGTERM.";

/// How many spaces are installed into at once.
const SPACES_AT_ONCE: usize = 4;

/// Flags of `octoshare install`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstallArgs {
    /// Spaces to install into: comma-separated names or Ids, or "all"
    #[arg(long, value_name = "LIST|all", default_value = "all")]
    pub spaces: String,

    /// Only read (GET) and print what would be created or updated
    #[arg(long)]
    pub dry_run: bool,
}

/// What happened to one template in one space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// before its answer (`error` says which).
    NotAttempted,
}

/// One template's result in one space.
#[derive(Debug, Clone)]
pub struct TemplateResult {
    /// The template's name.
    pub name: String,
    /// What happened.
    pub action: TemplateAction,
    /// The space's `ActionTemplates-N` id (when known).
    pub id: Option<String>,
    /// The space's template version after the install (when known).
    pub version: Option<i64>,
    /// Compared fields that differed (updates).
    pub changed_fields: Vec<&'static str>,
    /// Why it failed.
    pub error: Option<String>,
    permission_refused: bool,
}

/// One space's result.
#[derive(Debug, Clone)]
pub struct SpaceResult {
    /// The `--spaces` entry (or `all`).
    pub entry: String,
    /// `Spaces-N`, when the entry named a space.
    pub id: Option<String>,
    /// The space's name, when the entry named a space.
    pub name: Option<String>,
    /// `succeeded`, `failed` or `notAttempted` (interrupted).
    pub status: &'static str,
    /// Why the space failed as a whole.
    pub error: Option<String>,
    /// Per-template results.
    pub templates: Vec<TemplateResult>,
    permission_refused: bool,
}

impl SpaceResult {
    fn label(&self) -> String {
        match (&self.name, &self.id) {
            (Some(name), Some(id)) => format!("{name} ({id})"),
            _ => format!("'{}'", self.entry),
        }
    }

    fn count(&self, action: TemplateAction) -> u64 {
        self.templates
            .iter()
            .filter(|template| template.action == action)
            .count() as u64
    }

    fn failed(&self) -> bool {
        self.status != "succeeded"
    }

    /// The space as the JSON document shows it.
    fn to_document(&self) -> InstalledSpace {
        InstalledSpace {
            entry: self.entry.clone(),
            id: self.id.clone(),
            name: self.name.clone(),
            status: match self.status {
                "succeeded" => InstallStatus::Succeeded,
                "notAttempted" => InstallStatus::NotAttempted,
                _ => InstallStatus::Failed,
            },
            error: self.error.clone(),
            templates: self
                .templates
                .iter()
                .map(|template| InstalledTemplate {
                    name: template.name.clone(),
                    action: match template.action {
                        TemplateAction::Created => json::TemplateAction::Created,
                        TemplateAction::Updated => json::TemplateAction::Updated,
                        TemplateAction::Unchanged => json::TemplateAction::Unchanged,
                        TemplateAction::Failed => json::TemplateAction::Failed,
                        TemplateAction::NotAttempted => json::TemplateAction::NotAttempted,
                    },
                    id: template.id.clone(),
                    version: template.version,
                    changed_fields: template
                        .changed_fields
                        .iter()
                        .map(|field| (*field).to_owned())
                        .collect(),
                    error: template.error.clone(),
                })
                .collect(),
        }
    }
}

/// `octoshare install` as a process.
pub fn command(args: InstallArgs, common: &CommonArgs) -> ExitCode {
    run_local(common, OutputMode::Text, async |emitter, shutdown| {
        let mut builder = common.client_builder(&shutdown)?;
        if args.dry_run {
            builder = builder.read_only();
        }
        let client = builder.build()?;
        Ok(install(&client, &args, emitter, &shutdown).await?)
    })
}

/// Installs the embedded templates into the chosen spaces and reports.
async fn install(
    client: &Client,
    args: &InstallArgs,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> anyhow::Result<Ending<InstallDocument>> {
    let templates = StepTemplate::embedded()?;
    let spaces = client
        .spaces()
        .all()
        .await
        .context("while listing spaces")?;
    let targets = resolve_spaces(&spaces, &args.spaces, emitter);
    let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
    emitter.info(&format!(
        "{} {} step templates ({}) in {} {} on {}",
        if args.dry_run {
            "checking"
        } else {
            "installing"
        },
        templates.len(),
        names.join(", "),
        targets.len(),
        if targets.len() == 1 {
            "space"
        } else {
            "spaces"
        },
        client.server()
    ));

    let total = targets.len() as u64;
    let mut results: Vec<Option<SpaceResult>> = vec![None; targets.len()];
    {
        let templates = &templates;
        let mut stream = futures::stream::iter(targets.into_iter().enumerate())
            .map(|(index, target)| async move {
                let result = match target {
                    Target::Space { entry, space } => {
                        if shutdown.is_requested() {
                            not_attempted(entry, &space)
                        } else {
                            install_into_space(client, templates, entry, &space, args.dry_run).await
                        }
                    }
                    Target::Unknown { entry, reason } => SpaceResult {
                        entry,
                        id: None,
                        name: None,
                        status: "failed",
                        error: Some(reason),
                        templates: Vec::new(),
                        permission_refused: false,
                    },
                };
                (index, result)
            })
            .buffer_unordered(SPACES_AT_ONCE);
        let mut done = 0;
        while let Some((index, result)) = stream.next().await {
            done += 1;
            results[index] = Some(result);
            emitter.progress(done, total, &format!("{done} of {total} spaces done"));
        }
    }
    emitter.finish_progress();
    let results: Vec<SpaceResult> = results.into_iter().flatten().collect();
    print_details(&results, args.dry_run, emitter);
    print_table(&results, emitter);
    Ok(conclude(
        &results,
        args.dry_run,
        shutdown.is_requested(),
        client,
        emitter,
    ))
}

/// A `--spaces` entry after resolution.
#[derive(Debug, Clone)]
enum Target {
    Space { entry: String, space: Space },
    Unknown { entry: String, reason: String },
}

fn resolve_spaces(spaces: &[Space], list: &str, emitter: &mut Emitter) -> Vec<Target> {
    let entries: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.is_empty()
        || entries
            .iter()
            .any(|entry| entry.eq_ignore_ascii_case("all"))
    {
        return spaces
            .iter()
            .map(|space| Target::Space {
                entry: "all".to_owned(),
                space: space.clone(),
            })
            .collect();
    }
    let mut seen: HashSet<SpaceId> = HashSet::new();
    let mut targets = Vec::new();
    for entry in entries {
        let found = spaces
            .iter()
            .find(|space| space.id.as_str().eq_ignore_ascii_case(entry))
            .or_else(|| {
                spaces
                    .iter()
                    .find(|space| space.name.trim().to_lowercase() == entry.to_lowercase())
            });
        match found {
            Some(space) if !seen.insert(space.id.clone()) => emitter.info(&format!(
                "note: '{entry}' names {} ({}) again: installed once",
                space.name, space.id
            )),
            Some(space) => targets.push(Target::Space {
                entry: entry.to_owned(),
                space: space.clone(),
            }),
            None => targets.push(Target::Unknown {
                entry: entry.to_owned(),
                reason: format!(
                    "no space named or with Id '{entry}' ({} searched): check --spaces",
                    spaces.len()
                ),
            }),
        }
    }
    targets
}

fn not_attempted(entry: String, space: &Space) -> SpaceResult {
    SpaceResult {
        entry,
        id: Some(space.id.to_string()),
        name: Some(space.name.clone()),
        status: "notAttempted",
        error: Some("not attempted: interrupted".to_owned()),
        templates: Vec::new(),
        permission_refused: false,
    }
}

async fn install_into_space(
    client: &Client,
    templates: &[StepTemplate],
    entry: String,
    space: &Space,
    dry_run: bool,
) -> SpaceResult {
    let mut result = SpaceResult {
        entry,
        id: Some(space.id.to_string()),
        name: Some(space.name.clone()),
        status: "succeeded",
        error: None,
        templates: Vec::new(),
        permission_refused: false,
    };
    let handler = client.action_templates(&space.id);
    let existing = match handler.all().await {
        Ok(existing) => existing,
        Err(error) if error.is_interrupted() => {
            result.status = "notAttempted";
            result.error = Some("not attempted: interrupted".to_owned());
            return result;
        }
        Err(error) => {
            result.status = "failed";
            result.permission_refused = error.is_auth_failure();
            result.error = Some(format!("cannot read the space's step templates: {error}"));
            return result;
        }
    };
    for template in templates {
        let found = existing
            .iter()
            .find(|candidate| template.names(&candidate.name));
        let outcome = match found {
            None => create(client, template, space, dry_run).await,
            Some(current) => update(client, template, &space.id, current, dry_run).await,
        };
        match outcome.action {
            TemplateAction::Failed => {
                result.status = "failed";
                result.permission_refused |= outcome.permission_refused;
            }
            TemplateAction::NotAttempted if result.status == "succeeded" => {
                result.status = "notAttempted";
            }
            _ => {}
        }
        result.templates.push(outcome);
    }
    result
}

async fn create(
    client: &Client,
    template: &StepTemplate,
    space: &Space,
    dry_run: bool,
) -> TemplateResult {
    let mut result = TemplateResult {
        name: template.name.clone(),
        action: TemplateAction::Created,
        id: None,
        version: None,
        changed_fields: Vec::new(),
        error: None,
        permission_refused: false,
    };
    if dry_run {
        return result;
    }
    let handler = client.action_templates(&space.id);
    match handler
        .create(&template.create_body(space.id.as_str()))
        .await
    {
        Ok(created) => {
            result.id = Some(created.id.to_string());
            result.version = created.version;
        }
        Err(error) if error.is_interrupted() => interrupted(&mut result, &error, "creating it"),
        Err(error) if error.outcome_unknown() => {
            // The POST may have been committed: look before deciding, never POST blindly again.
            let settled = handler.all().await.map(|all| {
                all.into_iter()
                    .find(|candidate| template.names(&candidate.name))
            });
            match settled {
                Ok(Some(created)) => {
                    result.id = Some(created.id.to_string());
                    result.version = created.version;
                }
                Err(read_error) if read_error.is_interrupted() => {
                    result.action = TemplateAction::NotAttempted;
                    result.error = Some(format!(
                        "creating it may or may not have been applied ({error}), and the run was interrupted before that could be checked: run install again"
                    ));
                }
                Ok(None) | Err(_) => fail(
                    &mut result,
                    &error,
                    "creating it failed and it is not there: run install again",
                ),
            }
        }
        Err(error) => fail(&mut result, &error, "creating it failed"),
    }
    result
}

async fn update(
    client: &Client,
    template: &StepTemplate,
    space_id: &SpaceId,
    current: &ActionTemplate,
    dry_run: bool,
) -> TemplateResult {
    let mut result = TemplateResult {
        name: template.name.clone(),
        action: TemplateAction::Unchanged,
        id: Some(current.id.to_string()),
        version: current.version,
        changed_fields: Vec::new(),
        error: None,
        permission_refused: false,
    };
    let current_json = match serde_json::to_value(current) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    let differences = template.differences(&current_json);
    if differences.is_empty() {
        return result;
    }
    result.action = TemplateAction::Updated;
    result.changed_fields = differences;
    if dry_run {
        return result;
    }
    match client
        .action_templates(space_id)
        .update(&current.id, &template.update_body(&current_json))
        .await
    {
        Ok(updated) => result.version = updated.version,
        Err(error) if error.is_interrupted() => interrupted(&mut result, &error, "updating it"),
        Err(error) => fail(&mut result, &error, "updating it failed"),
    }
    result
}

/// A write cut short by the interruption: not sent, or sent with no answer in the grace period.
fn interrupted(result: &mut TemplateResult, error: &ApiError, what: &str) {
    result.action = TemplateAction::NotAttempted;
    result.error = Some(if error.outcome_unknown() {
        format!(
            "{what} was sent, but the run was interrupted before its answer arrived: it may or may not have been applied; run install again"
        )
    } else {
        "not attempted: interrupted".to_owned()
    });
}

fn fail(result: &mut TemplateResult, error: &ApiError, what: &str) {
    result.action = TemplateAction::Failed;
    result.permission_refused = error.is_auth_failure();
    result.error = Some(format!("{what}: {error}"));
}

/// Lines for what changed (or would), failures as warnings; unchanged templates as detail lines.
fn print_details(results: &[SpaceResult], dry_run: bool, emitter: &mut Emitter) {
    let would = if dry_run { "would be " } else { "" };
    for space in results {
        let label = space.label();
        if let Some(error) = &space.error {
            if space.status == "failed" {
                emitter.warning(&format!("{label}: failed: {error}"));
            } else {
                emitter.info(&format!("{label}: {error}"));
            }
        }
        for template in &space.templates {
            let id = template
                .id
                .as_ref()
                .map(|id| format!(" ({id})"))
                .unwrap_or_default();
            match template.action {
                TemplateAction::Created => {
                    emitter.info(&format!("{label}: '{}'{id} {would}created", template.name))
                }
                TemplateAction::Updated => emitter.info(&format!(
                    "{label}: '{}'{id} {would}updated ({} changed)",
                    template.name,
                    template.changed_fields.join(", ")
                )),
                TemplateAction::Unchanged => {
                    emitter.verbose(&format!("{label}: '{}'{id} unchanged", template.name))
                }
                TemplateAction::Failed => emitter.warning(&format!(
                    "{label}: '{}'{id} failed: {}",
                    template.name,
                    template.error.as_deref().unwrap_or_default()
                )),
                TemplateAction::NotAttempted => emitter.info(&format!(
                    "{label}: '{}'{id} {}",
                    template.name,
                    template.error.as_deref().unwrap_or_default()
                )),
            }
        }
    }
}

fn print_table(results: &[SpaceResult], emitter: &mut Emitter) {
    let header = ["created", "updated", "unchanged", "failed"];
    let labels: Vec<String> = results.iter().map(SpaceResult::label).collect();
    let width = labels
        .iter()
        .map(|label| label.chars().count())
        .chain(["space".len()])
        .max()
        .unwrap_or(5);
    let mut title = format!("{:<width$}", "space");
    for column in header {
        title.push_str(&format!("  {column}"));
    }
    emitter.info(&title);
    let mut totals = [0_u64; 4];
    for (label, space) in labels.iter().zip(results) {
        let counts = [
            space.count(TemplateAction::Created),
            space.count(TemplateAction::Updated),
            space.count(TemplateAction::Unchanged),
            space.count(TemplateAction::Failed),
        ];
        let mut line = format!("{label:<width$}");
        for ((count, column), total) in counts.iter().zip(header).zip(totals.iter_mut()) {
            line.push_str(&format!("  {count:>w$}", w = column.len()));
            *total += count;
        }
        if space.status == "failed" && space.templates.is_empty() {
            line.push_str("  (space failed)");
        } else if space.status == "notAttempted" {
            line.push_str("  (not attempted)");
        }
        emitter.info(&line);
    }
    let mut line = format!("{:<width$}", "total");
    for (total, column) in totals.iter().zip(header) {
        line.push_str(&format!("  {total:>w$}", w = column.len()));
    }
    emitter.info(&line);
}

/// Sets the outputs, prints the verdict and returns how the install ended with its document.
fn conclude(
    results: &[SpaceResult],
    dry_run: bool,
    interrupted: bool,
    client: &Client,
    emitter: &mut Emitter,
) -> Ending<InstallDocument> {
    let sum = |action| results.iter().map(|space| space.count(action)).sum::<u64>();
    let (created, updated, unchanged) = (
        sum(TemplateAction::Created),
        sum(TemplateAction::Updated),
        sum(TemplateAction::Unchanged),
    );
    let failed_spaces = results.iter().filter(|space| space.failed()).count() as u64;
    let outputs = InstallOutputs {
        created_template_count: created,
        updated_template_count: updated,
        unchanged_template_count: unchanged,
        failed_space_count: failed_spaces,
    };
    emitter.set_outputs(&outputs);
    let document = InstallDocument {
        outputs,
        spaces: results.iter().map(SpaceResult::to_document).collect(),
        requests: client.request_counts().into(),
        dry_run,
    };
    let succeeded = results.len() as u64 - failed_spaces;
    let mut verdict = if dry_run {
        format!(
            "dry run, nothing changed: in {succeeded} of {} spaces {created} would be created, {updated} updated, {unchanged} unchanged",
            results.len()
        )
    } else {
        format!(
            "step templates installed in {succeeded} of {} spaces: {created} created, {updated} updated, {unchanged} unchanged",
            results.len()
        )
    };
    if failed_spaces > 0 {
        verdict.push_str(&format!(
            "; {failed_spaces} {} failed",
            if failed_spaces == 1 {
                "space"
            } else {
                "spaces"
            }
        ));
    }
    if interrupted {
        verdict.push_str(" (interrupted)");
    }
    emitter.highlight(&verdict);
    if interrupted {
        // The signal decides the exit code (130/143, attributed by the runner); the lines
        // above say what failed.
        let failure = ExitError::new(
            Exit::Interrupted(Signal::Interrupt),
            format!(
                "interrupted with {} of {} spaces not finished: run install again to finish",
                failed_spaces,
                results.len()
            ),
        );
        return Ending::new(document, Err(failure));
    }
    if failed_spaces == 0 {
        return Ending::success(document);
    }
    let permission_refused = results.iter().any(|space| space.permission_refused);
    let (exit, hint) = if permission_refused {
        (
            Exit::AccessDenied,
            "permission refused: the API key needs ActionTemplateEdit (and ActionTemplateView) in every space",
        )
    } else {
        (
            Exit::PartialFailure,
            "see the lines above; the other spaces are done",
        )
    };
    let failure = ExitError::new(
        exit,
        format!(
            "installing failed in {failed_spaces} of {} spaces: {hint}",
            results.len()
        ),
    );
    Ending::new(document, Err(failure))
}
