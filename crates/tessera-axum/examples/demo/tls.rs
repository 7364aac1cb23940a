//! HTTPS for the demos when device binding is on (browsers register device-bound sessions only
//! over HTTPS): a self-signed certificate for `localhost` and `127.0.0.1`, made at start and
//! kept only in memory. Shared by the axum demo and the actix-web one.

use std::sync::Arc;

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The server's TLS settings, and the base64 SHA-256 of the certificate's public key (what
/// Chromium's `--ignore-certificate-errors-spki-list` takes to trust it).
pub struct SelfSigned {
    pub config: rustls::ServerConfig,
    pub spki_sha256: String,
}

pub fn self_signed() -> Result<SelfSigned, Box<dyn std::error::Error>> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    let spki_sha256 = STANDARD.encode(digest(&SHA256, &certified.key_pair.public_key_der()));
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(certified.cert.der().to_vec())],
        key,
    )?;
    Ok(SelfSigned {
        config,
        spki_sha256,
    })
}
