//! A validator for `step-templates/`: the checks of the Octopus Library's own suite
//! (`spec/step-template-validation-tests.js`, reference A2.2) plus stricter ones of our own. The
//! committed files must pass; deliberately broken copies prove each check bites.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::{committed_templates, octostache};

const TOP_LEVEL_KEYS: [&str; 14] = [
    "Id",
    "Name",
    "Description",
    "ActionType",
    "Version",
    "CommunityActionTemplateId",
    "Packages",
    "GitDependencies",
    "Properties",
    "Parameters",
    "StepPackageId",
    "$Meta",
    "LastModifiedBy",
    "Category",
];
const PARAMETER_KEYS: [&str; 6] = [
    "Id",
    "Name",
    "Label",
    "HelpText",
    "DefaultValue",
    "DisplaySettings",
];
const PACKAGE_KEYS: [&str; 6] = [
    "Id",
    "Name",
    "PackageId",
    "FeedId",
    "AcquisitionLocation",
    "Properties",
];
const FORBIDDEN_IDS: [&str; 2] = [
    "00000000-0000-0000-0000-000000000000",
    "abcdef00-ab00-cd00-ef00-000000abcdef",
];
/// Files of `step-templates/` that are not step templates (the Library would refuse them in its
/// own folder; this repository keeps the bootstrap script beside the templates).
const OTHER_FILES: [&str; 4] = [
    "configure-worker.sh",
    "configure-worker.sh.tftpl",
    "configure-worker.ps1",
    "configure-worker.ps1.tftpl",
];

/// Every problem found in a folder given as `(file name, raw bytes)`.
pub fn validate(files: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut names = BTreeMap::new();
    let mut ids = BTreeMap::new();
    for (file_name, bytes) in files {
        if OTHER_FILES.contains(&file_name.as_str()) {
            continue;
        }
        let mut report = |problem: String| problems.push(format!("{file_name}: {problem}"));
        if !file_name.ends_with(".json") {
            report("only *.json step templates and the bootstrap scripts belong here".into());
            continue;
        }
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            report("it might be UTF 8 with a BOM. Please resave without the BOM".into());
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            report("not UTF-8".into());
            continue;
        };
        let template: Value = match serde_json::from_str(text) {
            Ok(template) => template,
            Err(error) => {
                report(format!("not valid JSON: {error}"));
                continue;
            }
        };
        let Some(object) = template.as_object() else {
            report("not a JSON object".into());
            continue;
        };
        let mut template_problems = validate_template(file_name, text, object);
        for id in collect_ids(object) {
            if let Some(other) = ids.insert(id.clone(), file_name.clone()) {
                template_problems.push(format!("Id {id} is also used in {other}"));
            }
        }
        if let Some(name) = object.get("Name").and_then(Value::as_str)
            && let Some(other) = names.insert(name.to_owned(), file_name.clone())
        {
            template_problems.push(format!("Name {name:?} is also used by {other}"));
        }
        for problem in template_problems {
            report(problem);
        }
    }
    problems
}

/// Every GUID of a template (its own, its parameters', its packages').
fn collect_ids(template: &Map<String, Value>) -> Vec<String> {
    let nested = ["Parameters", "Packages"].into_iter().flat_map(|key| {
        template
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("Id").and_then(Value::as_str))
    });
    template
        .get("Id")
        .and_then(Value::as_str)
        .into_iter()
        .chain(nested)
        .map(str::to_owned)
        .collect()
}

fn is_lower_case_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length
                && group
                    .bytes()
                    .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        })
}

fn is_export_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 24
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            10 => *byte == b'T',
            13 | 16 => *byte == b':',
            19 => *byte == b'.',
            23 => *byte == b'Z',
            _ => byte.is_ascii_digit(),
        })
}

fn keys(object: &Map<String, Value>) -> Vec<&str> {
    object.keys().map(String::as_str).collect()
}

fn validate_template(file_name: &str, text: &str, template: &Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    let string = |key: &str| template.get(key).and_then(Value::as_str);

    // The Library's checks.
    if template.get("LastModifiedBy").is_none() {
        problems.push("to have a valid LastModifiedBy field".into());
    }
    match template.get("$Meta").and_then(Value::as_object) {
        None => problems.push("$Meta is missing".into()),
        Some(meta) => {
            match meta.get("ExportedAt").and_then(Value::as_str) {
                None => problems.push("$Meta.ExportedAt is missing".into()),
                Some(at) if !is_export_timestamp(at) => {
                    problems.push(format!(
                        "$Meta.ExportedAt {at:?} is not YYYY-MM-DDThh:mm:ss.mmmZ"
                    ));
                }
                Some(_) => {}
            }
            if meta
                .get("OctopusVersion")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                problems.push("$Meta.OctopusVersion is missing".into());
            }
            if meta.get("Type").and_then(Value::as_str) != Some("ActionTemplate") {
                problems.push("$Meta.Type is not ActionTemplate".into());
            }
            if keys(meta) != ["ExportedAt", "OctopusVersion", "Type"] {
                problems.push(format!(
                    "$Meta keys {:?} are not in export order",
                    keys(meta)
                ));
            }
        }
    }
    match string("Name") {
        None | Some("") => problems.push("Name is missing".into()),
        Some(name) => {
            if name.chars().count() > 200 {
                problems.push("Name is longer than 200 characters".into());
            }
            let expected_file = format!(
                "{}.json",
                octoshare_templates::step_templates::kebab_case(name)
            );
            if file_name != expected_file {
                problems.push(format!(
                    "file name should be {expected_file} to match Name {name:?}"
                ));
            }
            if !name.starts_with("OctoShare - ") {
                problems.push(format!(
                    "Name {name:?} is not in the \"OctoShare - Verb\" style"
                ));
            }
        }
    }
    match string("Id") {
        None => problems.push("Id is missing".into()),
        Some(id) if FORBIDDEN_IDS.contains(&id) => {
            problems.push(format!("Id {id} is a placeholder"))
        }
        Some(id) if !is_lower_case_guid(id) => {
            problems.push(format!("Id {id} is not a lower-case GUID"))
        }
        Some(_) => {}
    }

    // Ours: file format.
    if keys(template) != TOP_LEVEL_KEYS {
        problems.push(format!(
            "top-level keys {:?} are not in export order",
            keys(template)
        ));
    }
    match serde_json::to_string_pretty(template) {
        Ok(pretty) if format!("{pretty}\n") != text => problems.push(
            "not formatted as serde_json::to_string_pretty (2-space indent, LF) plus a trailing newline".into(),
        ),
        _ => {}
    }
    if template
        .get("Version")
        .and_then(Value::as_u64)
        .is_none_or(|version| version < 1)
    {
        problems.push("Version is not an integer >= 1".into());
    }
    if string("ActionType") != Some("Octopus.Script")
        || string("StepPackageId") != Some("Octopus.Script")
    {
        problems.push("ActionType and StepPackageId must be Octopus.Script".into());
    }
    if string("LastModifiedBy") != Some("octoshare") {
        problems.push("LastModifiedBy is not octoshare".into());
    }
    if string("Category") != Some("octopus") {
        problems.push(
            "Category must be octopus (lower case; the Library has logos/octopus.png)".into(),
        );
    }
    if string("Description").is_none_or(str::is_empty) {
        problems.push("Description is missing".into());
    }
    if template.get("CommunityActionTemplateId") != Some(&Value::Null) {
        problems.push("CommunityActionTemplateId must be null".into());
    }
    if template.get("GitDependencies") != Some(&Value::Array(Vec::new())) {
        problems.push("GitDependencies must be []".into());
    }
    problems.extend(validate_properties(template.get("Properties")));
    let parameters = template.get("Parameters").and_then(Value::as_array);
    let package_parameters = match parameters {
        None => {
            problems.push("Parameters is not an array".into());
            BTreeSet::new()
        }
        Some(parameters) => validate_parameters(parameters, &mut problems),
    };
    validate_packages(template.get("Packages"), &package_parameters, &mut problems);
    problems
}

fn validate_properties(properties: Option<&Value>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(properties) = properties.and_then(Value::as_object) else {
        return vec!["Properties is not an object".into()];
    };
    if !properties.values().all(Value::is_string) {
        problems.push("every Properties value must be a string".into());
    }
    let expected = [
        ("Octopus.Action.RunOnServer", "true"),
        ("Octopus.Action.Script.ScriptSource", "Inline"),
        ("Octopus.Action.Script.Syntax", "Bash"),
    ];
    for (key, value) in expected {
        if properties.get(key).and_then(Value::as_str) != Some(value) {
            problems.push(format!("Properties.{key} must be {value:?}"));
        }
    }
    match properties
        .get("Octopus.Action.Script.ScriptBody")
        .and_then(Value::as_str)
    {
        None | Some("") => {
            problems.push("Properties.Octopus.Action.Script.ScriptBody is missing".into())
        }
        Some(body) => {
            if let Err(offset) = octostache::substitute(body) {
                problems.push(format!(
                    "ScriptBody has an unescaped #{{ at byte {offset}: write ##{{"
                ));
            }
            if body.contains('\r') {
                problems.push("ScriptBody has CR line ends".into());
            }
        }
    }
    problems
}

/// Checks the parameters; returns the names of the Package parameters.
fn validate_parameters(parameters: &[Value], problems: &mut Vec<String>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut package_parameters = BTreeSet::new();
    for parameter in parameters {
        let Some(parameter) = parameter.as_object() else {
            problems.push("a parameter is not an object".into());
            continue;
        };
        let name = parameter
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut report = |problem: String| problems.push(format!("parameter {name:?}: {problem}"));
        if keys(parameter) != PARAMETER_KEYS {
            report(format!(
                "keys {:?} are not in export order",
                keys(parameter)
            ));
        }
        if !name.starts_with("OctoShare.") || name.starts_with('$') {
            report("names must start with OctoShare.".into());
        }
        if !names.insert(name.to_owned()) {
            report("name used twice".into());
        }
        if !parameter
            .get("Id")
            .and_then(Value::as_str)
            .is_some_and(is_lower_case_guid)
        {
            report("Id is not a lower-case GUID".into());
        }
        for key in ["Label", "HelpText"] {
            if parameter
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                report(format!("{key} is missing"));
            }
        }
        let default_value = parameter.get("DefaultValue");
        if !matches!(default_value, Some(Value::String(_) | Value::Null)) {
            report("DefaultValue must be a string or null".into());
        }
        let default_value = default_value.and_then(Value::as_str).unwrap_or_default();
        let settings = parameter.get("DisplaySettings").and_then(Value::as_object);
        let control = settings
            .and_then(|settings| settings.get("Octopus.ControlType"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        match control {
            "SingleLineText" | "MultiLineText" | "StepName" => {}
            "Sensitive" => {
                if !default_value.is_empty() {
                    report("a Sensitive parameter must not have a default".into());
                }
            }
            "Checkbox" => {
                if !["True", "False"].contains(&default_value) {
                    report(format!(
                        "Checkbox default {default_value:?} is not True or False"
                    ));
                }
            }
            "Select" => {
                let options = settings
                    .and_then(|settings| settings.get("Octopus.SelectOptions"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let values: Vec<&str> = options
                    .split('\n')
                    .map(|line| line.split_once('|').map_or("", |(value, _)| value))
                    .collect();
                if values.iter().any(|value| value.is_empty()) {
                    report(format!(
                        "Select options {options:?} are not value|label lines"
                    ));
                }
                if !values.contains(&default_value) {
                    report(format!("Select default {default_value:?} is not an option"));
                }
            }
            "Package" => {
                package_parameters.insert(name.to_owned());
            }
            other => report(format!("unexpected control type {other:?}")),
        }
    }
    package_parameters
}

fn validate_packages(
    packages: Option<&Value>,
    package_parameters: &BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    let Some(packages) = packages.and_then(Value::as_array) else {
        problems.push("Packages is not an array".into());
        return;
    };
    let mut referenced = BTreeSet::new();
    for package in packages {
        let Some(package) = package.as_object() else {
            problems.push("a package is not an object".into());
            continue;
        };
        let name = package
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut report = |problem: String| problems.push(format!("package {name:?}: {problem}"));
        if keys(package) != PACKAGE_KEYS {
            report(format!("keys {:?} are not in export order", keys(package)));
        }
        if !package
            .get("Id")
            .and_then(Value::as_str)
            .is_some_and(is_lower_case_guid)
        {
            report("Id is not a lower-case GUID".into());
        }
        // The Library's check: absent, null or a variable expression; ours: null.
        if package.get("FeedId") != Some(&Value::Null) {
            report("do not set a non-variable package feedId: FeedId must be null".into());
        }
        if package.get("PackageId") != Some(&Value::Null) {
            report("PackageId must be null (chosen through the parameter)".into());
        }
        if package.get("AcquisitionLocation").and_then(Value::as_str) != Some("Server") {
            report("AcquisitionLocation must be Server".into());
        }
        let properties = package.get("Properties").and_then(Value::as_object);
        let property = |key: &str| {
            properties
                .and_then(|properties| properties.get(key))
                .and_then(Value::as_str)
        };
        if property("PackageParameterName") != Some(name) {
            report("Name must equal Properties.PackageParameterName".into());
        }
        if property("SelectionMode") != Some("deferred") || property("Extract") != Some("True") {
            report("SelectionMode must be deferred and Extract True".into());
        }
        if !package_parameters.contains(name) {
            report("no Package parameter of this name".into());
        }
        referenced.insert(name.to_owned());
    }
    for parameter in package_parameters.difference(&referenced) {
        problems.push(format!(
            "Package parameter {parameter:?} has no Packages entry"
        ));
    }
}

fn committed_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(crate::committed_step_templates())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The committed files with `edit` applied to the parsed `file`, re-serialised like codegen.
fn with_edit(file: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> Vec<(String, Vec<u8>)> {
    let mut files = committed_files();
    let entry = files.iter_mut().find(|(name, _)| name == file).unwrap();
    let mut template: Value = serde_json::from_slice(&entry.1).unwrap();
    edit(template.as_object_mut().unwrap());
    entry.1 = format!("{}\n", serde_json::to_string_pretty(&template).unwrap()).into_bytes();
    files
}

fn assert_caught(files: &[(String, Vec<u8>)], expected: &str) {
    let problems = validate(files);
    assert!(
        problems.iter().any(|problem| problem.contains(expected)),
        "expected a problem containing {expected:?}, got {problems:#?}"
    );
}

const DISCOVER: &str = "octoshare-discover-spaces.json";

/// A deliberate breakage of a parsed template.
type TemplateEdit = fn(&mut Map<String, Value>);

#[test]
fn committed_step_templates_pass_the_library_checks_and_ours() {
    let files = committed_files();
    assert_eq!(
        committed_templates().len(),
        5,
        "one template per step binary plus octoshare run and octoshare retire"
    );
    let problems = validate(&files);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn validator_catches_a_byte_order_mark_and_crlf() {
    let mut files = committed_files();
    let entry = files.iter_mut().find(|(name, _)| name == DISCOVER).unwrap();
    let original = entry.1.clone();
    entry.1 = [b"\xEF\xBB\xBF".as_slice(), &original].concat();
    assert_caught(&files, "BOM");
    let entry = files.iter_mut().find(|(name, _)| name == DISCOVER).unwrap();
    entry.1 = String::from_utf8(original)
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    assert_caught(&files, "not formatted as serde_json::to_string_pretty");
}

#[test]
fn validator_catches_duplicate_and_malformed_ids() {
    let discover_id = serde_json::from_slice::<Value>(
        &committed_files()
            .into_iter()
            .find(|(name, _)| name == DISCOVER)
            .unwrap()
            .1,
    )
    .unwrap()["Id"]
        .clone();
    let files = with_edit("octoshare-run.json", |template| {
        template["Id"] = discover_id;
    });
    assert_caught(&files, "is also used in");
    let files = with_edit(DISCOVER, |template| {
        template["Id"] = "6D3F0C2E-8B51-4C7A-9E64-2A9D1F7B3C58".into();
    });
    assert_caught(&files, "is not a lower-case GUID");
    let files = with_edit(DISCOVER, |template| {
        template["Id"] = FORBIDDEN_IDS[0].into();
    });
    assert_caught(&files, "placeholder");
    let files = with_edit(DISCOVER, |template| {
        template["Parameters"][1]["Id"] = template["Parameters"][0]["Id"].clone();
    });
    assert_caught(&files, "is also used in");
}

#[test]
fn validator_catches_missing_library_fields_and_key_order() {
    let files = with_edit(DISCOVER, |template| {
        template.remove("LastModifiedBy");
    });
    assert_caught(&files, "LastModifiedBy");
    let files = with_edit(DISCOVER, |template| {
        template["$Meta"]
            .as_object_mut()
            .unwrap()
            .remove("ExportedAt");
    });
    assert_caught(&files, "$Meta.ExportedAt is missing");
    let files = with_edit(DISCOVER, |template| {
        template["Name"] = "x".repeat(201).into();
    });
    assert_caught(&files, "longer than 200");
    let files = with_edit(DISCOVER, |template| {
        let category = template.remove("Category").unwrap();
        template.insert("Category".into(), category);
        let version = template.remove("Version").unwrap();
        template.insert("Version".into(), version);
    });
    assert_caught(&files, "not in export order");
}

#[test]
fn validator_catches_parameter_problems() {
    let cases: [(&str, TemplateEdit); 7] = [
        ("name used twice", |template| {
            template["Parameters"][1]["Name"] = template["Parameters"][0]["Name"].clone();
        }),
        ("must start with OctoShare.", |template| {
            template["Parameters"][0]["Name"] = "Server.Url".into();
        }),
        ("DefaultValue must be a string or null", |template| {
            template["Parameters"][0]["DefaultValue"] = 5.into();
        }),
        ("is not True or False", |template| {
            let checkbox = template["Parameters"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|parameter| parameter["DisplaySettings"]["Octopus.ControlType"] == "Checkbox")
                .unwrap();
            checkbox["DefaultValue"] = "yes".into();
        }),
        ("HelpText is missing", |template| {
            template["Parameters"][0]["HelpText"] = "".into();
        }),
        ("must be null", |template| {
            template["Packages"][0]["FeedId"] = "feeds-builtin".into();
        }),
        ("must equal Properties.PackageParameterName", |template| {
            template["Packages"][0]["Properties"]["PackageParameterName"] = "Other".into();
        }),
    ];
    for (expected, edit) in cases {
        assert_caught(&with_edit(DISCOVER, edit), expected);
    }
    let files = with_edit("octoshare-share-workers.json", |template| {
        let select = template["Parameters"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|parameter| parameter["DisplaySettings"]["Octopus.ControlType"] == "Select")
            .unwrap();
        select["DefaultValue"] = "overwrite".into();
    });
    assert_caught(&files, "is not an option");
}

#[test]
fn validator_catches_unescaped_octostache_and_wrong_category_and_file_names() {
    let files = with_edit(DISCOVER, |template| {
        template["Properties"]["Octopus.Action.Script.ScriptBody"] = "echo #{Secret}\n".into();
    });
    assert_caught(&files, "unescaped #{");
    let files = with_edit(DISCOVER, |template| {
        template["Category"] = "Octopus".into();
    });
    assert_caught(&files, "Category must be octopus");
    let mut files = committed_files();
    files
        .iter_mut()
        .find(|(name, _)| name == DISCOVER)
        .unwrap()
        .0 = "discover.json".into();
    assert_caught(&files, "file name should be octoshare-discover-spaces.json");
    files.push(("README.md".into(), b"notes".to_vec()));
    assert_caught(&files, "only *.json step templates");
}

/// `Default: `X`` in a help text, if any.
fn documented_default(help: &str) -> Option<&str> {
    let start = help.find("Default: `")? + "Default: `".len();
    let end = help[start..].find('`')?;
    Some(&help[start..start + end])
}

#[test]
fn every_documented_default_is_the_default_value_and_every_default_is_documented() {
    for (file_name, text) in committed_templates() {
        let template: Value = serde_json::from_str(&text).unwrap();
        for parameter in template["Parameters"].as_array().unwrap() {
            let name = parameter["Name"].as_str().unwrap();
            let help = parameter["HelpText"].as_str().unwrap();
            let default = parameter["DefaultValue"].as_str().unwrap_or_default();
            match documented_default(help) {
                Some(documented) => assert_eq!(
                    documented, default,
                    "{file_name}: {name} documents the default {documented:?} but has {default:?}"
                ),
                None => assert!(
                    default.is_empty(),
                    "{file_name}: {name} has the default {default:?} but its help does not say `Default: `{default}``"
                ),
            }
        }
    }
}

#[test]
fn templates_stand_alone_in_the_library() {
    for (file_name, text) in committed_templates() {
        let template: Value = serde_json::from_str(&text).unwrap();
        let description = template["Description"].as_str().unwrap();
        let body = template["Properties"]["Octopus.Action.Script.ScriptBody"]
            .as_str()
            .unwrap();
        for (what, text) in [("Description", description), ("ScriptBody", body)] {
            for outside in [
                "templates/",
                ".hbs",
                "configure-worker",
                "runbook",
                "step 1",
                "step 3",
                "step 4",
            ] {
                assert!(
                    !text.contains(outside),
                    "{file_name}: the {what} mentions {outside:?}, which a Library user does not have"
                );
            }
        }
        assert!(
            description.contains("https://github.com/octoshare/octoshare"),
            "{file_name}: the description links to the project"
        );
        for section in ["Inputs", "Output variables", "Exit codes", "Linux x86-64"] {
            assert!(description.contains(section), "{file_name}: no {section:?}");
        }
        assert_eq!(
            template["Properties"]["OctopusUseBundledTooling"], "False",
            "{file_name}"
        );
    }
}

#[test]
fn the_default_checker_catches_a_wrong_help_text() {
    assert_eq!(
        documented_default("Log more (`-v`). Default: `False`."),
        Some("False")
    );
    assert_eq!(documented_default("Empty: the binary's default."), None);
}
