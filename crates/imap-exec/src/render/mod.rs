//! IMAP syntax for the stored message facts: ENVELOPE and BODY /
//! BODYSTRUCTURE (RFC 9051 §7.5.2), written straight into a response
//! buffer. Strings go through `imap_proto::encode`, which picks quoted or
//! literal form (8-bit bytes stay raw only when the session allows UTF-8).
//!
//! Where the RFC leaves a choice, the output follows Dovecot 2.3 (compared
//! by hand, see the tests): a language list is always parenthesised, a
//! disposition without parameters is `("inline" NIL)`, an absent parameter
//! list is NIL.

mod body_structure;
mod envelope;

pub use body_structure::body_structure;
pub use envelope::envelope;
