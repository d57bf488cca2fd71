//! Client connections: plain TCP or implicit TLS (rustls) over glommio sockets.

use futures_lite::{AsyncRead, AsyncWrite};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

pub trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

pub type Stream = Box<dyn Io>;

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("connect {0}: {1}")]
    Connect(String, String),
    #[error("TLS handshake with {0}: {1}")]
    Tls(String, std::io::Error),
    #[error("TLS setup: {0}")]
    Setup(String),
}

/// Accepts any certificate: for `--insecure` runs against self-signed servers.
#[derive(Debug)]
struct NoVerify(Vec<SignatureScheme>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}

/// Builds the TLS client configuration: `insecure` skips verification,
/// otherwise the PEM bundle `ca_pem` is the trust root.
pub fn tls_config(
    insecure: bool,
    ca_pem: Option<&[u8]>,
) -> Result<Arc<rustls::ClientConfig>, ConnError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnError::Setup(e.to_string()))?;
    let cfg = if insecure {
        let schemes = provider
            .signature_verification_algorithms
            .supported_schemes();
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(schemes)))
            .with_no_client_auth()
    } else {
        use rustls::pki_types::pem::PemObject;
        let pem =
            ca_pem.ok_or_else(|| ConnError::Setup("TLS needs --ca FILE or --insecure".into()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ConnError::Setup(format!("CA file: {e:?}")))?;
            roots
                .add(cert)
                .map_err(|e| ConnError::Setup(e.to_string()))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(cfg))
}

/// Opens a connection to `addr`; with `tls` set, completes a TLS handshake
/// for `server_name` first.
pub async fn connect(
    addr: &str,
    tls: Option<(&Arc<rustls::ClientConfig>, &str)>,
) -> Result<Stream, ConnError> {
    let tcp = glommio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| ConnError::Connect(addr.to_string(), e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Box::new(tcp)),
        Some((cfg, name)) => {
            let server_name = ServerName::try_from(name.to_string())
                .map_err(|e| ConnError::Setup(e.to_string()))?;
            let connector = futures_rustls::TlsConnector::from(cfg.clone());
            let s = connector
                .connect(server_name, tcp)
                .await
                .map_err(|e| ConnError::Tls(addr.to_string(), e))?;
            Ok(Box::new(s))
        }
    }
}
