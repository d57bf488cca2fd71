//! postcore's runtime: one glommio executor per core ("shard"), listeners on
//! every shard with SO_REUSEPORT, rustls TLS (implicit and STARTTLS), and the
//! hand-off that moves an authenticated connection to its user's home shard.
//! This is the only crate that knows about sockets and executors.

pub mod config;
pub mod tls;
pub mod transport;
