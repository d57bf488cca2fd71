//! IMAP grammar for postcore: a hand-written, zero-copy, incremental parser of
//! client commands (IMAP4rev2 and IMAP4rev1 plus the extensions postcore
//! announces) and an encoder of server responses. No I/O, no storage, no async.
//!
//! The session keeps one [`CommandReader`] and a read buffer. Each call
//! frames and parses the next command at the front of the buffer:
//!
//! ```
//! use bytes::{Buf, BytesMut};
//! use imap_proto::{CommandBody, CommandReader, Limits, Parsed, Recovery};
//!
//! let mut reader = CommandReader::new(Limits::default());
//! let mut buf = BytesMut::from(&b"a1 NOOP\r\na2 LOGIN joe {6}\r\n"[..]);
//! let mut out = BytesMut::new();
//! loop {
//!     match reader.parse(&buf) {
//!         Ok(Parsed::Command { command, consumed }) => {
//!             // ... execute `command` (it borrows `buf`) ...
//!             assert_eq!(command.body, CommandBody::Noop);
//!             buf.advance(consumed);
//!         }
//!         Ok(Parsed::Continue { len }) => {
//!             // Synchronizing literal accepted: tell the client to send it.
//!             assert_eq!(len, 6);
//!             imap_proto::encode::continuation(&mut out, "Ready");
//!             break; // then read more from the socket and call again
//!         }
//!         Ok(Parsed::Incomplete { .. }) => break, // read more, call again
//!         Err(e) => {
//!             imap_proto::encode::parse_error(&mut out, &e);
//!             match e.recovery {
//!                 Recovery::Resync { skip } => buf.advance(skip),
//!                 Recovery::Close => break, // BYE was written: close
//!             }
//!         }
//!     }
//! }
//! buf.extend_from_slice(b"secret\r\n");
//! let Ok(Parsed::Command { command, .. }) = reader.parse(&buf) else { panic!() };
//! assert_eq!(command.tag, b"a2");
//! ```
//!
//! Outside command mode the session uses [`parse_idle_done`] (IDLE) and
//! [`parse_auth_line`] (AUTHENTICATE exchanges). Responses are written with
//! the functions in [`encode`].
//!
//! Non-synchronizing literals over the limit: RFC 7888 lets the server
//! either read and discard the bytes or close. We close (`BYE [TOOBIG]`):
//! discarding would let one client make us read an arbitrary number of
//! bytes, and the rest of that command line could not be told apart from
//! the next command anyway.

mod command;
mod cursor;
mod datetime;
pub mod encode;
mod error;
mod fetch;
mod flags;
mod limits;
pub mod mutf7;
mod reader;
mod search;
mod sequence;
mod sort;
mod status;
mod string;

pub use command::{
    AppendMessage, CatPart, CatParts, Command, CommandBody, ListCommand, ListMetadata, ListReturn,
    ListSelect, MetadataDepth, Notify, NotifyFilter, NotifyGroup, Qresync, SelectParams, StoreMode,
};
pub use datetime::{Date, DateTime};
pub use error::{ErrorCode, ErrorKind, ParseError, Recovery, Status};
pub use fetch::{
    FetchAttr, FetchAttrs, FetchModifiers, HeaderList, Macro, Part, Partial, Section, SectionText,
};
pub use flags::{Flag, FlagList};
pub use limits::Limits;
pub use reader::{
    AuthLine, CommandReader, Line, NonSyncLiterals, Parsed, parse_auth_line, parse_idle_done,
};
pub use search::{EntryType, SearchKey, SearchKeys, SearchReturn, parse_search_keys};
pub use sequence::{SeqNum, SeqRange, SequenceSet};
pub use sort::{SortCriterion, SortKey, ThreadAlgorithm};
pub use status::{StatusItem, StatusItems};
pub use string::{AString, Mailbox};
