//! Errors of command execution. A protocol-level refusal (a tagged NO or
//! BAD the client caused) is distinguished from a failure of the store or
//! the connection, which the session logs and answers differently.

use imap_proto::encode::RespStatus;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The command cannot be carried out as asked; answer a tagged response
    /// with this status (NO or BAD), optional response-code atom (e.g.
    /// `NONEXISTENT`, `CANNOT`, `BADCHARSET (UTF-8 US-ASCII)`) and text.
    #[error("{text}")]
    Refused {
        status: RespStatus,
        code: Option<&'static str>,
        text: String,
    },
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
}

impl ExecError {
    pub fn no(code: Option<&'static str>, text: impl Into<String>) -> Self {
        ExecError::Refused {
            status: RespStatus::No,
            code,
            text: text.into(),
        }
    }

    /// A BAD with a response code (`BAD [UIDREQUIRED] ...`).
    pub fn bad_code(code: &'static str, text: impl Into<String>) -> Self {
        ExecError::Refused {
            status: RespStatus::Bad,
            code: Some(code),
            text: text.into(),
        }
    }

    pub fn bad(text: impl Into<String>) -> Self {
        ExecError::Refused {
            status: RespStatus::Bad,
            code: None,
            text: text.into(),
        }
    }
}
