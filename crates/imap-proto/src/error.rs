//! The typed parse error and the decision the session must take on it.

use thiserror::Error;

/// What the session must do after a [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Answer with a tagged response (see [`ParseError::status`]) and drop
    /// `skip` bytes from the front of the read buffer; the next command starts
    /// right after them. `skip` never exceeds the bytes that were passed in.
    Resync { skip: usize },
    /// The byte stream cannot be resynchronised: send an untagged `BYE`
    /// (with [`ParseError::code`] if any) and close the connection.
    Close,
}

/// Which tagged status the session answers with when it can resynchronise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Bad,
    No,
}

/// Response codes an error is reported with (`NO [TOOBIG]`, `BAD [LIMIT]`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    TooBig,
    Limit,
    BadCharset,
    ClientBug,
    Parse,
}

impl ErrorCode {
    /// The code as it appears between brackets.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::TooBig => "TOOBIG",
            ErrorCode::Limit => "LIMIT",
            ErrorCode::BadCharset => "BADCHARSET (UTF-8 US-ASCII)",
            ErrorCode::ClientBug => "CLIENTBUG",
            ErrorCode::Parse => "PARSE",
        }
    }
}

/// Every way a command can be refused. The `Display` text is what the
/// session puts after `BAD`/`NO`/`BYE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    EmptyLine,
    BadTag,
    MissingCommand,
    UnknownCommand,
    LineTooLong,
    CommandTooLong,
    LiteralTooBig,
    BadLiteral,
    NulInLiteral,
    UnterminatedQuoted,
    BadQuotedChar,
    BadSequenceSet,
    TooManyRanges,
    TooManyArguments,
    TooDeep,
    BadNumber,
    BadDate,
    BadFlag,
    BadMailbox,
    BadFetchAttribute,
    BadSection,
    BadSearchKey,
    BadCharset,
    BadStatusItem,
    BadStoreAction,
    BadParameter,
    ExpectedSpace,
    ExpectedEol,
    Syntax,
    MissingArguments,
    BadBase64,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(kind_text(*self))
    }
}

impl std::error::Error for ErrorKind {}

/// A refused command: what went wrong, how to answer, what to do next.
///
/// The tag borrows from the read buffer: write the response before dropping
/// the bytes the [`Recovery`] says to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct ParseError<'a> {
    /// The command's tag when it could be read (else answer untagged).
    pub tag: Option<&'a [u8]>,
    pub kind: ErrorKind,
    pub code: Option<ErrorCode>,
    pub status: Status,
    pub recovery: Recovery,
}

impl ParseError<'_> {
    /// Human text for the response.
    pub fn text(&self) -> &'static str {
        kind_text(self.kind)
    }

    /// True when the session must send `BYE` and close.
    pub fn must_close(&self) -> bool {
        self.recovery == Recovery::Close
    }
}

/// Static texts so the session never formats a `String` for an error.
pub fn kind_text(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::EmptyLine => "Empty command line",
        ErrorKind::BadTag => "Invalid tag",
        ErrorKind::MissingCommand => "Missing command name",
        ErrorKind::UnknownCommand => "Unknown command",
        ErrorKind::LineTooLong => "Command line too long",
        ErrorKind::CommandTooLong => "Command too long",
        ErrorKind::LiteralTooBig => "Literal too big",
        ErrorKind::BadLiteral => "Invalid literal",
        ErrorKind::NulInLiteral => "NUL byte in literal (use BINARY APPEND)",
        ErrorKind::UnterminatedQuoted => "Unterminated quoted string",
        ErrorKind::BadQuotedChar => "Invalid character in quoted string",
        ErrorKind::BadSequenceSet => "Invalid sequence set",
        ErrorKind::TooManyRanges => "Too many ranges in sequence set",
        ErrorKind::TooManyArguments => "Too many arguments",
        ErrorKind::TooDeep => "Nesting too deep",
        ErrorKind::BadNumber => "Invalid number",
        ErrorKind::BadDate => "Invalid date",
        ErrorKind::BadFlag => "Invalid flag",
        ErrorKind::BadMailbox => "Invalid mailbox name",
        ErrorKind::BadFetchAttribute => "Unknown FETCH attribute",
        ErrorKind::BadSection => "Invalid body section",
        ErrorKind::BadSearchKey => "Unknown SEARCH key",
        ErrorKind::BadCharset => "Unsupported charset",
        ErrorKind::BadStatusItem => "Unknown STATUS item",
        ErrorKind::BadStoreAction => "Invalid STORE action",
        ErrorKind::BadParameter => "Invalid or unsupported command parameter",
        ErrorKind::ExpectedSpace => "Expected space",
        ErrorKind::ExpectedEol => "Expected end of line",
        ErrorKind::Syntax => "Syntax error in arguments",
        ErrorKind::MissingArguments => "Missing arguments",
        ErrorKind::BadBase64 => "Invalid base64 line",
    }
}

impl ErrorKind {
    /// The response code and status a resynchronisable error of this kind
    /// is answered with.
    pub(crate) fn answer(self) -> (Status, Option<ErrorCode>) {
        match self {
            ErrorKind::LiteralTooBig | ErrorKind::CommandTooLong => {
                (Status::No, Some(ErrorCode::TooBig))
            }
            ErrorKind::TooManyRanges | ErrorKind::TooManyArguments | ErrorKind::TooDeep => {
                (Status::Bad, Some(ErrorCode::Limit))
            }
            ErrorKind::BadCharset => (Status::No, Some(ErrorCode::BadCharset)),
            _ => (Status::Bad, None),
        }
    }
}
