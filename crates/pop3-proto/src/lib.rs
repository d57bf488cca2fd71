//! POP3 and LMTP grammar for postcore: hand-written, zero-copy, incremental
//! parsers of client commands (POP3 per RFC 1939 with CAPA, RESP-CODES, STLS,
//! SASL AUTH and UTF8; LMTP per RFC 2033 with RFC 5321 command syntax), the
//! dot-stuffing codec both protocols share, and encoders of server responses.
//! No I/O, no storage, no async.
//!
//! The session keeps a read buffer and calls a `parse_*` function on it. The
//! answer is a command that borrows from the buffer plus how many bytes it
//! used, `None` while the line is incomplete, or a typed error that says what
//! to answer and which bytes to drop so the session carries on.

mod line;
pub mod lmtp;
mod number;
pub mod pop3;
mod stuff;
mod text;
mod unstuff;

pub use line::{Parsed, Recovery, skip_to_eol};
pub use stuff::{DotStuffer, NewlineMode, crlf_len};
pub use unstuff::{DataDecoder, DataProgress};
