//! Rendering of the status matrix: a compact text table that fits a terminal, one
//! self-contained HTML page (no external scripts, fonts or styles), the summary lines and the
//! exit code (0 when nothing drifted, 5 on drift).

use std::fmt::Write as _;
use std::time::Duration;

use octoshare_status::{CellState, StatusError, StatusMatrix, WorkerRow};

use crate::exit::{Exit, api_error_line, exit_for_api_error};
use crate::json::StatusDocument;
use crate::render::plural;

/// The width a table is fitted to when the terminal's is unknown (`COLUMNS` unset).
pub const DEFAULT_WIDTH: usize = 120;

/// The terminal width: `COLUMNS` when it is a number, else [`DEFAULT_WIDTH`].
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.trim().parse().ok())
        .filter(|&columns: &usize| columns >= 20)
        .unwrap_or(DEFAULT_WIDTH)
}

/// The exit code of a status: 130/143 when a read was cut short by an interruption, 5 when the
/// matrix drifted or a space could not be read (6 when every unreadable space refused the
/// credentials), else 0.
pub fn exit_for_matrix(matrix: &StatusMatrix, unreadable: &[&octoshare_core::ApiError]) -> Exit {
    if unreadable.iter().any(|error| error.is_interrupted()) {
        return Exit::Interrupted(crate::Signal::Interrupt);
    }
    if !unreadable.is_empty() {
        if unreadable.iter().all(|error| error.is_auth_failure()) {
            return Exit::AccessDenied;
        }
        return Exit::PartialFailure;
    }
    if matrix.drift {
        Exit::PartialFailure
    } else {
        Exit::Success
    }
}

/// A status that could not be read at all.
pub fn exit_for_status_error(error: &StatusError) -> Exit {
    match error {
        StatusError::ReadSourceWorkers { error, .. } => exit_for_api_error(error),
    }
}

/// The one-line message of a status that could not be read at all.
pub fn error_message(error: &StatusError) -> String {
    match error {
        StatusError::ReadSourceWorkers { error: api, .. } => api_error_line(error, api),
    }
}

/// The one-line verdict: `no drift: 12 cells shared` or `drift: 2 missing, 1 stale, 1 orphan`.
pub fn verdict(matrix: &StatusMatrix) -> String {
    let totals = &matrix.totals;
    if !matrix.drift && totals.unknown == 0 {
        return format!("no drift: {} shared", plural(totals.shared, "cell"));
    }
    let mut parts = Vec::new();
    for state in [CellState::Missing, CellState::NotInPool, CellState::Stale] {
        let count = totals.of(state);
        if count > 0 {
            parts.push(format!("{count} {}", state.label()));
        }
    }
    if totals.orphans > 0 {
        parts.push(plural(totals.orphans, "orphan"));
    }
    if totals.unknown > 0 {
        parts.push(format!("{} unknown (unreadable spaces)", totals.unknown));
    }
    let head = if matrix.drift { "drift" } else { "incomplete" };
    format!("{head}: {}", parts.join(", "))
}

/// The states' one-letter codes in the compact table.
fn code(state: CellState) -> char {
    match state {
        CellState::Shared => '.',
        CellState::Missing => 'M',
        CellState::NotInPool => 'P',
        CellState::Stale => 'S',
        CellState::Unknown => '?',
    }
}

/// A cell's text: the state (a word, or its code when `compact`) and the flags.
fn cell_text(row: &WorkerRow, space: &octoshare_core::SpaceId, compact: bool) -> String {
    let Some(cell) = row.cells.get(space) else {
        return String::new();
    };
    let mut flags = String::new();
    if cell.disabled {
        flags.push('d');
    }
    if cell.unhealthy {
        flags.push('u');
    }
    if compact {
        format!("{}{flags}", code(cell.state))
    } else if flags.is_empty() {
        cell.state.label().to_owned()
    } else {
        format!("{} [{flags}]", cell.state.label())
    }
}

/// Characters a string takes in a terminal (one per `char`: names are mostly ASCII).
fn width_of(text: &str) -> usize {
    text.chars().count()
}

fn pad(text: &str, width: usize) -> String {
    let mut padded = text.to_owned();
    padded.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(width_of(text)),
    ));
    padded
}

fn truncate(text: &str, width: usize) -> String {
    if width_of(text) <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The matrix as a table fitting `width` characters: one line per worker, one column per
/// space. Columns are headed by the space's name when everything fits; otherwise by a number
/// with a legend below, and cells by a one-letter code. Then the legend of the states, the
/// orphans, the skipped workers and the unreadable spaces.
pub fn table(matrix: &StatusMatrix, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let worker_width = matrix
        .workers
        .iter()
        .map(|row| width_of(&row.name))
        .chain([width_of("worker")])
        .max()
        .unwrap_or(6)
        .min(32);
    let wide_columns: Vec<usize> = matrix
        .spaces
        .iter()
        .map(|space| {
            matrix
                .workers
                .iter()
                .map(|row| width_of(&cell_text(row, &space.id, false)))
                .chain([width_of(&space.name).min(24)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let wide_total = worker_width + wide_columns.iter().map(|column| column + 2).sum::<usize>();
    let compact = wide_total > width;

    if matrix.spaces.is_empty() {
        lines.push("no other space has the pool: nothing is shared".to_owned());
    } else if matrix.workers.is_empty() {
        lines.push("the source pool has no worker to share".to_owned());
    } else if compact {
        let headers: Vec<String> = (1..=matrix.spaces.len()).map(|n| n.to_string()).collect();
        let columns: Vec<usize> = headers
            .iter()
            .map(|header| width_of(header).max(2))
            .collect();
        let mut header = pad("worker", worker_width);
        for (text, column) in headers.iter().zip(&columns) {
            header.push(' ');
            header.push_str(&pad(text, *column));
        }
        lines.push(header.trim_end().to_owned());
        for row in &matrix.workers {
            let mut line = pad(&truncate(&row.name, worker_width), worker_width);
            for (space, column) in matrix.spaces.iter().zip(&columns) {
                line.push(' ');
                line.push_str(&pad(&cell_text(row, &space.id, true), *column));
            }
            lines.push(line.trim_end().to_owned());
        }
        lines.push(String::new());
        lines.push("spaces:".to_owned());
        for (header, space) in headers.iter().zip(&matrix.spaces) {
            lines.push(format!("  {header:>3} {} ({})", space.name, space.id));
        }
        lines.push(
            "legend: . shared  M missing  P not in pool  S stale  ? unknown  d disabled  u unhealthy"
                .to_owned(),
        );
    } else {
        let mut header = pad("worker", worker_width);
        for (space, column) in matrix.spaces.iter().zip(&wide_columns) {
            header.push_str("  ");
            header.push_str(&pad(&truncate(&space.name, *column), *column));
        }
        lines.push(header.trim_end().to_owned());
        for row in &matrix.workers {
            let mut line = pad(&truncate(&row.name, worker_width), worker_width);
            for (space, column) in matrix.spaces.iter().zip(&wide_columns) {
                line.push_str("  ");
                line.push_str(&pad(&cell_text(row, &space.id, false), *column));
            }
            lines.push(line.trim_end().to_owned());
        }
        if matrix.totals.disabled + matrix.totals.unhealthy > 0 {
            lines.push("flags: [d] disabled, [u] unhealthy or unavailable".to_owned());
        }
    }
    for space in &matrix.spaces {
        if !space.orphans.is_empty() {
            let names: Vec<String> = space
                .orphans
                .iter()
                .map(|orphan| {
                    format!(
                        "{} ({}, {})",
                        orphan.name, orphan.worker_id, orphan.health_status
                    )
                })
                .collect();
            lines.push(format!(
                "orphans in {} ({}): {}",
                space.name,
                space.id,
                names.join(", ")
            ));
        }
    }
    for skipped in &matrix.skipped_workers {
        lines.push(format!(
            "not in the matrix: {} ({}): {}",
            skipped.name, skipped.worker_id, skipped.reason
        ));
    }
    for space in &matrix.spaces {
        if let Some(error) = &space.error {
            lines.push(format!(
                "unreadable: {} ({}): {error}",
                space.name, space.id
            ));
        }
    }
    lines
}

/// The heading line above the table.
pub fn heading(matrix: &StatusMatrix) -> String {
    format!(
        "worker pool '{}': {} from {} in {}",
        matrix.worker_pool_name,
        plural(matrix.workers.len() as u64, "worker"),
        matrix.source_space,
        plural(matrix.spaces.len() as u64, "other space"),
    )
}

/// Escapes text for HTML (element content and quoted attribute values). Line breaks, other
/// control characters, line separators and bidi overrides (what [`crate::inert`] escapes)
/// become character references: the page shows the same text, and printed line by line it
/// keeps its lines.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other if crate::output::is_escaped(other) => {
                let _ = write!(escaped, "&#x{:x};", u32::from(other));
            }
            other => escaped.push(other),
        }
    }
    escaped
}

/// What each state means, for the legend.
fn meaning(state: CellState) -> &'static str {
    match state {
        CellState::Shared => "registered with the same endpoint, in the pool",
        CellState::Missing => "not registered: the next share creates it",
        CellState::NotInPool => {
            "registered with the same endpoint, not in the pool: the next share adds the pool"
        }
        CellState::Stale => "the name is held by a registration with another endpoint",
        CellState::Unknown => "the space could not be read",
    }
}

const STYLE: &str = "
:root { color-scheme: light; --shared: #1a7f37; --shared-bg: #dafbe1; --missing: #b42318; --missing-bg: #fee4e2;
  --notinpool: #8a5a00; --notinpool-bg: #fff4cc; --stale: #6e3fb5; --stale-bg: #efe5fd; --unknown: #4b5563; --unknown-bg: #e5e7eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2328; background: #f6f8fa; }
header { padding: 16px 24px 8px; background: #fff; border-bottom: 1px solid #d0d7de; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 16px 0 6px; }
main { padding: 8px 24px 24px; }
.meta { margin: 0; color: #57606a; }
.verdict { display: inline-block; margin-top: 6px; padding: 2px 8px; border-radius: 4px; font-weight: 600; }
.verdict.ok { color: var(--shared); background: var(--shared-bg); }
.verdict.drift { color: var(--missing); background: var(--missing-bg); }
ul.totals, ul.legend { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 6px 16px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.matrix-wrap { overflow: auto; max-height: 75vh; border: 1px solid #d0d7de; background: #fff; margin-top: 8px; }
table.matrix { border-collapse: separate; border-spacing: 0; }
table.matrix th, table.matrix td { border-right: 1px solid #eaeef2; border-bottom: 1px solid #eaeef2; padding: 3px 6px; white-space: nowrap; }
table.matrix thead th { position: sticky; top: 0; z-index: 2; background: #fff; vertical-align: bottom; }
table.matrix th.space { writing-mode: vertical-rl; transform: rotate(180deg); max-height: 14em; overflow: hidden; text-overflow: ellipsis; font-weight: 600; }
table.matrix th.space small, table.matrix th.worker small { display: block; color: #57606a; font-weight: 400; }
table.matrix th.worker { position: sticky; left: 0; z-index: 1; background: #fff; text-align: left; font-weight: 600; }
table.matrix thead th.corner { left: 0; z-index: 3; text-align: left; }
.cell { font-size: 12px; text-align: center; }
.cell .flag { display: block; font-size: 10px; font-weight: 600; }
.state-shared { color: var(--shared); background: var(--shared-bg); }
.state-missing { color: var(--missing); background: var(--missing-bg); font-weight: 600; }
.state-notinpool { color: var(--notinpool); background: var(--notinpool-bg); font-weight: 600; }
.state-stale { color: var(--stale); background: var(--stale-bg); font-weight: 600; }
.state-unknown { color: var(--unknown); background: var(--unknown-bg); }
.swatch { display: inline-block; min-width: 7em; padding: 1px 6px; border-radius: 3px; text-align: center; font-size: 12px; }
.notes li { margin: 2px 0; }
code { font-size: 12px; }
";

fn state_class(state: CellState) -> &'static str {
    match state {
        CellState::Shared => "state-shared",
        CellState::Missing => "state-missing",
        CellState::NotInPool => "state-notinpool",
        CellState::Stale => "state-stale",
        CellState::Unknown => "state-unknown",
    }
}

/// The matrix as one self-contained HTML page: the matrix (sticky headers, horizontal scroll)
/// with a colour and a text label per state, a legend, the totals, the server and the time.
/// With `refresh`, the page reloads itself that often (the page `octoshare reconcile` serves).
pub fn html(document: &StatusDocument, refresh: Option<Duration>) -> String {
    let matrix = &document.matrix;
    let mut page = String::with_capacity(4096 + matrix.workers.len() * matrix.spaces.len() * 96);
    let title = format!("octoshare status: {}", matrix.worker_pool_name);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    if let Some(refresh) = refresh {
        let _ = writeln!(
            page,
            "<meta http-equiv=\"refresh\" content=\"{}\">",
            refresh.as_secs().max(1)
        );
    }
    let _ = writeln!(page, "<title>{}</title>", escape_html(&title));
    let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>");
    let verdict_class = if matrix.drift || matrix.totals.unknown > 0 {
        "drift"
    } else {
        "ok"
    };
    let _ = writeln!(
        page,
        "<header>\n<h1>Worker pool <q>{}</q></h1>\n<p class=\"meta\">Server <a id=\"server\" href=\"{url}\">{url}</a> · source space {} · read <time id=\"generated-at\" datetime=\"{time}\">{time}</time></p>\n<p><span id=\"verdict\" class=\"verdict {verdict_class}\">{}</span></p>\n</header>\n<main>",
        escape_html(&matrix.worker_pool_name),
        escape_html(&matrix.source_space.to_string()),
        escape_html(&verdict(matrix)),
        url = escape_html(&document.server_url),
        time = escape_html(&document.generated_at),
    );

    page.push_str(
        "<section aria-label=\"Totals\">\n<h2>Totals</h2>\n<ul class=\"totals\" id=\"totals\">\n",
    );
    for state in CellState::ALL {
        let _ = writeln!(
            page,
            "<li data-state=\"{}\"><span class=\"swatch {}\">{}</span> {}</li>",
            state.name(),
            state_class(state),
            state.label(),
            matrix.totals.of(state)
        );
    }
    let _ = writeln!(
        page,
        "<li data-state=\"Orphans\">orphans {}</li>\n<li>disabled {}</li>\n<li>unhealthy {}</li>\n</ul>\n</section>",
        matrix.totals.orphans, matrix.totals.disabled, matrix.totals.unhealthy
    );

    page.push_str(
        "<section aria-label=\"Legend\">\n<h2>Legend</h2>\n<ul class=\"legend\" id=\"legend\">\n",
    );
    for state in CellState::ALL {
        let _ = writeln!(
            page,
            "<li data-state=\"{}\"><span class=\"swatch {}\">{}</span> {}</li>",
            state.name(),
            state_class(state),
            state.label(),
            meaning(state)
        );
    }
    page.push_str("<li><span class=\"swatch\">disabled</span> the registration is disabled</li>\n");
    page.push_str("<li><span class=\"swatch\">unhealthy</span> its last health check found it unhealthy or unavailable</li>\n</ul>\n</section>\n");

    page.push_str("<section aria-label=\"Matrix\">\n<h2>Workers × spaces</h2>\n");
    if matrix.spaces.is_empty() {
        page.push_str("<p>No other space has the pool: nothing is shared.</p>\n");
    } else if matrix.workers.is_empty() {
        page.push_str("<p>The source pool has no worker to share.</p>\n");
    }
    page.push_str("<div class=\"matrix-wrap\">\n<table class=\"matrix\" id=\"matrix\">\n<thead><tr><th class=\"corner worker\" scope=\"col\">Worker</th>");
    for space in &matrix.spaces {
        let _ = write!(
            page,
            "<th class=\"space\" scope=\"col\" data-space=\"{id}\" title=\"{name} ({id})\">{name}<small>{id}</small></th>",
            id = escape_html(space.id.as_str()),
            name = escape_html(&space.name),
        );
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for row in &matrix.workers {
        let _ = write!(
            page,
            "<tr data-worker=\"{name}\"><th class=\"worker\" scope=\"row\" title=\"{name} ({id}, {kind})\">{name}<small>{kind}</small></th>",
            name = escape_html(&row.name),
            id = escape_html(row.worker_id.as_str()),
            kind = escape_html(&row.kind),
        );
        for space in &matrix.spaces {
            let Some(cell) = row.cells.get(&space.id) else {
                page.push_str("<td></td>");
                continue;
            };
            let mut flags = String::new();
            if cell.disabled {
                flags.push_str("<span class=\"flag\">disabled</span>");
            }
            if cell.unhealthy {
                flags.push_str("<span class=\"flag\">unhealthy</span>");
            }
            let registration = cell
                .worker_id
                .as_ref()
                .map(|id| format!(", {}", id.as_str()))
                .unwrap_or_default();
            let _ = write!(
                page,
                "<td class=\"cell {class}\" data-state=\"{state}\" data-space=\"{space}\" data-disabled=\"{disabled}\" data-unhealthy=\"{unhealthy}\" title=\"{worker} in {space_name}: {label}{registration}\">{label}{flags}</td>",
                class = state_class(cell.state),
                state = cell.state.name(),
                space = escape_html(space.id.as_str()),
                disabled = cell.disabled,
                unhealthy = cell.unhealthy,
                worker = escape_html(&row.name),
                space_name = escape_html(&space.name),
                label = cell.state.label(),
                registration = escape_html(&registration),
            );
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n</div>\n</section>\n");

    let orphans: Vec<String> = matrix
        .spaces
        .iter()
        .flat_map(|space| {
            space.orphans.iter().map(move |orphan| {
                format!(
                    "<li data-space=\"{}\">{} in {}: <code>{}</code>, {}{}</li>",
                    escape_html(space.id.as_str()),
                    escape_html(&orphan.name),
                    escape_html(&space.name),
                    escape_html(orphan.worker_id.as_str()),
                    escape_html(&orphan.health_status),
                    if orphan.disabled { ", disabled" } else { "" }
                )
            })
        })
        .collect();
    let _ = writeln!(
        page,
        "<section aria-label=\"Orphans\">\n<h2>Orphans</h2>\n<p>Registrations in a pool whose endpoint is no longer in the source pool.</p>\n<ul class=\"notes\" id=\"orphans\">{}</ul>\n</section>",
        if orphans.is_empty() {
            "<li>none</li>".to_owned()
        } else {
            orphans.join("\n")
        }
    );
    if !matrix.skipped_workers.is_empty() {
        page.push_str("<section aria-label=\"Not shared\">\n<h2>Source workers not in the matrix</h2>\n<ul class=\"notes\">\n");
        for skipped in &matrix.skipped_workers {
            let _ = writeln!(
                page,
                "<li>{} (<code>{}</code>, {}): {}</li>",
                escape_html(&skipped.name),
                escape_html(skipped.worker_id.as_str()),
                escape_html(&skipped.kind),
                escape_html(&skipped.reason)
            );
        }
        page.push_str("</ul>\n</section>\n");
    }
    if matrix.has_unreadable_spaces() {
        page.push_str("<section aria-label=\"Unreadable spaces\">\n<h2>Unreadable spaces</h2>\n<ul class=\"notes\">\n");
        for space in &matrix.spaces {
            if let Some(error) = &space.error {
                let _ = writeln!(
                    page,
                    "<li>{} (<code>{}</code>): {}</li>",
                    escape_html(&space.name),
                    escape_html(space.id.as_str()),
                    escape_html(error)
                );
            }
        }
        page.push_str("</ul>\n</section>\n");
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_every_special_character() {
        assert_eq!(
            escape_html("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
        assert_eq!(
            escape_html("evil\nshared 0 workers\r\u{202e}\u{1b}"),
            "evil&#xa;shared 0 workers&#xd;&#x202e;&#x1b;"
        );
    }

    #[test]
    fn long_names_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(pad("ab", 4), "ab  ");
    }
}
