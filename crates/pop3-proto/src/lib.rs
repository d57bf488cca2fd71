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
//!
//! ```
//! use bytes::{Buf, BytesMut};
//! use pop3_proto::{Recovery, pop3};
//!
//! let mut input = BytesMut::from(&b"STAT\r\nRETR x\r\nQUIT\r\n"[..]);
//! let mut output = BytesMut::new();
//! let limits = pop3::Limits::default();
//! loop {
//!     match pop3::parse_command(&input, &limits) {
//!         Ok(None) => break, // read more from the socket
//!         Ok(Some(parsed)) => {
//!             match parsed.value {
//!                 pop3::Command::Stat => pop3::write_stat(&mut output, 2, 320),
//!                 pop3::Command::Quit => pop3::write_ok(&mut output, b"Bye"),
//!                 _ => {}
//!             }
//!             input.advance(parsed.consumed);
//!         }
//!         Err(e) => {
//!             pop3::write_error(&mut output, &e);
//!             // DiscardToEol also asks to drop input up to the next LF
//!             // (see `skip_to_eol`) before parsing again.
//!             input.advance(e.recovery.skip());
//!             assert!(matches!(e.recovery, Recovery::Resync { .. }));
//!         }
//!     }
//! }
//! assert_eq!(&output[..], b"+OK 2 320\r\n-ERR Invalid message number\r\n+OK Bye\r\n");
//! ```

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
