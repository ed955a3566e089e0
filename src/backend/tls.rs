//! TLS for the HTTP backends: extra certificate authorities to trust (`--cacert`), and telling a
//! failed TLS handshake from a network fault. A handshake that failed fails the same way every
//! time (a certificate this system does not trust, one for another name or expired, a server that
//! does not speak TLS), so it is reported at once with what to do, not retried for minutes.

use rustls::{CertificateError, Error as TlsError};
use std::error::Error as StdError;
use std::path::Path;

/// The largest certificate file read: far more than any bundle of authorities.
const CA_FILE_MAX: u64 = 4 << 20;

/// The certificates of a PEM file (one or several `CERTIFICATE` blocks), to trust as certificate
/// authorities beside the system's. The error says which file and why.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut pem = Vec::new();
    file.take(CA_FILE_MAX + 1)
        .read_to_end(&mut pem)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if pem.len() as u64 > CA_FILE_MAX {
        return Err(format!(
            "{shown} is larger than {CA_FILE_MAX} bytes: not a file of certificates"
        ));
    }
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{shown} is not a PEM file of certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{shown} holds no certificate (expected PEM blocks \"-----BEGIN CERTIFICATE-----\")"
        ));
    }
    Ok(certs)
}

/// What went wrong, for a person, if a TLS handshake failure is among the causes of `e`.
pub(super) fn handshake_failure(e: &(dyn StdError + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(t) = c.downcast_ref::<TlsError>() {
            return Some(describe(t));
        }
        // hyper hands rustls's error on inside io::Errors (two deep), whose `source` skips the
        // error they wrap: go into it instead.
        cause = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => c.source(),
        };
    }
    None
}

fn describe(e: &TlsError) -> String {
    const OWN_CA: &str = "if the server's certificate is signed by an authority of your own, give \
                          that authority's certificate with --cacert FILE (or BACKSTOCK_CACERT)";
    match e {
        TlsError::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "TLS: the server's certificate is not signed by an authority this system trusts; \
             {OWN_CA}"
        ),
        TlsError::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "TLS: the server's certificate is for another host name than the one in the \
              repository location"
            .to_string(),
        TlsError::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "TLS: the server's certificate has expired".to_string(),
        TlsError::InvalidMessage(_) | TlsError::InappropriateMessage { .. } => {
            "TLS: the server does not answer in TLS (is it an http:// server?)".to_string()
        }
        other => format!("TLS: {other}; {OWN_CA}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_error_is_found_below_an_io_error() {
        // As hyper hands it on: an io::Error in an io::Error.
        let io = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            TlsError::InvalidCertificate(CertificateError::UnknownIssuer),
        ));
        let msg = handshake_failure(&io).unwrap();
        assert!(msg.contains("--cacert"), "{msg}");
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(handshake_failure(&plain).is_none());
    }

    #[test]
    fn files_without_certificates_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let e = load_ca_file(&f).unwrap_err();
        assert!(e.contains("ca.pem"), "{e}");
        let e = load_ca_file(&dir.path().join("missing.pem")).unwrap_err();
        assert!(
            e.contains("missing.pem") && e.contains("cannot open"),
            "{e}"
        );
    }
}
