//! `octoshare completions` (sourced into a real bash and asked to complete) and `octoshare
//! man-pages` (every page rendered by `man -l` without a warning), for every binary and every
//! subcommand `octoshare --help` lists.

use crate::support::{octoshare_offline, run_of};
use std::path::Path;
use std::process::Command;

/// The step binaries, as `octoshare completions --help` lists `--binary`'s values.
fn binaries() -> Vec<String> {
    let help = run_of(octoshare_offline().args(["completions", "--help"]));
    assert_eq!(help.code, 0, "{help:?}");
    let line = help
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("[possible values: "))
        .and_then(|rest| rest.strip_suffix(']'))
        .expect("--binary lists its possible values");
    let names: Vec<String> = line.split(", ").map(str::to_owned).collect();
    assert!(names.len() >= 4 && names[0] == "octoshare", "{names:?}");
    names
}

/// The subcommands `octoshare --help` lists under "Commands:".
fn subcommands() -> Vec<String> {
    let names = commands_of(&[]);
    assert!(names.contains(&"run".to_owned()), "{names:?}");
    names
}

/// The commands `octoshare PATH... --help` lists (none for a command without subcommands).
fn commands_of(path: &[&str]) -> Vec<String> {
    let help = run_of(octoshare_offline().args(path).arg("--help"));
    assert_eq!(help.code, 0, "{help:?}");
    let names: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        // A description wrapped onto the next line is indented further.
        .filter(|line| !line[2..].starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    names
}

/// Sources `binary`'s bash completions into `bash --norc`, reads the function `complete -p`
/// names, calls it for the command line `words` (the last word being completed) and returns
/// `COMPREPLY`.
fn complete(dir: &Path, binary: &str, words: &[&str]) -> Vec<String> {
    let script = run_of(octoshare_offline().args(["completions", "--binary", binary, "bash"]));
    assert_eq!(script.code, 0, "{script:?}");
    let file = dir.join(format!("{binary}.bash"));
    std::fs::write(&file, &script.stdout).expect("written");
    let words_array: Vec<String> = words.iter().map(|word| format!("'{word}'")).collect();
    let driver = format!(
        r#"set -u
source "$1"
spec=$(complete -p {binary}) || exit 10
function=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<<"$spec")
[[ -n $function && $function != "$spec" ]] || exit 11
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
"$function" {binary} "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = words_array.join(" ")
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &driver, "driver"])
        .arg(&file)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{binary} {words:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn bash_completes_subcommands_and_flags_of_every_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut subcommands = subcommands();
    subcommands.sort();
    let mut offered = complete(dir.path(), "octoshare", &["octoshare", ""]);
    offered.retain(|word| !word.starts_with('-') && word != "help");
    offered.sort();
    assert_eq!(offered, subcommands);

    assert_eq!(
        complete(dir.path(), "octoshare", &["octoshare", "run", "--worker-p"]),
        ["--worker-pool"]
    );
    assert_eq!(
        complete(
            dir.path(),
            "octoshare",
            &["octoshare", "completions", "--bin"]
        ),
        ["--binary"]
    );
    for binary in binaries().iter().skip(1) {
        let flags = complete(dir.path(), binary, &[binary, "--"]);
        for flag in ["--worker-pool", "--server", "--api-key", "--output"] {
            assert!(flags.contains(&flag.to_owned()), "{binary}: {flags:?}");
        }
        assert_eq!(
            complete(dir.path(), binary, &[binary, "--output", ""]),
            ["octopus", "json", "text"],
            "{binary}"
        );
    }
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_one_is_a_usage_error() {
    for binary in binaries() {
        for (shell, marker) in [
            ("bash", "complete -F".to_owned()),
            ("zsh", format!("#compdef {binary}")),
            ("fish", format!("complete -c {binary}")),
            ("powershell", "Register-ArgumentCompleter".to_owned()),
        ] {
            let run = run_of(octoshare_offline().args(["completions", "--binary", &binary, shell]));
            assert_eq!(run.code, 0, "{binary} {shell}: {run:?}");
            assert!(
                run.stdout.contains(&marker),
                "{binary} {shell}: {}",
                run.stdout
            );
        }
    }
    let run = run_of(octoshare_offline().args(["completions", "tcsh"]));
    assert_eq!(run.code, 2, "{run:?}");
    let run =
        run_of(octoshare_offline().args(["completions", "--binary", "octoshare-nope", "bash"]));
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn man_pages_cover_every_binary_and_subcommand_and_render_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("man1");
    let run = run_of(
        octoshare_offline()
            .args(["man-pages", "--out-dir"])
            .arg(&out),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let mut expected: Vec<String> = binaries()
        .iter()
        .map(|binary| format!("{binary}.1"))
        .chain(subcommands().iter().flat_map(|subcommand| {
            // A subcommand's own subcommands (retire-on-shutdown install|remove) get pages too.
            std::iter::once(format!("octoshare-{subcommand}.1")).chain(
                commands_of(&[subcommand.as_str()])
                    .into_iter()
                    .map(move |nested| format!("octoshare-{subcommand}-{nested}.1")),
            )
        }))
        .collect();
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .expect("the folder exists")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    written.sort();
    assert_eq!(written, expected);
    let mut listed: Vec<String> = run
        .stdout
        .lines()
        .map(|line| {
            Path::new(line)
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    listed.sort();
    assert_eq!(listed, expected, "stdout names each page written");

    let Some(man) = octoshare_test_support::tools::require("man") else {
        return;
    };
    for page in &written {
        let output = Command::new(&man)
            .args(["--warnings=all", "-E", "UTF-8", "-l"])
            .arg(out.join(page))
            .env("MANWIDTH", "100")
            .env_remove("MAN_KEEP_FORMATTING")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("man runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "{page}: {stderr}"
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let name = page.trim_end_matches(".1");
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS"] {
            assert!(
                text.lines().any(|line| line.trim() == section),
                "{page} has no {section}: {text}"
            );
        }
        // man justifies lines: compare with single spaces.
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains(&format!("NAME {name} - ")), "{page}: {text}");
    }
}

#[test]
fn man_pages_into_an_unwritable_place_is_one_error_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("written");
    let run = run_of(
        octoshare_offline()
            .args(["man-pages", "--out-dir"])
            .arg(file.join("man1")),
    );
    assert_ne!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: creating "), "{}", run.stderr);
}
