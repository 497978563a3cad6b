//! `cargo xtask library-check DIR`: the checks the Octopus Library runs on its
//! `step-templates/` folder (its gulp `lint:step-templates` task, the Jasmine specs in `spec/`
//! and the category logo lookup of its site build), so a contributor can run them before opening
//! a pull request against OctopusDeploy/Library.
//!
//! Checked for every `*.json` file directly in DIR (other files are ignored: the Library's own
//! folder holds only templates, `logos/` and `tests/`):
//!
//! - it parses as JSON (UTF-8, no byte order mark);
//! - `Id` is a GUID, not a placeholder, and no two templates share an `Id` or a `Name`;
//! - `Name` is set and at most 200 characters;
//! - `LastModifiedBy` and `$Meta.ExportedAt` are present;
//! - no `Packages[].FeedId` is hard-coded (absent, `null` or a `#{...}` variable expression);
//! - the `Category` has a logo: `DIR/logos/<category>.png`, or one the Library already ships.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

/// Categories whose logo (`step-templates/logos/<category>.png`) the Library ships, as of
/// OctopusDeploy/Library commit 30d3967e (2026-08-14); 138 names.
pub const LIBRARY_LOGOS: [&str; 138] = [
    "1password-connect",
    "akamai",
    "akeyless",
    "amazon-chime",
    "ansible",
    "apexsql",
    "apollo",
    "argo",
    "aspnet",
    "aws",
    "azure-devops",
    "azure-keyvault",
    "azure-site-extensions",
    "azure",
    "azurefunctions",
    "bash",
    "bitwarden",
    "cassandra",
    "chef",
    "chocolatey",
    "clickonce",
    "convex",
    "cyberark",
    "databricks",
    "datadog",
    "discord",
    "dll",
    "dlm",
    "docker",
    "dotnetcore",
    "dyn",
    "edgecast",
    "elmah",
    "email",
    "encrypt",
    "entityframework",
    "event-
    tracing",
    "exe",
    "f5",
    "filesystem",
    "firebase",
    "flyway",
    "ghostinspector",
    "git",
    "github",
    "gitlab",
    "google-chat",
    "google-cloud",
    "grate",
    "hashicorp-vault",
    "hipchat",
    "hockeyapp",
    "hosts-file",
    "http",
    "iis",
    "jasper",
    "jenkins",
    "jira",
    "json",
    "jwt",
    "k8s",
    "keeper-secretsmanager",
    "launchdarkly",
    "lets-encrypt",
    "linux",
    "liquibase",
    "mabl",
    "mariadb",
    "medianova",
    "mercurial",
    "microsoft-power-automate",
    "microsoft-teams",
    "mongodb",
    "mulesoft",
    "mysql",
    "netscaler",
    "newrelic",
    "nunit",
    "octopus",
    "opslevel",
    "oracle",
    "other",
    "pagerduty",
    "pingdom",
    "postgresql",
    "proxmox",
    "pulumi",
    "pushalot",
    "pushover",
    "rabbitmq",
    "rackspace",
    "ravendb",
    "raygun",
    "readyroll",
    "redgate",
    "redis",
    "rnhub",
    "rollbar",
    "roundhouse",
    "sbom",
    "sentry",
    "seq",
    "sharepoint",
    "sitecore",
    "slack",
    "snowflake",
    "solarwinds",
    "spark",
    "splunk",
    "sql",
    "ssl",
    "stackify",
    "statuscake",
    "statuspage",
    "supabase",
    "swaggerhub",
    "teamcity",
    "tenants",
    "terraform",
    "testery",
    "tests",
    "tomcat",
    "topshelf",
    "twilio",
    "umbraco",
    "unicorn",
    "unzip",
    "venafi",
    "vercel",
    "victorops",
    "wait",
    "webdeploy",
    "windows",
    "winscp",
    "xamarin",
    "xml",
    "xunit",
    "zabbix",
];

/// Ids the Library's spec refuses as placeholders.
const PLACEHOLDER_IDS: [&str; 2] = [
    "00000000-0000-0000-0000-000000000000",
    "abcdef00-ab00-cd00-ef00-000000abcdef",
];

/// Runs the checks on `dir`; returns every problem as `file: problem`, sorted by file.
pub fn check_dir(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file()
            && path
                .extension()
                .is_some_and(|extension| extension == "json")
        {
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            files.push((name, bytes));
        }
    }
    files.sort();
    let has_logo = |category: &str| {
        dir.join("logos").join(format!("{category}.png")).is_file()
            || LIBRARY_LOGOS.contains(&category)
    };
    Ok(check_files(&files, &has_logo))
}

/// The checks on `(file name, bytes)` pairs; `has_logo` says whether a (lower-cased) category
/// has a logo.
pub fn check_files(files: &[(String, Vec<u8>)], has_logo: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (file, bytes) in files {
        let mut report = |problem: String| problems.push(format!("{file}: {problem}"));
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            report("starts with a byte order mark: save it as UTF-8 without BOM".into());
            continue;
        }
        let template: Value = match std::str::from_utf8(bytes)
            .map_err(|error| error.to_string())
            .and_then(|text| serde_json::from_str(text).map_err(|error| error.to_string()))
        {
            Ok(template) => template,
            Err(error) => {
                report(format!("is not valid JSON: {error}"));
                continue;
            }
        };
        match template.get("Id").and_then(Value::as_str) {
            None => report("has no Id".into()),
            Some(id) if PLACEHOLDER_IDS.contains(&id) => {
                report(format!("Id {id} is a placeholder"))
            }
            Some(id) if !is_guid(id) => report(format!("Id {id:?} is not a GUID")),
            Some(id) => {
                if let Some(other) = ids.insert(id.to_owned(), file.clone()) {
                    report(format!("Id {id} is also the Id of {other}"));
                }
            }
        }
        match template.get("Name").and_then(Value::as_str) {
            None | Some("") => report("has no Name".into()),
            Some(name) => {
                if name.chars().count() > 200 {
                    report("Name is longer than 200 characters".into());
                }
                if let Some(other) = names.insert(name.to_owned(), file.clone()) {
                    report(format!("Name {name:?} is also the Name of {other}"));
                }
            }
        }
        if template.get("LastModifiedBy").is_none_or(Value::is_null) {
            report("has no LastModifiedBy: set it to your GitHub user name".into());
        }
        if template
            .pointer("/$Meta/ExportedAt")
            .is_none_or(Value::is_null)
        {
            report("has no $Meta.ExportedAt".into());
        }
        for package in template
            .get("Packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match package.get("FeedId") {
                None | Some(Value::Null) => {}
                Some(Value::String(feed)) if feed.starts_with('#') => {}
                Some(feed) => report(format!(
                    "package {} has the hard-coded FeedId {feed}: use null (chosen when the template is used) or a variable expression",
                    package.get("Name").unwrap_or(&Value::Null)
                )),
            }
        }
        let category = template
            .get("Category")
            .and_then(Value::as_str)
            .unwrap_or("other")
            .to_lowercase();
        if !has_logo(&category) {
            report(format!(
                "Category {category:?} has no logo: add logos/{category}.png (200x200) or use a category the Library has"
            ));
        }
    }
    problems
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits (either case).
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}
