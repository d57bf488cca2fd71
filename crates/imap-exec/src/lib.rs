//! IMAP command semantics over postcore's store, with no sockets and no
//! executors: rendering FETCH responses (ENVELOPE, BODYSTRUCTURE, body
//! sections, BINARY) from stored message facts, evaluating SEARCH keys, and
//! the selected-mailbox view that maps sequence numbers to UIDs and turns
//! store changes into EXISTS/EXPUNGE/FETCH updates. The server's sessions
//! call into this crate and own only the connection.

pub mod dates;
pub mod error;
pub mod fetch;
pub mod objectid;
pub mod render;
pub mod search;
pub mod sink;
pub mod sort;
pub mod view;

pub use error::ExecError;
pub use sink::Sink;
