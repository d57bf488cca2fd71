//! Message facts for postcore: everything FETCH, SEARCH and SORT need to know
//! about a message's structure (ENVELOPE, BODYSTRUCTURE, byte offsets of the
//! header, body and every MIME part), computed once at delivery with
//! `mail-parser` and stored next to the message so nothing re-parses MIME later.
//!
//! - [`compute`] / [`compute_with`] turn raw message bytes into [`Facts`];
//!   they never panic and their work is bounded by [`Limits`].
//! - [`Facts::to_bytes`] / [`Facts::from_bytes`] store and load them
//!   (first byte [`FORMAT_VERSION`], then a validated rkyv archive).
//! - [`Facts::section`] maps IMAP section specs (`1.2`, `2.HEADER`,
//!   `1.MIME`, `TEXT`) to byte ranges of the raw message.
//! - [`decode_binary`] undoes a part's transfer encoding for BINARY[].
//!
//! Values IMAP returns verbatim (ENVELOPE fields, BODYSTRUCTURE parameters)
//! are raw header bytes, unfolded, never RFC 2047-decoded; values postcore
//! compares itself (sort keys, preview) are decoded UTF-8. Offsets and sizes
//! are octets of the message as stored: a message stored with bare LF line
//! ends reports LF-based sizes.

mod address;
mod compute;
mod decode;
mod facts;
mod headers;
mod params;
mod section;
mod subject;

pub use compute::{Limits, compute, compute_with};
pub use decode::{DecodeError, classify as classify_transfer_encoding, decode_binary};
pub use facts::{
    Address, Disposition, Envelope, FORMAT_VERSION, Facts, FactsError, MAX_DEPTH_CEILING, Param,
    Part, PartKind, SortAddress, SortKeys, TransferEncoding,
};
pub use section::SectionKind;
pub use subject::base_subject;
