//! The step templates `octoshare install` imports — the files `cargo xtask codegen` writes to
//! `step-templates/`, embedded at build time — and how one is compared with, created as and
//! merged into a space's template.
//!
//! # What "the same template" means
//!
//! A space's template matches an embedded one when their names are equal ignoring case. It is
//! *unchanged* when its meaningful content equals the embedded one's:
//!
//! - `Name` (exactly: a difference in case is fixed by an update), `Description`, `ActionType`;
//! - `Properties` (the script body and its settings);
//! - `Parameters`, in order, each without its `Id` (the server assigns parameter Ids);
//! - `Packages` and `GitDependencies`, in order, each without its `Id`.
//!
//! A missing or `null` field equals its empty value (`""`, `{}`, `[]`), and inside parameters and
//! package references a `null` field equals a missing one. Not compared: `Id`, `Version` (the
//! server bumps it on every update), `SpaceId`, `CommunityActionTemplateId`, `StepPackageId`,
//! `LastModifiedOn`/`LastModifiedBy`, `Links`, and the export-only `$Meta` and `Category`.
//!
//! # Bodies
//!
//! A create sends the export without its Library-only fields (the GUID `Id`, `$Meta`,
//! `Category`, `LastModifiedBy`) and with `SpaceId` set. An update sends the space's template as
//! read with the compared fields replaced by the embedded ones; a parameter or package reference
//! whose name the space's template already has keeps that one's `Id`, so steps using the
//! template keep their values.

use serde_json::{Map, Value};

/// An embedded step template: its file name under `step-templates/` and its JSON text.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedTemplate {
    /// File name under `step-templates/`.
    pub file_name: &'static str,
    /// The Library export, as generated.
    pub json: &'static str,
}

/// The five generated step templates, in the order the runbook uses them (then retire, for
/// scale-in runbooks).
pub const EMBEDDED_TEMPLATES: [EmbeddedTemplate; 5] = [
    EmbeddedTemplate {
        file_name: "octoshare-discover-spaces.json",
        json: include_str!("../../../../step-templates/octoshare-discover-spaces.json"),
    },
    EmbeddedTemplate {
        file_name: "octoshare-wait-for-workers.json",
        json: include_str!("../../../../step-templates/octoshare-wait-for-workers.json"),
    },
    EmbeddedTemplate {
        file_name: "octoshare-share-workers.json",
        json: include_str!("../../../../step-templates/octoshare-share-workers.json"),
    },
    EmbeddedTemplate {
        file_name: "octoshare-run.json",
        json: include_str!("../../../../step-templates/octoshare-run.json"),
    },
    EmbeddedTemplate {
        file_name: "octoshare-retire-worker.json",
        json: include_str!("../../../../step-templates/octoshare-retire-worker.json"),
    },
];

/// Fields of a Library export that a space's template does not have.
const EXPORT_ONLY_FIELDS: [&str; 4] = ["Id", "$Meta", "Category", "LastModifiedBy"];

/// Scalar fields compared as they are (missing or `null` = `""`).
const COMPARED_TEXT_FIELDS: [&str; 3] = ["Name", "Description", "ActionType"];

/// List fields compared entry by entry without `Id` (missing or `null` = `[]`).
const COMPARED_LIST_FIELDS: [&str; 3] = ["Parameters", "Packages", "GitDependencies"];

/// A parsed embedded template.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTemplate {
    /// `Name`.
    pub name: String,
    /// The whole export.
    pub export: Map<String, Value>,
}

impl StepTemplate {
    /// Parses every embedded template.
    ///
    /// # Errors
    /// When a file is not a JSON object with a non-empty `Name` (a build of a broken
    /// `step-templates/`, caught by the tests).
    pub fn embedded() -> anyhow::Result<Vec<StepTemplate>> {
        EMBEDDED_TEMPLATES
            .iter()
            .map(|embedded| {
                let export: Map<String, Value> =
                    serde_json::from_str(embedded.json).map_err(|error| {
                        anyhow::anyhow!(
                            "internal error: step-templates/{} is not a JSON object: {error}",
                            embedded.file_name
                        )
                    })?;
                let name = export
                    .get("Name")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "internal error: step-templates/{} has no Name",
                            embedded.file_name
                        )
                    })?
                    .to_owned();
                Ok(StepTemplate { name, export })
            })
            .collect()
    }

    /// Whether a space's template has this template's name (case-insensitive, trimmed).
    pub fn names(&self, existing: &str) -> bool {
        existing.trim().to_lowercase() == self.name.to_lowercase()
    }

    /// The POST body creating this template in `space_id`.
    pub fn create_body(&self, space_id: &str) -> Value {
        let mut body = self.export.clone();
        for field in EXPORT_ONLY_FIELDS {
            body.remove(field);
        }
        body.insert("SpaceId".to_owned(), Value::String(space_id.to_owned()));
        Value::Object(body)
    }

    /// The compared fields in which `existing` (a space's template as read) differs from this
    /// one, in a fixed order; empty when it is unchanged.
    pub fn differences(&self, existing: &Map<String, Value>) -> Vec<&'static str> {
        let mut differing = Vec::new();
        for field in COMPARED_TEXT_FIELDS {
            if text_field(&self.export, field) != text_field(existing, field) {
                differing.push(field);
            }
        }
        if object_field(&self.export, "Properties") != object_field(existing, "Properties") {
            differing.push("Properties");
        }
        for field in COMPARED_LIST_FIELDS {
            if list_field(&self.export, field) != list_field(existing, field) {
                differing.push(field);
            }
        }
        differing
    }

    /// The PUT body updating `existing` (as read) to this template's content.
    pub fn update_body(&self, existing: &Map<String, Value>) -> Value {
        let mut body = existing.clone();
        for field in COMPARED_TEXT_FIELDS.into_iter().chain(["Properties"]) {
            match self.export.get(field) {
                Some(value) => body.insert(field.to_owned(), value.clone()),
                None => body.remove(field),
            };
        }
        for field in COMPARED_LIST_FIELDS {
            let wanted = self
                .export
                .get(field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let kept = keep_ids(&wanted, existing.get(field).and_then(Value::as_array));
            body.insert(field.to_owned(), Value::Array(kept));
        }
        Value::Object(body)
    }
}

fn text_field<'a>(object: &'a Map<String, Value>, field: &str) -> &'a str {
    object
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn object_field(object: &Map<String, Value>, field: &str) -> Map<String, Value> {
    object
        .get(field)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// A list field's entries without `Id` and without `null` members.
fn list_field(object: &Map<String, Value>, field: &str) -> Vec<Value> {
    object
        .get(field)
        .and_then(Value::as_array)
        .map(|entries| entries.iter().map(comparable_entry).collect())
        .unwrap_or_default()
}

fn comparable_entry(entry: &Value) -> Value {
    match entry {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(key, value)| key.as_str() != "Id" && !value.is_null())
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The wanted entries, each taking the `Id` of the existing entry with the same `Name`.
fn keep_ids(wanted: &[Value], existing: Option<&Vec<Value>>) -> Vec<Value> {
    let existing = existing.map(Vec::as_slice).unwrap_or_default();
    wanted
        .iter()
        .map(|entry| {
            let mut entry = entry.clone();
            let name = entry.get("Name").and_then(Value::as_str).map(str::to_owned);
            let existing_id = name.and_then(|name| {
                existing
                    .iter()
                    .find(|old| old.get("Name").and_then(Value::as_str) == Some(name.as_str()))
                    .and_then(|old| old.get("Id"))
                    .filter(|id| id.as_str().is_some_and(|id| !id.is_empty()))
                    .cloned()
            });
            if let (Some(id), Some(members)) = (existing_id, entry.as_object_mut()) {
                members.insert("Id".to_owned(), id);
            }
            entry
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn template() -> StepTemplate {
        StepTemplate {
            name: "OctoShare - Run".to_owned(),
            export: object(json!({
                "Id": "ea0bdef4-9756-4460-beda-c9663a36a36e",
                "Name": "OctoShare - Run",
                "Description": "Runs it",
                "ActionType": "Octopus.Script",
                "Version": 1,
                "Packages": [{"Id": "p-guid", "Name": "OctoShare.Package", "PackageId": null}],
                "GitDependencies": [],
                "Properties": {"Octopus.Action.Script.ScriptBody": "echo hi"},
                "Parameters": [
                    {"Id": "a-guid", "Name": "OctoShare.Api.Key", "DefaultValue": ""},
                    {"Id": "b-guid", "Name": "OctoShare.Count", "DefaultValue": ""}
                ],
                "$Meta": {"Type": "ActionTemplate"},
                "LastModifiedBy": "octoshare",
                "Category": "octopus"
            })),
        }
    }

    /// The template as a server holds it: own ids, version, links, no export fields.
    fn as_stored() -> Map<String, Value> {
        object(json!({
            "Id": "ActionTemplates-7",
            "Name": "OctoShare - Run",
            "Description": "Runs it",
            "ActionType": "Octopus.Script",
            "Version": 3,
            "CommunityActionTemplateId": null,
            "Packages": [{"Id": "server-package", "Name": "OctoShare.Package", "FeedId": null}],
            "GitDependencies": [],
            "Properties": {"Octopus.Action.Script.ScriptBody": "echo hi"},
            "Parameters": [
                {"Id": "server-1", "Name": "OctoShare.Api.Key", "DefaultValue": ""},
                {"Id": "server-2", "Name": "OctoShare.Count", "DefaultValue": ""}
            ],
            "SpaceId": "Spaces-2",
            "LastModifiedBy": "admin",
            "Links": {"Self": "/api/Spaces-2/actiontemplates/ActionTemplates-7"}
        }))
    }

    #[test]
    fn every_embedded_template_parses_with_a_distinct_name() {
        let templates = StepTemplate::embedded().unwrap();
        let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), 5);
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 5, "{names:?}");
        assert!(names.iter().all(|name| name.starts_with("OctoShare - ")));
    }

    #[test]
    fn create_body_drops_export_fields_and_sets_the_space() {
        let body = template().create_body("Spaces-3");
        let body = body.as_object().unwrap();
        for field in ["Id", "$Meta", "Category", "LastModifiedBy"] {
            assert!(!body.contains_key(field), "{field}");
        }
        assert_eq!(body["SpaceId"], "Spaces-3");
        assert_eq!(body["Parameters"][0]["Id"], "a-guid");
    }

    #[test]
    fn server_assigned_ids_versions_and_nulls_are_not_differences() {
        assert_eq!(template().differences(&as_stored()), Vec::<&str>::new());
    }

    #[test]
    fn content_changes_are_named() {
        let mut stored = as_stored();
        stored["Properties"]["Octopus.Action.Script.ScriptBody"] = json!("echo old");
        stored["Parameters"][1]["DefaultValue"] = json!("3");
        stored["Name"] = json!("octoshare - run");
        stored.remove("Description");
        assert_eq!(
            template().differences(&stored),
            vec!["Name", "Description", "Properties", "Parameters"]
        );
        let mut reordered = as_stored();
        let parameters = reordered["Parameters"].as_array_mut().unwrap();
        parameters.reverse();
        assert_eq!(template().differences(&reordered), vec!["Parameters"]);
    }

    #[test]
    fn update_body_keeps_the_server_identity_and_parameter_ids() {
        let mut stored = as_stored();
        stored["Properties"]["Octopus.Action.Script.ScriptBody"] = json!("echo old");
        stored["Parameters"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["Name"] == "OctoShare.Api.Key");
        let body = template().update_body(&stored);
        assert_eq!(body["Id"], "ActionTemplates-7");
        assert_eq!(body["Version"], 3);
        assert_eq!(body["SpaceId"], "Spaces-2");
        assert_eq!(
            body["Properties"]["Octopus.Action.Script.ScriptBody"],
            "echo hi"
        );
        assert_eq!(body["Parameters"][0]["Id"], "server-1");
        assert_eq!(body["Parameters"][1]["Id"], "b-guid");
        assert_eq!(body["Packages"][0]["Id"], "server-package");
        assert!(template().differences(body.as_object().unwrap()).is_empty());
    }
}
