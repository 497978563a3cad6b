//! `cargo xtask codegen`: deterministic, versions bumped only on content changes, `--check`
//! listing every stale file.

use std::fs;
use std::path::Path;

use octoshare_templates::GENERATED_HEADER;
use serde_json::Value;
use tempfile::TempDir;
use xtask::codegen::{CONFIG_FILE, Mode, OUTPUT_DIR, PIN_FILE, generate};

use crate::committed_step_templates;

const EARLIER: &str = "2030-01-01T00:00:00.000Z";
const LATER: &str = "2031-06-15T12:30:45.678Z";

/// A workspace root holding codegen's configuration (and recorded release pin).
fn configured_root() -> TempDir {
    let root = tempfile::tempdir().unwrap();
    let project = xtask::project_root();
    for file in [CONFIG_FILE, PIN_FILE] {
        if project.join(file).is_file() {
            fs::create_dir_all(root.path().join(file).parent().unwrap()).unwrap();
            fs::copy(project.join(file), root.path().join(file)).unwrap();
        }
    }
    root
}

/// A workspace root holding a copy of the committed step-templates/.
fn copy_of_committed() -> TempDir {
    let root = configured_root();
    let output = root.path().join(OUTPUT_DIR);
    fs::create_dir(&output).unwrap();
    for entry in fs::read_dir(committed_step_templates()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, output.join(path.file_name().unwrap())).unwrap();
    }
    root
}

fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(root.join(OUTPUT_DIR))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn json(root: &Path, file_name: &str) -> Value {
    serde_json::from_slice(&fs::read(root.join(OUTPUT_DIR).join(file_name)).unwrap()).unwrap()
}

#[test]
fn codegen_on_fresh_files_changes_nothing_and_bumps_no_version() {
    let root = copy_of_committed();
    let before = snapshot(root.path());
    let changed = generate(Mode::Overwrite, root.path(), LATER).unwrap();
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(snapshot(root.path()), before);
    generate(Mode::Check, root.path(), LATER).unwrap();
}

#[test]
fn codegen_into_an_empty_folder_writes_everything_at_version_1_then_is_stable() {
    let root = configured_root();
    let written = generate(Mode::Overwrite, root.path(), EARLIER).unwrap();
    assert_eq!(written.len(), 9, "{written:?}");
    let first = snapshot(root.path());
    assert!(
        generate(Mode::Overwrite, root.path(), LATER)
            .unwrap()
            .is_empty()
    );
    assert_eq!(snapshot(root.path()), first);
    for (file_name, contents) in &first {
        let script = if file_name.ends_with(".json") {
            let template = json(root.path(), file_name);
            assert_eq!(template["Version"], 1, "{file_name}");
            assert_eq!(template["$Meta"]["ExportedAt"], EARLIER, "{file_name}");
            template["Properties"]["Octopus.Action.Script.ScriptBody"]
                .as_str()
                .unwrap()
                .to_owned()
        } else {
            String::from_utf8(contents.clone()).unwrap()
        };
        assert!(
            script.contains(GENERATED_HEADER),
            "{file_name} has no header"
        );
    }
    // What codegen writes into an empty folder is what is committed, apart from the versioning.
    let committed = copy_of_committed();
    for (file_name, contents) in snapshot(committed.path()) {
        if file_name.ends_with(".json") {
            let mut ours = json(root.path(), &file_name);
            let mut theirs: Value = serde_json::from_slice(&contents).unwrap();
            for template in [&mut ours, &mut theirs] {
                template["Version"] = Value::Null;
                template["$Meta"]["ExportedAt"] = Value::Null;
            }
            assert_eq!(ours, theirs, "{file_name}");
        } else {
            let ours = fs::read(root.path().join(OUTPUT_DIR).join(&file_name)).unwrap();
            assert_eq!(ours, contents, "{file_name}");
        }
    }
}

#[test]
fn changed_content_bumps_only_that_templates_version_and_export_time() {
    let root = copy_of_committed();
    let file = root
        .path()
        .join(OUTPUT_DIR)
        .join("octoshare-wait-for-workers.json");
    let mut template: Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    let version = template["Version"].as_u64().unwrap();
    template["Description"] = "An older description".into();
    fs::write(
        &file,
        format!("{}\n", serde_json::to_string_pretty(&template).unwrap()),
    )
    .unwrap();
    let before = snapshot(root.path());

    let changed = generate(Mode::Overwrite, root.path(), LATER).unwrap();
    assert_eq!(changed, ["step-templates/octoshare-wait-for-workers.json"]);
    let regenerated = json(root.path(), "octoshare-wait-for-workers.json");
    assert_eq!(regenerated["Version"].as_u64(), Some(version + 1));
    assert_eq!(regenerated["$Meta"]["ExportedAt"], LATER);
    for ((name, old), (_, new)) in before.iter().zip(snapshot(root.path())) {
        if name != "octoshare-wait-for-workers.json" {
            assert_eq!(*old, new, "{name} changed");
        }
    }

    assert!(
        generate(Mode::Overwrite, root.path(), "2032-01-01T00:00:00.000Z")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        json(root.path(), "octoshare-wait-for-workers.json"),
        regenerated
    );
}

#[test]
fn check_lists_every_stale_file_and_changes_nothing() {
    let root = copy_of_committed();
    let output = root.path().join(OUTPUT_DIR);
    fs::write(output.join("configure-worker.sh"), "#!/bin/sh\n").unwrap();
    fs::remove_file(output.join("octoshare-run.json")).unwrap();
    fs::write(output.join("octoshare-old-template.json"), "{}\n").unwrap();
    let before = snapshot(root.path());

    let error = generate(Mode::Check, root.path(), LATER).unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "3 generated file(s) are stale; run `cargo xtask codegen` and commit the result:\n  \
         step-templates/configure-worker.sh\n  \
         step-templates/octoshare-run.json\n  \
         step-templates/octoshare-old-template.json (no longer generated)"
    );
    assert_eq!(snapshot(root.path()), before);

    generate(Mode::Overwrite, root.path(), LATER).unwrap();
    assert!(!output.join("octoshare-old-template.json").exists());
    generate(Mode::Check, root.path(), LATER).unwrap();
}
