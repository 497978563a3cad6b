//! The handlebars registry shared by every script this crate renders, and the escapers that
//! protect literal script text from a second template language (Terraform, Octostache).

use anyhow::Context as _;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde::Serialize;

use crate::shell::shell_quote;

/// Registry name of `templates/configure-worker.sh.hbs`.
pub(crate) const CONFIGURE_WORKER: &str = "configure-worker.sh";
/// Registry name of `templates/configure-worker.ps1.hbs`.
pub(crate) const CONFIGURE_WORKER_PS1: &str = "configure-worker.ps1";
/// Registry name of `templates/step-template.sh.hbs`.
pub(crate) const STEP_TEMPLATE_SCRIPT: &str = "step-template.sh";
/// Registry name of `templates/release-download.sh.hbs`, a partial (`{{> release-download.sh}}`)
/// of the step-template script and the bootstrap script: the one downloader of the pinned release.
pub(crate) const RELEASE_DOWNLOAD: &str = "release-download.sh";

const SOURCES: [(&str, &str); 4] = [
    (
        CONFIGURE_WORKER,
        include_str!("../../../templates/configure-worker.sh.hbs"),
    ),
    (
        CONFIGURE_WORKER_PS1,
        include_str!("../../../templates/configure-worker.ps1.hbs"),
    ),
    (
        STEP_TEMPLATE_SCRIPT,
        include_str!("../../../templates/step-template.sh.hbs"),
    ),
    (
        RELEASE_DOWNLOAD,
        include_str!("../../../templates/release-download.sh.hbs"),
    ),
];

/// Renders the registered template `name` with `context`.
///
/// The registry is strict (a misspelt or missing field is an error, not an empty string) and its
/// escape function is [`shell_quote`]: every `{{value}}` becomes one single-quoted bash word.
/// `{{comment text}}` writes trusted one-line text into a `#` comment unquoted.
pub(crate) fn render<T: Serialize>(name: &str, context: &T) -> anyhow::Result<String> {
    render_quoted(name, context, shell_quote)
}

/// [`render`] with another quoting function as the escape (PowerShell's, for `.ps1` templates).
pub(crate) fn render_quoted<T: Serialize>(
    name: &str,
    context: &T,
    quote: fn(&str) -> String,
) -> anyhow::Result<String> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(quote);
    registry.register_helper("comment", Box::new(comment_helper));
    for (template_name, source) in SOURCES {
        registry
            .register_template_string(template_name, source)
            .with_context(|| format!("templates/{template_name}.hbs does not parse"))?;
    }
    registry
        .render(name, context)
        .with_context(|| format!("rendering templates/{name}.hbs failed"))
}

fn comment_helper(
    helper: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text = helper
        .param(0)
        .and_then(|param| param.value().as_str())
        .ok_or(RenderErrorReason::ParamTypeMismatchForName(
            "comment",
            "0".to_owned(),
            "string".to_owned(),
        ))?;
    if text.contains(['\n', '\r']) {
        return Err(RenderErrorReason::Other(format!(
            "comment text {text:?} spans several lines and would end the comment"
        ))
        .into());
    }
    out.write(text)?;
    Ok(())
}

/// An escape that cannot be expressed unambiguously in the second template language.
#[derive(Debug, thiserror::Error)]
#[error("script text contains {sequence:?}, which {language} cannot express as literal text")]
pub(crate) struct UnescapableSequence {
    sequence: &'static str,
    language: &'static str,
}

/// Escapes literal text for Terraform's template language (`templatefile()`): `${` becomes
/// `$${` and `%{` becomes `%%{`, so Terraform writes them back unchanged.
///
/// Text that already contains `$${` or `%%{` is refused rather than escaped into a sequence whose
/// meaning depends on how a lexer resolves runs of `$`/`%`.
pub(crate) fn escape_terraform_literal(text: &str) -> Result<String, UnescapableSequence> {
    for sequence in ["$${", "%%{"] {
        if text.contains(sequence) {
            return Err(UnescapableSequence {
                sequence,
                language: "Terraform's templatefile()",
            });
        }
    }
    Ok(text.replace("${", "$${").replace("%{", "%%{"))
}

/// Escapes literal text for Octostache (Octopus variable substitution): `#{` becomes `##{`,
/// which Octostache writes back as `#{`.
///
/// Octostache has no escape that yields `##{`, so text containing it is refused.
pub(crate) fn escape_octostache_literal(text: &str) -> Result<String, UnescapableSequence> {
    if text.contains("##{") {
        return Err(UnescapableSequence {
            sequence: "##{",
            language: "Octostache",
        });
    }
    Ok(text.replace("#{", "##{"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_escape_doubles_interpolation_and_directive_markers() {
        let escaped = escape_terraform_literal("${a} %{b} $c %d {e}").unwrap();
        assert_eq!(escaped, "$${a} %%{b} $c %d {e}");
    }

    #[test]
    fn terraform_escape_refuses_already_escaped_sequences() {
        assert!(escape_terraform_literal("echo $${x}").is_err());
        assert!(escape_terraform_literal("echo %%{x}").is_err());
    }

    #[test]
    fn octostache_escape_doubles_substitution_markers_only() {
        let escaped = escape_octostache_literal("#{a} ${#b[@]} # {c}").unwrap();
        assert_eq!(escaped, "##{a} ${#b[@]} # {c}");
        assert!(escape_octostache_literal("##{a}").is_err());
    }

    #[test]
    fn values_are_shell_quoted_and_missing_fields_are_errors() {
        #[derive(Serialize)]
        struct Context {
            inputs: Inputs,
        }
        #[derive(Serialize)]
        struct Inputs {
            space: String,
        }
        let context = Context {
            inputs: Inputs {
                space: "it's".to_owned(),
            },
        };
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(shell_quote);
        let rendered = registry
            .render_template("space={{inputs.space}}", &context)
            .unwrap();
        assert_eq!(rendered, r"space='it'\''s'");
        assert!(
            registry
                .render_template("{{inputs.spaec}}", &context)
                .is_err()
        );
    }
}
