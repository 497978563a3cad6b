//! `octoshare install`: creates, updates or leaves alone the embedded step templates.

use crate::support::{Run, count, octoshare, run_of, start, writes};
use octopus_emulator::{Emulator, Scenario, SpaceSeed};
use serde_json::{Value, json};

/// The names of the generated step templates.
const TEMPLATE_NAMES: [&str; 5] = [
    "OctoShare - Discover Spaces",
    "OctoShare - Wait for Workers",
    "OctoShare - Share Workers",
    "OctoShare - Run",
    "OctoShare - Retire Worker",
];

fn two_spaces() -> Scenario {
    Scenario::new()
        .space(SpaceSeed::new("Default").default_space())
        .space(SpaceSeed::new("Payments"))
}

fn install(emulator: &Emulator, extra: &[&str]) -> Run {
    let mut args = vec!["install", "--output", "json"];
    args.extend_from_slice(extra);
    run_of(octoshare(emulator).args(args))
}

/// `(name, action)` of every template result of the space at `index` of the document.
fn actions(document: &Value, index: usize) -> Vec<(String, String)> {
    document["Spaces"][index]["Templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|template| {
            (
                template["Name"].as_str().unwrap_or_default().to_owned(),
                template["Action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn install_creates_every_template_then_leaves_them_alone() {
    let emulator = start(two_spaces());
    let first = install(&emulator, &[]);
    assert_eq!(first.code, 0, "{first:?}");
    let document = first.json();
    assert_eq!(document["CreatedTemplateCount"], 10);
    assert_eq!(document["UpdatedTemplateCount"], 0);
    assert_eq!(document["UnchangedTemplateCount"], 0);
    assert_eq!(document["FailedSpaceCount"], 0);
    let logged = emulator.requests();
    assert_eq!(count(&logged, "POST"), 10);
    assert_eq!(count(&logged, "PUT"), 0);
    for space in ["Spaces-1", "Spaces-2"] {
        let templates = emulator.action_templates(space);
        let mut names: Vec<&str> = templates
            .iter()
            .filter_map(|template| template["Name"].as_str())
            .collect();
        names.sort_unstable();
        let mut expected = TEMPLATE_NAMES.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected, "{space}");
        // Library-export fields are not sent; the parameters keep their ids.
        for template in &templates {
            assert!(
                template["Id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("ActionTemplates-"))
            );
            assert_eq!(template["SpaceId"], space);
            assert!(
                template["Parameters"]
                    .as_array()
                    .is_some_and(|parameters| !parameters.is_empty())
            );
        }
    }

    emulator.clear_requests();
    let second = install(&emulator, &[]);
    assert_eq!(second.code, 0, "{second:?}");
    let document = second.json();
    assert_eq!(document["CreatedTemplateCount"], 0);
    assert_eq!(document["UpdatedTemplateCount"], 0);
    assert_eq!(document["UnchangedTemplateCount"], 10);
    let logged = emulator.requests();
    assert_eq!(writes(&logged), 0, "{logged:?}");
    // /api/spaces/all, then one /actiontemplates/all per space
    assert_eq!(count(&logged, "GET"), 3, "{logged:?}");
}

#[test]
fn install_updates_only_the_template_changed_on_the_server() {
    let emulator = start(two_spaces());
    assert_eq!(install(&emulator, &[]).code, 0);
    let mut changed = emulator
        .action_templates("Spaces-2")
        .into_iter()
        .find(|template| template["Name"] == "OctoShare - Run")
        .expect("installed");
    let id = changed["Id"].as_str().expect("an id").to_owned();
    let version = changed["Version"].as_i64().expect("a version");
    changed["Properties"]["Octopus.Action.Script.ScriptBody"] = json!("echo edited by hand");
    put_template(&emulator, "Spaces-2", &id, &changed);
    emulator.clear_requests();

    let run = install(&emulator, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_eq!(document["UpdatedTemplateCount"], 1);
    assert_eq!(document["UnchangedTemplateCount"], 9);
    let logged = emulator.requests();
    assert_eq!(count(&logged, "PUT"), 1, "{logged:?}");
    assert_eq!(count(&logged, "POST"), 0, "{logged:?}");
    let updated = &document["Spaces"][1]["Templates"][3];
    assert_eq!(updated["Name"], "OctoShare - Run");
    assert_eq!(updated["Action"], "Updated");
    assert_eq!(updated["ChangedFields"], json!(["Properties"]));
    // one PUT by hand, one by install
    assert_eq!(updated["Version"], version + 2);

    let restored = emulator
        .action_templates("Spaces-2")
        .into_iter()
        .find(|template| template["Id"] == id.as_str())
        .expect("still there");
    assert_ne!(
        restored["Properties"]["Octopus.Action.Script.ScriptBody"],
        "echo edited by hand"
    );
}

#[test]
fn install_matches_names_ignoring_case_and_only_into_the_listed_spaces() {
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Default")
                    .default_space()
                    .action_template(json!({
                        "Name": "octoshare - run",
                        "ActionType": "Octopus.Script",
                        "Properties": {"Octopus.Action.Script.ScriptBody": "echo old"}
                    })),
            )
            .space(SpaceSeed::new("Payments")),
    );
    let run = install(&emulator, &["--spaces", "default"]);
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_eq!(document["Spaces"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        actions(&document, 0),
        vec![
            (TEMPLATE_NAMES[0].to_owned(), "Created".to_owned()),
            (TEMPLATE_NAMES[1].to_owned(), "Created".to_owned()),
            (TEMPLATE_NAMES[2].to_owned(), "Created".to_owned()),
            (TEMPLATE_NAMES[3].to_owned(), "Updated".to_owned()),
            (TEMPLATE_NAMES[4].to_owned(), "Created".to_owned()),
        ]
    );
    let logged = emulator.requests();
    assert_eq!(count(&logged, "POST"), 4);
    assert_eq!(count(&logged, "PUT"), 1);
    assert!(emulator.action_templates("Spaces-2").is_empty());
    assert!(
        emulator
            .action_templates("Spaces-1")
            .iter()
            .any(|template| template["Name"] == "OctoShare - Run")
    );
}

#[test]
fn install_reports_an_unknown_space_and_still_installs_the_others() {
    let emulator = start(two_spaces());
    let run = install(&emulator, &["--spaces", "Payments, No Such Space"]);
    assert_eq!(run.code, 5, "{run:?}");
    let document = run.json();
    assert_eq!(document["FailedSpaceCount"], 1);
    assert_eq!(document["CreatedTemplateCount"], 5);
    assert_eq!(document["Spaces"][1]["Status"], "Failed");
    assert_eq!(emulator.action_templates("Spaces-2").len(), 5);
}

#[test]
fn install_with_a_read_only_key_exits_6() {
    let emulator = start(two_spaces());
    let run = run_of(
        octoshare(&emulator)
            .env("OCTOPUS_API_KEY", emulator.read_only_api_key())
            .args(["install", "--output", "json"]),
    );
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(run.json()["FailedSpaceCount"], 2);
}

#[test]
fn install_dry_run_only_reads() {
    let emulator = start(two_spaces());
    let run = install(&emulator, &["--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["CreatedTemplateCount"], 10);
    assert_eq!(writes(&emulator.requests()), 0);
}

/// PUTs a template as another client would (a user editing it in the Octopus UI).
fn put_template(emulator: &Emulator, space: &str, id: &str, body: &Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .put(format!(
                "{}/api/{space}/actiontemplates/{id}",
                emulator.url()
            ))
            .header("X-Octopus-ApiKey", emulator.api_key())
            .json(body)
            .send()
            .await
            .expect("the PUT is answered")
            .status()
    });
    assert!(status.is_success(), "{status}");
}
