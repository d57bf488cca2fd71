//! The index checkpoint: an rkyv archive of the whole index plus the log
//! position it covers, written atomically and read back with one io_uring
//! read into an aligned buffer and validated in place.

use std::collections::{BTreeMap, HashMap};
use std::mem::take;
use std::path::{Path, PathBuf};

use glommio::io::{Directory, DmaFile, OpenOptions};

use crate::error::{Result, StoreError};
use crate::index::{Index, Mailbox, Msgs};
use crate::segment::write_all_at;

pub const CKPT_MAGIC: [u8; 8] = *b"PCSTCKP1";
/// 2 added annotations, 3 the object id and save date arrays; an older
/// checkpoint is ignored (the log is replayed, and the log has
/// everything), which is how old stores gain them.
pub const CKPT_VERSION: u32 = 3;
/// The archive starts here so it is 64-byte aligned in the read buffer.
pub const CKPT_BODY: usize = 64;

pub fn ckpt_path(dir: &Path) -> PathBuf {
    dir.join("index.rkyv")
}
fn ckpt_tmp(dir: &Path) -> PathBuf {
    dir.join("index.rkyv.tmp")
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
pub struct Image {
    /// Log position covered: replay starts at (segment, offset).
    pub log_segment: u32,
    pub log_offset: u64,
    /// (segment id, generation) of every segment the locations refer to; a
    /// mismatch on open (a compaction finished after this checkpoint) makes
    /// the checkpoint stale.
    pub segments: Vec<(u32, u32)>,
    pub next_mailbox_id: u32,
    pub next_uidvalidity: u32,
    pub subscriptions: Vec<String>,
    pub mailboxes: Vec<MailboxImage>,
    pub server_meta: Vec<(String, Vec<u8>)>,
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
pub struct MailboxImage {
    pub id: u32,
    pub name: String,
    pub special_use: u8,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highest_modseq: u64,
    pub keywords: Vec<String>,
    pub uid: Vec<u32>,
    pub flags: Vec<u8>,
    pub kw_low: Vec<u64>,
    pub date: Vec<i64>,
    pub size: Vec<u32>,
    pub modseq: Vec<u64>,
    pub loc: Vec<u64>,
    pub facts_len: Vec<u32>,
    pub email_id: Vec<u64>,
    pub thread_id: Vec<u64>,
    pub save_date: Vec<i64>,
    pub msgid: Vec<u64>,
    pub kw_high: Vec<(u32, Vec<u16>)>,
    pub expunged: Vec<(u64, u32, u32)>,
    pub unseen: u32,
    pub deleted: u32,
    pub total_size: u64,
    pub meta: Vec<(String, Vec<u8>)>,
}

/// Build the image by *moving* the message arrays out of the index (no
/// copy of the big arrays); [`restore`] must put them back before the
/// index is used again. Both run inside one borrow, with no await between.
pub fn take_image(ix: &mut Index, pos: (u32, u64), segments: &BTreeMap<u32, u32>) -> Image {
    Image {
        log_segment: pos.0,
        log_offset: pos.1,
        segments: segments.iter().map(|(a, b)| (*a, *b)).collect(),
        next_mailbox_id: ix.next_mailbox_id,
        next_uidvalidity: ix.next_uidvalidity,
        subscriptions: ix.subscriptions.iter().cloned().collect(),
        mailboxes: ix
            .mailboxes
            .values_mut()
            .map(|m| MailboxImage {
                id: m.id,
                name: m.name.clone(),
                special_use: m.special_use,
                uidvalidity: m.uidvalidity,
                uidnext: m.uidnext,
                highest_modseq: m.highest_modseq,
                keywords: m.keywords.clone(),
                uid: take(&mut m.msgs.uid),
                flags: take(&mut m.msgs.flags),
                kw_low: take(&mut m.msgs.kw_low),
                date: take(&mut m.msgs.date),
                size: take(&mut m.msgs.size),
                modseq: take(&mut m.msgs.modseq),
                loc: take(&mut m.msgs.loc),
                facts_len: take(&mut m.msgs.facts_len),
                email_id: take(&mut m.msgs.email_id),
                thread_id: take(&mut m.msgs.thread_id),
                save_date: take(&mut m.msgs.save_date),
                msgid: take(&mut m.msgs.msgid),
                kw_high: m
                    .msgs
                    .kw_high
                    .iter()
                    .map(|(k, v)| (*k, v.clone()))
                    .collect(),
                expunged: take(&mut m.expunged),
                unseen: m.unseen,
                deleted: m.deleted,
                total_size: m.total_size,
                meta: m.meta.to_vec(),
            })
            .collect(),
        server_meta: ix.server_meta.to_vec(),
    }
}

/// Move the arrays taken by [`take_image`] back into the index.
pub fn restore(ix: &mut Index, img: Image) {
    for mi in img.mailboxes {
        if let Some(m) = ix.mailboxes.get_mut(&mi.id) {
            m.msgs.uid = mi.uid;
            m.msgs.flags = mi.flags;
            m.msgs.kw_low = mi.kw_low;
            m.msgs.date = mi.date;
            m.msgs.size = mi.size;
            m.msgs.modseq = mi.modseq;
            m.msgs.loc = mi.loc;
            m.msgs.facts_len = mi.facts_len;
            m.msgs.email_id = mi.email_id;
            m.msgs.thread_id = mi.thread_id;
            m.msgs.save_date = mi.save_date;
            m.msgs.msgid = mi.msgid;
            m.expunged = mi.expunged;
        }
    }
}

/// Serialize an image: a zeroed header, then the archive written straight
/// after it (no second copy). [`seal`] fills in the header.
pub fn serialize(img: &Image) -> Result<Vec<u8>> {
    let msgs: usize = img.mailboxes.iter().map(|m| m.uid.len()).sum();
    let mut out = Vec::with_capacity(CKPT_BODY + 4096 + msgs * 80);
    out.resize(CKPT_BODY, 0);
    // Archive positions are relative; alignment padding is computed from
    // the buffer start, and CKPT_BODY is a multiple of every alignment.
    rkyv::api::high::to_bytes_in::<_, rkyv::rancor::Error>(img, out)
        .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))
}

/// Fill the header (magic, version, crc, length) of a serialized image.
/// Pure CPU over the whole buffer, so callers run it off the executor.
pub fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let body_len = out.len().saturating_sub(CKPT_BODY);
    let crc = crc32fast::hash(out.get(CKPT_BODY..).unwrap_or(&[]));
    let mut head = Vec::with_capacity(CKPT_BODY);
    head.extend_from_slice(&CKPT_MAGIC);
    head.extend_from_slice(&CKPT_VERSION.to_le_bytes());
    head.extend_from_slice(&crc.to_le_bytes());
    head.extend_from_slice(&(body_len as u64).to_le_bytes());
    head.resize(CKPT_BODY, 0);
    if let Some(h) = out.get_mut(..CKPT_BODY) {
        h.copy_from_slice(&head);
    }
    out
}

/// Write the checkpoint atomically: temp file, fdatasync, rename, dir sync.
pub async fn write(dir: &Path, bytes: Vec<u8>) -> Result<()> {
    let tmp = ckpt_tmp(dir);
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .buffered_open(&tmp)
        .await?;
    write_all_at(&f, bytes, 0).await?;
    f.fdatasync().await?;
    f.close().await?;
    glommio::io::rename(&tmp, ckpt_path(dir)).await?;
    let d = Directory::open(dir).await?;
    d.sync().await?;
    d.close().await?;
    Ok(())
}

/// What a checkpoint gave us.
pub struct Loaded {
    pub index: Index,
    pub log_segment: u32,
    pub log_offset: u64,
    pub segments: Vec<(u32, u32)>,
}

/// Load the checkpoint, or `None` if absent, damaged or of another version
/// (the log is the truth; the caller replays it all).
pub async fn load(dir: &Path) -> Option<Loaded> {
    let path = ckpt_path(dir);
    let f = match DmaFile::open(&path).await {
        Ok(f) => f,
        Err(_) => return None,
    };
    let r = read_and_decode(&f).await;
    let _ = f.close().await;
    match r {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring unusable checkpoint; replaying the whole log");
            None
        }
    }
}

async fn read_and_decode(f: &DmaFile) -> Result<Loaded> {
    let size = f.file_size().await? as usize;
    let buf = f.read_at(0, size).await?;
    let bad = |r: &str| StoreError::Corrupt {
        segment: 0,
        offset: 0,
        reason: format!("checkpoint: {r}"),
    };
    let head = buf.get(..CKPT_BODY).ok_or_else(|| bad("short header"))?;
    if head[..8] != CKPT_MAGIC {
        return Err(bad("bad magic"));
    }
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    if word(8) != CKPT_VERSION {
        return Err(bad("unsupported version"));
    }
    let mut l8 = [0u8; 8];
    l8.copy_from_slice(&head[16..24]);
    let len = u64::from_le_bytes(l8) as usize;
    let body = buf
        .get(CKPT_BODY..CKPT_BODY.saturating_add(len))
        .ok_or_else(|| bad("short body"))?;
    if crc32fast::hash(body) != word(12) {
        return Err(bad("crc mismatch"));
    }
    let a = rkyv::access::<ArchivedImage, rkyv::rancor::Error>(body)
        .map_err(|e| bad(&e.to_string()))?;
    let loaded = from_archived(a);
    if !consistent(&loaded.index) {
        return Err(bad("inconsistent message arrays"));
    }
    Ok(loaded)
}

/// The invariants the index code relies on: equal array lengths and
/// strictly ascending UIDs below UIDNEXT.
fn consistent(ix: &Index) -> bool {
    ix.mailboxes.values().all(|mb| {
        let m = &mb.msgs;
        let n = m.uid.len();
        [
            m.flags.len(),
            m.kw_low.len(),
            m.date.len(),
            m.size.len(),
            m.modseq.len(),
            m.loc.len(),
            m.facts_len.len(),
            m.email_id.len(),
            m.thread_id.len(),
            m.save_date.len(),
            m.msgid.len(),
        ]
        .iter()
        .all(|l| *l == n)
            && m.uid.windows(2).all(|w| w[0] < w[1])
            && m.uid.last().is_none_or(|u| *u < mb.uidnext)
    })
}

fn from_archived(a: &ArchivedImage) -> Loaded {
    let mut ix = Index::new();
    ix.next_mailbox_id = a.next_mailbox_id.to_native();
    ix.next_uidvalidity = a.next_uidvalidity.to_native();
    ix.subscriptions = a
        .subscriptions
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    ix.server_meta = meta_of(&a.server_meta);
    for m in a.mailboxes.iter() {
        let msgs = Msgs {
            uid: m.uid.iter().map(|v| v.to_native()).collect(),
            flags: m.flags.as_slice().to_vec(),
            kw_low: m.kw_low.iter().map(|v| v.to_native()).collect(),
            date: m.date.iter().map(|v| v.to_native()).collect(),
            size: m.size.iter().map(|v| v.to_native()).collect(),
            modseq: m.modseq.iter().map(|v| v.to_native()).collect(),
            loc: m.loc.iter().map(|v| v.to_native()).collect(),
            facts_len: m.facts_len.iter().map(|v| v.to_native()).collect(),
            email_id: m.email_id.iter().map(|v| v.to_native()).collect(),
            thread_id: m.thread_id.iter().map(|v| v.to_native()).collect(),
            save_date: m.save_date.iter().map(|v| v.to_native()).collect(),
            msgid: m.msgid.iter().map(|v| v.to_native()).collect(),
            kw_high: m
                .kw_high
                .iter()
                .map(|e| (e.0.to_native(), e.1.iter().map(|k| k.to_native()).collect()))
                .collect::<HashMap<_, _>>(),
        };
        let uidnext = m.uidnext.to_native();
        let mb = Mailbox {
            id: m.id.to_native(),
            name: m.name.as_str().to_owned(),
            special_use: m.special_use,
            uidvalidity: m.uidvalidity.to_native(),
            uidnext,
            highest_modseq: m.highest_modseq.to_native(),
            visible_uidnext: uidnext,
            keywords: m.keywords.iter().map(|s| s.as_str().to_owned()).collect(),
            msgs,
            unseen: m.unseen.to_native(),
            deleted: m.deleted.to_native(),
            total_size: m.total_size.to_native(),
            meta: meta_of(&m.meta),
            expunged: m
                .expunged
                .iter()
                .map(|e| (e.0.to_native(), e.1.to_native(), e.2.to_native()))
                .collect(),
        };
        ix.by_name.insert(mb.name.clone(), mb.id);
        ix.mailboxes.insert(mb.id, mb);
    }
    Loaded {
        index: ix,
        log_segment: a.log_segment.to_native(),
        log_offset: a.log_offset.to_native(),
        segments: a
            .segments
            .iter()
            .map(|e| (e.0.to_native(), e.1.to_native()))
            .collect(),
    }
}

fn meta_of(
    v: &rkyv::vec::ArchivedVec<
        rkyv::tuple::ArchivedTuple2<rkyv::string::ArchivedString, rkyv::vec::ArchivedVec<u8>>,
    >,
) -> crate::metadata::Annotations {
    crate::metadata::Annotations::from_pairs(
        v.iter()
            .map(|e| (e.0.as_str().to_owned(), e.1.as_slice().to_vec())),
    )
}

/// Used by `open` to discard a half-written temp file from a crash.
pub async fn remove_tmp(dir: &Path) {
    let _ = glommio::io::remove(ckpt_tmp(dir)).await;
}
