//! The documented exit codes and the mapping from errors to them.

use crate::shutdown::Signal;
use octoshare_core::ApiError;
use octoshare_core::domain::{LookupError, ResolveError};
use octoshare_discover::{DiscoverError, SkipCause};
use octoshare_retire::{RetireError, RetireOutcome, RetireStatus};
use octoshare_share::{ShareError, ShareVerdict};
use octoshare_wait::{WaitError, WaitStatus};
use std::fmt;

/// Exit codes of every octoshare binary (docs/reference.md, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// 0: success.
    Success,
    /// 1: unexpected internal error.
    Internal,
    /// 2: usage error (bad or missing flags).
    Usage,
    /// 3: nothing qualifies, or a named thing was not found.
    NotFound,
    /// 4: waiting timed out.
    TimedOut,
    /// 5: some items failed; the rest were done.
    PartialFailure,
    /// 6: authentication or permission refused (401/403).
    AccessDenied,
    /// 7: server unreachable after retries (or not an Octopus server, an answer pointing to
    /// another origin, an answer too large to read).
    Unreachable,
    /// 130 (SIGINT) or 143 (SIGTERM): interrupted, 128 + the signal's number.
    Interrupted(Signal),
}

impl Exit {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Internal => 1,
            Exit::Usage => 2,
            Exit::NotFound => 3,
            Exit::TimedOut => 4,
            Exit::PartialFailure => 5,
            Exit::AccessDenied => 6,
            Exit::Unreachable => 7,
            Exit::Interrupted(signal) => signal.exit_code(),
        }
    }
}

impl Exit {
    /// An interruption attributed to `signal` when one was recorded; anything else unchanged.
    pub fn attributed_to(self, signal: Option<Signal>) -> Exit {
        match (self, signal) {
            (Exit::Interrupted(_), Some(signal)) => Exit::Interrupted(signal),
            (exit, _) => exit,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// A failure as the command-line layer reports it: the one line for the user (the facts from
/// the library plus the advice only the command line can give, such as which flag to check)
/// and the exit code it ends the process with.
#[derive(Debug)]
pub struct ExitError {
    /// The exit code.
    pub exit: Exit,
    /// One line for the user: lower-case, names the thing and the fix.
    pub message: String,
}

impl ExitError {
    /// Creates an error ending the process with `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        ExitError {
            exit,
            message: message.into(),
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        ExitError::new(Exit::Usage, message)
    }

    /// A not-found error (exit code 3).
    pub fn not_found(message: impl Into<String>) -> Self {
        ExitError::new(Exit::NotFound, message)
    }
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

impl From<anyhow::Error> for ExitError {
    /// The orchestrator's non-step commands: mapped by [`exit_for_error`].
    fn from(error: anyhow::Error) -> ExitError {
        ExitError::new(
            exit_for_error(&error),
            crate::hints::with_hint(&one_line(&error), &error),
        )
    }
}

impl From<ApiError> for ExitError {
    fn from(error: ApiError) -> ExitError {
        ExitError::new(exit_for_api_error(&error), api_error_line(&error, &error))
    }
}

/// `error` as one line (see [`error_line`]) with the command line's advice for the API error
/// behind it appended (`line; advice`), when there is any.
pub fn api_error_line(error: &(dyn std::error::Error + 'static), api: &ApiError) -> String {
    let line = error_line(error);
    match crate::hints::hint_for_api_error(api) {
        Some(advice) => format!("{line}; {advice}"),
        None => line,
    }
}

/// Maps an `anyhow` error chain to the documented exit code, for the orchestrator's commands
/// that are not steps (`demo`, `install`, `emulator`): the first `ExitError` or `ApiError` in
/// the chain decides; anything else is an internal error (1). The steps' errors are typed and
/// mapped by the total `exit_for_*` functions instead.
pub fn exit_for_error(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if let Some(exit_error) = cause.downcast_ref::<ExitError>() {
            return exit_error.exit;
        }
        if let Some(api_error) = cause.downcast_ref::<ApiError>() {
            return exit_for_api_error(api_error);
        }
    }
    Exit::Internal
}

/// Maps an API error to the documented exit code. `ApiError` is `#[non_exhaustive]` (core may
/// add variants), so this goes by its classification methods, with every new kind of failure
/// an internal error (1) until it is classified.
///
/// [`ApiError::Interrupted`] gives `Exit::Interrupted(Signal::Interrupt)`: the error does not
/// know the signal; [`crate::run_local`] replaces it with the one the [`crate::Shutdown`]
/// recorded (see [`Exit::attributed_to`]).
pub fn exit_for_api_error(error: &ApiError) -> Exit {
    if error.is_interrupted() {
        Exit::Interrupted(Signal::Interrupt)
    } else if error.is_auth_failure() {
        Exit::AccessDenied
    } else if error.is_not_found() {
        Exit::NotFound
    } else if error.is_unreachable() {
        Exit::Unreachable
    } else if matches!(
        error,
        ApiError::InvalidServerUrl { .. }
            | ApiError::InvalidCaCertificate { .. }
            | ApiError::InvalidCredentials { .. }
            | ApiError::RequestHeadersTooLarge { .. }
    ) {
        Exit::Usage
    } else {
        Exit::Internal
    }
}

/// A name or Id that does not resolve: always "not found" (3), ambiguity included.
pub fn exit_for_resolve_error(error: &ResolveError) -> Exit {
    match error {
        ResolveError::SpaceNotFound { .. }
        | ResolveError::AmbiguousSpace { .. }
        | ResolveError::PoolNotFound { .. }
        | ResolveError::AmbiguousPool { .. } => Exit::NotFound,
    }
}

/// A failed lookup: a name that does not resolve (3), or the read's own code.
pub fn exit_for_lookup_error(error: &LookupError) -> Exit {
    match error {
        LookupError::Resolve(error) => exit_for_resolve_error(error),
        LookupError::ReadSpace { error, .. }
        | LookupError::ListSpaces(error)
        | LookupError::ListPools { error, .. } => exit_for_api_error(error),
    }
}

/// A failed discovery.
pub fn exit_for_discover_error(error: &DiscoverError) -> Exit {
    match error {
        DiscoverError::ListSpaces(error) | DiscoverError::ListPools { error, .. } => {
            exit_for_api_error(error)
        }
        DiscoverError::AmbiguousPool(error) | DiscoverError::InitialSpace(error) => {
            exit_for_resolve_error(error)
        }
        DiscoverError::NoQualifyingSpace { .. } if error.every_space_refused() => {
            Exit::AccessDenied
        }
        DiscoverError::InitialSpaceSkipped { skipped, .. } => match skipped.cause {
            SkipCause::PermissionRefused(_) => Exit::AccessDenied,
            SkipCause::DynamicPool(_) => Exit::NotFound,
        },
        DiscoverError::NoQualifyingSpace { .. }
        | DiscoverError::InitialSpaceExcluded { .. }
        | DiscoverError::InitialSpaceLacksPool { .. } => Exit::NotFound,
    }
}

/// A wait that could not run.
pub fn exit_for_wait_error(error: &WaitError) -> Exit {
    match error {
        WaitError::Lookup(error) => exit_for_lookup_error(error),
        WaitError::DynamicPool { .. } => Exit::NotFound,
        WaitError::ReadWorkers { error, .. } => exit_for_api_error(error),
    }
}

/// How a wait ended: a timeout ends with 4, an interruption with 130/143 (the signal is
/// attributed by [`crate::run_local`], see [`Exit::attributed_to`]).
pub fn exit_for_wait_status(status: WaitStatus) -> Exit {
    match status {
        WaitStatus::Satisfied => Exit::Success,
        WaitStatus::TimedOut => Exit::TimedOut,
        WaitStatus::Interrupted => Exit::Interrupted(Signal::Interrupt),
    }
}

/// A share that could do nothing at all.
pub fn exit_for_share_error(error: &ShareError) -> Exit {
    match error {
        ShareError::ListSpaces(error)
        | ShareError::ListSourcePools { error, .. }
        | ShareError::ReadSourceWorkers { error, .. } => exit_for_api_error(error),
        ShareError::SourceSpace(error) | ShareError::SourcePool(error) => {
            exit_for_resolve_error(error)
        }
        ShareError::DynamicSourcePool { .. } => Exit::NotFound,
    }
}

/// How a share ended: 0 when everything was done, 6 when every failure was a refused
/// permission and no write was done (the fix is the key), 5 when something else failed, some
/// writes were refused while others were done, or something was left undone; 130/143 when it
/// was interrupted (whatever else happened: the report still lists every failure).
pub fn exit_for_share_verdict(verdict: ShareVerdict) -> Exit {
    match verdict {
        ShareVerdict::Done => Exit::Success,
        ShareVerdict::PermissionRefused => Exit::AccessDenied,
        ShareVerdict::Failed => Exit::PartialFailure,
        ShareVerdict::Interrupted => Exit::Interrupted(Signal::Interrupt),
    }
}

/// A retirement that could not start.
pub fn exit_for_retire_error(error: &RetireError) -> Exit {
    match error {
        RetireError::ListSpaces(error) => exit_for_api_error(error),
    }
}

/// How a retirement ended: an interruption first, then a write refused for lack of permission
/// (6), then any failure (5), then registrations still held by a task (4).
pub fn exit_for_retire_outcome(outcome: &RetireOutcome) -> Exit {
    match outcome.status {
        // The signal is not known here: `run_local` attributes it (130 or 143).
        RetireStatus::Interrupted => Exit::Interrupted(Signal::Interrupt),
        _ if outcome.permission_refused => Exit::AccessDenied,
        RetireStatus::Failed => Exit::PartialFailure,
        RetireStatus::StillBusy => Exit::TimedOut,
        RetireStatus::Retired | RetireStatus::NothingToRetire | RetireStatus::DryRun => {
            Exit::Success
        }
    }
}

/// Renders an error chain as the single line printed to the user (`{:#}`, newlines folded).
pub fn one_line(error: &anyhow::Error) -> String {
    fold_lines(&format!("{error:#}"))
}

/// Renders a typed error and its sources as one line: each cause after a `: `, newlines folded.
pub fn error_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    fold_lines(&text)
}

fn fold_lines(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use octoshare_core::domain::{PoolRef, ResolvedTarget, SpaceRef};

    #[test]
    fn exit_error_in_context_chain_decides() {
        let error = anyhow::Error::new(ExitError::not_found("no space named 'X'"))
            .context("while resolving spaces");
        assert_eq!(exit_for_error(&error), Exit::NotFound);
        assert_eq!(
            one_line(&error),
            "while resolving spaces: no space named 'X'"
        );
    }

    #[test]
    fn bad_connection_settings_are_usage_errors() {
        let error = anyhow::Error::new(ApiError::InvalidCredentials {
            what: octoshare_core::CredentialKind::ApiKey,
            reason: "contains a line break".to_owned(),
        });
        assert_eq!(exit_for_error(&error), Exit::Usage);
    }

    #[test]
    fn unknown_errors_are_internal() {
        assert_eq!(exit_for_error(&anyhow::anyhow!("boom")), Exit::Internal);
    }

    #[test]
    fn one_line_folds_newlines() {
        let error = anyhow::anyhow!("first\nsecond\r\n third");
        assert_eq!(one_line(&error), "first second third");
    }

    fn api_error(status: u16) -> ApiError {
        match status {
            401 => ApiError::Unauthorized {
                server: "https://octopus.example".into(),
                credential: octoshare_core::CredentialKind::ApiKey,
                missing: false,
                message: "API key rejected (401)".into(),
            },
            404 => ApiError::NotFound {
                what: "GET /api/Spaces-9".into(),
                message: "gone".into(),
            },
            _ => ApiError::Server {
                method: "GET".into(),
                path: "/api/spaces/all".into(),
                status,
                message: String::new(),
                attempts: 6,
            },
        }
    }

    fn resolve_errors() -> Vec<ResolveError> {
        let space = SpaceRef::new("Spaces-1", "Default");
        vec![
            ResolveError::SpaceNotFound {
                wanted: "Nope".into(),
                searched: 3,
            },
            ResolveError::AmbiguousSpace {
                wanted: "team".into(),
                candidates: vec![
                    SpaceRef::new("Spaces-2", "Team"),
                    SpaceRef::new("Spaces-3", "TEAM"),
                ],
            },
            ResolveError::PoolNotFound {
                space: space.clone(),
                wanted: "GCP".into(),
                available: vec!["AWS".into()],
            },
            ResolveError::AmbiguousPool {
                space,
                wanted: "Aws".into(),
                candidates: vec![
                    PoolRef::new("WorkerPools-1", "AWS"),
                    PoolRef::new("WorkerPools-2", "aws"),
                ],
            },
        ]
    }

    /// The total mapping, variant by variant: every step error, resolution failure, wait status
    /// and share verdict has the documented exit code.
    #[test]
    fn every_step_failure_has_its_documented_exit_code() {
        let target = ResolvedTarget::new(
            SpaceRef::new("Spaces-1", "Default"),
            PoolRef::new("WorkerPools-1", "AWS"),
        );
        for error in resolve_errors() {
            assert_eq!(exit_for_resolve_error(&error), Exit::NotFound, "{error}");
            let lookup = LookupError::Resolve(error.clone());
            assert_eq!(exit_for_lookup_error(&lookup), Exit::NotFound);
            for discover in [
                DiscoverError::AmbiguousPool(error.clone()),
                DiscoverError::InitialSpace(error.clone()),
            ] {
                assert_eq!(exit_for_discover_error(&discover), Exit::NotFound);
            }
            let wait = WaitError::Lookup(Box::new(LookupError::Resolve(error.clone())));
            assert_eq!(exit_for_wait_error(&wait), Exit::NotFound);
            for share in [
                ShareError::SourceSpace(error.clone()),
                ShareError::SourcePool(error.clone()),
            ] {
                assert_eq!(exit_for_share_error(&share), Exit::NotFound);
            }
        }
        let space = SpaceRef::new("Spaces-1", "Default");
        for (status, exit) in [
            (401, Exit::AccessDenied),
            (404, Exit::NotFound),
            (503, Exit::Unreachable),
        ] {
            let api = || Box::new(api_error(status));
            assert_eq!(exit_for_api_error(&api_error(status)), exit);
            let lookups = [
                LookupError::ReadSpace {
                    id: "Spaces-1".into(),
                    error: api_error(status),
                },
                LookupError::ListSpaces(api_error(status)),
                LookupError::ListPools {
                    space: space.clone(),
                    error: api_error(status),
                },
            ];
            for lookup in lookups {
                assert_eq!(exit_for_lookup_error(&lookup), exit, "{lookup}");
            }
            for discover in [
                DiscoverError::ListSpaces(api()),
                DiscoverError::ListPools {
                    space: space.clone(),
                    error: api(),
                },
            ] {
                assert_eq!(exit_for_discover_error(&discover), exit, "{discover}");
            }
            let wait = WaitError::ReadWorkers {
                target: target.clone(),
                error: api(),
            };
            assert_eq!(exit_for_wait_error(&wait), exit);
            for share in [
                ShareError::ListSpaces(api()),
                ShareError::ListSourcePools {
                    space: space.clone(),
                    error: api(),
                },
                ShareError::ReadSourceWorkers {
                    source: target.clone(),
                    error: api(),
                },
            ] {
                assert_eq!(exit_for_share_error(&share), exit, "{share}");
            }
        }
        for discover in [
            DiscoverError::NoQualifyingSpace {
                worker_pool: "P".into(),
                searched: 3,
                excluded: None,
                skipped: Vec::new(),
            },
            DiscoverError::InitialSpaceExcluded {
                space: space.clone(),
            },
            DiscoverError::InitialSpaceLacksPool {
                space: space.clone(),
                worker_pool: "P".into(),
                qualifying: Vec::new(),
            },
        ] {
            assert_eq!(
                exit_for_discover_error(&discover),
                Exit::NotFound,
                "{discover}"
            );
        }
        assert_eq!(
            exit_for_wait_error(&WaitError::DynamicPool {
                target: target.clone()
            }),
            Exit::NotFound
        );
        assert_eq!(
            exit_for_share_error(&ShareError::DynamicSourcePool {
                pool: target.clone()
            }),
            Exit::NotFound
        );
        assert_eq!(exit_for_wait_status(WaitStatus::Satisfied), Exit::Success);
        assert_eq!(exit_for_wait_status(WaitStatus::TimedOut), Exit::TimedOut);
        assert_eq!(
            exit_for_wait_status(WaitStatus::Interrupted),
            Exit::Interrupted(Signal::Interrupt)
        );
        assert_eq!(exit_for_share_verdict(ShareVerdict::Done), Exit::Success);
        assert_eq!(
            exit_for_share_verdict(ShareVerdict::Failed),
            Exit::PartialFailure
        );
        assert_eq!(
            exit_for_share_verdict(ShareVerdict::Interrupted),
            Exit::Interrupted(Signal::Interrupt)
        );
        assert_eq!(
            exit_for_share_verdict(ShareVerdict::PermissionRefused),
            Exit::AccessDenied
        );
    }

    #[test]
    fn typed_errors_render_as_one_line_with_their_causes() {
        let error = DiscoverError::ListPools {
            space: SpaceRef::new("Spaces-3", "Payments"),
            error: Box::new(api_error(503)),
        };
        assert_eq!(
            error_line(&error),
            "while listing the worker pools of Payments (Spaces-3): GET /api/spaces/all failed: server error 503 after 6 attempts"
        );
    }

    #[test]
    fn codes_match_the_contract() {
        let codes: Vec<u8> = [
            Exit::Success,
            Exit::Internal,
            Exit::Usage,
            Exit::NotFound,
            Exit::TimedOut,
            Exit::PartialFailure,
            Exit::AccessDenied,
            Exit::Unreachable,
        ]
        .iter()
        .map(|exit| exit.code())
        .collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(Exit::Interrupted(Signal::Interrupt).code(), 130);
        assert_eq!(Exit::Interrupted(Signal::Terminate).code(), 143);
    }

    #[test]
    fn an_interrupted_call_exits_with_the_recorded_signal() {
        let error = anyhow::Error::new(ApiError::Interrupted {
            method: "GET".to_owned(),
            path: "/api/spaces/all".to_owned(),
            in_flight: true,
        })
        .context("while listing spaces");
        let exit = exit_for_error(&error);
        assert_eq!(exit, Exit::Interrupted(Signal::Interrupt));
        assert_eq!(
            exit.attributed_to(Some(Signal::Terminate)).code(),
            143,
            "SIGTERM"
        );
        assert_eq!(exit.attributed_to(None).code(), 130);
        assert_eq!(
            Exit::Unreachable.attributed_to(Some(Signal::Terminate)),
            Exit::Unreachable
        );
    }

    #[test]
    fn hostile_or_oversized_answers_are_unreachable_and_431_is_usage() {
        let other_origin = ApiError::OtherOrigin {
            referrer: "GET /api/spaces/all was redirected (307)".to_owned(),
            target: "http://h/api/spaces/all".to_owned(),
            difference: "scheme http instead of https".to_owned(),
            origin: "https://h".to_owned(),
            advice: "fix it".to_owned(),
        };
        assert_eq!(exit_for_api_error(&other_origin), Exit::Unreachable);
        let too_large = ApiError::ResponseTooLarge {
            method: "GET".to_owned(),
            path: "/api/spaces/all".to_owned(),
            limit: 1024,
            declared: false,
        };
        assert_eq!(exit_for_api_error(&too_large), Exit::Unreachable);
        let headers = ApiError::RequestHeadersTooLarge {
            method: "GET".to_owned(),
            path: "/api/spaces/all".to_owned(),
            credential: octoshare_core::CredentialKind::ApiKey,
        };
        assert_eq!(exit_for_api_error(&headers), Exit::Usage);
    }
}
