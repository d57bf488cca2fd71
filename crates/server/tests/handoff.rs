//! A connection accepted and TLS-handshaken on one executor continues on
//! another: the socket, the TLS session and the bytes already read survive the
//! hand-off, and the client never notices.

use bytes::BytesMut;
use glommio::LocalExecutorBuilder;
use glommio::channels::shared_channel;
use glommio::net::TcpListener;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use server::transport::{Conn, Handoff};
use std::io::{Read, Write};
use std::sync::Arc;

fn client_config(cert_pem: &std::path::Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert_pem).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

async fn read_line(conn: &mut Conn, rbuf: &mut BytesMut) -> Vec<u8> {
    loop {
        if let Some(pos) = rbuf.iter().position(|&b| b == b'\n') {
            return rbuf.split_to(pos + 1).to_vec();
        }
        let n = conn.fill(rbuf).await.unwrap();
        assert!(n > 0, "peer closed early");
    }
}

#[test]
fn tls_connection_moves_between_executors() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    server::tls::ensure_self_signed(&cert, &key).unwrap();
    let server_cfg = server::tls::load_server_config(&cert, &key).unwrap();

    let (tx, rx) = shared_channel::new_bounded::<Handoff>(1);
    let (port_tx, port_rx) = std::sync::mpsc::channel();

    let first = LocalExecutorBuilder::default()
        .spawn(move || async move {
            let tx = tx.connect().await;
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let sock = listener.accept().await.unwrap();
            let mut conn = Conn::new(sock).unwrap();
            let mut rbuf = BytesMut::new();
            conn.wbuf.extend_from_slice(b"* OK plain greeting\r\n");
            conn.flush().await.unwrap();
            assert_eq!(read_line(&mut conn, &mut rbuf).await, b"STARTTLS\r\n");
            conn.wbuf.extend_from_slice(b"OK begin\r\n");
            conn.start_tls(server_cfg, &mut rbuf).await.unwrap();
            assert!(conn.is_tls());
            assert_eq!(read_line(&mut conn, &mut rbuf).await, b"LOGIN alice\r\n");
            conn.wbuf.extend_from_slice(b"OK moving you\r\n");
            let h = conn.into_handoff(rbuf).await.unwrap();
            tx.send(h).await.ok().unwrap();
        })
        .unwrap();

    let second = LocalExecutorBuilder::default()
        .spawn(move || async move {
            let rx = rx.connect().await;
            let h = rx.recv().await.unwrap();
            let (mut conn, mut rbuf) = Conn::from_handoff(h);
            // The client pipelined this line right behind LOGIN: it may be in
            // the handed-off buffer or still in the socket; either way it
            // must arrive exactly once.
            assert_eq!(read_line(&mut conn, &mut rbuf).await, b"SELECT INBOX\r\n");
            assert_eq!(read_line(&mut conn, &mut rbuf).await, b"NOOP\r\n");
            conn.wbuf
                .extend_from_slice(b"OK served by the second executor\r\n");
            conn.close().await.unwrap();
        })
        .unwrap();

    let port = port_rx.recv().unwrap();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 256];
    let n = tcp.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"* OK plain greeting\r\n");
    tcp.write_all(b"STARTTLS\r\n").unwrap();
    let mut ok = Vec::new();
    while !ok.ends_with(b"\r\n") {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0);
        ok.extend_from_slice(&buf[..n]);
    }
    assert_eq!(ok, b"OK begin\r\n");

    let conn = rustls::ClientConnection::new(
        client_config(&cert),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"LOGIN alice\r\nSELECT INBOX\r\n").unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        tls.read_exact(&mut byte).unwrap();
        line.push(byte[0]);
    }
    assert_eq!(line, b"OK moving you\r\n");
    tls.write_all(b"NOOP\r\n").unwrap();
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"OK served by the second executor\r\n");

    first.join().unwrap();
    second.join().unwrap();
}

/// A read that loses a race (IDLE waking up for a mailbox change, shutdown)
/// must leave the read buffer as it was: no bytes invented, none lost.
#[test]
fn cancelled_read_leaves_the_buffer_intact() {
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let server = LocalExecutorBuilder::default()
        .spawn(move || async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let sock = listener.accept().await.unwrap();
            let mut conn = Conn::new(sock).unwrap();
            let mut rbuf = BytesMut::from(&b"a1 NO"[..]);
            for _ in 0..3 {
                let raced =
                    futures_lite::future::or(async { Some(conn.fill(&mut rbuf).await) }, async {
                        glommio::timer::sleep(std::time::Duration::from_millis(20)).await;
                        None
                    })
                    .await;
                assert!(raced.is_none(), "nothing was sent yet");
                assert_eq!(&rbuf[..], b"a1 NO", "a lost race changed the buffer");
            }
            go_tx.send(()).unwrap();
            while !rbuf.ends_with(b"\r\n") {
                assert!(conn.fill(&mut rbuf).await.unwrap() > 0);
            }
            assert_eq!(&rbuf[..], b"a1 NOOP\r\n");
        })
        .unwrap();
    let port = port_rx.recv().unwrap();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    go_rx.recv().unwrap();
    tcp.write_all(b"OP\r\n").unwrap();
    server.join().unwrap();
}

/// A client that streams faster than the server parses (a big APPEND
/// literal with the next commands pipelined behind it, as mbsync sends)
/// makes full-size TLS records and small ones arrive together. rustls
/// holds at most 16 KiB of decrypted input and refuses more ciphertext
/// until that is taken out ("received plaintext buffer full"): every byte
/// must still arrive, in order, and the connection must stay up.
#[test]
fn tls_input_of_full_records_and_small_ones_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    server::tls::ensure_self_signed(&cert, &key).unwrap();
    let server_cfg = server::tls::load_server_config(&cert, &key).unwrap();

    // One full record (16 KiB of plaintext) then a short one, many times.
    let mut pieces = Vec::new();
    for i in 0..200u32 {
        pieces.push(vec![b'a' + (i % 26) as u8; 16 * 1024]);
        pieces.push(format!("{i} APPEND INBOX {{16384+}}\r\n").into_bytes());
    }
    let expected: Vec<u8> = pieces.concat();
    let total = expected.len();

    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let server = LocalExecutorBuilder::default()
        .spawn(move || async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let sock = listener.accept().await.unwrap();
            let mut conn = Conn::new(sock).unwrap();
            let mut rbuf = BytesMut::new();
            conn.start_tls(server_cfg, &mut rbuf).await.unwrap();
            while rbuf.len() < total {
                let n = conn.fill(&mut rbuf).await.unwrap();
                assert!(n > 0, "peer closed early after {} bytes", rbuf.len());
            }
            rbuf.to_vec()
        })
        .unwrap();

    let port = port_rx.recv().unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let conn = rustls::ClientConnection::new(
        client_config(&cert),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // Each write becomes one TLS record.
    for p in &pieces {
        tls.write_all(p).unwrap();
    }
    let got = server.join().unwrap();
    assert_eq!(got.len(), total);
    assert!(got == expected, "the bytes arrived changed");
}
