//! The HTTPS certificate: the configured one, or a self-signed one generated on first start
//! and kept in `data_dir/tls/` so its fingerprint (which the helper can pin) stays stable.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::secrets::write_private_file;

/// The certificate and key to serve, as PEM, with the certificate's SHA-256 fingerprint.
#[derive(Clone)]
pub struct TlsMaterial {
    /// Certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// Private key, PEM.
    pub key_pem: Vec<u8>,
    /// SHA-256 of the leaf certificate's DER, as `AA:BB:…`.
    pub fingerprint: String,
    /// Whether it was generated just now.
    pub generated: bool,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").field("fingerprint", &self.fingerprint).finish()
    }
}

/// Loads the configured pair, or the self-signed pair in `data_dir/tls/`, generating it if
/// absent (for `localhost` and `127.0.0.1`, plus `extra_names`).
pub fn load_or_generate(
    configured: Option<(&Path, &Path)>,
    data_dir: &Path,
    extra_names: &[String],
) -> Result<TlsMaterial, String> {
    let (cert_path, key_path, generated) = match configured {
        Some((c, k)) => (c.to_path_buf(), k.to_path_buf(), false),
        None => {
            let dir = data_dir.join("tls");
            let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
            let generated = !c.exists();
            if generated {
                generate(&c, &k, extra_names)?;
            }
            (c, k, generated)
        }
    };
    let read =
        |p: &PathBuf| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let cert_pem = read(&cert_path)?;
    let key_pem = read(&key_path)?;
    let leaf = CertificateDer::pem_slice_iter(&cert_pem)
        .next()
        .ok_or_else(|| format!("{} holds no certificate", cert_path.display()))?
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    Ok(TlsMaterial { cert_pem, key_pem, fingerprint: fingerprint(&leaf), generated })
}

/// SHA-256 of a certificate's DER, as colon-separated uppercase hex.
pub fn fingerprint(der: &[u8]) -> String {
    digest::digest(&digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn generate(cert_path: &Path, key_path: &Path, extra_names: &[String]) -> Result<(), String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(extra_names.iter().cloned());
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot generate a TLS certificate: {e}"))?;
    write_private_file(key_path, ck.signing_key.serialize_pem().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", key_path.display()))?;
    std::fs::write(cert_path, ck.cert.pem())
        .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))
}
