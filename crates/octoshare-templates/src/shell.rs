//! Shell quoting: the handlebars escape function of every template in this crate.

/// Quotes `value` as one bash word that expands to exactly `value`.
///
/// The value is wrapped in single quotes, inside which bash interprets nothing; an embedded
/// single quote is written as `'\''` (close the quote, an escaped quote, reopen). Spaces, `$`,
/// backticks, backslashes, globs and line breaks therefore all stay literal. The empty string
/// becomes `''`. A NUL byte cannot be carried by any bash word: callers reject it beforehand.
///
/// ```
/// assert_eq!(octoshare_templates::shell_quote("it's $HOME"), r#"'it'\''s $HOME'"#);
/// ```
pub fn shell_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for character in value.chars() {
        if character == '\'' {
            quoted.push_str(r"'\''");
        } else {
            quoted.push(character);
        }
    }
    quoted.push('\'');
    quoted
}

/// Quotes `value` as one PowerShell single-quoted string that evaluates to exactly `value`.
///
/// Inside single quotes PowerShell expands nothing; a quote character is written twice. PowerShell
/// treats the typographic single quotes U+2018, U+2019, U+201A and U+201B as quote characters
/// too, so each of them is doubled as well.
///
/// ```
/// assert_eq!(octoshare_templates::powershell_quote("it's $HOME"), "'it''s $HOME'");
/// ```
pub fn powershell_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for character in value.chars() {
        if matches!(
            character,
            '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}'
        ) {
            quoted.push(character);
        }
        quoted.push(character);
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::{powershell_quote, shell_quote};

    #[test]
    fn powershell_quotes_double_every_single_quote_character() {
        assert_eq!(powershell_quote(""), "''");
        assert_eq!(powershell_quote("a'b"), "'a''b'");
        assert_eq!(powershell_quote("\u{2019}$x`n"), "'\u{2019}\u{2019}$x`n'");
    }

    #[test]
    fn plain_words_are_single_quoted() {
        assert_eq!(shell_quote("Linux Pool"), "'Linux Pool'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn single_quotes_are_closed_escaped_and_reopened() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("'"), r"''\'''");
    }

    #[test]
    fn expansions_and_line_breaks_stay_literal() {
        assert_eq!(shell_quote("$(id) `id` ${x}\n"), "'$(id) `id` ${x}\n'");
    }
}
