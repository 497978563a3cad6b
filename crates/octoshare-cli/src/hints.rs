//! CLI advice appended to the failure line: which flag or environment variable to look at.
//! Core errors carry the facts only; the names of flags and variables live here.

use octoshare_core::{ApiError, CertificateProblem, CredentialKind, TransportKind};

/// The advice for the first [`ApiError`] in `error`'s chain, if the CLI has any: e.g.
/// `set OCTOPUS_API_KEY or pass --api-key` after a 401 without credentials.
pub fn hint(error: &anyhow::Error) -> Option<String> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ApiError>())
        .and_then(hint_for_api_error)
}

/// `line` with the advice for `error` appended (`line; advice`), or `line` as it is.
pub fn with_hint(line: &str, error: &anyhow::Error) -> String {
    match hint(error) {
        Some(advice) => format!("{line}; {advice}"),
        None => line.to_owned(),
    }
}

/// The advice for one API error, if the CLI has any.
pub fn hint_for_api_error(error: &ApiError) -> Option<String> {
    const SERVER: &str = "check --server or OCTOPUS_URL";
    let names = |kind: &CredentialKind| match kind {
        CredentialKind::ApiKey => ("OCTOPUS_API_KEY", "--api-key"),
        CredentialKind::AccessToken => ("OCTOPUS_ACCESS_TOKEN", "--access-token"),
    };
    let check = |kind: &CredentialKind| {
        let (variable, flag) = names(kind);
        format!("check {variable} or {flag}")
    };
    let advice = match error {
        ApiError::InvalidServerUrl { .. } => SERVER.to_owned(),
        ApiError::NotOctopus { .. } => SERVER.to_owned(),
        ApiError::InvalidCaCertificate { .. } => {
            "check the file given with --ca-cert or OCTOPUS_CA_CERT".to_owned()
        }
        ApiError::InvalidCredentials { what, .. } => check(what),
        ApiError::RequestHeadersTooLarge { credential, .. } => check(credential),
        ApiError::Unauthorized {
            credential,
            missing: true,
            ..
        } => {
            let (variable, flag) = names(credential);
            format!("set {variable} or pass {flag}")
        }
        ApiError::Unauthorized { credential, .. } => check(credential),
        ApiError::OtherOrigin { origin, target, .. } => {
            let downgrade = origin.starts_with("https:") && target.starts_with("http:");
            if downgrade {
                return None;
            }
            "a new server address goes in --server or OCTOPUS_URL".to_owned()
        }
        ApiError::Transport { kind, source, .. } => match (kind, source.certificate_problem()) {
            (
                TransportKind::Tls,
                Some(
                    CertificateProblem::UntrustedIssuer | CertificateProblem::CaAsServerCertificate,
                ),
            ) => "pass the CA certificate (PEM) with --ca-cert or OCTOPUS_CA_CERT".to_owned(),
            (TransportKind::Tls, Some(CertificateProblem::WrongHost)) => SERVER.to_owned(),
            (TransportKind::Timeout, _) => {
                "raise --request-timeout if the server is just slow".to_owned()
            }
            (TransportKind::Connect, _) => {
                "check --server or OCTOPUS_URL, and HTTPS_PROXY/NO_PROXY if a proxy is in the way"
                    .to_owned()
            }
            _ => return None,
        },
        ApiError::RateLimited { .. } => {
            "raise --max-retries or --retry-delay to wait longer".to_owned()
        }
        _ => return None,
    };
    Some(advice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unauthorized(kind: CredentialKind, missing: bool) -> anyhow::Error {
        anyhow::Error::new(ApiError::Unauthorized {
            server: "https://h".to_owned(),
            credential: kind,
            missing,
            message: "API key rejected by https://h (401)".to_owned(),
        })
        .context("while listing spaces")
    }

    #[test]
    fn credentials_advice_names_the_variable_and_the_flag() {
        assert_eq!(
            hint(&unauthorized(CredentialKind::ApiKey, true)).as_deref(),
            Some("set OCTOPUS_API_KEY or pass --api-key")
        );
        assert_eq!(
            hint(&unauthorized(CredentialKind::AccessToken, false)).as_deref(),
            Some("check OCTOPUS_ACCESS_TOKEN or --access-token")
        );
        let too_long = anyhow::Error::new(ApiError::RequestHeadersTooLarge {
            method: "GET".to_owned(),
            path: "/api/spaces/all".to_owned(),
            credential: CredentialKind::ApiKey,
        });
        assert_eq!(
            with_hint("x", &too_long),
            "x; check OCTOPUS_API_KEY or --api-key"
        );
    }

    #[test]
    fn connection_settings_advice() {
        let ca = anyhow::Error::new(ApiError::InvalidCaCertificate {
            reason: "no certificate found in the PEM data".to_owned(),
        });
        assert!(hint(&ca).is_some_and(|advice| advice.contains("--ca-cert")));
        let url = anyhow::Error::new(ApiError::NotOctopus {
            server: "https://h".to_owned(),
            reason: "GET /api returned an HTML page".to_owned(),
        });
        assert!(hint(&url).is_some_and(|advice| advice.contains("OCTOPUS_URL")));
        let downgrade = anyhow::Error::new(ApiError::OtherOrigin {
            referrer: "GET /api/spaces/all was redirected (307)".to_owned(),
            target: "http://h/api/spaces/all".to_owned(),
            difference: "scheme http instead of https".to_owned(),
            origin: "https://h".to_owned(),
            advice: "fix the redirect".to_owned(),
        });
        assert_eq!(hint(&downgrade), None, "never advise following a downgrade");
    }

    #[test]
    fn errors_without_cli_advice_get_none() {
        let interrupted = anyhow::Error::new(ApiError::Interrupted {
            method: "GET".to_owned(),
            path: "/api".to_owned(),
            in_flight: false,
        });
        assert_eq!(hint(&interrupted), None);
        assert_eq!(hint(&anyhow::anyhow!("boom")), None);
        assert_eq!(with_hint("boom", &anyhow::anyhow!("boom")), "boom");
    }
}
