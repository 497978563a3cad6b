//! `--this-machine`: the certificate thumbprint of the Tentacle installed on this machine, so a
//! VM can retire itself.
//!
//! Two sources, both from Octopus's Tentacle:
//!
//! - `Tentacle show-thumbprint --instance NAME --nologo` (OctopusTentacle
//!   `source/Octopus.Tentacle/Commands/ShowThumbprintCommand.cs`). Current Tentacles write the
//!   bare thumbprint to stdout without a newline (`--format json` writes
//!   `{"Thumbprint":"..."}`); Tentacles before 6.x logged `The thumbprint of this Tentacle is:
//!   <thumbprint>`. `--nologo` is accepted (and ignored) by every version. The thumbprint is
//!   taken from either form: the JSON's `Thumbprint`, else the one 40-digit hexadecimal word
//!   of the output.
//! - The instance's configuration file (`/etc/octopus/Tentacle/tentacle.config` by default on
//!   Linux), an XML key-value store holding `<set key="Tentacle.CertificateThumbprint">...</set>`
//!   (OctopusTentacle `Configuration/TentacleConfiguration.cs`, `XmlFileKeyValueStore`): no
//!   Tentacle process is started, which suits a shutdown hook running while Tentacle stops.
//!
//! The child gets no Octopus credential: `OCTOPUS_API_KEY` and `OCTOPUS_ACCESS_TOKEN` are
//! removed from its environment, and nothing secret is on its command line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Where Octopus's Linux packages install the Tentacle executable.
pub const DEFAULT_TENTACLE_PATH: &str = "/opt/octopus/tentacle/Tentacle";

/// The instance `Tentacle create-instance` makes unless told otherwise.
pub const DEFAULT_TENTACLE_INSTANCE: &str = "Tentacle";

/// How long `Tentacle show-thumbprint` may take.
pub const SHOW_THUMBPRINT_TIMEOUT: Duration = Duration::from_secs(60);

/// The configuration key holding the certificate thumbprint.
const THUMBPRINT_KEY: &str = "Tentacle.CertificateThumbprint";

/// Environment variables never handed to the child.
const SECRET_VARIABLES: [&str; 2] = ["OCTOPUS_API_KEY", "OCTOPUS_ACCESS_TOKEN"];

/// Why the local Tentacle's thumbprint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ThisMachineError {
    /// The Tentacle executable could not be started.
    #[error("cannot run {}: {reason}", program.display())]
    Start {
        /// The executable.
        program: PathBuf,
        /// Why (e.g. no such file).
        reason: String,
    },
    /// `show-thumbprint` did not finish in time.
    #[error("{} show-thumbprint did not finish within {}s", program.display(), timeout.as_secs())]
    TimedOut {
        /// The executable.
        program: PathBuf,
        /// How long it was given.
        timeout: Duration,
    },
    /// `show-thumbprint` failed.
    #[error("{} show-thumbprint --instance {instance} failed ({status}): {message}", program.display())]
    Failed {
        /// The executable.
        program: PathBuf,
        /// The instance asked for.
        instance: String,
        /// The exit status.
        status: String,
        /// The first line of its error output.
        message: String,
    },
    /// Its output holds no thumbprint (or several).
    #[error("{} show-thumbprint printed no single thumbprint (it printed '{output}')", program.display())]
    NoThumbprint {
        /// The executable.
        program: PathBuf,
        /// What it printed (cut short).
        output: String,
    },
    /// The configuration file could not be read.
    #[error("cannot read the Tentacle configuration {}: {reason}", path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration file has no usable thumbprint.
    #[error("the Tentacle configuration {} holds no {THUMBPRINT_KEY} (is the Tentacle configured?)", path.display())]
    NoConfigThumbprint {
        /// The file.
        path: PathBuf,
    },
}

/// Runs `PROGRAM show-thumbprint --instance INSTANCE --nologo` and reads the thumbprint from
/// its output (upper-case).
pub async fn thumbprint_from_tentacle(
    program: &Path,
    instance: &str,
    timeout: Duration,
) -> Result<String, ThisMachineError> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(["show-thumbprint", "--instance", instance, "--nologo"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for variable in SECRET_VARIABLES {
        command.env_remove(variable);
    }
    let child = spawn(&mut command)
        .await
        .map_err(|error| ThisMachineError::Start {
            program: program.to_path_buf(),
            reason: error.to_string(),
        })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => {
            return Err(ThisMachineError::Start {
                program: program.to_path_buf(),
                reason: error.to_string(),
            });
        }
        Err(_) => {
            return Err(ThisMachineError::TimedOut {
                program: program.to_path_buf(),
                timeout,
            });
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr
            .lines()
            .chain(stdout.lines())
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("no error output")
            .chars()
            .take(240)
            .collect();
        return Err(ThisMachineError::Failed {
            program: program.to_path_buf(),
            instance: instance.to_owned(),
            status: output.status.to_string(),
            message,
        });
    }
    parse_show_thumbprint(&stdout).ok_or_else(|| ThisMachineError::NoThumbprint {
        program: program.to_path_buf(),
        output: stdout.trim().chars().take(120).collect(),
    })
}

/// Starts the child. "Text file busy" (the executable was just written, and another thread's
/// fork still holds it open for writing until its exec) passes in moments: tried again.
async fn spawn(command: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(error)
                if error.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 5 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            result => return result,
        }
    }
}

/// The thumbprint in `show-thumbprint`'s output: `{"Thumbprint": "..."}`, or the one 40-digit
/// hexadecimal word (the bare thumbprint, or the older `The thumbprint of this Tentacle is:`
/// line, with any banner around it). Upper-cased.
pub fn parse_show_thumbprint(output: &str) -> Option<String> {
    let trimmed = output.trim();
    if trimmed.starts_with('{')
        && let Ok(serde_json::Value::Object(object)) = serde_json::from_str(trimmed)
    {
        return object
            .get("Thumbprint")
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|thumbprint| is_thumbprint(thumbprint))
            .map(str::to_ascii_uppercase);
    }
    let mut found: Vec<String> = trimmed
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| is_thumbprint(word))
        .map(str::to_ascii_uppercase)
        .collect();
    found.sort();
    found.dedup();
    match found.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// Reads `Tentacle.CertificateThumbprint` from an instance configuration file. Upper-cased.
pub fn thumbprint_from_config(path: &Path) -> Result<String, ThisMachineError> {
    let text = std::fs::read_to_string(path).map_err(|error| ThisMachineError::ReadConfig {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    config_thumbprint(&text).ok_or_else(|| ThisMachineError::NoConfigThumbprint {
        path: path.to_path_buf(),
    })
}

/// The value of `<set key="Tentacle.CertificateThumbprint">VALUE</set>` (either quote).
fn config_thumbprint(xml: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let attribute = format!("key={quote}{THUMBPRINT_KEY}{quote}");
        let Some(at) = xml.find(&attribute) else {
            continue;
        };
        let after = &xml[at + attribute.len()..];
        let value_start = after.find('>')? + 1;
        let value_end = after[value_start..].find('<')? + value_start;
        let value = after[value_start..value_end].trim();
        return is_thumbprint(value).then(|| value.to_ascii_uppercase());
    }
    None
}

/// A SHA-1 certificate thumbprint: 40 hexadecimal digits.
fn is_thumbprint(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const THUMBPRINT: &str = "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A";

    #[test]
    fn every_show_thumbprint_output_form_is_read() {
        // Current Tentacles: the bare thumbprint, no newline.
        assert_eq!(
            parse_show_thumbprint(THUMBPRINT).as_deref(),
            Some(THUMBPRINT)
        );
        // --format json.
        assert_eq!(
            parse_show_thumbprint(&format!(
                "{{\"Thumbprint\":\"{}\"}}",
                THUMBPRINT.to_lowercase()
            ))
            .as_deref(),
            Some(THUMBPRINT)
        );
        // Older Tentacles, with their banner.
        let older = format!(
            "Octopus Deploy: Tentacle version 3.22.0\n\nThe thumbprint of this Tentacle is: {THUMBPRINT}\r\n"
        );
        assert_eq!(parse_show_thumbprint(&older).as_deref(), Some(THUMBPRINT));
    }

    #[test]
    fn no_single_thumbprint_is_none() {
        assert_eq!(parse_show_thumbprint(""), None);
        assert_eq!(parse_show_thumbprint("{\"Thumbprint\":null}"), None);
        assert_eq!(parse_show_thumbprint("not configured"), None);
        let two = format!("{THUMBPRINT} 1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E");
        assert_eq!(parse_show_thumbprint(&two), None);
        assert_eq!(
            parse_show_thumbprint(&format!("{THUMBPRINT}\n{THUMBPRINT}")).as_deref(),
            Some(THUMBPRINT)
        );
    }

    #[test]
    fn the_configuration_file_is_read() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<octopus-settings xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n  <set key=\"Tentacle.Certificate\">MIIKbase64</set>\n  <set key=\"Tentacle.CertificateThumbprint\">{}</set>\n</octopus-settings>",
            THUMBPRINT.to_lowercase()
        );
        assert_eq!(config_thumbprint(&xml).as_deref(), Some(THUMBPRINT));
        let single = format!(
            "<octopus-settings><set key='Tentacle.CertificateThumbprint'> {THUMBPRINT} </set></octopus-settings>"
        );
        assert_eq!(config_thumbprint(&single).as_deref(), Some(THUMBPRINT));
        assert_eq!(config_thumbprint("<octopus-settings/>"), None);
        assert_eq!(
            config_thumbprint("<set key=\"Tentacle.CertificateThumbprint\"></set>"),
            None
        );
    }
}
