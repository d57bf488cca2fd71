//! The CAPA response (RFC 2449 §5).

use crate::text::{put_text, put_u64};
use bytes::BufMut;

/// EXPIRE: how long the server keeps retrieved messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expire {
    Never,
    Days(u32),
}

/// One capability line. Which ones apply depends on the session's state
/// (STLS and USER only before login, for instance): the server builds the
/// list, this writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability<'a> {
    Top,
    User,
    /// `SASL` followed by the mechanism names.
    Sasl(&'a [&'a str]),
    RespCodes,
    /// RFC 3206 `[AUTH]` / `[SYS/...]` codes on failed logins.
    AuthRespCode,
    Pipelining,
    Uidl,
    Stls,
    /// `per_user`: the value may differ after login (the `USER` suffix).
    Expire {
        expire: Expire,
        per_user: bool,
    },
    /// Seconds between logins; `per_user` as for EXPIRE.
    LoginDelay {
        seconds: u32,
        per_user: bool,
    },
    /// RFC 6856; `user`: UTF-8 user names are accepted (the `USER` argument).
    Utf8 {
        user: bool,
    },
    Implementation(&'a str),
}

fn put_cap<B: BufMut>(out: &mut B, cap: &Capability<'_>) {
    match cap {
        Capability::Top => out.put_slice(b"TOP"),
        Capability::User => out.put_slice(b"USER"),
        Capability::Sasl(mechs) => {
            out.put_slice(b"SASL");
            for m in *mechs {
                out.put_u8(b' ');
                put_text(out, m.as_bytes());
            }
        }
        Capability::RespCodes => out.put_slice(b"RESP-CODES"),
        Capability::AuthRespCode => out.put_slice(b"AUTH-RESP-CODE"),
        Capability::Pipelining => out.put_slice(b"PIPELINING"),
        Capability::Uidl => out.put_slice(b"UIDL"),
        Capability::Stls => out.put_slice(b"STLS"),
        Capability::Expire { expire, per_user } => {
            out.put_slice(b"EXPIRE ");
            match expire {
                Expire::Never => out.put_slice(b"NEVER"),
                Expire::Days(d) => put_u64(out, u64::from(*d)),
            }
            if *per_user {
                out.put_slice(b" USER");
            }
        }
        Capability::LoginDelay { seconds, per_user } => {
            out.put_slice(b"LOGIN-DELAY ");
            put_u64(out, u64::from(*seconds));
            if *per_user {
                out.put_slice(b" USER");
            }
        }
        Capability::Utf8 { user } => {
            out.put_slice(b"UTF8");
            if *user {
                out.put_slice(b" USER");
            }
        }
        Capability::Implementation(text) => {
            out.put_slice(b"IMPLEMENTATION ");
            put_text(out, text.as_bytes());
        }
    }
    out.put_slice(b"\r\n");
}

/// The whole CAPA response: `+OK`, one line per capability, `.`. No line can
/// start with "." (every capability name is a letter), so no stuffing.
pub fn write_capa<B: BufMut>(out: &mut B, caps: &[Capability<'_>]) {
    out.put_slice(b"+OK Capability list follows\r\n");
    for cap in caps {
        put_cap(out, cap);
    }
    out.put_slice(b".\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capa_before_and_after_login() {
        let mut out = Vec::new();
        write_capa(
            &mut out,
            &[
                Capability::Top,
                Capability::User,
                Capability::Sasl(&["PLAIN", "SCRAM-SHA-256"]),
                Capability::RespCodes,
                Capability::AuthRespCode,
                Capability::Pipelining,
                Capability::Uidl,
                Capability::Stls,
                Capability::Utf8 { user: true },
                Capability::Expire {
                    expire: Expire::Never,
                    per_user: false,
                },
                Capability::LoginDelay {
                    seconds: 0,
                    per_user: true,
                },
                Capability::Implementation("postcore"),
            ],
        );
        assert_eq!(
            out,
            b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN SCRAM-SHA-256\r\n\
              RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUIDL\r\nSTLS\r\nUTF8 USER\r\n\
              EXPIRE NEVER\r\nLOGIN-DELAY 0 USER\r\nIMPLEMENTATION postcore\r\n.\r\n"
        );
    }

    #[test]
    fn rfc_2449_example() {
        let mut out = Vec::new();
        write_capa(
            &mut out,
            &[
                Capability::Top,
                Capability::User,
                Capability::Sasl(&["CRAM-MD5", "KERBEROS_V4"]),
                Capability::RespCodes,
                Capability::LoginDelay {
                    seconds: 900,
                    per_user: false,
                },
                Capability::Pipelining,
                Capability::Expire {
                    expire: Expire::Days(60),
                    per_user: false,
                },
                Capability::Uidl,
                Capability::Implementation("Shlemazle-Plotz-v302"),
            ],
        );
        assert_eq!(
            out,
            b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\n\
              RESP-CODES\r\nLOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\n\
              IMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n"
        );
    }

    #[test]
    fn expire_days_and_empty_list() {
        let mut out = Vec::new();
        write_capa(
            &mut out,
            &[Capability::Expire {
                expire: Expire::Days(30),
                per_user: true,
            }],
        );
        write_capa(&mut out, &[]);
        assert_eq!(
            out,
            b"+OK Capability list follows\r\nEXPIRE 30 USER\r\n.\r\n\
              +OK Capability list follows\r\n.\r\n"
        );
    }
}
