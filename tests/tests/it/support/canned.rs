//! The canned HTTP server for the servers the emulator cannot imitate (an HTML page, a redirect
//! loop, a truncated body, another API version, an endless body, a server that never answers)
//! is the workspace's shared one (`octoshare_test_support::http`, re-exported here); this module
//! adds a TLS identity for it and an Octopus root document.

pub use octoshare_test_support::http::{CannedServer, Recorded, Reply};

/// A self-signed certificate for `localhost` (CA:TRUE, as `openssl req -x509` makes it) and
/// its key, for a TLS test server; `pem` is what a user passes as `--ca-cert`.
pub struct TlsIdentity {
    /// The certificate.
    pub certificate: rustls::pki_types::CertificateDer<'static>,
    /// Its private key.
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
    /// The certificate as PEM.
    pub pem: String,
}

impl TlsIdentity {
    /// A new self-signed identity for `localhost`.
    pub fn localhost() -> Self {
        let key = rcgen::KeyPair::generate().expect("a key pair");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("certificate params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let certificate = params.self_signed(&key).expect("a self-signed certificate");
        TlsIdentity {
            certificate: certificate.der().clone(),
            key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            pem: certificate.pem(),
        }
    }
}

/// An Octopus root document with this `ApiVersion`.
pub fn root_document(api_version: &str) -> String {
    format!(
        r#"{{"Application":"Octopus Deploy","Version":"2026.3.0","ApiVersion":"{api_version}","InstallationId":"00000000-0000-0000-0000-000000000000","Links":{{"Self":"/api","Spaces":"/api/spaces{{/id}}{{?skip,ids,take,partialName}}"}}}}"#
    )
}
