//! Evaluates the static formats as Terraform and Octopus would: the tftpl with hcl-rs (Terraform's
//! template language, with `replace` and `join` declared as Terraform defines them) and the
//! Octostache file with a minimal evaluator of exactly the syntax the file may use.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use base64::Engine as _;
use hcl::Value;
use hcl::eval::{Context, Evaluate as _, FuncArgs, FuncDef, ParamType};
use octoshare_templates::BootstrapConfig;

/// Every input of the bootstrap script.
#[derive(Debug, Clone)]
pub struct Values {
    pub server_url: String,
    pub api_key: String,
    pub space: String,
    pub worker_pool: String,
    pub machine_policy: String,
    pub server_comms_address: String,
    pub server_comms_port: String,
    pub extra_server_nodes: Vec<String>,
    pub tentacle_version: String,
    pub worker_name: String,
    /// The Octopus variable `OctoShare.RetireOnShutdown` (`True`, `False`, `""`: undefined);
    /// Terraform's bool and the Bash format's option are true when it is `true` in any case.
    pub retire_on_shutdown: String,
}

/// Text that breaks any quoting or templating that is not airtight.
const HOSTILE: &str =
    "it's \"quoted\" $HOME `id` $(id) ${x} %{y} #{z} ##{w} \\ \\\\ \t; rm -rf / & | * ? ü '\\''";

impl Values {
    pub fn typical() -> Self {
        Values {
            server_url: "https://octopus.example.com".to_owned(),
            api_key: "API-TYPICALKEY0123456789".to_owned(),
            space: "Default".to_owned(),
            worker_pool: "AWS Worker Pool TF".to_owned(),
            machine_policy: String::new(),
            server_comms_address: String::new(),
            server_comms_port: "10943".to_owned(),
            extra_server_nodes: Vec::new(),
            tentacle_version: String::new(),
            worker_name: String::new(),
            retire_on_shutdown: String::new(),
        }
    }

    pub fn hostile() -> Self {
        Values {
            server_url: format!("https://octopus.example.com/{HOSTILE}"),
            api_key: "API-'\"$`\\ #{k} ${k} %{k} $(k)".to_owned(),
            space: format!("{HOSTILE}\nsecond line\n"),
            worker_pool: format!("Linux 'Pool' $(pool) {HOSTILE}"),
            machine_policy: "Policy \"x\" `y` ${z}".to_owned(),
            server_comms_address: format!("https://polling.example.com/'c' {HOSTILE}"),
            server_comms_port: "10944".to_owned(),
            extra_server_nodes: vec![
                "https://node2.example.com:10945/$(a)".to_owned(),
                format!("https://node3.example.com/'b' {HOSTILE}"),
            ],
            tentacle_version: "8.1.2000~$(v)'x'".to_owned(),
            worker_name: format!("worker {HOSTILE}"),
            retire_on_shutdown: String::new(),
        }
    }

    /// The Bash format's configuration (it never holds the key).
    pub fn config(&self) -> BootstrapConfig {
        let optional = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        BootstrapConfig {
            server_url: self.server_url.clone(),
            space: self.space.clone(),
            worker_pool: self.worker_pool.clone(),
            machine_policy: optional(&self.machine_policy),
            server_comms_address: optional(&self.server_comms_address),
            server_comms_port: optional(&self.server_comms_port).map(|port| port.parse().unwrap()),
            extra_server_nodes: self.extra_server_nodes.clone(),
            tentacle_version: optional(&self.tentacle_version),
            worker_name: optional(&self.worker_name),
            retire_on_shutdown: self.retire_on_shutdown(),
            release: None,
        }
    }

    /// The Octopus variables of the Octostache format.
    pub fn octopus_variables(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("OctoShare.Server.Url", self.server_url.clone()),
            ("OctoShare.Api.Key", self.api_key.clone()),
            ("OctoShare.Space", self.space.clone()),
            ("OctoShare.WorkerPool.Name", self.worker_pool.clone()),
            ("OctoShare.MachinePolicy", self.machine_policy.clone()),
            (
                "OctoShare.ServerCommsAddress",
                self.server_comms_address.clone(),
            ),
            ("OctoShare.ServerCommsPort", self.server_comms_port.clone()),
            (
                "OctoShare.ExtraServerNodes",
                self.extra_server_nodes.join("\n"),
            ),
            ("OctoShare.Tentacle.Version", self.tentacle_version.clone()),
            ("OctoShare.Worker.Name", self.worker_name.clone()),
            (
                "OctoShare.RetireOnShutdown",
                self.retire_on_shutdown.clone(),
            ),
        ])
    }
}

impl Values {
    /// The option as a bool (Terraform's variable, `--retire-on-shutdown`).
    pub fn retire_on_shutdown(&self) -> bool {
        self.retire_on_shutdown.eq_ignore_ascii_case("true")
    }
}

/// Terraform's `replace(string, substring, replacement)` for a plain (non-regex) substring.
fn replace(args: FuncArgs) -> Result<Value, String> {
    let text = args[0].as_str().ok_or("replace: string expected")?;
    let from = args[1].as_str().ok_or("replace: substring expected")?;
    let to = args[2].as_str().ok_or("replace: replacement expected")?;
    if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
        return Err("replace: regular expressions are not modelled".to_owned());
    }
    Ok(Value::from(text.replace(from, to)))
}

/// Terraform's `join(separator, list)`.
fn join(args: FuncArgs) -> Result<Value, String> {
    let separator = args[0].as_str().ok_or("join: separator expected")?;
    let items: Vec<&str> = args[1]
        .as_array()
        .ok_or("join: list expected")?
        .iter()
        .map(|item| item.as_str().ok_or("join: list of strings expected"))
        .collect::<Result<_, _>>()?;
    Ok(Value::from(items.join(separator)))
}

/// Terraform's `base64encode(string)`: standard base64 of the UTF-8 bytes.
fn base64encode(args: FuncArgs) -> Result<Value, String> {
    let text = args[0].as_str().ok_or("base64encode: string expected")?;
    Ok(Value::from(
        base64::engine::general_purpose::STANDARD.encode(text),
    ))
}

/// `templatefile("configure-worker.sh.tftpl", { ... })` (or the `.ps1.tftpl`) with `values`.
pub fn evaluate_tftpl(template: &str, values: &Values) -> String {
    let mut context = Context::new();
    context.declare_func(
        "replace",
        FuncDef::new(
            replace,
            [ParamType::String, ParamType::String, ParamType::String],
        ),
    );
    context.declare_func(
        "base64encode",
        FuncDef::new(base64encode, [ParamType::String]),
    );
    context.declare_func(
        "join",
        FuncDef::new(
            join,
            [ParamType::String, ParamType::array_of(ParamType::String)],
        ),
    );
    let variables = [
        ("octopus_server_url", &values.server_url),
        ("octopus_api_key", &values.api_key),
        ("octopus_space", &values.space),
        ("octopus_worker_pool", &values.worker_pool),
        ("octopus_machine_policy", &values.machine_policy),
        ("octopus_server_comms_address", &values.server_comms_address),
        ("octopus_server_comms_port", &values.server_comms_port),
        ("tentacle_version", &values.tentacle_version),
        ("worker_name", &values.worker_name),
    ];
    for (name, value) in variables {
        context.declare_var(name, value.clone());
    }
    context.declare_var("extra_server_nodes", values.extra_server_nodes.clone());
    context.declare_var("retire_on_shutdown", values.retire_on_shutdown());
    hcl::Template::from_str(template)
        .expect("the tftpl parses as a Terraform template")
        .evaluate(&context)
        .expect("the tftpl evaluates")
}

/// Octopus's substitution of the Octostache file: `#{Name | ToBase64}` becomes the base64 of the
/// variable's UTF-8 value (an undefined variable leaves the expression as it is, as Octostache
/// does), `##{` becomes `#{`, `#{if Name}...#{/if}` keeps its body when the variable is truthy
/// (defined and not empty, `0`, `False` or `No` in any case), not nested. Any other `#{`
/// expression fails the test.
pub fn evaluate_octostache(template: &str, variables: &BTreeMap<&str, String>) -> String {
    let mut evaluated = String::with_capacity(template.len());
    let mut rest = template;
    // Inside a false #{if}: text is dropped until #{/if}.
    let mut skipping = false;
    while let Some(index) = rest.find('#') {
        if !skipping {
            evaluated.push_str(&rest[..index]);
        }
        rest = &rest[index..];
        if let Some(after) = rest.strip_prefix("##{") {
            if !skipping {
                evaluated.push_str("#{");
            }
            rest = after;
        } else if rest.starts_with("#{") {
            let end = rest.find('}').expect("unterminated #{ expression");
            let expression = &rest[2..end];
            if let Some(name) = expression.strip_prefix("if ") {
                assert!(!skipping, "nested #{{if}} in the template");
                let value = variables.get(name.trim()).map(String::as_str);
                skipping = !value.is_some_and(|value| {
                    !["", "0", "false", "no"].contains(&value.trim().to_ascii_lowercase().as_str())
                });
                rest = &rest[end + 1..];
                continue;
            }
            if expression == "/if" {
                skipping = false;
                rest = &rest[end + 1..];
                continue;
            }
            if skipping {
                rest = &rest[end + 1..];
                continue;
            }
            let (name, filter) = expression
                .split_once('|')
                .unwrap_or_else(|| panic!("#{{{expression}}} has no filter"));
            assert_eq!(
                filter.trim(),
                "ToBase64",
                "unexpected filter in #{{{expression}}}"
            );
            match variables.get(name.trim()) {
                Some(value) => {
                    evaluated.push_str(&base64::engine::general_purpose::STANDARD.encode(value))
                }
                None => evaluated.push_str(&rest[..=end]),
            }
            rest = &rest[end + 1..];
        } else {
            if !skipping {
                evaluated.push('#');
            }
            rest = &rest[1..];
        }
    }
    assert!(!skipping, "#{{if}} without #{{/if}}");
    evaluated.push_str(rest);
    evaluated
}
