//! Why a POP3 line was refused and what the session does next.

use crate::line::Recovery;
use thiserror::Error;

/// The broad kinds of refusal, for logs, metrics and the bad-command count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    UnknownCommand,
    BadArguments,
    LineTooLong,
    BadSasl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    EmptyLine,
    UnknownCommand,
    MissingArgument,
    TooManyArguments,
    BadMessageNumber,
    BadLineCount,
    BadDigest,
    BadMechanism,
    /// A NUL byte: never valid in POP3, and it would cut C strings short in
    /// anything the line is passed on to.
    NulByte,
    LineTooLong,
    /// An AUTH initial response or continuation line that is not base64.
    BadBase64,
}

impl ErrorKind {
    pub fn class(self) -> ErrorClass {
        match self {
            ErrorKind::EmptyLine | ErrorKind::UnknownCommand => ErrorClass::UnknownCommand,
            ErrorKind::MissingArgument
            | ErrorKind::TooManyArguments
            | ErrorKind::BadMessageNumber
            | ErrorKind::BadLineCount
            | ErrorKind::BadDigest
            | ErrorKind::BadMechanism
            | ErrorKind::NulByte => ErrorClass::BadArguments,
            ErrorKind::LineTooLong => ErrorClass::LineTooLong,
            ErrorKind::BadBase64 => ErrorClass::BadSasl,
        }
    }

    /// The text after `-ERR`; static so refusing never allocates.
    pub fn text(self) -> &'static str {
        match self {
            ErrorKind::EmptyLine => "Empty command line",
            ErrorKind::UnknownCommand => "Unknown command",
            ErrorKind::MissingArgument => "Missing argument",
            ErrorKind::TooManyArguments => "Too many arguments",
            ErrorKind::BadMessageNumber => "Invalid message number",
            ErrorKind::BadLineCount => "Invalid number of lines",
            ErrorKind::BadDigest => "Invalid APOP digest",
            ErrorKind::BadMechanism => "Invalid SASL mechanism name",
            ErrorKind::NulByte => "NUL byte in command line",
            ErrorKind::LineTooLong => "Input line too long",
            ErrorKind::BadBase64 => "Invalid base64 data",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// A refused line: answer `-ERR` with [`ErrorKind::text`] (see
/// [`crate::pop3::write_error`]), then apply the [`Recovery`]. Every POP3
/// refusal leaves the session usable; how many in a row to tolerate is the
/// session's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct Error {
    pub kind: ErrorKind,
    pub recovery: Recovery,
}

impl Error {
    pub(crate) fn resync(kind: ErrorKind, skip: usize) -> Self {
        Error {
            kind,
            recovery: Recovery::Resync { skip },
        }
    }

    pub fn class(&self) -> ErrorClass {
        self.kind.class()
    }
}
