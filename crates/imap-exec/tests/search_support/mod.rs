//! The SEARCH fixture: the messages of this directory appended to a fresh
//! store with the flags, keywords and INTERNALDATEs of `manifest.txt`.
#![allow(dead_code)]

use std::future::Future;
use std::path::Path;

use store::{Flags, INBOX, MailboxId, MessageInfo, NewMessage, Store, StoreConfig};

pub struct Fixture {
    pub store: Store,
    pub mailbox: MailboxId,
    pub keywords: Vec<String>,
    pub msgs: Vec<MessageInfo>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// Re-reads the mailbox (after flag changes).
    pub fn refresh(&mut self) {
        let snap = self.store.snapshot(self.mailbox).unwrap();
        self.keywords = snap.keywords;
        self.msgs = snap.messages.to_vec();
    }
}

pub fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/search_support"))
}

/// One manifest line: (file, flags, keywords, internal date).
pub fn manifest() -> Vec<(String, Flags, Vec<String>, i64)> {
    let text = std::fs::read_to_string(dir().join("manifest.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split('|');
            let (file, flags, date) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
            let mut f = Flags::empty();
            let mut kw = Vec::new();
            for w in flags.split_whitespace() {
                match w {
                    "\\Seen" => f = f | Flags::SEEN,
                    "\\Answered" => f = f | Flags::ANSWERED,
                    "\\Flagged" => f = f | Flags::FLAGGED,
                    "\\Deleted" => f = f | Flags::DELETED,
                    "\\Draft" => f = f | Flags::DRAFT,
                    k => kw.push(k.to_owned()),
                }
            }
            (file.to_owned(), f, kw, imap_date(date))
        })
        .collect()
}

/// `06-Jan-2023 23:30:00 -0200` as unix seconds.
pub fn imap_date(s: &str) -> i64 {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (date, rest) = s.split_once(' ').unwrap();
    let (time, zone) = rest.split_once(' ').unwrap();
    let mut d = date.split('-');
    let day: i64 = d.next().unwrap().parse().unwrap();
    let name = d.next().unwrap();
    let mon = months.iter().position(|m| *m == name).unwrap() as i64 + 1;
    let year: i64 = d.next().unwrap().parse().unwrap();
    let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zh: i64 = zone[1..3].parse().unwrap();
    let zm: i64 = zone[3..5].parse().unwrap();
    days(year, mon, day) * 86_400 + t[0] * 3600 + t[1] * 60 + t[2] - sign * (zh * 3600 + zm * 60)
}

fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// Command text with `[[x]]` turned into a non-synchronizing literal, CRLF added.
pub fn wire(cmd: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = cmd;
    while let Some(i) = rest.find("[[") {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let end = rest[i..].find("]]").unwrap() + i;
        let lit = &rest[i + 2..end];
        out.extend_from_slice(format!("{{{}+}}\r\n", lit.len()).as_bytes());
        out.extend_from_slice(lit.as_bytes());
        rest = &rest[end + 2..];
    }
    out.extend_from_slice(rest.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// Opens a store in a temp dir on a fresh glommio executor, appends the
/// fixture (UIDs 1..=12 in manifest order) and runs `f` with it.
pub fn run<F, Fut, T>(f: F) -> T
where
    F: FnOnce(Fixture) -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    glommio::LocalExecutorBuilder::default()
        .io_memory(512 << 10)
        .spawn(move || async move {
            let dir = tempfile::tempdir().unwrap();
            let cfg = StoreConfig {
                background: false,
                ..StoreConfig::default()
            };
            let store = Store::open(dir.path(), cfg).await.unwrap();
            let mailbox = store.mailbox_id(INBOX).unwrap();
            for (file, flags, keywords, internal_date) in manifest() {
                let raw = std::fs::read(dir_path().join(&file)).unwrap();
                store
                    .append(
                        mailbox,
                        &[NewMessage {
                            raw: &raw,
                            flags,
                            keywords,
                            internal_date,
                        }],
                    )
                    .await
                    .unwrap();
            }
            let snap = store.snapshot(mailbox).unwrap();
            let fx = Fixture {
                store,
                mailbox,
                keywords: snap.keywords,
                msgs: snap.messages.to_vec(),
                _dir: dir,
            };
            f(fx).await
        })
        .unwrap()
        .join()
        .unwrap()
}

fn dir_path() -> &'static Path {
    dir()
}
