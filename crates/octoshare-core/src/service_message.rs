//! Octopus service messages (`##octopus[setVariable name='…' value='…']`): emitting them in
//! the exact form Octopus's own Bash helpers use, and parsing them with the grammar of
//! Calamari's `ServiceMessageParser`.
//!
//! Emitting: `##octopus[<name>` then ` attr='<base64>'` per attribute, then `]`; base64 is the
//! standard alphabet with padding over UTF-8, and an empty value is written as `''`.
//!
//! Parsing ([`parse_service_messages`]):
//! 1. the case-sensitive prefix `##octopus` is searched anywhere; a `#` that breaks the prefix is
//!    consumed, so `###octopus[` is not a message;
//! 2. everything up to the first `]` is the body (it may span lines);
//! 3. the body is trimmed, leading `[` are removed, then CR and LF are removed;
//! 4. the rest must be an XML start-tag interior: an XML name, then attributes
//!    `name = 'value'` or `name = "value"`, each preceded by whitespace; attribute names are
//!    case-insensitive and may not repeat;
//! 5. every value is base64 (whitespace ignored) decoded as UTF-8; one invalid value makes the
//!    whole message invalid.
//!
//! Invalid messages are skipped and scanning continues after their `]`.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The case-sensitive prefix of every service message.
const PREFIX: &str = "##octopus";

/// Decoder matching .NET `Convert.FromBase64String`: standard alphabet, padding required,
/// non-zero trailing bits tolerated.
const DECODER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A service message with decoded attribute values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMessage {
    /// Message name, e.g. `setVariable` or `stdout-verbose` (case-sensitive).
    pub name: String,
    /// Attributes in order, values decoded.
    pub attributes: Vec<(String, String)>,
}

/// Log level switches for the following stdout lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogLevel {
    /// `stdout-verbose`: hidden by default in the task log.
    Verbose,
    /// `stdout-default`: back to Info.
    Default,
    /// `stdout-highlight`: bold, also shown on the task summary.
    Highlight,
    /// `stdout-warning`.
    Warning,
}

impl LogLevel {
    /// The service-message name, e.g. `stdout-highlight`.
    pub fn message_name(self) -> &'static str {
        match self {
            Self::Verbose => "stdout-verbose",
            Self::Default => "stdout-default",
            Self::Highlight => "stdout-highlight",
            Self::Warning => "stdout-warning",
        }
    }
}

impl ServiceMessage {
    /// A message with no attributes.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            attributes: Vec::new(),
        }
    }

    /// Adds an attribute (value not yet encoded).
    pub fn with(mut self, attribute: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((attribute.into(), value.into()));
        self
    }

    /// The decoded value of an attribute; names compare case-insensitively.
    pub fn get(&self, attribute: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
            .map(|(_, value)| value.as_str())
    }

    /// The exact line to print (without the newline), e.g.
    /// `##octopus[setVariable name='Rm9v' value='QmFy']`.
    pub fn to_line(&self) -> String {
        let mut line = format!("{PREFIX}[{}", self.name);
        for (attribute, value) in &self.attributes {
            line.push(' ');
            line.push_str(attribute);
            line.push_str("='");
            line.push_str(&STANDARD.encode(value.as_bytes()));
            line.push('\'');
        }
        line.push(']');
        line
    }

    /// `setVariable`: an output variable `Octopus.Action[<step>].Output.<name>`.
    pub fn set_variable(name: &str, value: &str) -> Self {
        Self::new("setVariable")
            .with("name", name)
            .with("value", value)
    }

    /// `setVariable` marked `sensitive='VHJ1ZQ=='` (base64 of `True`): stored as sensitive and masked.
    pub fn set_sensitive_variable(name: &str, value: &str) -> Self {
        Self::set_variable(name, value).with("sensitive", "True")
    }

    /// `progress`: the task's progress bar (percentage capped at 100).
    pub fn progress(percentage: u8, message: &str) -> Self {
        Self::new("progress")
            .with("percentage", percentage.min(100).to_string())
            .with("message", message)
    }

    /// `createArtifact`: collect a file as an artifact after the step.
    pub fn create_artifact(path: &str, name: &str, length: u64) -> Self {
        Self::new("createArtifact")
            .with("path", path)
            .with("name", name)
            .with("length", length.to_string())
    }

    /// `resultMessage`: the text shown instead of "The remote script failed with exit code …".
    pub fn result_message(message: &str) -> Self {
        Self::new("resultMessage").with("message", message)
    }

    /// `stdout-verbose` / `stdout-default` / `stdout-highlight` / `stdout-warning`.
    pub fn log_level(level: LogLevel) -> Self {
        Self::new(level.message_name())
    }
}

impl fmt::Display for ServiceMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line())
    }
}

/// Why a text is not a valid service message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text contains no `##octopus` prefix.
    #[error("no '##octopus' service message found")]
    NoMessage,
    /// The prefix is not followed by a closing `]`.
    #[error("service message is not terminated by ']'")]
    Unterminated,
    /// The message name is missing or not an XML name.
    #[error("service message name is missing or invalid")]
    InvalidName,
    /// Something other than `name='value'` attributes follows the name.
    #[error("malformed service message attributes at character {position}")]
    MalformedAttributes {
        /// Character offset in the normalised body.
        position: usize,
    },
    /// An attribute appears twice (names compare case-insensitively).
    #[error("service message attribute '{attribute}' appears more than once")]
    DuplicateAttribute {
        /// The repeated name.
        attribute: String,
    },
    /// An attribute value is not valid base64.
    #[error("service message attribute '{attribute}' is not valid base64")]
    InvalidBase64 {
        /// The attribute with the bad value.
        attribute: String,
    },
}

/// Every valid service message in `text`, in order. Invalid ones are skipped; scanning
/// continues after each message's `]`.
pub fn parse_service_messages(text: &str) -> Vec<ServiceMessage> {
    let mut messages = Vec::new();
    let mut rest = text;
    while let Some(body_start) = find_prefix(rest) {
        let after_prefix = &rest[body_start..];
        let Some(body_end) = after_prefix.find(']') else {
            break;
        };
        if let Ok(message) = parse_body(&after_prefix[..body_end]) {
            messages.push(message);
        }
        rest = &after_prefix[body_end + 1..];
    }
    messages
}

/// The first service message in `line` (text before the prefix is ignored).
pub fn parse_service_message(line: &str) -> Result<ServiceMessage, ParseError> {
    let body_start = find_prefix(line).ok_or(ParseError::NoMessage)?;
    let after_prefix = &line[body_start..];
    let body_end = after_prefix.find(']').ok_or(ParseError::Unterminated)?;
    parse_body(&after_prefix[..body_end])
}

/// The byte offset just after the first `##octopus`, using Calamari's matcher: a character that
/// breaks a partial match resets it and is itself consumed.
fn find_prefix(text: &str) -> Option<usize> {
    let prefix = PREFIX.as_bytes();
    let mut matched = 0;
    for (index, byte) in text.bytes().enumerate() {
        if byte == prefix[matched] {
            matched += 1;
            if matched == prefix.len() {
                return Some(index + 1);
            }
        } else {
            matched = 0;
        }
    }
    None
}

fn parse_body(raw_body: &str) -> Result<ServiceMessage, ParseError> {
    let body: String = raw_body
        .trim()
        .trim_start_matches('[')
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    let chars: Vec<char> = body.chars().collect();
    let mut position = 0;

    let name = read_name(&chars, &mut position).ok_or(ParseError::InvalidName)?;
    let mut attributes: Vec<(String, String)> = Vec::new();
    loop {
        let whitespace_start = position;
        skip_xml_whitespace(&chars, &mut position);
        if position == chars.len() {
            break;
        }
        if position == whitespace_start {
            return Err(ParseError::MalformedAttributes { position });
        }
        let attribute =
            read_name(&chars, &mut position).ok_or(ParseError::MalformedAttributes { position })?;
        skip_xml_whitespace(&chars, &mut position);
        if chars.get(position) != Some(&'=') {
            return Err(ParseError::MalformedAttributes { position });
        }
        position += 1;
        skip_xml_whitespace(&chars, &mut position);
        let quote = match chars.get(position) {
            Some(&quote @ ('\'' | '"')) => quote,
            _ => return Err(ParseError::MalformedAttributes { position }),
        };
        position += 1;
        let value_start = position;
        while chars.get(position).is_some_and(|&c| c != quote) {
            position += 1;
        }
        if position == chars.len() {
            return Err(ParseError::MalformedAttributes { position });
        }
        let raw_value: String = chars[value_start..position].iter().collect();
        position += 1;
        if attributes
            .iter()
            .any(|(existing, _)| existing.eq_ignore_ascii_case(&attribute))
        {
            return Err(ParseError::DuplicateAttribute { attribute });
        }
        let value = unescape_xml_attribute(&raw_value).ok_or(ParseError::MalformedAttributes {
            position: value_start,
        })?;
        let decoded = decode_base64(&value).ok_or_else(|| ParseError::InvalidBase64 {
            attribute: attribute.clone(),
        })?;
        attributes.push((attribute, decoded));
    }
    Ok(ServiceMessage { name, attributes })
}

fn skip_xml_whitespace(chars: &[char], position: &mut usize) {
    while chars
        .get(*position)
        .is_some_and(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
    {
        *position += 1;
    }
}

/// Reads an XML name without a namespace prefix (an NCName).
fn read_name(chars: &[char], position: &mut usize) -> Option<String> {
    let start = *position;
    if !chars.get(start).copied().is_some_and(is_name_start_char) {
        return None;
    }
    *position += 1;
    while chars.get(*position).copied().is_some_and(is_name_char) {
        *position += 1;
    }
    Some(chars[start..*position].iter().collect())
}

/// XML 1.0 (5th edition) NameStartChar, without `:`.
fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (5th edition) NameChar, without `:`.
fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Resolves XML entity and character references in an attribute value; `None` for a raw `<`,
/// a bare `&` or an unknown reference.
fn unescape_xml_attribute(raw: &str) -> Option<String> {
    if raw.contains('<') {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semicolon = after.find(';')?;
        let reference = &after[..semicolon];
        let resolved = match reference {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ => {
                let number = reference.strip_prefix('#')?;
                let code = match number.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)?
            }
        };
        out.push(resolved);
        rest = &after[semicolon + 1..];
    }
    out.push_str(rest);
    // Attribute-value normalisation turns tab, CR and LF into spaces; base64 ignores them all.
    Some(out)
}

/// Base64 as .NET `Convert.FromBase64String` accepts it (whitespace ignored), decoded as UTF-8
/// with replacement characters for invalid sequences.
fn decode_base64(value: &str) -> Option<String> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        .collect();
    let bytes = DECODER.decode(compact.as_bytes()).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_variable_has_the_exact_byte_format() {
        assert_eq!(
            ServiceMessage::set_variable("Foo", "Bar").to_line(),
            "##octopus[setVariable name='Rm9v' value='QmFy']"
        );
        assert_eq!(
            ServiceMessage::set_variable("Empty", "").to_line(),
            "##octopus[setVariable name='RW1wdHk=' value='']"
        );
        assert_eq!(
            ServiceMessage::set_sensitive_variable("Foo", "Bar").to_line(),
            "##octopus[setVariable name='Rm9v' value='QmFy' sensitive='VHJ1ZQ==']"
        );
    }

    #[test]
    fn other_messages_have_the_exact_byte_format() {
        assert_eq!(
            ServiceMessage::progress(50, "Half").to_line(),
            "##octopus[progress percentage='NTA=' message='SGFsZg==']"
        );
        assert_eq!(
            ServiceMessage::progress(250, "x").get("percentage"),
            Some("100")
        );
        assert_eq!(
            ServiceMessage::create_artifact("/tmp/r.json", "r.json", 12).to_line(),
            "##octopus[createArtifact path='L3RtcC9yLmpzb24=' name='ci5qc29u' length='MTI=']"
        );
        assert_eq!(
            ServiceMessage::result_message("boom").to_line(),
            "##octopus[resultMessage message='Ym9vbQ==']"
        );
        assert_eq!(
            ServiceMessage::log_level(LogLevel::Highlight).to_line(),
            "##octopus[stdout-highlight]"
        );
        assert_eq!(
            ServiceMessage::log_level(LogLevel::Verbose).to_string(),
            "##octopus[stdout-verbose]"
        );
    }

    #[test]
    fn unicode_values_are_utf8_base64() {
        let line = ServiceMessage::set_variable("Näme", "välue ✓").to_line();
        assert_eq!(
            line,
            "##octopus[setVariable name='TsOkbWU=' value='dsOkbHVlIOKckw==']"
        );
    }

    #[track_caller]
    fn single(text: &str) -> ServiceMessage {
        let messages = parse_service_messages(text);
        assert_eq!(messages.len(), 1, "{text:?} gave {messages:?}");
        messages.into_iter().next().unwrap()
    }

    #[track_caller]
    fn none(text: &str) {
        let messages = parse_service_messages(text);
        assert!(messages.is_empty(), "{text:?} gave {messages:?}");
    }

    #[test]
    fn parser_accepts_the_grammar_variants() {
        let message = single("##octopus[setVariable name='Rm9v' value='QmFy']");
        assert_eq!(message.name, "setVariable");
        assert_eq!(message.get("name"), Some("Foo"));
        assert_eq!(message.get("VALUE"), Some("Bar"));
        // Text before, whitespace before '[', double quotes, spaces around '=', tabs.
        let message =
            single("log: ##octopus  [setVariable\tname = \"Rm9v\"   value=\t'QmFy' ] trailing");
        assert_eq!(message.get("name"), Some("Foo"));
        assert_eq!(message.get("value"), Some("Bar"));
        // Spanning lines: CR/LF are removed from the body.
        let message = single("##octopus[setVariable name='Rm9v'\n value='Qm\r\nFy']");
        assert_eq!(message.get("value"), Some("Bar"));
        // No attributes, names with '-' and '.'.
        assert_eq!(single("##octopus[stdout-verbose]").name, "stdout-verbose");
        assert_eq!(single("##octopus[a.b_c-1]").name, "a.b_c-1");
        // Empty value, whitespace inside base64, unknown attributes kept.
        let message = single("##octopus[setVariable name='Rm 9v' value='' extra='']");
        assert_eq!(message.get("name"), Some("Foo"));
        assert_eq!(message.get("value"), Some(""));
        assert_eq!(message.attributes.len(), 3);
        // XML character references are resolved before base64 decoding.
        assert_eq!(single("##octopus[m v='Qg&#x3D;&#61;']").get("v"), Some("B"));
    }

    #[test]
    fn parser_rejects_invalid_messages() {
        none("###octopus[setVariable name='Rm9v']");
        none("##Octopus[setVariable name='Rm9v']");
        none("##octopus[ setVariable name='Rm9v']");
        none("##octopus[setVariable name='Rm9v'value='QmFy']");
        none("##octopus[setVariable name='Rm9v' name='QmFy']");
        none("##octopus[setVariable name='Rm9v' NAME='QmFy']");
        none("##octopus[setVariable name='Rm9v' value='not base64!']");
        none("##octopus[setVariable name='Rm9v' value='QmF']");
        none("##octopus[setVariable name=Rm9v]");
        none("##octopus[setVariable name='Rm9v]");
        none("##octopus[setVariable name='Rm9v\"]");
        none("##octopus[1abc]");
        none("##octopus[]");
        none("##octopus[ns:name]");
        none("##octopus[setVariable name='Rm9v'/]");
        none("##octopus[setVariable name='Rm9v' value='QmFy'");
        none("##octopus[setVariable name='R&m9v']");
        none("##octopus[setVariable name 'Rm9v']");
    }

    #[test]
    fn parser_keeps_scanning_after_each_message() {
        let text = "a ##octopus[one] b ##octopus[bad name=x] c ##octopus[two v='eA==']##octopus[three]\n##octopus[unterminated";
        let names: Vec<String> = parse_service_messages(text)
            .into_iter()
            .map(|message| message.name)
            .collect();
        assert_eq!(names, ["one", "two", "three"]);
    }

    #[test]
    fn single_message_parser_reports_why() {
        assert_eq!(parse_service_message("hello"), Err(ParseError::NoMessage));
        assert_eq!(
            parse_service_message("##octopus[x"),
            Err(ParseError::Unterminated)
        );
        assert_eq!(
            parse_service_message("##octopus[ x]"),
            Err(ParseError::InvalidName)
        );
        assert_eq!(
            parse_service_message("##octopus[x a='' A='']"),
            Err(ParseError::DuplicateAttribute {
                attribute: "A".into()
            })
        );
        assert_eq!(
            parse_service_message("##octopus[x a='!']"),
            Err(ParseError::InvalidBase64 {
                attribute: "a".into()
            })
        );
        assert!(matches!(
            parse_service_message("##octopus[x a]"),
            Err(ParseError::MalformedAttributes { .. })
        ));
    }

    #[test]
    fn invalid_utf8_decodes_with_replacement_characters() {
        // 0xFF is not valid UTF-8.
        assert_eq!(single("##octopus[x v='/w==']").get("v"), Some("\u{FFFD}"));
    }
}
