//! rustls server configuration: the serving certificate, HTTP/2 + HTTP/1.1
//! ALPN, and optional client certificates verified against the cluster CA.
//! A verified client certificate's CN and O become the user and groups.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::certs::CertError;

/// The authenticated caller (from a client certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> CertError {
    CertError::Invalid(format!("{what}: {e}"))
}

/// Server config from PEM: serving chain + key, client CA.
pub fn server_config(cert_pem: &str, key_pem: &str, client_ca_pem: &str) -> Result<rustls::ServerConfig, CertError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| invalid("serving certificate", e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| invalid("serving key", e))?;
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        roots.add(c.map_err(|e| invalid("client CA", e))?).map_err(|e| invalid("client CA", e))?;
    }
    // Unauthenticated TLS is allowed so health and version stay public; the
    // HTTP layer rejects anonymous API calls with 401.
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| invalid("client verifier", e))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("tls versions", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| invalid("serving certificate", e))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// User and groups from a verified client certificate (CN, O).
pub fn user_from_cert(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    Some(UserInfo { name, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_cert_identity() {
        let dir = tempfile::tempdir().unwrap();
        let pki = super::super::certs::ensure_pki(dir.path(), &[]).unwrap();
        server_config(&pki.serving_cert_pem, &pki.serving_key_pem, &pki.ca_cert_pem).unwrap();
        let der = CertificateDer::from_pem_slice(pki.admin_cert_pem.unwrap().as_bytes()).unwrap();
        let u = user_from_cert(&der).unwrap();
        assert_eq!(u.name, "kubernetes-admin");
        assert_eq!(u.groups, vec!["system:masters".to_string()]);
    }
}
