//! A client connection's byte transport: a glommio TCP socket, optionally
//! wrapped in rustls, with the plaintext read buffer the protocol parsers work
//! on and the write buffer responses are encoded into.
//!
//! rustls is driven by hand (`read_tls`/`write_tls`) rather than through an
//! async adapter so that the whole state of a connection (socket, TLS session,
//! bytes read but not yet parsed) can be taken apart into a [`Handoff`], sent
//! to another shard and put back together there.

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// Bytes asked of the socket per read; also the TLS record size bound.
const READ_CHUNK: usize = 16 * 1024 + 256;
/// Plaintext handed to rustls per step, so its internal buffer stays bounded.
const TLS_WRITE_CHUNK: usize = 64 * 1024;

pub struct Conn {
    sock: TcpStream,
    tls: Option<Box<ServerConnection>>,
    /// Plaintext responses not yet sent.
    pub wbuf: BytesMut,
    scratch: Vec<u8>,
    /// Plaintext taken out of rustls that no fill() has returned yet (see
    /// `feed_tls`). Kept here, not in the caller's buffer, so that a fill()
    /// dropped while it awaits loses nothing.
    tls_in: BytesMut,
    tls_out: Vec<u8>,
    peer: SocketAddr,
    local: SocketAddr,
    /// Where this connection's wire bytes are counted (the current shard's
    /// metrics); set again after a hand-off.
    meter: Option<Meter>,
    /// COMPRESS=DEFLATE, once the client asked for it.
    deflate: Option<Box<crate::deflate::Deflate>>,
    /// Reused output of the compressor, and input buffer of the
    /// decompressor (compressed bytes as read, before `Deflate` takes them).
    zout: Vec<u8>,
    zin: BytesMut,
}

/// A shard's metrics and the protocol a connection speaks.
pub type Meter = (
    std::sync::Arc<crate::metrics::ShardMetrics>,
    crate::metrics::Proto,
);

/// Everything a connection is, in a form that can cross to another shard.
pub struct Handoff {
    fd: OwnedFd,
    tls: Option<Box<ServerConnection>>,
    /// COMPRESS state (after UNAUTHENTICATE and a new login elsewhere).
    deflate: Option<Box<crate::deflate::Deflate>>,
    rbuf: BytesMut,
    peer: SocketAddr,
    local: SocketAddr,
}

impl Handoff {
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
}

fn tls_err(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Conn {
    pub fn new(sock: TcpStream) -> io::Result<Conn> {
        let peer = sock.peer_addr()?;
        let local = sock.local_addr()?;
        // Responses are assembled in wbuf and written whole; Nagle would only
        // delay the last segment of each.
        sock.set_nodelay(true)?;
        Ok(Conn {
            sock,
            tls: None,
            wbuf: BytesMut::with_capacity(4096),
            scratch: Vec::new(),
            tls_in: BytesMut::new(),
            tls_out: Vec::new(),
            peer,
            local,
            meter: None,
            deflate: None,
            zout: Vec::new(),
            zin: BytesMut::new(),
        })
    }

    /// Counts this connection's bytes from now on in `m`.
    pub fn set_meter(&mut self, m: Meter) {
        self.meter = Some(m);
    }

    fn count_in(&self, n: usize) {
        if let Some((m, p)) = &self.meter {
            m.read(*p, n);
        }
    }

    fn count_out(&self, n: usize) {
        if let Some((m, p)) = &self.meter {
            m.wrote(*p, n);
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// How long a read may wait before it fails with `TimedOut`.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        Ok(self.sock.set_read_timeout(d)?)
    }

    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        Ok(self.sock.set_write_timeout(d)?)
    }

    /// Turns on COMPRESS=DEFLATE for everything read and written from now
    /// on (after the tagged OK went out uncompressed).
    pub fn start_deflate(&mut self, level: u32) {
        self.deflate = Some(Box::new(crate::deflate::Deflate::new(level)));
    }

    pub fn is_compressed(&self) -> bool {
        self.deflate.is_some()
    }

    /// Input read before compression started that belongs after it.
    pub fn received_compressed(&mut self, bytes: &[u8]) {
        if let Some(z) = self.deflate.as_mut() {
            z.received(bytes);
        }
    }

    /// Reads more plaintext onto the end of `rbuf` (the session's read
    /// buffer, kept outside `Conn` so parsed commands can borrow it while
    /// responses are written). Returns the number of bytes added; 0 means the
    /// peer closed the connection.
    pub async fn fill(&mut self, rbuf: &mut BytesMut) -> io::Result<usize> {
        if self.deflate.is_none() {
            return self.fill_plain(rbuf).await;
        }
        loop {
            if let Some(z) = self.deflate.as_mut()
                && z.has_pending()
            {
                let n = z.inflate(rbuf)?;
                if n > 0 {
                    return Ok(n);
                }
            }
            // A dropped read (the caller raced it against IDLE or a stop)
            // takes nothing: bytes only move into `pending` after it ends,
            // and `fill_plain` leaves no room behind when it is dropped.
            let mut raw = std::mem::take(&mut self.zin);
            let n = self.fill_plain(&mut raw).await?;
            if let Some(z) = self.deflate.as_mut() {
                z.received(&raw);
            }
            raw.clear();
            self.zin = raw;
            if n == 0 {
                return Ok(0);
            }
        }
    }

    /// [`Conn::fill`] below compression: what TLS (or the socket) gives.
    async fn fill_plain(&mut self, rbuf: &mut BytesMut) -> io::Result<usize> {
        if self.tls.is_none() {
            let start = rbuf.len();
            rbuf.resize(start + READ_CHUNK, 0);
            // Callers race fill() against other events (IDLE, shutdown) and
            // drop it when those win: the room made for the read must go
            // with it, or zeros would be taken for input.
            let mut room = scopeguard::guard(rbuf, |b| b.truncate(start));
            let n = self.sock.read(&mut room[start..]).await?;
            self.count_in(n);
            let rbuf = scopeguard::ScopeGuard::into_inner(room);
            rbuf.truncate(start + n);
            return Ok(n);
        }
        loop {
            // rustls may already hold decrypted bytes from an earlier record.
            let n = self.drain_tls_plaintext(rbuf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.scratch.len() < READ_CHUNK {
                self.scratch.resize(READ_CHUNK, 0);
            }
            let n = self.sock.read(&mut self.scratch[..READ_CHUNK]).await?;
            self.count_in(n);
            if n == 0 {
                return Ok(0);
            }
            self.feed_tls(n).await?;
        }
    }

    /// Gives `n` ciphertext bytes from `scratch` to rustls and sends whatever
    /// it wants to send in reply (alerts, tickets, handshake records).
    /// Decrypted bytes are moved to `tls_in` as records complete: rustls
    /// holds at most 16 KiB of them and refuses further ciphertext until
    /// they are taken ("received plaintext buffer full"), which a single
    /// read can exceed (a full record completing together with small ones,
    /// as when a client pipelines commands behind a large literal).
    async fn feed_tls(&mut self, n: usize) -> io::Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        let mut input = &self.scratch[..n];
        let mut failure = None;
        while !input.is_empty() {
            match tls.read_tls(&mut input) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = tls.process_new_packets() {
                failure = Some(e);
                break;
            }
            drain_plaintext(tls, &mut self.tls_in)?;
        }
        // On failure rustls has queued an alert for the peer; send it first.
        self.send_tls_records().await?;
        match failure {
            Some(e) => Err(tls_err(e)),
            None => Ok(()),
        }
    }

    fn drain_tls_plaintext(&mut self, rbuf: &mut BytesMut) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(0);
        };
        let taken = self.tls_in.len();
        rbuf.extend_from_slice(&self.tls_in);
        self.tls_in.clear();
        Ok(taken + drain_plaintext(tls, rbuf)?)
    }

    async fn send_tls_records(&mut self) -> io::Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        while tls.wants_write() {
            self.tls_out.clear();
            tls.write_tls(&mut self.tls_out)?;
            self.sock.write_all(&self.tls_out).await?;
            if let Some((m, p)) = &self.meter {
                m.wrote(*p, self.tls_out.len());
            }
        }
        Ok(())
    }

    /// Sends everything in `wbuf`.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.wbuf);
        let r = self.write_through(&out).await;
        // Keep the allocation for the next response.
        self.wbuf = out;
        self.wbuf.clear();
        r
    }

    /// Sends `wbuf` and then `data`, without copying `data` into `wbuf`: the
    /// path for message bodies.
    pub async fn write_direct(&mut self, data: &[u8]) -> io::Result<()> {
        self.flush().await?;
        self.write_through(data).await
    }

    async fn write_through(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(z) = self.deflate.as_mut() else {
            return self.write_plain(data).await;
        };
        let mut out = std::mem::take(&mut self.zout);
        z.deflate(data, &mut out)?;
        let r = self.write_plain(&out).await;
        self.zout = out;
        r
    }

    async fn write_plain(&mut self, data: &[u8]) -> io::Result<()> {
        if self.tls.is_none() {
            self.sock.write_all(data).await?;
            self.count_out(data.len());
            return Ok(());
        }
        for chunk in data.chunks(TLS_WRITE_CHUNK) {
            if let Some(tls) = self.tls.as_mut() {
                tls.writer().write_all(chunk)?;
            }
            self.send_tls_records().await?;
        }
        Ok(())
    }

    /// Runs a TLS handshake as the server (implicit TLS, or after the OK of
    /// STARTTLS). Any plaintext the client sent before the handshake is
    /// discarded: it was not protected and must not be taken as commands
    /// (the STARTTLS command-injection attack, CVE-2011-0411).
    pub async fn start_tls(
        &mut self,
        config: Arc<ServerConfig>,
        rbuf: &mut BytesMut,
    ) -> io::Result<()> {
        if self.tls.is_some() {
            return Err(io::Error::other("TLS is already active"));
        }
        self.flush().await?;
        rbuf.clear();
        let conn = ServerConnection::new(config).map_err(tls_err)?;
        self.tls = Some(Box::new(conn));
        loop {
            let handshaking = self.tls.as_ref().is_some_and(|t| t.is_handshaking());
            self.send_tls_records().await?;
            if !handshaking {
                return Ok(());
            }
            if self.scratch.len() < READ_CHUNK {
                self.scratch.resize(READ_CHUNK, 0);
            }
            let n = self.sock.read(&mut self.scratch[..READ_CHUNK]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed during the TLS handshake",
                ));
            }
            self.feed_tls(n).await?;
            // Data that arrived with the client's Finished message stays in
            // the connection and is read by the next fill().
        }
    }

    /// Turns a connection away with `message` (a protocol's "too many
    /// connections" line). On an implicit-TLS port the handshake comes
    /// first, so the client reads the refusal instead of a TLS error
    /// (RFC 8314 §3.2); it is bounded by `timeout`.
    pub async fn refuse(
        sock: TcpStream,
        implicit_tls: Option<Arc<ServerConfig>>,
        message: &[u8],
        timeout: Duration,
    ) {
        let Ok(mut conn) = Conn::new(sock) else {
            return;
        };
        let _ = conn.set_read_timeout(Some(timeout));
        let _ = conn.set_write_timeout(Some(timeout));
        if let Some(cfg) = implicit_tls {
            let mut scratch = BytesMut::new();
            if conn.start_tls(cfg, &mut scratch).await.is_err() {
                return;
            }
        }
        conn.wbuf.extend_from_slice(message);
        let _ = conn.close().await;
    }

    /// Sends a TLS close_notify (if TLS is on) and whatever is buffered, then
    /// shuts the socket down for writing.
    pub async fn close(mut self) -> io::Result<()> {
        let flushed = self.flush().await;
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
        }
        let _ = self.send_tls_records().await;
        let _ = self.sock.shutdown(std::net::Shutdown::Both).await;
        flushed
    }

    /// Takes the connection apart so that another shard can continue it.
    /// Pending output is sent first; the socket itself is duplicated, since
    /// glommio's stream closes its descriptor when dropped.
    pub async fn into_handoff(mut self, mut rbuf: BytesMut) -> io::Result<Handoff> {
        self.flush().await?;
        // Decrypted but not yet returned by fill(): it follows what the
        // session had read (still compressed, when COMPRESS is on).
        match self.deflate.as_mut() {
            Some(z) => z.received(&self.tls_in),
            None => rbuf.extend_from_slice(&self.tls_in),
        }
        // SAFETY: the descriptor is open and owned by `self.sock`, which lives
        // until after the borrow ends; we only duplicate it.
        let borrowed = unsafe { BorrowedFd::borrow_raw(self.sock.as_raw_fd()) };
        let fd = borrowed.try_clone_to_owned()?;
        Ok(Handoff {
            fd,
            tls: self.tls.take(),
            deflate: self.deflate.take(),
            rbuf,
            peer: self.peer,
            local: self.local,
        })
    }

    /// Puts a handed-off connection back together on the current shard,
    /// with the bytes that had been read and not yet parsed.
    pub fn from_handoff(h: Handoff) -> (Conn, BytesMut) {
        // SAFETY: `h.fd` is an open TCP socket descriptor that we own; the
        // stream takes over that ownership.
        let sock = unsafe { TcpStream::from_raw_fd(h.fd.into_raw_fd()) };
        let conn = Conn {
            sock,
            tls: h.tls,
            wbuf: BytesMut::with_capacity(4096),
            scratch: Vec::new(),
            tls_in: BytesMut::new(),
            tls_out: Vec::new(),
            peer: h.peer,
            local: h.local,
            meter: None,
            deflate: h.deflate,
            zout: Vec::new(),
            zin: BytesMut::new(),
        };
        (conn, h.rbuf)
    }
}

/// Moves the plaintext rustls has decrypted onto the end of `rbuf`.
fn drain_plaintext(tls: &mut ServerConnection, rbuf: &mut BytesMut) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let start = rbuf.len();
        rbuf.resize(start + READ_CHUNK, 0);
        match tls.reader().read(&mut rbuf[start..]) {
            Ok(n) => {
                rbuf.truncate(start + n);
                total += n;
                if n == 0 {
                    // close_notify received: report EOF once drained.
                    return Ok(total);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                rbuf.truncate(start);
                return Ok(total);
            }
            Err(e) => {
                rbuf.truncate(start);
                return Err(e);
            }
        }
    }
}
