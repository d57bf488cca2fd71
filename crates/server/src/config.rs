//! The server's configuration: one TOML file, every field with a safe default,
//! so that an empty file (or none at all) is the embedded default of
//! docs/configuration.md. Paths that are relative are taken from the directory
//! the server was started in, like Dovecot's do.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("config: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where users' stores, the user database and the generated certificate live.
    pub data_dir: PathBuf,
    /// Number of shards (executors, one per core). 0 = one per online CPU.
    pub shards: usize,
    /// Log filter (tracing `EnvFilter` syntax); `RUST_LOG` overrides it.
    pub log: String,
    /// Name the server gives itself in greetings (LMTP, POP3). Empty: the
    /// system's host name.
    pub hostname: String,
    pub tls: TlsConfig,
    #[serde(rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    pub auth: AuthConfig,
    pub limits: Limits,
    pub store: StoreSettings,
    pub pop3: Pop3Settings,
    pub lmtp: LmtpSettings,
    pub imap: ImapSettings,
    pub quota: QuotaSettings,
    pub metadata: MetadataSettings,
    pub oauth: OAuthSettings,
    pub retention: RetentionSettings,
}

/// Expunging old mail from the Trash and Junk folders (by special use,
/// RFC 6154), by how long ago each message was saved into the folder
/// (RFC 8514 save date), never by its internal date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Days a message stays in a `\Trash` mailbox; fractions allowed
    /// (0.5 = 12 hours). 0: kept for ever.
    pub trash_days: f64,
    /// Days a message stays in a `\Junk` mailbox. 0: kept for ever.
    pub junk_days: f64,
    /// Seconds between background sweeps of the open stores on each
    /// shard (mailboxes are also expired when selected).
    pub sweep_interval_secs: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            trash_days: 0.0,
            junk_days: 0.0,
            sweep_interval_secs: 3600,
        }
    }
}

impl RetentionSettings {
    /// Longest a message may stay in a mailbox of this special use, in
    /// seconds (at least 1); None: no retention there.
    pub fn max_age_secs(&self, special_use: store::SpecialUse) -> Option<i64> {
        let days = match special_use {
            store::SpecialUse::Trash => self.trash_days,
            store::SpecialUse::Junk => self.junk_days,
            _ => return None,
        };
        // Validated finite and in range at load; the cast saturates anyway.
        (days > 0.0).then(|| ((days * 86_400.0) as i64).max(1))
    }
}

/// Annotations (IMAP METADATA, RFC 5464): what one user may keep. Checked
/// when annotations are set; lowering a limit never drops what is stored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataSettings {
    /// Largest value of one entry, in bytes (announced in `[METADATA
    /// MAXSIZE n]` when a value is over it).
    pub max_value_bytes: usize,
    /// Entries per mailbox, and on the server (mailbox `""`).
    pub max_entries_per_mailbox: usize,
    /// Entries of one user, over the server and all mailboxes.
    pub max_entries_per_user: usize,
    /// Names plus values of all of a user's annotations, in bytes.
    pub max_total_bytes: u64,
    /// Longest entry name, in bytes (at most 1024).
    pub max_entry_name: usize,
    /// Most `/`-separated parts in an entry name.
    pub max_entry_depth: usize,
    /// The value of the read-only server entry `/shared/admin` (RFC 5464
    /// §6.2.1: how to reach the administrator, e.g. a `mailto:` URI).
    /// Empty: the entry does not exist.
    pub admin: String,
}

impl Default for MetadataSettings {
    fn default() -> Self {
        let s = store::MetaLimits::default();
        MetadataSettings {
            max_value_bytes: s.max_value,
            max_entries_per_mailbox: s.max_entries,
            max_entries_per_user: s.max_user_entries,
            max_total_bytes: s.max_total_bytes,
            max_entry_name: s.max_name,
            max_entry_depth: s.max_depth,
            admin: String::new(),
        }
    }
}

/// OAUTHBEARER / XOAUTH2 (RFC 7628): JWT bearer tokens checked against one
/// public key. Off unless `public_key_file` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuthSettings {
    /// PEM public key of the token issuer (RSA >= 2048 bits, P-256 or
    /// Ed25519; the key decides the algorithm). Empty: OAuth is off.
    pub public_key_file: PathBuf,
    /// Required `iss` claim.
    pub issuer: String,
    /// Required in the `aud` claim.
    pub audience: String,
    /// Claim that names the user.
    pub username_claim: String,
    /// Clock skew allowed on `exp` and `nbf`, seconds (at most 3600).
    pub leeway_secs: u64,
    /// Scope named in the error sent to a client with a bad token.
    pub scope: String,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        OAuthSettings {
            public_key_file: PathBuf::new(),
            issuer: String::new(),
            audience: String::new(),
            username_claim: "email".into(),
            leeway_secs: 60,
            scope: String::new(),
        }
    }
}

/// POP3 policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pop3Settings {
    /// Mailboxes that make up the POP3 maildrop, in order.
    pub maildrop: Vec<String>,
    /// Whether DELE (applied at QUIT) really deletes. `false` keeps every
    /// message on the server ("leave on server") while clients see DELE
    /// succeed.
    pub delete: bool,
    /// Delete messages this many days after their arrival when a POP3
    /// session ends (announced as EXPIRE). 0 = never.
    pub delete_after_days: u32,
    /// Set \Seen on messages fetched with RETR.
    pub mark_seen_on_retr: bool,
    /// Offer APOP (RFC 1939 §7). It needs each user's password in clear
    /// text (`{PLAIN}` entries and `[auth] allow_plain_scheme`).
    pub apop: bool,
    /// UIDL format, with Dovecot's variables: `%u`/`%v` (UID/UIDVALIDITY in
    /// decimal), `%Xu`/`%Xv` (hex), `%08Xu`/`%08Xv` (hex, 8 digits), `%%`.
    /// The default is Dovecot's, so migrated mailboxes (same UIDs and
    /// UIDVALIDITY) keep their UIDLs.
    pub uidl_format: String,
}

impl Default for Pop3Settings {
    fn default() -> Self {
        Pop3Settings {
            maildrop: vec!["INBOX".into()],
            delete: true,
            delete_after_days: 0,
            mark_seen_on_retr: false,
            apop: false,
            uidl_format: "%08Xu%08Xv".into(),
        }
    }
}

/// Quotas (RFC 9208) for every user, unless their passwd-file entry sets
/// its own (`quota_storage_kib=`, `quota_messages=`). 0: no limit.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    /// Sum of the users' message sizes, in KiB.
    pub storage_kib: u64,
    /// Number of messages.
    pub messages: u64,
    /// An LMTP delivery over quota is refused with 452 4.2.2 (the MTA
    /// retries) instead of 552 5.2.2 (it bounces).
    pub lmtp_tempfail: bool,
}

/// IMAP settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImapSettings {
    /// Extensions neither announced nor accepted (names as in CAPABILITY,
    /// without `=...`: `"COMPRESS"`, `"CONDSTORE"`, `"QRESYNC"`,
    /// `"OBJECTID"`, `"SAVEDATE"`, `"WITHIN"`).
    pub disable: Vec<String>,
    /// zlib level for COMPRESS=DEFLATE, 0 (store) to 9.
    pub compress_level: u32,
    /// Memory per shard for the sort keys of recently sorted or threaded
    /// mailboxes, in MiB (0: none kept, every SORT reads the stored keys).
    pub sort_cache_mib: u64,
    /// A SEARCH, SORT or THREAD still running after this long tells the
    /// client how far it is (`* OK [INPROGRESS ...]`, RFC 9585), and again
    /// each time this long passes. 0: never.
    pub inprogress_interval_ms: u64,
    /// RFC 5267 UPDATE contexts (SEARCH/SORT RETURN (UPDATE)) one session
    /// may keep; one more gets `* NO [NOUPDATE "tag"]`. At least 1 is
    /// must be allowed (RFC 5267 §4.3.1 requires one).
    pub context_max_updates: usize,
    /// Messages one UPDATE context re-evaluates for one batch of changes;
    /// a bigger batch (a STORE on the whole mailbox) ends that context
    /// with `* NO [NOUPDATE "tag"]`.
    pub context_max_changes: usize,
    /// Messages one UPDATE context may hold (its result is kept: 4 bytes
    /// a message for SEARCH, about 32 for SORT). A bigger result gets
    /// `* NO [NOUPDATE "tag"]`, at the search or when it grows past this.
    pub context_max_results: usize,
    /// NOTIFY (RFC 5465): changes a session may have waiting to be sent
    /// before it gets `[NOTIFICATIONOVERFLOW]` instead.
    pub notify_queue: usize,
    /// NOTIFY SET: mailbox names a client may list in its `subtree` and
    /// `mailboxes` filters together (more: `NO [NOTIFICATIONOVERFLOW]`).
    pub notify_max_names: usize,
}

impl Default for ImapSettings {
    fn default() -> Self {
        ImapSettings {
            disable: Vec::new(),
            compress_level: 6,
            sort_cache_mib: 512,
            inprogress_interval_ms: 10_000,
            context_max_updates: 8,
            context_max_changes: 10_000,
            context_max_results: 1_000_000,
            notify_queue: 1000,
            notify_max_names: 100,
        }
    }
}

impl ImapSettings {
    /// The extensions `disable` can turn off, in CAPABILITY order: the
    /// name it takes and what CAPABILITY says while the extension is on.
    /// Besides these it takes `"CONTEXT"` (both CONTEXT= capabilities);
    /// any other name is a config error, so a misspelt one does not leave
    /// an extension silently on.
    pub const OPTIONAL: &'static [(&'static str, &'static str)] = &[
        ("CONDSTORE", "CONDSTORE"),
        ("QRESYNC", "QRESYNC"),
        ("COMPRESS", "COMPRESS=DEFLATE"),
        ("UIDONLY", "UIDONLY"),
        ("CATENATE", "CATENATE"),
        ("METADATA", "METADATA"),
        ("METADATA-SERVER", "METADATA-SERVER"),
        ("LIST-METADATA", "LIST-METADATA"),
        ("CONTEXT=SEARCH", "CONTEXT=SEARCH"),
        ("CONTEXT=SORT", "CONTEXT=SORT"),
        ("OBJECTID", "OBJECTID"),
        ("SAVEDATE", "SAVEDATE"),
        ("NOTIFY", "NOTIFY"),
        ("WITHIN", "WITHIN"),
    ];

    fn known_disable_name(name: &str) -> bool {
        name.eq_ignore_ascii_case("CONTEXT")
            || Self::OPTIONAL
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Whether `ext` is on (QRESYNC needs CONDSTORE; METADATA, mailbox
    /// annotations, needs METADATA-SERVER, server annotations, since RFC
    /// 5464 §1 has METADATA imply both; LIST-METADATA needs METADATA;
    /// `"CONTEXT"` turns off both CONTEXT=SEARCH and CONTEXT=SORT).
    pub fn allows(&self, ext: &str) -> bool {
        let off = |e: &str| self.disable.iter().any(|d| d.eq_ignore_ascii_case(e));
        let is = |e: &str| ext.eq_ignore_ascii_case(e);
        !(off(ext)
            || (is("QRESYNC") && off("CONDSTORE"))
            || ((is("METADATA") || is("LIST-METADATA")) && off("METADATA-SERVER"))
            || (is("LIST-METADATA") && off("METADATA"))
            || ((is("CONTEXT=SEARCH") || is("CONTEXT=SORT")) && off("CONTEXT")))
    }
}

/// LMTP delivery settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LmtpSettings {
    /// Characters that separate a user from a detail in a local part
    /// (`alice+lists`). Empty: no details.
    pub detail_delimiters: String,
    /// Deliver `user+detail` to the mailbox named by the detail (created if
    /// missing) instead of INBOX.
    pub detail_to_mailbox: bool,
    /// Recipients per transaction.
    pub max_recipients: usize,
}

impl Default for LmtpSettings {
    fn default() -> Self {
        LmtpSettings {
            detail_delimiters: "+".into(),
            detail_to_mailbox: false,
            max_recipients: 1000,
        }
    }
}

/// Message store settings (per user store; see docs/configuration.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// Size at which a segment file is sealed and a new one started.
    pub segment_size: u64,
    /// Acknowledge flag changes only once they are on disk (fdatasync). With
    /// `false` they are acknowledged once written to the OS and a power loss
    /// may forget the last few (never a message).
    pub sync_flag_changes: bool,
    /// A sealed segment with more than this fraction of expunged bytes is
    /// rewritten in the background.
    pub compact_dead_ratio: f64,
    /// Distinct keywords one mailbox may define.
    pub max_keywords: usize,
    /// Mailboxes one user may have.
    pub max_mailboxes: usize,
    /// In-Reply-To and References ids of a new message looked up to find
    /// its THREADID, nearest first (the header is the sender's to fill).
    pub max_thread_refs: usize,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            segment_size: 64 << 20,
            sync_flag_changes: true,
            compact_dead_ratio: 0.5,
            max_keywords: 128,
            max_mailboxes: 10_000,
            max_thread_refs: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain. Empty: `<data_dir>/tls/cert.pem`, generated
    /// (self-signed, for `localhost` and the host name) if missing.
    pub cert: PathBuf,
    /// PEM private key. Empty: `<data_dir>/tls/key.pem`, generated with the cert.
    pub key: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Imap,
    Pop3,
    Lmtp,
    Metrics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text, no upgrade offered.
    None,
    /// Plain text with STARTTLS (IMAP) / STLS (POP3) / STARTTLS (LMTP).
    Starttls,
    /// TLS from the first byte (993, 995).
    Implicit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    pub address: SocketAddr,
    pub protocol: Protocol,
    #[serde(default = "default_tls_mode")]
    pub tls: TlsMode,
}

fn default_tls_mode() -> TlsMode {
    TlsMode::Starttls
}

/// When a password may cross a connection that is not encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaintextAuth {
    Never,
    /// Only when the peer address is a loopback address.
    Loopback,
    Always,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Dovecot-compatible passwd-file. Empty: `<data_dir>/passwd`.
    pub passwd_file: PathBuf,
    pub plaintext_auth: PlaintextAuth,
    /// Accept `{PLAIN}` password entries (cleartext in the file).
    pub allow_plain_scheme: bool,
    /// Delay before answering a failed login, in milliseconds.
    pub failure_delay_ms: u64,
    /// Unix socket speaking Dovecot's auth protocol (for Postfix
    /// `smtpd_sasl_type = dovecot`). Empty: not offered.
    pub socket: PathBuf,
    /// Permission bits of that socket, in octal.
    pub socket_mode: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_connections_per_user: usize,
    /// Longest command line, in bytes, outside literals.
    pub max_line_length: usize,
    /// Largest literal (and so message) a client may send; announced as APPENDLIMIT.
    pub max_literal_size: u64,
    /// Most messages one FETCH, STORE, COPY, MOVE or UID EXPUNGE acts on,
    /// and one APPEND saves; announced as MESSAGELIMIT (RFC 9738). 0: no limit.
    pub max_messages_per_command: u32,
    /// Seconds a connection may stay silent before login.
    pub login_timeout_secs: u64,
    /// Seconds an authenticated connection may stay silent (RFC 9051 asks at
    /// least 30 minutes).
    pub idle_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("postcore-data"),
            shards: 0,
            log: "info".into(),
            hostname: String::new(),
            tls: TlsConfig::default(),
            listeners: default_listeners(),
            auth: AuthConfig::default(),
            limits: Limits::default(),
            store: StoreSettings::default(),
            pop3: Pop3Settings::default(),
            lmtp: LmtpSettings::default(),
            imap: ImapSettings::default(),
            quota: QuotaSettings::default(),
            metadata: MetadataSettings::default(),
            oauth: OAuthSettings::default(),
            retention: RetentionSettings::default(),
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: PathBuf::new(),
            key: PathBuf::new(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            passwd_file: PathBuf::new(),
            plaintext_auth: PlaintextAuth::Loopback,
            allow_plain_scheme: false,
            failure_delay_ms: 2000,
            socket: PathBuf::new(),
            socket_mode: "0660".into(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 100_000,
            max_connections_per_ip: 500,
            max_connections_per_user: 50,
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            max_messages_per_command: 0,
            login_timeout_secs: 60,
            idle_timeout_secs: 30 * 60,
        }
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The embedded default's listeners: loopback only, on unprivileged ports.
pub fn default_listeners() -> Vec<ListenerConfig> {
    vec![
        ListenerConfig {
            address: loopback(1143),
            protocol: Protocol::Imap,
            tls: TlsMode::Starttls,
        },
        ListenerConfig {
            address: loopback(1993),
            protocol: Protocol::Imap,
            tls: TlsMode::Implicit,
        },
        ListenerConfig {
            address: loopback(1110),
            protocol: Protocol::Pop3,
            tls: TlsMode::Starttls,
        },
        ListenerConfig {
            address: loopback(1995),
            protocol: Protocol::Pop3,
            tls: TlsMode::Implicit,
        },
        ListenerConfig {
            address: loopback(1024),
            protocol: Protocol::Lmtp,
            tls: TlsMode::None,
        },
        // Prometheus metrics over HTTP; 9900 is the port Dovecot's own
        // documentation uses for its metrics listener.
        ListenerConfig {
            address: loopback(9900),
            protocol: Protocol::Metrics,
            tls: TlsMode::None,
        },
    ]
}

impl Config {
    /// Reads `path`, or gives the embedded default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let cfg = match path {
            None => Config::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                Config::parse(&text).map_err(|e| match e {
                    ConfigError::Parse { source, .. } => ConfigError::Parse {
                        path: p.to_path_buf(),
                        source,
                    },
                    other => other,
                })?
            }
        };
        Ok(cfg)
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::new(),
            source,
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let m = &self.metadata;
        if m.max_entry_name == 0 || m.max_entry_name > 1024 {
            return Err(ConfigError::Invalid(
                "metadata.max_entry_name must be 1 to 1024".into(),
            ));
        }
        if m.max_entry_depth < 2 {
            return Err(ConfigError::Invalid(
                "metadata.max_entry_depth must be at least 2 (/private/name)".into(),
            ));
        }
        if m.admin.len() > 1024 || m.admin.contains('\0') {
            return Err(ConfigError::Invalid(
                "metadata.admin is too long or holds a NUL".into(),
            ));
        }
        let im = &self.imap;
        if let Some(bad) = im
            .disable
            .iter()
            .find(|d| !ImapSettings::known_disable_name(d))
        {
            let names: Vec<&str> = ImapSettings::OPTIONAL.iter().map(|(n, _)| *n).collect();
            return Err(ConfigError::Invalid(format!(
                "imap.disable: unknown extension {bad:?} (known: CONTEXT, {})",
                names.join(", ")
            )));
        }
        if im.context_max_updates == 0 || im.context_max_changes == 0 || im.context_max_results == 0
        {
            // RFC 5267 §4.3.1: a server offering CONTEXT keeps at least one
            // context; turning it off is `disable = ["CONTEXT"]`.
            return Err(ConfigError::Invalid(
                "imap.context_max_updates, context_max_changes and context_max_results must be at least 1".into(),
            ));
        }
        if im.notify_queue == 0 {
            // A queue of none would overflow at the first change; NOTIFY is
            // turned off with `disable = ["NOTIFY"]`.
            return Err(ConfigError::Invalid(
                "imap.notify_queue must be at least 1".into(),
            ));
        }
        if self.listeners.is_empty() {
            return Err(ConfigError::Invalid("no [[listener]] configured".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for l in &self.listeners {
            if !seen.insert(l.address) {
                return Err(ConfigError::Invalid(format!(
                    "two listeners on {}",
                    l.address
                )));
            }
            if l.protocol == Protocol::Lmtp && l.tls == TlsMode::Implicit {
                return Err(ConfigError::Invalid(format!(
                    "listener {}: implicit TLS is for imap, pop3 and metrics",
                    l.address
                )));
            }
        }
        if u32::from_str_radix(&self.auth.socket_mode, 8).map_or(true, |m| m > 0o777) {
            return Err(ConfigError::Invalid(format!(
                "auth.socket_mode {:?} is not an octal permission like \"0660\"",
                self.auth.socket_mode
            )));
        }
        let r = &self.retention;
        for (name, days) in [("trash_days", r.trash_days), ("junk_days", r.junk_days)] {
            // 100 years: far past any policy, and far inside i64 seconds.
            if !(0.0..=36_500.0).contains(&days) {
                return Err(ConfigError::Invalid(format!(
                    "retention.{name} must be between 0 and 36500 days, not {days}"
                )));
            }
        }
        if r.sweep_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "retention.sweep_interval_secs must be at least 1".into(),
            ));
        }
        if let Err(e) = crate::pop3::uidl::check_format(&self.pop3.uidl_format) {
            return Err(ConfigError::Invalid(format!("pop3.uidl_format: {e}")));
        }
        let o = &self.oauth;
        if !o.public_key_file.as_os_str().is_empty()
            && (o.issuer.is_empty() || o.audience.is_empty())
        {
            return Err(ConfigError::Invalid(
                "oauth.issuer and oauth.audience are required with oauth.public_key_file".into(),
            ));
        }
        let lim = &self.limits;
        if lim.max_line_length < 1024 {
            return Err(ConfigError::Invalid(
                "limits.max_line_length must be at least 1024 (RFC 9051 asks 8192)".into(),
            ));
        }
        if lim.max_connections == 0 || lim.max_connections_per_ip == 0 {
            return Err(ConfigError::Invalid(
                "connection limits must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn cert_path(&self) -> PathBuf {
        if self.tls.cert.as_os_str().is_empty() {
            self.data_dir.join("tls").join("cert.pem")
        } else {
            self.tls.cert.clone()
        }
    }

    pub fn key_path(&self) -> PathBuf {
        if self.tls.key.as_os_str().is_empty() {
            self.data_dir.join("tls").join("key.pem")
        } else {
            self.tls.key.clone()
        }
    }

    /// True when the certificate paths are the generated default ones.
    pub fn tls_is_generated(&self) -> bool {
        self.tls.cert.as_os_str().is_empty() && self.tls.key.as_os_str().is_empty()
    }

    pub fn passwd_path(&self) -> PathBuf {
        if self.auth.passwd_file.as_os_str().is_empty() {
            self.data_dir.join("passwd")
        } else {
            self.auth.passwd_file.clone()
        }
    }

    /// The configured host name, or the system's. Reads a file when none is
    /// configured: the server resolves it once at start (`runtime::run`), so
    /// on a shard this is a field read.
    pub fn host_name(&self) -> String {
        if !self.hostname.is_empty() {
            return self.hostname.clone();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }

    pub fn shard_count(&self) -> usize {
        if self.shards == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            self.shards
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_embedded_default() {
        let cfg = Config::parse("").unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("postcore-data"));
        let ports: Vec<u16> = cfg.listeners.iter().map(|l| l.address.port()).collect();
        assert_eq!(ports, vec![1143, 1993, 1110, 1995, 1024, 9900]);
        assert!(cfg.listeners.iter().all(|l| l.address.ip().is_loopback()));
        assert_eq!(cfg.auth.plaintext_auth, PlaintextAuth::Loopback);
        assert_eq!(cfg.cert_path(), PathBuf::from("postcore-data/tls/cert.pem"));
        assert_eq!(cfg.passwd_path(), PathBuf::from("postcore-data/passwd"));
    }

    #[test]
    fn documented_default_is_the_real_default() {
        let doc = include_str!("../../../docs/configuration.md");
        let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let len = doc[start..].find("```").expect("end of the block");
        let documented = Config::parse(&doc[start..start + len]).unwrap();
        assert_eq!(
            format!("{documented:?}"),
            format!("{:?}", Config::default())
        );
    }

    #[test]
    fn notify_queue_must_hold_one() {
        let base = "[[listener]]\naddress = \"127.0.0.1:1143\"\nprotocol = \"imap\"\n";
        assert!(Config::parse(&format!("[imap]\nnotify_queue = 0\n{base}")).is_err());
        let cfg = Config::parse(&format!("[imap]\nnotify_queue = 1\n{base}")).unwrap();
        assert_eq!(cfg.imap.notify_queue, 1);
    }

    #[test]
    fn context_limits_must_allow_one() {
        let base = "[[listener]]\naddress = \"127.0.0.1:1143\"\nprotocol = \"imap\"\n";
        for bad in [
            "context_max_updates = 0",
            "context_max_changes = 0",
            "context_max_results = 0",
        ] {
            let text = format!("[imap]\n{bad}\n{base}");
            assert!(Config::parse(&text).is_err(), "{bad}");
        }
        let cfg = Config::parse(&format!("[imap]\ncontext_max_updates = 1\n{base}")).unwrap();
        assert_eq!(cfg.imap.context_max_updates, 1);
        assert!(cfg.imap.allows("CONTEXT=SEARCH"));
        let off = |d: &str| ImapSettings {
            disable: vec![d.into()],
            ..ImapSettings::default()
        };
        assert!(!off("context").allows("CONTEXT=SORT") && !off("CONTEXT").allows("CONTEXT=SEARCH"));
        assert!(
            off("CONTEXT=SORT").allows("CONTEXT=SEARCH")
                && !off("CONTEXT=SORT").allows("CONTEXT=SORT")
        );
    }

    #[test]
    fn disable_takes_only_known_extensions() {
        let base = "[[listener]]\naddress = \"127.0.0.1:1143\"\nprotocol = \"imap\"\n";
        let names = ImapSettings::OPTIONAL.iter().map(|(n, _)| *n);
        for name in names.chain(["CONTEXT"]) {
            let text = format!("[imap]\ndisable = [\"{}\"]\n{base}", name.to_lowercase());
            let cfg = Config::parse(&text).unwrap();
            assert!(!cfg.imap.allows(name), "{name}");
        }
        for bad in ["COMPRES", "IDLE", "", "WITHIN "] {
            let text = format!("[imap]\ndisable = [\"{bad}\"]\n{base}");
            let err = Config::parse(&text).unwrap_err().to_string();
            assert!(
                err.contains("imap.disable: unknown extension"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn listeners_and_limits_parse() {
        let cfg = Config::parse(
            r#"
            data_dir = "/var/lib/postcore"
            shards = 3
            [limits]
            max_literal_size = 1048576
            [[listener]]
            address = "0.0.0.0:993"
            protocol = "imap"
            tls = "implicit"
            [[listener]]
            address = "[::1]:24"
            protocol = "lmtp"
            tls = "none"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.shard_count(), 3);
        assert_eq!(cfg.limits.max_literal_size, 1 << 20);
        assert_eq!(cfg.limits.max_line_length, 64 * 1024);
        assert_eq!(cfg.listeners.len(), 2);
        assert_eq!(cfg.listeners[0].tls, TlsMode::Implicit);
        assert_eq!(cfg.listeners[1].protocol, Protocol::Lmtp);
    }

    #[test]
    fn mistakes_are_reported_not_ignored() {
        assert!(matches!(
            Config::parse("data_dri = \"x\""),
            Err(ConfigError::Parse { .. })
        ));
        let dup = r#"
            [[listener]]
            address = "127.0.0.1:143"
            protocol = "imap"
            [[listener]]
            address = "127.0.0.1:143"
            protocol = "pop3"
        "#;
        assert!(matches!(Config::parse(dup), Err(ConfigError::Invalid(_))));
        let implicit_lmtp = r#"
            [[listener]]
            address = "127.0.0.1:24"
            protocol = "lmtp"
            tls = "implicit"
        "#;
        assert!(matches!(
            Config::parse(implicit_lmtp),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::parse("[limits]\nmax_line_length = 10"),
            Err(ConfigError::Invalid(_))
        ));
    }
}
