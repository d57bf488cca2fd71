//! The label values of the metric families: protocols, TLS modes, login
//! mechanisms and every command name each protocol parser can produce.

use crate::config::TlsMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Imap = 0,
    Pop3 = 1,
    Lmtp = 2,
}

impl Proto {
    pub const ALL: [Proto; 3] = [Proto::Imap, Proto::Pop3, Proto::Lmtp];

    pub fn label(self) -> &'static str {
        match self {
            Proto::Imap => "imap",
            Proto::Pop3 => "pop3",
            Proto::Lmtp => "lmtp",
        }
    }

    pub fn of(p: crate::config::Protocol) -> Option<Proto> {
        use crate::config::Protocol;
        match p {
            Protocol::Imap => Some(Proto::Imap),
            Protocol::Pop3 => Some(Proto::Pop3),
            Protocol::Lmtp => Some(Proto::Lmtp),
            Protocol::Metrics => None,
        }
    }
}

/// Where a login was asked for: IMAP, POP3, or the Dovecot-protocol auth
/// socket (Postfix's SMTP AUTH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginProto {
    Imap = 0,
    Pop3 = 1,
    AuthSocket = 2,
}

impl LoginProto {
    pub const ALL: [LoginProto; 3] = [LoginProto::Imap, LoginProto::Pop3, LoginProto::AuthSocket];

    pub fn label(self) -> &'static str {
        match self {
            LoginProto::Imap => "imap",
            LoginProto::Pop3 => "pop3",
            LoginProto::AuthSocket => "authsock",
        }
    }
}

/// How the client proved who it is: a SASL mechanism, or a plain password
/// command (IMAP LOGIN, POP3 USER/PASS), or POP3 APOP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mech {
    Password = 0,
    Apop = 1,
    Plain = 2,
    Login = 3,
    ScramSha256 = 4,
    OAuthBearer = 5,
    XOAuth2 = 6,
}

impl Mech {
    pub const ALL: [Mech; 7] = [
        Mech::Password,
        Mech::Apop,
        Mech::Plain,
        Mech::Login,
        Mech::ScramSha256,
        Mech::OAuthBearer,
        Mech::XOAuth2,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Mech::Password => "password",
            Mech::Apop => "APOP",
            Mech::Plain => "PLAIN",
            Mech::Login => "LOGIN",
            Mech::ScramSha256 => "SCRAM-SHA-256",
            Mech::OAuthBearer => "OAUTHBEARER",
            Mech::XOAuth2 => "XOAUTH2",
        }
    }
}

impl From<auth::sasl::Mechanism> for Mech {
    fn from(m: auth::sasl::Mechanism) -> Mech {
        use auth::sasl::Mechanism as M;
        match m {
            M::Plain => Mech::Plain,
            M::Login => Mech::Login,
            M::ScramSha256 => Mech::ScramSha256,
            M::OAuthBearer => Mech::OAuthBearer,
            M::XOAuth2 => Mech::XOAuth2,
        }
    }
}

pub const TLS_MODES: [&str; 3] = ["none", "starttls", "implicit"];

pub fn tls_index(t: TlsMode) -> usize {
    match t {
        TlsMode::None => 0,
        TlsMode::Starttls => 1,
        TlsMode::Implicit => 2,
    }
}

/// The names `imap_proto::CommandBody::name` gives (a test below keeps
/// the two in step through the parser).
pub const IMAP_COMMANDS: &[&str] = &[
    "CAPABILITY",
    "NOOP",
    "LOGOUT",
    "STARTTLS",
    "AUTHENTICATE",
    "LOGIN",
    "ENABLE",
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "NAMESPACE",
    "STATUS",
    "APPEND",
    "IDLE",
    "CHECK",
    "CLOSE",
    "UNSELECT",
    "EXPUNGE",
    "UID EXPUNGE",
    "SEARCH",
    "UID SEARCH",
    "FETCH",
    "UID FETCH",
    "STORE",
    "UID STORE",
    "COPY",
    "UID COPY",
    "MOVE",
    "UID MOVE",
    "REPLACE",
    "UID REPLACE",
    "ID",
    "GETQUOTA",
    "GETQUOTAROOT",
    "SETQUOTA",
    "GETMETADATA",
    "SETMETADATA",
    "NOTIFY",
    "COMPRESS",
    "SORT",
    "UID SORT",
    "THREAD",
    "UID THREAD",
    "UNAUTHENTICATE",
];

pub const POP3_COMMANDS: &[&str] = &[
    "USER", "PASS", "APOP", "AUTH", "STLS", "CAPA", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET",
    "TOP", "UIDL", "QUIT", "UTF8",
];

pub const LMTP_COMMANDS: &[&str] = &[
    "LHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY",
];

pub fn commands(p: Proto) -> &'static [&'static str] {
    match p {
        Proto::Imap => IMAP_COMMANDS,
        Proto::Pop3 => POP3_COMMANDS,
        Proto::Lmtp => LMTP_COMMANDS,
    }
}

/// The slot of `name` in its protocol's table; the slot after the table
/// for a name it does not list (counted as "other").
pub fn command_index(p: Proto, name: &str) -> usize {
    let t = commands(p);
    t.iter().position(|n| *n == name).unwrap_or(t.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imap_name(line: &[u8]) -> &'static str {
        let limits = imap_proto::Limits::default();
        let mut r = imap_proto::CommandReader::new(limits);
        match r.parse(line) {
            Ok(imap_proto::Parsed::Command { command, .. }) => command.body.name(),
            other => panic!(
                "{:?} did not parse: {other:?}",
                String::from_utf8_lossy(line)
            ),
        }
    }

    #[test]
    fn every_name_the_imap_parser_gives_has_a_slot() {
        let lines: &[&[u8]] = &[
            b"a CAPABILITY\r\n",
            b"a UID FETCH 1 FLAGS\r\n",
            b"a UID EXPUNGE 1\r\n",
            b"a FETCH 1 FLAGS\r\n",
            b"a GETQUOTAROOT INBOX\r\n",
            b"a COMPRESS DEFLATE\r\n",
            b"a UID MOVE 1 x\r\n",
        ];
        for l in lines {
            let name = imap_name(l);
            assert!(IMAP_COMMANDS.contains(&name), "{name} missing");
        }
        assert_eq!(command_index(Proto::Imap, "FETCH"), 27);
        assert_eq!(command_index(Proto::Imap, "XYZZY"), IMAP_COMMANDS.len());
    }

    #[test]
    fn pop3_and_lmtp_names_have_slots() {
        let p = pop3_proto::pop3::Limits::default();
        for l in [&b"CAPA\r\n"[..], b"UIDL\r\n", b"UTF8\r\n", b"STLS\r\n"] {
            let c = pop3_proto::pop3::parse_command(l, &p)
                .ok()
                .flatten()
                .map(|c| c.value.name());
            let name = c.unwrap_or_else(|| panic!("{l:?}"));
            assert!(POP3_COMMANDS.contains(&name), "{name}");
        }
        let m = pop3_proto::lmtp::Limits::default();
        for l in [&b"LHLO x\r\n"[..], b"DATA\r\n", b"VRFY x\r\n"] {
            let c = pop3_proto::lmtp::parse_command(l, &m)
                .ok()
                .flatten()
                .map(|c| c.value.name());
            let name = c.unwrap_or_else(|| panic!("{l:?}"));
            assert!(LMTP_COMMANDS.contains(&name), "{name}");
        }
    }
}
