//! The socket under the client: plain TCP, or TLS over it with rustls
//! (from the first byte, or after STARTTLS). Blocking, with the timeouts
//! set on the socket itself, so every read and write is bounded in time
//! whether TLS is in between or not.

use super::{ImapError, Tls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the system keeps its trusted CA bundle (Debian, Fedora/RHEL,
/// Alpine/BSD); the first one present is used when no `ca_file` is given.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    /// Only while STARTTLS swaps one for the other.
    Gone,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// TCP to the first of the host's addresses that answers.
pub(crate) fn connect_tcp(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, ImapError> {
    let addr_text = format!("{host}:{port}");
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|source| ImapError::Connect {
            addr: addr_text.clone(),
            source,
        })?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                let setup = s
                    .set_read_timeout(Some(timeout))
                    .and_then(|()| s.set_write_timeout(Some(timeout)))
                    .and_then(|()| s.set_nodelay(true));
                setup.map_err(|source| ImapError::Connect {
                    addr: addr_text.clone(),
                    source,
                })?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(ImapError::Connect {
        addr: addr_text,
        source: last,
    })
}

/// What a TLS connection needs: the config and the name to check the
/// certificate against.
pub(crate) struct TlsSetup {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl TlsSetup {
    pub(crate) fn new(
        host: &str,
        insecure: bool,
        ca_file: Option<&Path>,
    ) -> Result<Self, ImapError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ImapError::Tls(e.to_string()))?;
        let config = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth()
        } else {
            builder
                .with_root_certificates(roots(ca_file)?)
                .with_no_client_auth()
        };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| ImapError::Tls(format!("{host:?} is not a name TLS can check: {e}")))?;
        Ok(TlsSetup {
            config: Arc::new(config),
            name,
        })
    }

    /// Wraps the socket; the handshake happens on the first read or write.
    pub(crate) fn wrap(&self, tcp: TcpStream) -> Result<Stream, ImapError> {
        let conn = ClientConnection::new(self.config.clone(), self.name.clone())
            .map_err(|e| ImapError::Tls(e.to_string()))?;
        Ok(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }
}

fn roots(ca_file: Option<&Path>) -> Result<rustls::RootCertStore, ImapError> {
    use rustls::pki_types::pem::PemObject;
    let path: PathBuf = match ca_file {
        Some(p) => p.to_path_buf(),
        None => SYSTEM_BUNDLES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| {
                ImapError::Tls(format!(
                    "no CA bundle found (looked for {}); give one, or accept any certificate",
                    SYSTEM_BUNDLES.join(", ")
                ))
            })?,
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| ImapError::Tls(format!("{}: {e}", path.display())))?;
    for cert in certs {
        let cert = cert.map_err(|e| ImapError::Tls(format!("{}: {e}", path.display())))?;
        // A bundle may hold certificates this rustls cannot use; the rest
        // still count.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(ImapError::Tls(format!(
            "{}: no usable CA certificate in it",
            path.display()
        )));
    }
    Ok(roots)
}

/// `--insecure`: any certificate chain and name is accepted (a self-signed
/// test or in-house server). The handshake signatures are still checked,
/// so the peer must hold the key of the certificate it shows; only who
/// vouches for that certificate is not.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Whether this connection kind needs a TLS setup at all.
pub(crate) fn needs_tls(tls: Tls) -> bool {
    !matches!(tls, Tls::None)
}
