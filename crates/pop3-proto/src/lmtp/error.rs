//! Why an LMTP command line was refused: the reply code, the enhanced
//! status code and the text to answer with, and how to carry on.

use super::reply::EnhancedCode;
use crate::line::Recovery;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    EmptyLine,
    UnknownCommand,
    /// RFC 2033 §4.1: HELO and EHLO are not LMTP; never a 2xx, 500 advised.
    HeloInLmtp,
    LineTooLong,
    NulByte,
    MissingArgument,
    UnexpectedArgument,
    BadDomain,
    /// `MAIL` without `FROM:` or `RCPT` without `TO:`.
    ExpectedFromTo,
    BadSenderSyntax,
    BadRecipientSyntax,
    /// A parameter postcore knows with a value it cannot take.
    BadParameterValue,
    DuplicateParameter,
    /// RFC 5321 §4.1.1.11: parameters not recognised get 555.
    UnknownParameter,
}

impl ErrorKind {
    /// The three-digit reply code.
    pub fn code(self) -> u16 {
        match self {
            ErrorKind::EmptyLine
            | ErrorKind::UnknownCommand
            | ErrorKind::HeloInLmtp
            | ErrorKind::LineTooLong
            | ErrorKind::NulByte => 500,
            ErrorKind::UnknownParameter => 555,
            _ => 501,
        }
    }

    /// The RFC 3463 status code sent after the reply code.
    pub fn enhanced(self) -> EnhancedCode {
        match self {
            ErrorKind::UnknownCommand | ErrorKind::HeloInLmtp => EnhancedCode::INVALID_COMMAND,
            ErrorKind::EmptyLine | ErrorKind::LineTooLong | ErrorKind::NulByte => {
                EnhancedCode::SYNTAX_ERROR
            }
            ErrorKind::BadSenderSyntax => EnhancedCode::BAD_SENDER_SYNTAX,
            ErrorKind::BadRecipientSyntax => EnhancedCode::BAD_DESTINATION_SYNTAX,
            ErrorKind::MissingArgument
            | ErrorKind::UnexpectedArgument
            | ErrorKind::BadDomain
            | ErrorKind::ExpectedFromTo
            | ErrorKind::BadParameterValue
            | ErrorKind::DuplicateParameter
            | ErrorKind::UnknownParameter => EnhancedCode::INVALID_ARGUMENTS,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            ErrorKind::EmptyLine => "Empty command line",
            ErrorKind::UnknownCommand => "Unknown command",
            ErrorKind::HeloInLmtp => "This is LMTP: use LHLO",
            ErrorKind::LineTooLong => "Line too long",
            ErrorKind::NulByte => "NUL byte in command line",
            ErrorKind::MissingArgument => "Missing argument",
            ErrorKind::UnexpectedArgument => "Unexpected argument",
            ErrorKind::BadDomain => "Invalid domain name",
            ErrorKind::ExpectedFromTo => "Syntax: MAIL FROM:<address>, RCPT TO:<address>",
            ErrorKind::BadSenderSyntax => "Invalid sender address syntax",
            ErrorKind::BadRecipientSyntax => "Invalid recipient address syntax",
            ErrorKind::BadParameterValue => "Invalid parameter value",
            ErrorKind::DuplicateParameter => "Parameter given twice",
            ErrorKind::UnknownParameter => "Unsupported parameter",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// A refused line: answer with [`crate::lmtp::write_error`], then apply the
/// [`Recovery`]. Every refusal leaves the session usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{} {}", kind.code(), kind)]
pub struct Error {
    pub kind: ErrorKind,
    pub recovery: Recovery,
}
