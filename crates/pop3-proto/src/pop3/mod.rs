//! POP3 (RFC 1939) with the extensions postcore announces: CAPA and response
//! codes (RFC 2449, RFC 3206), STLS (RFC 2595), SASL AUTH (RFC 5034) and
//! UTF8 (RFC 6856). LANG (RFC 6856) is not parsed: responses are English
//! only, so it is an unknown command and never announced.

mod capability;
mod command;
mod error;
mod response;
mod sasl;
mod top;

pub use capability::{Capability, Expire, write_capa};
pub use command::{Command, Limits, MAX_MESSAGE_NUMBER, parse_command};
pub use error::{Error, ErrorClass, ErrorKind};
pub use response::{
    RespCode, write_err, write_error, write_listing, write_message, write_multiline_end, write_ok,
    write_ok_scan, write_sasl_challenge, write_stat, write_uidl,
};
pub use sasl::{SaslResponse, decode_base64, parse_sasl_response};
pub use top::{top_len, write_top};
