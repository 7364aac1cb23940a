//! HTTPS for the demo when device binding is on (browsers register device-bound sessions only
//! over HTTPS): a self-signed certificate for `localhost` and `127.0.0.1`, made at start and
//! kept only in memory.

use aws_lc_rs::digest::{digest, SHA256};
use axum_server::tls_rustls::RustlsConfig;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The server's TLS settings, and the base64 SHA-256 of the certificate's public key (what
/// Chromium's `--ignore-certificate-errors-spki-list` takes to trust it).
pub struct SelfSigned {
    pub config: RustlsConfig,
    pub spki_sha256: String,
}

pub async fn self_signed() -> Result<SelfSigned, Box<dyn std::error::Error>> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    let spki_sha256 = STANDARD.encode(digest(&SHA256, &certified.key_pair.public_key_der()));
    let config = RustlsConfig::from_der(
        vec![certified.cert.der().to_vec()],
        certified.key_pair.serialize_der(),
    )
    .await?;
    Ok(SelfSigned {
        config,
        spki_sha256,
    })
}
