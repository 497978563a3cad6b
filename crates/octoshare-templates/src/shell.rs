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

#[cfg(test)]
mod tests {
    use super::shell_quote;

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
