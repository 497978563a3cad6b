//! `cargo xtask library-check DIR`: passes on the committed templates and fails, naming the file
//! and the problem, on each thing the Octopus Library refuses.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use crate::committed_step_templates;

/// A folder holding a copy of the committed step-templates/.
fn copy_of_committed() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(committed_step_templates()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn edit(dir: &Path, file: &str, change: impl FnOnce(&mut Value)) {
    let path = dir.join(file);
    let mut template: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    change(&mut template);
    fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
}

/// Runs the real command; returns its exit code and stderr.
fn library_check(dir: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("library-check")
        .arg(dir)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_committed_templates_pass() {
    let (code, stderr) = library_check(&committed_step_templates());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        xtask::library_check::check_dir(&committed_step_templates())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_duplicate_id_fails() {
    let dir = copy_of_committed();
    let discover_id = serde_json::from_slice::<Value>(
        &fs::read(dir.path().join("octoshare-discover-spaces.json")).unwrap(),
    )
    .unwrap()["Id"]
        .clone();
    edit(dir.path(), "octoshare-wait-for-workers.json", |template| {
        template["Id"] = discover_id.clone();
    });
    let (code, stderr) = library_check(dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        format!(
            "error: 1 Library check(s) fail:\n  octoshare-wait-for-workers.json: Id {} is also the Id of octoshare-discover-spaces.json\n",
            discover_id.as_str().unwrap()
        )
    );
}

#[test]
fn a_missing_last_modified_by_fails() {
    let dir = copy_of_committed();
    edit(dir.path(), "octoshare-run.json", |template| {
        template.as_object_mut().unwrap().remove("LastModifiedBy");
    });
    let problems = xtask::library_check::check_dir(dir.path()).unwrap();
    assert_eq!(
        problems,
        ["octoshare-run.json: has no LastModifiedBy: set it to your GitHub user name"]
    );
    assert_eq!(library_check(dir.path()).0, 1);
}

#[test]
fn a_hard_coded_feed_id_fails_but_a_variable_expression_passes() {
    let dir = copy_of_committed();
    edit(dir.path(), "octoshare-share-workers.json", |template| {
        template["Packages"][0]["FeedId"] = "Feeds-1".into();
    });
    let problems = xtask::library_check::check_dir(dir.path()).unwrap();
    assert_eq!(
        problems,
        [
            "octoshare-share-workers.json: package \"OctoShare.Package\" has the hard-coded FeedId \"Feeds-1\": use null (chosen when the template is used) or a variable expression"
        ]
    );
    assert_eq!(library_check(dir.path()).0, 1);
    edit(dir.path(), "octoshare-share-workers.json", |template| {
        template["Packages"][0]["FeedId"] = "#{Project.Feed}".into();
    });
    assert!(
        xtask::library_check::check_dir(dir.path())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn malformed_json_bad_ids_missing_export_time_and_logo_fail() {
    let dir = copy_of_committed();
    fs::write(dir.path().join("broken.json"), "{\"Id\": 1,}").unwrap();
    edit(dir.path(), "octoshare-discover-spaces.json", |template| {
        template["Id"] = "not-a-guid".into();
        template["$Meta"]
            .as_object_mut()
            .unwrap()
            .remove("ExportedAt");
        template["Category"] = "Shiny-New".into();
    });
    let problems = xtask::library_check::check_dir(dir.path()).unwrap();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("broken.json: is not valid JSON: "));
    assert_eq!(
        problems[1..],
        [
            "octoshare-discover-spaces.json: Id \"not-a-guid\" is not a GUID",
            "octoshare-discover-spaces.json: has no $Meta.ExportedAt",
            "octoshare-discover-spaces.json: Category \"shiny-new\" has no logo: add logos/shiny-new.png (200x200) or use a category the Library has",
        ]
    );
    fs::remove_file(dir.path().join("broken.json")).unwrap();
    fs::create_dir(dir.path().join("logos")).unwrap();
    fs::write(dir.path().join("logos/shiny-new.png"), b"\x89PNG").unwrap();
    assert_eq!(
        xtask::library_check::check_dir(dir.path()).unwrap().len(),
        2
    );
}
