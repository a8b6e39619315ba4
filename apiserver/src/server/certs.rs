//! The cluster CA, the serving certificate and the admin client certificate,
//! generated at first start (rcgen) and kept as PEM files; plus the admin
//! kubeconfig that points kubectl at the server with that client certificate.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};

/// Errors while creating or loading certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

/// PEM material the server needs.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca_cert_pem: String,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    pub admin_cert_pem: Option<String>,
    pub admin_key_pem: Option<String>,
}

fn read(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|source| CertError::Io { path: path.to_path_buf(), source })
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), CertError> {
    let io = |source| CertError::Io { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Loads `dir/{ca,apiserver,admin}.{crt,key}`, creating whatever is missing.
/// `extra_sans` are added to the serving certificate (bind address, hostnames).
pub fn ensure_pki(dir: &Path, extra_sans: &[String]) -> Result<Pki, CertError> {
    let ca_crt = dir.join("ca.crt");
    let ca_key = dir.join("ca.key");
    if !ca_crt.exists() || !ca_key.exists() {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "capstan-ca");
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key)?;
        write(&ca_key, &key.serialize_pem(), true)?;
        write(&ca_crt, &cert.pem(), false)?;
    }
    let ca_cert_pem = read(&ca_crt)?;
    let ca_key_pair = KeyPair::from_pem(&read(&ca_key)?)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert_pem, ca_key_pair)?;

    let srv_crt = dir.join("apiserver.crt");
    let srv_key = dir.join("apiserver.key");
    if !srv_crt.exists() || !srv_key.exists() {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        let mut names: Vec<String> = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        names.push("kubernetes.default.svc.cluster.local".into());
        names.extend(extra_sans.iter().cloned());
        let mut sans = Vec::new();
        for n in names.iter().chain(["127.0.0.1".to_string(), "::1".to_string(), "10.96.0.1".to_string()].iter()) {
            match n.parse::<IpAddr>() {
                Ok(ip) => sans.push(SanType::IpAddress(ip)),
                Err(_) => sans.push(SanType::DnsName(
                    n.clone().try_into().map_err(|_| CertError::Invalid(format!("bad DNS name {n}")))?,
                )),
            }
        }
        sans.dedup();
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = params.signed_by(&key, &issuer)?;
        write(&srv_key, &key.serialize_pem(), true)?;
        write(&srv_crt, &cert.pem(), false)?;
    }

    let adm_crt = dir.join("admin.crt");
    let adm_key = dir.join("admin.key");
    if !adm_crt.exists() || !adm_key.exists() {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, "kubernetes-admin");
        params.distinguished_name.push(DnType::OrganizationName, "system:masters");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = params.signed_by(&key, &issuer)?;
        write(&adm_key, &key.serialize_pem(), true)?;
        write(&adm_crt, &cert.pem(), false)?;
    }
    Ok(Pki {
        ca_cert_pem,
        serving_cert_pem: read(&srv_crt)?,
        serving_key_pem: read(&srv_key)?,
        admin_cert_pem: Some(read(&adm_crt)?),
        admin_key_pem: Some(read(&adm_key)?),
    })
}

/// An admin kubeconfig (YAML) for `server` using the admin client certificate.
pub fn admin_kubeconfig(server: &str, pki: &Pki) -> Result<String, CertError> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let cert = pki.admin_cert_pem.as_deref().ok_or_else(|| CertError::Invalid("no admin certificate".into()))?;
    let key = pki.admin_key_pem.as_deref().ok_or_else(|| CertError::Invalid("no admin key".into()))?;
    Ok(format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: capstan\ncontexts:\n- context:\n    cluster: capstan\n    user: capstan-admin\n  name: capstan\ncurrent-context: capstan\npreferences: {{}}\nusers:\n- name: capstan-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        b64(&pki.ca_cert_pem),
        b64(cert),
        b64(key)
    ))
}

/// Writes the kubeconfig with owner-only permissions.
pub fn write_kubeconfig(path: &Path, contents: &str) -> Result<(), CertError> {
    write(path, contents, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let a = ensure_pki(dir.path(), &["example.test".into()]).unwrap();
        let b = ensure_pki(dir.path(), &[]).unwrap();
        assert_eq!(a.ca_cert_pem, b.ca_cert_pem);
        assert_eq!(a.serving_cert_pem, b.serving_cert_pem);
        let kc = admin_kubeconfig("https://127.0.0.1:6443", &a).unwrap();
        assert!(kc.contains("server: https://127.0.0.1:6443"));
        assert!(kc.contains("client-certificate-data: "));
    }
}
