//! Maildir and Maildir++ as Dovecot keeps them.
//!
//! Layout: the root directory is INBOX; each subfolder is a sibling
//! directory `.A.B` inside the root, named in modified UTF-7 with `.` as the
//! hierarchy separator (postcore name `A/B`). Per folder, Dovecot adds
//! `dovecot-uidlist` (UIDVALIDITY, next UID, and UID per file base name) and
//! `dovecot-keywords` (which keyword each flag letter `a`..`z` stands for).
//! The root's `subscriptions` file lists subscribed folders.
//!
//! Folder names: a literal `.` inside a postcore name component cannot be
//! stored in Maildir++ (it is the separator there), so [`Writer::create`]
//! refuses such names with [`Error::FolderName`] instead of inventing an
//! escape no other server would read. On import, a folder directory whose
//! name is not valid modified UTF-7 (or not UTF-8 at all) is reported by
//! [`scan`] as a [`SkippedFolder`] with the reason; [`folders`] turns the
//! first such folder into an error, so nothing is skipped silently.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imap_proto::mutf7;

use crate::{
    ANSWERED, DELETED, DRAFT, Error, FLAGGED, Message, Meta, SEEN, check_keyword, format_err,
    io_err, push_unique,
};

const UIDLIST: &str = "dovecot-uidlist";
const KEYWORDS: &str = "dovecot-keywords";
const SUBSCRIPTIONS: &str = "subscriptions";
/// Maildir++ marker file in subfolders (Courier's quota code looks for it).
const MAILDIRFOLDER: &str = "maildirfolder";
/// Flag letters `a`..`z`: a file name has no room for more keywords.
const MAX_KEYWORDS: usize = 26;
const FORWARDED: &str = "$Forwarded";
/// Dovecot's subscriptions file format 2: tab as hierarchy separator.
const SUBS_V2_HEADER: &str = "V\t2\n\n";

/// One mailbox of a Maildir++ tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// postcore name: `INBOX` for the root, `A/B` for `.A.B`, decoded from
    /// modified UTF-7.
    pub name: String,
    pub path: PathBuf,
    /// From the `dovecot-uidlist` header, when there is one.
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    /// Listed in the root's `subscriptions` file.
    pub subscribed: bool,
}

/// A folder directory [`scan`] could not use.
#[derive(Debug)]
pub struct SkippedFolder {
    pub path: PathBuf,
    pub reason: Error,
}

#[derive(Debug)]
pub struct Scan {
    /// Sorted by name, INBOX first.
    pub folders: Vec<Folder>,
    pub skipped: Vec<SkippedFolder>,
}

/// Every folder of the tree at `root`, or the first folder directory whose
/// name cannot be decoded as an error ([`scan`] reports those and goes on).
pub fn folders(root: &Path) -> Result<Vec<Folder>, Error> {
    let scan = scan(root)?;
    match scan.skipped.into_iter().next() {
        Some(skipped) => Err(skipped.reason),
        None => Ok(scan.folders),
    }
}

/// The root (INBOX; must have `cur/` or `new/`) and every `.X` directory
/// below it that has `cur/` or `new/`. Directories that are not Maildirs
/// (Dovecot's own `.imap`-style state, lock dirs) are ignored silently;
/// Maildirs with undecodable names end up in [`Scan::skipped`].
pub fn scan(root: &Path) -> Result<Scan, Error> {
    if !is_maildir(root) {
        return Err(Error::NotMaildir(root.to_path_buf()));
    }
    let subscriptions = read_subscriptions(root)?;
    let mut folders = vec![folder_at(root, "INBOX".to_owned(), &subscriptions)?];
    let mut skipped = Vec::new();
    let mut sub = Vec::new();
    for dirent in fs::read_dir(root).map_err(|e| io_err(root, e))? {
        let dirent = dirent.map_err(|e| io_err(root, e))?;
        let path = dirent.path();
        let file_name = dirent.file_name();
        let lossy = file_name.to_string_lossy();
        if !lossy.starts_with('.') || !is_maildir(&path) {
            continue;
        }
        let decoded = match file_name.to_str() {
            Some(s) => folder_name_from_dir(s.strip_prefix('.').unwrap_or(s)),
            None => Err("directory name is not UTF-8".to_owned()),
        };
        match decoded {
            Ok(name) => sub.push((name, path)),
            Err(reason) => skipped.push(SkippedFolder {
                reason: Error::FolderName {
                    name: lossy.into_owned(),
                    reason,
                },
                path,
            }),
        }
    }
    sub.sort();
    for (name, path) in sub {
        folders.push(folder_at(&path, name, &subscriptions)?);
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Scan { folders, skipped })
}

fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

fn folder_at(path: &Path, name: String, subscriptions: &HashSet<String>) -> Result<Folder, Error> {
    let uidlist = read_uidlist(path, true)?;
    // Courier writes subscriptions with an "INBOX." prefix on every folder.
    let subscribed =
        subscriptions.contains(&name) || subscriptions.contains(&format!("INBOX/{name}"));
    Ok(Folder {
        name,
        path: path.to_path_buf(),
        uidvalidity: uidlist.as_ref().and_then(|u| u.uidvalidity),
        uidnext: uidlist.as_ref().and_then(|u| u.uidnext),
        subscribed,
    })
}

/// `A.B` (directory name without its leading dot) to `A/B`.
fn folder_name_from_dir(dir: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for component in dir.split('.') {
        if component.is_empty() {
            return Err("empty hierarchy component".to_owned());
        }
        let decoded = mutf7::decode(component.as_bytes())
            .map_err(|e| format!("invalid modified UTF-7 ({e})"))?;
        if decoded.contains('/') {
            return Err("component contains '/', postcore's hierarchy separator".to_owned());
        }
        parts.push(decoded.into_owned());
    }
    let name = parts.join("/");
    if name.eq_ignore_ascii_case("INBOX") {
        return Err("a subfolder named INBOX collides with the Maildir root".to_owned());
    }
    Ok(name)
}

/// `A/B` to `.A.B`; see the module comment for why a `.` is refused.
fn dir_name_for_folder(name: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::FolderName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let mut dir = String::new();
    for component in name.split('/') {
        if component.is_empty() {
            return Err(bad("empty hierarchy component"));
        }
        if component.contains('.') {
            return Err(bad(
                "'.' is Maildir++'s hierarchy separator and cannot appear in a name component",
            ));
        }
        // The encoder emits printable ASCII only, so this cannot fail; map
        // rather than unwrap to keep the no-panic rule checkable.
        let encoded = String::from_utf8(mutf7::encode(component))
            .map_err(|_| bad("modified UTF-7 encoding produced non-ASCII"))?;
        dir.push('.');
        dir.push_str(&encoded);
    }
    Ok(dir)
}

// ---------------------------------------------------------------------------
// dovecot-uidlist, dovecot-keywords, subscriptions

#[derive(Debug, Default)]
struct Uidlist {
    uidvalidity: Option<u32>,
    uidnext: Option<u32>,
    /// (uid, base name), ascending by uid.
    entries: Vec<(u32, String)>,
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

fn parse_u32_field(path: &Path, line: u64, what: &str, s: &str) -> Result<u32, Error> {
    s.parse::<u32>()
        .map_err(|_| format_err(path, line, format!("bad {what} {s:?}")))
}

/// `None` when the folder has no uidlist (never opened by Dovecot).
fn read_uidlist(dir: &Path, header_only: bool) -> Result<Option<Uidlist>, Error> {
    let path = dir.join(UIDLIST);
    let bytes = if header_only {
        // Listing folders needs the header only; uidlists of big folders
        // run to megabytes.
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let mut line = Vec::new();
        BufReader::new(file)
            .read_until(b'\n', &mut line)
            .map_err(|e| io_err(&path, e))?;
        line
    } else {
        match read_optional(&path)? {
            Some(b) => b,
            None => return Ok(None),
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        // An empty uidlist records nothing: the same as none.
        return Ok(Some(Uidlist::default()));
    };
    let mut list = Uidlist::default();
    let mut fields = header.split_ascii_whitespace();
    let version = fields.next().unwrap_or("");
    match version {
        "3" => {
            for field in fields {
                let mut chars = field.chars();
                let key = chars.next();
                let value = chars.as_str();
                match key {
                    Some('V') => {
                        list.uidvalidity = Some(parse_u32_field(&path, 1, "UIDVALIDITY", value)?)
                    }
                    Some('N') => list.uidnext = Some(parse_u32_field(&path, 1, "next UID", value)?),
                    _ => {}
                }
            }
        }
        "1" => {
            let (Some(v), Some(n)) = (fields.next(), fields.next()) else {
                return Err(format_err(
                    &path,
                    1,
                    "version 1 header needs UIDVALIDITY and next UID",
                ));
            };
            list.uidvalidity = Some(parse_u32_field(&path, 1, "UIDVALIDITY", v)?);
            list.uidnext = Some(parse_u32_field(&path, 1, "next UID", n)?);
        }
        _ => {
            return Err(format_err(
                &path,
                1,
                format!("unsupported dovecot-uidlist version {version:?}"),
            ));
        }
    }
    if header_only {
        return Ok(Some(list));
    }
    let mut by_uid: BTreeMap<u32, (String, u64)> = BTreeMap::new();
    let mut by_base: HashMap<String, u64> = HashMap::new();
    for (i, line) in lines.enumerate() {
        let line_no = i as u64 + 2;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: &str| format_err(&path, line_no, reason);
        let (uid, rest) = line
            .split_once(' ')
            .ok_or_else(|| bad("expected \"<uid> ...\""))?;
        let uid: u32 = match uid.parse() {
            Ok(0) | Err(_) => return Err(bad("bad UID")),
            Ok(u) => u,
        };
        let file = if version == "3" {
            // Extension fields (W<vsize>, S<size>, G<guid>...) precede the
            // name, which is marked by a leading ':'.
            match rest.strip_prefix(':') {
                Some(f) => f,
                None => rest
                    .split_once(" :")
                    .map(|(_, f)| f)
                    .ok_or_else(|| bad("missing \":<filename>\""))?,
            }
        } else {
            rest.trim()
        };
        // Tolerate writers that stored the full name with its flags.
        let base = file.split(':').next().unwrap_or("").trim_end();
        if base.is_empty() || base.contains(char::is_whitespace) {
            return Err(bad("bad file name"));
        }
        if let Some((_, first)) = by_uid.get(&uid) {
            return Err(bad(&format!("UID {uid} already listed on line {first}")));
        }
        if let Some(first) = by_base.get(base) {
            return Err(bad(&format!("file {base} already listed on line {first}")));
        }
        by_base.insert(base.to_owned(), line_no);
        by_uid.insert(uid, (base.to_owned(), line_no));
    }
    list.entries = by_uid.into_iter().map(|(u, (b, _))| (u, b)).collect();
    Ok(Some(list))
}

type KeywordTable = [Option<String>; MAX_KEYWORDS];

fn read_keywords(dir: &Path) -> Result<KeywordTable, Error> {
    let mut table: KeywordTable = Default::default();
    let path = dir.join(KEYWORDS);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(table);
    };
    let text = String::from_utf8_lossy(&bytes);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = i as u64 + 1;
        let bad = || format_err(&path, line_no, "expected \"<number> <keyword>\"");
        let (n, name) = line.split_once(' ').ok_or_else(bad)?;
        let n: usize = n.parse().map_err(|_| bad())?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        // Numbers past 'z' have no letter, so no file can refer to them.
        if let Some(slot) = table.get_mut(n) {
            *slot = Some(name.to_owned());
        }
    }
    Ok(table)
}

/// Decodes one subscription name component; a name that is not modified
/// UTF-7 is kept as written (newer Dovecots can store UTF-8), since a
/// wrong subscription must not stop an import.
fn decode_subscription_component(c: &str) -> String {
    mutf7::decode(c.as_bytes())
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| c.to_owned())
}

fn tab_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('1') => out.push('\u{1}'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn normalize_inbox(parts: &mut [String]) {
    if let Some(first) = parts.first_mut()
        && first.eq_ignore_ascii_case("INBOX")
    {
        *first = "INBOX".to_owned();
    }
}

/// Subscribed names, mapped to postcore names. Dovecot's format 2 (header
/// `V\t2`) separates hierarchy levels with tabs; older files and Courier
/// use the namespace separator, `.` or `/`, so both are accepted there.
fn read_subscriptions(root: &Path) -> Result<HashSet<String>, Error> {
    let path = root.join(SUBSCRIPTIONS);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(HashSet::new());
    };
    let text = String::from_utf8_lossy(&bytes);
    let (v2, body) = match text.strip_prefix(SUBS_V2_HEADER) {
        Some(body) => (true, body),
        None => (false, &*text),
    };
    let mut names = HashSet::new();
    for line in body.lines() {
        if line.is_empty() {
            continue;
        }
        let mut parts: Vec<String> = if v2 {
            line.split('\t')
                .map(|c| decode_subscription_component(&tab_unescape(c)))
                .collect()
        } else {
            line.split(['.', '/'])
                .map(decode_subscription_component)
                .collect()
        };
        normalize_inbox(&mut parts);
        names.insert(parts.join("/"));
    }
    Ok(names)
}

/// Writes the root's `subscriptions` file (Dovecot format 2) atomically.
/// `names` are postcore names (`INBOX`, `A/B`); names Maildir++ could not
/// hold (see [`Writer::create`]) are refused.
pub fn write_subscriptions(root: &Path, names: &[String]) -> Result<(), Error> {
    let mut out = String::from(SUBS_V2_HEADER);
    for name in names {
        if name.eq_ignore_ascii_case("INBOX") {
            out.push_str("INBOX\n");
            continue;
        }
        // Validates and encodes; the dots it puts between components become
        // tabs. Encoded components are printable ASCII, so Dovecot's tab
        // escaping (\001 sequences) never applies.
        let dir = dir_name_for_folder(name)?;
        let line: Vec<&str> = dir.split('.').skip(1).collect();
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    fs::create_dir_all(root).map_err(|e| io_err(root, e))?;
    write_atomic(root, SUBSCRIPTIONS, out.as_bytes())
}

// ---------------------------------------------------------------------------
// listing and reading

/// One message file, listed without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    /// Everything but the bytes; `internal_date` is the file's mtime (what
    /// Dovecot reports as INTERNALDATE for Maildir).
    pub meta: Meta,
    pub size: u64,
}

struct Found {
    path: PathBuf,
    file_name: OsString,
    meta: Meta,
    size: u64,
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let before = e.duration();
            // Round towards the past, like time_t does.
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            if before.subsec_nanos() > 0 {
                -secs - 1
            } else {
                -secs
            }
        }
    }
}

fn system_time(t: i64) -> Option<SystemTime> {
    if t >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(t.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(t.unsigned_abs()))
    }
}

/// Flags and keywords from the part of a file name after its first ':'.
/// Only the `2,` (flags) info form has a meaning; letters with no meaning
/// and keyword letters missing from `dovecot-keywords` are ignored, as
/// Dovecot does.
fn parse_info(info: &str, keywords: &KeywordTable, meta: &mut Meta) {
    let Some(letters) = info.strip_prefix("2,") else {
        return;
    };
    for c in letters.chars() {
        match c {
            'D' => meta.flags |= DRAFT,
            'F' => meta.flags |= FLAGGED,
            'P' => push_unique(&mut meta.keywords, FORWARDED),
            'R' => meta.flags |= ANSWERED,
            'S' => meta.flags |= SEEN,
            'T' => meta.flags |= DELETED,
            'a'..='z' => {
                let idx = usize::from(c as u8 - b'a');
                if let Some(Some(kw)) = keywords.get(idx) {
                    push_unique(&mut meta.keywords, kw);
                }
            }
            _ => {}
        }
    }
}

/// Every message of `folder` without reading bodies (cheap enough for a
/// resumed import to list and skip): files named in `dovecot-uidlist` by
/// UID ascending, then the rest (new deliveries) by file name with `uid`
/// `None`. Uidlist lines whose file is gone (expunged) are skipped; a file
/// in both `cur/` and `new/` (a move in progress) counts once, from `cur/`.
/// Dot files are not messages (Maildir reserves them).
pub fn entries(folder: &Folder) -> Result<Vec<Entry>, Error> {
    let dir = &folder.path;
    let uidlist = read_uidlist(dir, false)?.unwrap_or_default();
    let keywords = read_keywords(dir)?;
    let mut found: HashMap<String, Found> = HashMap::new();
    for sub in ["cur", "new"] {
        let subdir = dir.join(sub);
        let Some(iter) = read_dir_if_present(&subdir)? else {
            continue;
        };
        for dirent in iter {
            let dirent = dirent.map_err(|e| io_err(&subdir, e))?;
            let file_name = dirent.file_name();
            let name = file_name.to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = dirent.path();
            let md = match fs::metadata(&path) {
                Ok(md) => md,
                // Moved or expunged between readdir and stat.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path, e)),
            };
            if !md.is_file() {
                continue;
            }
            let (base, info) = match name.split_once(':') {
                Some((b, i)) => (b.to_owned(), Some(i)),
                None => (name.clone(), None),
            };
            if found.contains_key(&base) {
                continue;
            }
            let mut meta = Meta {
                internal_date: md.modified().map(unix_seconds).unwrap_or(0),
                ..Meta::default()
            };
            if sub == "cur"
                && let Some(info) = info
            {
                parse_info(info, &keywords, &mut meta);
            }
            found.insert(
                base,
                Found {
                    path,
                    file_name,
                    meta,
                    size: md.len(),
                },
            );
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for (uid, base) in &uidlist.entries {
        if let Some(f) = found.remove(base) {
            let mut meta = f.meta;
            meta.uid = Some(*uid);
            out.push(Entry {
                path: f.path,
                meta,
                size: f.size,
            });
        }
    }
    let mut rest: Vec<Found> = found.into_values().collect();
    rest.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    out.extend(rest.into_iter().map(|f| Entry {
        path: f.path,
        meta: f.meta,
        size: f.size,
    }));
    Ok(out)
}

/// Reads the message file. A file gone since [`entries`] listed it is
/// [`Error::Vanished`].
pub fn read(entry: &Entry) -> Result<Message, Error> {
    match fs::read(&entry.path) {
        Ok(raw) => Ok(Message {
            meta: entry.meta.clone(),
            raw,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::Vanished(entry.path.clone())),
        Err(e) => Err(io_err(&entry.path, e)),
    }
}

// ---------------------------------------------------------------------------
// export

/// Writes one folder for export. Every message is durable (fsynced) once
/// [`Writer::add`] returns; the uidlist and keywords files are written by
/// [`Writer::finish`], so a folder without `dovecot-uidlist` is an export
/// that did not finish.
#[derive(Debug)]
pub struct Writer {
    dir: PathBuf,
    /// uid -> base name
    uids: BTreeMap<u32, String>,
    /// Index is the flag letter (`a` + i).
    keywords: Vec<String>,
    seq: u64,
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    // Directory fsync makes renames durable on Unix; elsewhere directories
    // cannot be opened as files and the rename is all there is.
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let tmp = dir.join(format!("{name}.postcore-tmp"));
    let dst = dir.join(name);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
        fs::rename(&tmp, &dst).map_err(|e| io_err(&dst, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir)
}

/// The entries of `dir`, or None when it does not exist (Maildir's `new/`
/// and `cur/` are both optional).
fn read_dir_if_present(dir: &Path) -> Result<Option<fs::ReadDir>, Error> {
    match fs::read_dir(dir) {
        Ok(it) => Ok(Some(it)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(dir, e)),
    }
}

fn has_messages(dir: &Path) -> Result<bool, Error> {
    for sub in ["cur", "new"] {
        let subdir = dir.join(sub);
        let Some(iter) = read_dir_if_present(&subdir)? else {
            continue;
        };
        for dirent in iter {
            let dirent = dirent.map_err(|e| io_err(&subdir, e))?;
            if !dirent.file_name().to_string_lossy().starts_with('.') {
                return Ok(true);
            }
        }
    }
    Ok(dir.join(UIDLIST).exists())
}

fn guid_hex() -> String {
    // 128 bits that only need to be unique, not secret: std's randomly
    // seeded hasher over the time and pid gives that without a crate.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut out = String::with_capacity(32);
    for half in 0..2u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.write_u8(half);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

impl Writer {
    /// Creates the folder `name` (postcore name; `INBOX` is `root` itself,
    /// `A/B` is `root/.A.B`) with `cur/ new/ tmp/`. Components are modified
    /// UTF-7 encoded; a `.` inside a component is refused (see the module
    /// comment). A folder that already holds messages or a uidlist is
    /// refused too: merging into it would mix two UID spaces.
    pub fn create(root: &Path, name: &str) -> Result<Writer, Error> {
        let (dir, is_sub) = if name.eq_ignore_ascii_case("INBOX") {
            (root.to_path_buf(), false)
        } else {
            (root.join(dir_name_for_folder(name)?), true)
        };
        for sub in ["cur", "new", "tmp"] {
            let p = dir.join(sub);
            fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
        }
        if has_messages(&dir)? {
            return Err(Error::Invalid(format!(
                "{}: folder already holds messages; refusing to export into it",
                dir.display()
            )));
        }
        if is_sub {
            let marker = dir.join(MAILDIRFOLDER);
            File::create(&marker).map_err(|e| io_err(&marker, e))?;
        }
        Ok(Writer {
            dir,
            uids: BTreeMap::new(),
            keywords: Vec::new(),
            seq: 0,
        })
    }

    /// The folder's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The letter for `kw`, taking a new one from `added` (keywords this
    /// message introduces, committed only once it is stored, so a refused
    /// message leaves no unused entries in `dovecot-keywords`).
    fn keyword_letter(&self, kw: &str, added: &mut Vec<String>) -> Result<char, Error> {
        let known = self
            .keywords
            .iter()
            .chain(added.iter())
            .position(|k| k == kw);
        let idx = match known {
            Some(i) => i,
            None => {
                check_keyword(kw, &[])?;
                if self.keywords.len() + added.len() >= MAX_KEYWORDS {
                    return Err(Error::Invalid(format!(
                        "{}: keyword {kw:?} would be the 27th of the folder; Maildir file names hold 26 (a-z)",
                        self.dir.display()
                    )));
                }
                added.push(kw.to_owned());
                self.keywords.len() + added.len() - 1
            }
        };
        // idx < 26 by the check above.
        Ok(char::from(b'a' + idx as u8))
    }

    /// Stores one message: written to `tmp/`, mtime set to the internal
    /// date, fsynced, then renamed into `cur/` as
    /// `<internal_date>.P<uid>Q<n>.postcore:2,<flags>`. `meta.uid` is
    /// ignored; `uid` is what the uidlist will record. Keywords are a set:
    /// [`entries`] gives them back in flag-letter order (`$Forwarded` as
    /// `P` first, then by first use in this folder), not in `meta` order.
    pub fn add(&mut self, uid: u32, meta: &Meta, raw: &[u8]) -> Result<(), Error> {
        if uid == 0 {
            return Err(Error::Invalid("UID 0 is not a valid UID".to_owned()));
        }
        if self.uids.contains_key(&uid) {
            return Err(Error::Invalid(format!(
                "{}: UID {uid} added twice",
                self.dir.display()
            )));
        }
        let mtime = system_time(meta.internal_date).ok_or_else(|| {
            Error::Invalid(format!(
                "internal date {} is out of range",
                meta.internal_date
            ))
        })?;
        let mut letters = Vec::new();
        for (bit, c) in [
            (DRAFT, 'D'),
            (FLAGGED, 'F'),
            (ANSWERED, 'R'),
            (SEEN, 'S'),
            (DELETED, 'T'),
        ] {
            if meta.flags & bit != 0 {
                letters.push(c);
            }
        }
        let mut added = Vec::new();
        for kw in &meta.keywords {
            if kw.eq_ignore_ascii_case(FORWARDED) {
                letters.push('P');
            } else {
                letters.push(self.keyword_letter(kw, &mut added)?);
            }
        }
        // Maildir wants the letters in ASCII order, which also puts D F P R
        // S T before the keyword letters.
        letters.sort_unstable();
        letters.dedup();
        let base = format!("{}.P{uid}Q{}.postcore", meta.internal_date, self.seq);
        self.seq += 1;
        let tmp = self.dir.join("tmp").join(&base);
        let info: String = letters.into_iter().collect();
        let dst = self.dir.join("cur").join(format!("{base}:2,{info}"));
        let result = (|| {
            let mut f = File::create_new(&tmp).map_err(|e| io_err(&tmp, e))?;
            f.write_all(raw).map_err(|e| io_err(&tmp, e))?;
            f.set_modified(mtime).map_err(|e| io_err(&tmp, e))?;
            f.sync_all().map_err(|e| io_err(&tmp, e))?;
            drop(f);
            // rename() would silently replace; the name is unique per
            // writer and the folder was empty, so this only trips on a
            // concurrent writer.
            if dst.exists() {
                return Err(Error::Invalid(format!("{}: already exists", dst.display())));
            }
            fs::rename(&tmp, &dst).map_err(|e| io_err(&dst, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        self.uids.insert(uid, base);
        self.keywords.append(&mut added);
        Ok(())
    }

    /// Writes `dovecot-keywords` (if any keyword was used) and then
    /// `dovecot-uidlist` (version 3), each atomically. A `uidnext` not above
    /// the highest added UID is raised to highest + 1.
    pub fn finish(self, uidvalidity: u32, uidnext: u32) -> Result<(), Error> {
        if uidvalidity == 0 {
            return Err(Error::Invalid("UIDVALIDITY 0 is not valid".to_owned()));
        }
        let uidnext = match self.uids.keys().next_back() {
            Some(&max) => {
                let min_next = max.checked_add(1).ok_or_else(|| {
                    Error::Invalid(format!("UID {max} leaves no room for a next UID"))
                })?;
                uidnext.max(min_next)
            }
            None => uidnext.max(1),
        };
        sync_dir(&self.dir.join("cur"))?;
        if !self.keywords.is_empty() {
            let mut kw = String::new();
            for (i, k) in self.keywords.iter().enumerate() {
                kw.push_str(&format!("{i} {k}\n"));
            }
            write_atomic(&self.dir, KEYWORDS, kw.as_bytes())?;
        }
        let mut list = format!("3 V{uidvalidity} N{uidnext} G{}\n", guid_hex());
        for (uid, base) in &self.uids {
            list.push_str(&format!("{uid} :{base}\n"));
        }
        write_atomic(&self.dir, UIDLIST, list.as_bytes())
    }
}

#[cfg(test)]
mod tests;
