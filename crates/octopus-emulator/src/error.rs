//! Octopus error bodies (`{"ErrorMessage": ..., "Errors": [...]}`) and JSON responses.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::access::Permission;

/// Octopus's `ErrorMessage` for every validation failure (Terraform provider docs quote
/// "There was a problem with your request. [...]"; Issues#9613).
pub(crate) const VALIDATION_MESSAGE: &str = "There was a problem with your request.";
/// 401 without (or with empty) credentials (<https://github.com/OctopusDeploy/Issues/issues/5625>).
pub(crate) const MISSING_CREDENTIALS: &str = "You must be logged in to request this resource or provide a valid API key. Your account may have been disabled, please contact your Octopus administrator.";
/// 401 with credentials the server does not know (octo CLI output against a real server,
/// asserted in `OctopusDeploy/create-release-action: __tests__/integration/integration.test.ts`).
pub(crate) const INVALID_API_KEY: &str = "The API key you provided was not valid. Please double-check your API key and try again. For instructions on finding your API key, please visit: https://oc.to/HowToCreateApiKey";
/// 404 for a route the server does not have. Unverified: no public recording of this body
/// exists (the `octopus` CLI's tests mock `{"ErrorMessage":"Not found"}`).
pub(crate) const ROUTE_NOT_FOUND: &str = "The resource you requested was not found.";

/// An error a handler answers with; every variant renders as an Octopus error body.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// 400 with `Errors` listing each problem.
    #[error("{VALIDATION_MESSAGE}")]
    BadRequest(Vec<String>),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 401 without credentials.
    #[error("{MISSING_CREDENTIALS}")]
    MissingCredentials,
    /// 401 with unknown credentials.
    #[error("{INVALID_API_KEY}")]
    InvalidApiKey,
    /// 403 naming the missing permission, with Octopus's `HelpText`
    /// (<https://github.com/OctopusDeploy/Issues/issues/7311>, #9333, #5401).
    #[error(
        "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: {0}"
    )]
    Forbidden(Permission),
}

impl ApiError {
    pub(crate) fn bad_request(error: impl Into<String>) -> Self {
        ApiError::BadRequest(vec![error.into()])
    }

    /// 404 for an id: "The resource 'X' was not found." (the text the portal shows for a
    /// missing document, <https://github.com/OctopusDeploy/Issues/issues/7060>).
    pub(crate) fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("The resource '{what}' was not found."))
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MissingCredentials | ApiError::InvalidApiKey => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The message plus every listed error, on one line (for logs and seeding errors).
    pub(crate) fn details(&self) -> String {
        match self {
            ApiError::BadRequest(errors) => errors.join(" "),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::BadRequest(errors) => {
                error_response(self.status(), &self.to_string(), errors)
            }
            ApiError::Forbidden(permission) => json_response(
                self.status(),
                &json!({
                    "ErrorMessage": self.to_string(),
                    "Errors": [],
                    "HelpText": permission.help_text(),
                }),
            ),
            _ => error_response(self.status(), &self.to_string(), &[]),
        }
    }
}

/// `{"ErrorMessage": message, "Errors": errors}` with `status`.
pub(crate) fn error_response(status: StatusCode, message: &str, errors: &[String]) -> Response {
    json_response(
        status,
        &json!({ "ErrorMessage": message, "Errors": errors }),
    )
}

/// A JSON body with Octopus's `Content-Type: application/json; charset=utf-8`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// 200 with an empty body (Octopus's answer to DELETE).
pub(crate) fn empty_ok() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::OK;
    response
}
