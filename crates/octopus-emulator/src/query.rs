//! Query strings as Octopus reads them: names case-insensitive, arrays as comma lists or
//! repeated keys, booleans `true`/`True`/`false`/`False`.

use crate::error::ApiError;

/// The decoded parameters of one request, in the order they were sent.
#[derive(Debug, Default, Clone)]
pub(crate) struct Query {
    /// (lower-cased name, value) pairs.
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| {
                url::form_urlencoded::parse(raw.as_bytes())
                    .map(|(name, value)| (name.to_lowercase(), value.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    fn raw_values(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The first non-empty value of `name`.
    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        self.raw_values(name)
            .into_iter()
            .find(|value| !value.trim().is_empty())
    }

    /// Every item of `name`, splitting comma lists and joining repeated keys; `None` if absent
    /// or empty.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        let items: Vec<String> = self
            .raw_values(name)
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect();
        (!items.is_empty()).then_some(items)
    }

    /// A boolean parameter; `true`/`false` in any letter case.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.string(name) {
            None => Ok(None),
            Some(value) if value.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(value) if value.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(value) => Err(ApiError::bad_request(format!(
                "The value '{value}' is not valid for parameter '{name}': expected true or false."
            ))),
        }
    }

    /// A non-negative integer parameter no larger than `i32::MAX`.
    pub(crate) fn count(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.string(name) {
            None => Ok(None),
            Some(value) => match value.trim().parse::<u64>() {
                Ok(number) if number <= i32::MAX as u64 => Ok(Some(number)),
                _ => Err(ApiError::bad_request(format!(
                    "The value '{value}' is not valid for parameter '{name}': expected a whole number between 0 and 2147483647."
                ))),
            },
        }
    }

    /// The comma-joined raw values of `name` for echoing in page links.
    pub(crate) fn echo(&self, name: &str) -> Option<String> {
        self.list(name).map(|items| items.join(","))
    }
}

/// Percent-encodes a query value the way Octopus's page links do (commas kept literal).
pub(crate) fn encode_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' => {
                encoded.push(char::from(byte));
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_lists_merge() {
        let query = Query::parse(Some("WorkerPoolIds=a,b&workerpoolids=c&IsDisabled=False"));
        assert_eq!(
            query.list("workerPoolIds"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(query.bool("isDisabled").ok().flatten(), Some(false));
        assert!(
            Query::parse(Some("isDisabled=maybe"))
                .bool("isDisabled")
                .is_err()
        );
    }

    #[test]
    fn encodes_like_octopus_links() {
        assert_eq!(encode_value("a b/c,d"), "a%20b%2Fc,d");
    }
}
