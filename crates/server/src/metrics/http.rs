//! The metrics listener: just enough HTTP/1.x for a Prometheus scraper
//! (`GET /metrics`, one request per connection), plain or inside TLS on an
//! implicit-TLS listener. HTTP has no STARTTLS, so a `starttls` listener
//! (the default mode) serves plain HTTP.

use crate::config::{ListenerConfig, TlsMode};
use crate::shard::Shard;
use bytes::BytesMut;
use std::rc::Rc;
use std::time::Duration;

/// Longest request head accepted; a scraper sends a few hundred bytes.
const MAX_REQUEST: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn serve(shard: Rc<Shard>, sock: glommio::net::TcpStream, l: ListenerConfig) {
    let refusal =
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let Some((mut conn, _guard)) = shard.admit(sock, &l, refusal).await else {
        return;
    };
    let _ = conn.set_read_timeout(Some(TIMEOUT));
    let _ = conn.set_write_timeout(Some(TIMEOUT));
    let mut rbuf = BytesMut::with_capacity(1024);
    if l.tls == TlsMode::Implicit {
        let cfg = shard.tls.load_full();
        if let Err(e) = conn.start_tls(cfg, &mut rbuf).await {
            tracing::debug!(error = %e, "metrics: TLS handshake failed");
            return;
        }
    }
    let head = loop {
        if let Some(end) = memchr::memmem::find(&rbuf, b"\r\n\r\n") {
            break Some(end);
        }
        if rbuf.len() > MAX_REQUEST {
            break None;
        }
        match conn.fill(&mut rbuf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    };
    let mut head_only = false;
    let (status, mut body, content_type) = match head.map(|end| route(&rbuf[..end])) {
        None => (
            "431 Request Header Fields Too Large",
            String::new(),
            "text/plain",
        ),
        Some(Route::Metrics { head_only: h }) => {
            head_only = h;
            let body = shard.metrics_all.render();
            ("200 OK", body, super::collect::CONTENT_TYPE)
        }
        Some(Route::NotFound) => ("404 Not Found", "try /metrics\n".into(), "text/plain"),
        Some(Route::BadMethod) => ("405 Method Not Allowed", String::new(), "text/plain"),
        Some(Route::Bad) => ("400 Bad Request", String::new(), "text/plain"),
    };
    // HEAD: the length GET would have, no body (RFC 9110 §9.3.2).
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if head_only {
        body.clear();
    }
    conn.wbuf.extend_from_slice(header.as_bytes());
    if conn.write_direct(body.as_bytes()).await.is_ok() {
        let _ = conn.close().await;
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics { head_only: bool },
    NotFound,
    BadMethod,
    Bad,
}

/// Looks at the request line only; headers do not change the answer.
fn route(head: &[u8]) -> Route {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|b| *b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::Bad;
    };
    if !version.starts_with(b"HTTP/1.") {
        return Route::Bad;
    }
    let head_only = match method {
        b"GET" => false,
        b"HEAD" => true,
        _ => return Route::BadMethod,
    };
    // Prometheus may add a query string; it selects nothing here.
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    if path == b"/metrics" {
        Route::Metrics { head_only }
    } else {
        Route::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let m = |h: &[u8]| route(h);
        assert_eq!(
            m(b"GET /metrics HTTP/1.1\r\nHost: x"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            m(b"GET /metrics?x=1 HTTP/1.0"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            m(b"HEAD /metrics HTTP/1.1"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(m(b"GET / HTTP/1.1"), Route::NotFound);
        assert_eq!(m(b"POST /metrics HTTP/1.1"), Route::BadMethod);
        assert_eq!(m(b"GET /metrics"), Route::Bad);
        assert_eq!(m(b"GET /metrics SMTP/1.0"), Route::Bad);
        assert_eq!(m(b"GET  /metrics HTTP/1.1"), Route::Bad);
        assert_eq!(m(b""), Route::Bad);
    }
}
