//! LMTP (RFC 2033) with RFC 5321 command syntax and the extensions postcore
//! announces: PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES (RFC 2034), SIZE
//! (RFC 1870) and SMTPUTF8 (RFC 6531). The DATA body is read with
//! [`crate::DataDecoder`].

mod command;
mod error;
mod path;
mod reply;

pub use command::{Body, Command, Limits, MailParams, parse_command};
pub use error::{Error, ErrorKind};
pub use path::{LocalParts, Mailbox, ReversePath};
pub use reply::{EnhancedCode, Extension, write_error, write_lhlo, write_reply, write_reply_lines};
