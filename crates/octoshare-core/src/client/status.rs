//! Mapping a non-success HTTP status (and its body) to an [`ApiError`].

use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::Client;
use super::body::looks_like_html;
use super::links::display_path;
use super::redact::EXCERPT_CHARS;
use crate::error::ApiError;

impl Client {
    pub(super) fn status_error(
        &self,
        method: &Method,
        url: &Url,
        status: u16,
        attempts: u32,
        body: &[u8],
        is_html_content: bool,
    ) -> ApiError {
        let detail = self.error_detail(body, is_html_content);
        let method_name = method.to_string();
        let path = display_path(url);
        match status {
            401 => {
                let credentials = &self.inner.credentials;
                let kind = credentials.kind();
                let missing = credentials.secret().is_empty();
                let mut message = if missing {
                    format!("no {kind} given for {} (401)", self.inner.server)
                } else {
                    format!("{kind} rejected by {} (401)", self.inner.server)
                };
                if !detail.message.is_empty() {
                    message.push_str("; the server said: ");
                    message.push_str(&detail.message);
                }
                ApiError::Unauthorized {
                    server: self.inner.server.to_string(),
                    credential: kind,
                    missing,
                    message,
                }
            }
            403 => ApiError::Forbidden {
                method: method_name,
                path,
                message: non_empty_or(detail.message, "permission denied"),
            },
            404 => ApiError::NotFound {
                what: format!("{method_name} {path}"),
                message: non_empty_or(
                    detail.message,
                    "the server has no such resource: check the server URL (including any virtual directory) and the ids",
                ),
            },
            400 | 409 => ApiError::Validation {
                method: method_name,
                path,
                status,
                message: detail.message,
                errors: detail.errors,
            },
            431 => ApiError::RequestHeadersTooLarge {
                method: method_name,
                path,
                credential: self.inner.credentials.kind(),
            },
            429 => ApiError::RateLimited {
                method: method_name,
                path,
                attempts,
            },
            418 | 500..=599 => ApiError::Server {
                method: method_name,
                path,
                status,
                message: detail.message,
                attempts,
            },
            _ => ApiError::UnexpectedStatus {
                method: method_name,
                path,
                status,
            },
        }
    }

    /// Extracts `ErrorMessage`/`Errors` from an error body, or a short safe excerpt of it.
    pub(super) fn error_detail(&self, body: &[u8], is_html_content: bool) -> ErrorDetail {
        if is_html_content || looks_like_html(body) {
            return ErrorDetail {
                message: "the server returned an HTML page (a proxy, load balancer or login page may be in front of Octopus)".to_owned(),
                errors: Vec::new(),
            };
        }
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
            let message = match object.get("ErrorMessage") {
                Some(Value::String(text)) => self.excerpt(text.as_bytes(), EXCERPT_CHARS),
                _ => String::new(),
            };
            let errors = match object.get("Errors") {
                Some(Value::Array(errors)) => errors
                    .iter()
                    .filter_map(|error| match error {
                        Value::String(text) => Some(self.excerpt(text.as_bytes(), EXCERPT_CHARS)),
                        Value::Null => None,
                        other => Some(self.excerpt(other.to_string().as_bytes(), EXCERPT_CHARS)),
                    })
                    .filter(|text| !text.is_empty())
                    .take(20)
                    .collect(),
                _ => Vec::new(),
            };
            return ErrorDetail { message, errors };
        }
        ErrorDetail {
            message: self.excerpt(body, EXCERPT_CHARS),
            errors: Vec::new(),
        }
    }
}

pub(super) struct ErrorDetail {
    message: String,
    errors: Vec<String>,
}

pub(super) fn non_empty_or(text: String, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_owned()
    } else {
        text
    }
}
