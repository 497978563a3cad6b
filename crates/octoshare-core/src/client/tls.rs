//! TLS: the trusted roots (Mozilla's, the system's and any extra CA the caller gives), the
//! certificate verifier (always verifying), and precise descriptions of verification failures.
//!
//! Verification is webpki's, with one addition: a certificate the caller explicitly trusts may
//! also be the server's own certificate even when it is marked as a CA (basic constraints
//! `CA:TRUE`, what `openssl req -x509` makes by default). webpki refuses such a certificate as
//! an end entity (`CaUsedAsEndEntity`); OpenSSL and browsers accept a trusted self-signed
//! certificate. The exception applies only to a certificate byte-for-byte identical to a trusted
//! extra root; its validity period has been checked by webpki before it reports
//! `CaUsedAsEndEntity`, the host name is checked here, and the handshake signature is verified
//! as for any certificate, so the server must hold its private key.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

use crate::error::{ApiError, CertificateProblem};

/// The certificates of a PEM bundle given as extra roots, each checked to be usable as one.
pub(super) fn parse_extra_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ApiError> {
    let invalid = |reason: String| ApiError::InvalidCaCertificate { reason };
    let mut certificates = Vec::new();
    for (index, certificate) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let certificate = certificate
            .map_err(|err| invalid(format!("certificate {} is not valid PEM: {err}", index + 1)))?;
        webpki::anchor_from_trusted_cert(&certificate).map_err(|err| {
            invalid(format!(
                "certificate {} cannot be parsed as an X.509 certificate ({err:?})",
                index + 1
            ))
        })?;
        certificates.push(certificate);
    }
    if certificates.is_empty() {
        return Err(invalid("no certificate found in the PEM data".to_owned()));
    }
    Ok(certificates)
}

/// The rustls configuration every client uses: TLS 1.2 and 1.3, HTTP/2 or HTTP/1.1 by ALPN,
/// roots from Mozilla's list, the system's store and `extra_roots`.
pub(super) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, ApiError> {
    let setup = |reason: String| ApiError::ClientSetup { reason };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // System stores often hold ancient or malformed certificates: skip what does not parse.
    let native = rustls_native_certs::load_native_certs();
    let (_added, _skipped) = roots.add_parsable_certificates(native.certs);
    for certificate in &extra_roots {
        roots
            .add(certificate.clone())
            .map_err(|err| ApiError::InvalidCaCertificate {
                reason: format!("it cannot be used as a trusted root: {err}"),
            })?;
    }
    let webpki =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|err| setup(format!("cannot set up TLS verification: {err}")))?;
    let verifier = Arc::new(Verifier {
        webpki,
        trusted_extra: extra_roots,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|err| setup(format!("cannot set up TLS: {err}")))?
        // Not a way around verification: `Verifier` is webpki's, plus the exception above.
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// webpki's verifier, plus: an explicitly trusted certificate may be the server's own even when
/// it is marked as a CA (see the module documentation).
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    trusted_extra: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verdict {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(other)))
                if is_ca_used_as_end_entity(&other)
                    && self
                        .trusted_extra
                        .iter()
                        .any(|trusted| trusted.as_ref() == end_entity.as_ref()) =>
            {
                // webpki checked the validity period before the basic constraints; the name
                // is checked here. The handshake signature is verified as for any certificate.
                let parsed = ParsedCertificate::try_from(end_entity)?;
                verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

fn is_ca_used_as_end_entity(other: &OtherError) -> bool {
    matches!(
        other.0.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}

/// The rustls error inside a transport error's chain, if the TLS layer failed.
pub(super) fn rustls_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = current {
        if let Some(found) = cause.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        // `io::Error::source` skips the error it wraps (often another `io::Error` holding the
        // rustls error): look inside explicitly.
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let mut inner = io.get_ref();
            while let Some(wrapped) = inner {
                if let Some(found) = wrapped.downcast_ref::<rustls::Error>() {
                    return Some(found);
                }
                inner = wrapped
                    .downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::get_ref);
            }
        }
        current = cause.source();
    }
    None
}

/// Why the server's certificate was refused, in words, when the chain holds a certificate
/// verification failure (which no retry can change).
pub(super) fn certificate_refusal(err: &rustls::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(problem) = err else {
        return None;
    };
    Some(format!(
        "the server's TLS certificate {}",
        refusal_text(problem)
    ))
}

/// The kind of certificate verification failure, when there is one.
pub(super) fn certificate_problem(err: &rustls::Error) -> Option<CertificateProblem> {
    let rustls::Error::InvalidCertificate(problem) = err else {
        return None;
    };
    Some(match problem {
        CertificateError::UnknownIssuer => CertificateProblem::UntrustedIssuer,
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            CertificateProblem::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            CertificateProblem::NotYetValid
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            CertificateProblem::WrongHost
        }
        CertificateError::Other(other) if is_ca_used_as_end_entity(other) => {
            CertificateProblem::CaAsServerCertificate
        }
        _ => CertificateProblem::Other,
    })
}

fn refusal_text(problem: &CertificateError) -> String {
    match problem {
        CertificateError::UnknownIssuer => {
            "is not signed by a trusted CA: trust the CA certificate that signed it (PEM) as an extra root, or the server's own certificate if it is self-signed".to_owned()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "has expired: renew the server's certificate".to_owned()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "is not valid yet: check this machine's clock and the certificate's start date".to_owned()
        }
        CertificateError::NotValidForName => {
            "is not valid for the server's host name: use the host name the certificate was issued for in the server URL".to_owned()
        }
        CertificateError::NotValidForNameContext { expected, presented } => {
            let names = if presented.is_empty() {
                "no name".to_owned()
            } else {
                presented.join(", ")
            };
            format!(
                "is not valid for {} (it names {names}): use a host name the certificate was issued for in the server URL",
                expected.to_str()
            )
        }
        CertificateError::Revoked => "has been revoked".to_owned(),
        CertificateError::BadSignature => "has an invalid signature".to_owned(),
        CertificateError::BadEncoding => "cannot be parsed".to_owned(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "is not meant for a TLS server (its extended key usage)".to_owned()
        }
        CertificateError::Other(other) if is_ca_used_as_end_entity(other) => {
            "is marked as a CA certificate (basic constraints CA:TRUE), and a CA certificate can only be the server's own certificate when exactly that certificate is trusted as an extra root: trust that very certificate, or the CA that signed it, or issue the server a certificate with CA:FALSE (openssl req -x509 ... -addext basicConstraints=critical,CA:FALSE -addext subjectAltName=DNS:<host>)".to_owned()
        }
        other => format!("was refused ({other})"),
    }
}
