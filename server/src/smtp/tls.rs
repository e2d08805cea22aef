//! STARTTLS: the configured certificate, or one made at start for the configured host name
//! (a lab, `make run`): organisations' mail servers are told to require TLS, and a
//! self-signed certificate still encrypts the hop.

use std::sync::Arc;

use anyhow::Context;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::config::SmtpConfig;

/// The acceptor, and the certificate it shows (PEM), so tests and operators can pin it.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub certificate_pem: String,
}

pub fn load_or_generate(config: &SmtpConfig) -> anyhow::Result<Tls> {
    let (chain, key, certificate_pem) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .with_context(|| format!("reading TIEDOKSI_SMTP_TLS_CERT {cert}"))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("reading TIEDOKSI_SMTP_TLS_CERT {cert}"))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading TIEDOKSI_SMTP_TLS_KEY {key}"))?;
            let pem = std::fs::read_to_string(cert)?;
            (chain, key, pem)
        }
        _ => {
            let generated = rcgen::generate_simple_self_signed(vec![config.hostname.clone()])?;
            tracing::warn!(
                hostname = %config.hostname,
                "SMTP bridge: no TIEDOKSI_SMTP_TLS_CERT/_KEY, so STARTTLS uses a self-signed \
                 certificate made now (fine for a lab; give a real one in production)"
            );
            let pem = generated.cert.pem();
            let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
                .map_err(|error| anyhow::anyhow!("generated key: {error}"))?;
            (vec![generated.cert.der().clone()], key, pem)
        }
    };
    let server = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        certificate_pem,
    })
}
