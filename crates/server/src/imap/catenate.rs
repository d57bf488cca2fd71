//! CATENATE (RFC 4469): an APPENDed message made of literal text and of
//! messages or parts of messages already in the user's mailboxes, named by
//! relative IMAP URLs (RFC 5092), so a client forwarding an attachment does
//! not download and upload it again. Without URLAUTH, a URL can only name
//! the logged-in user's own mail; absolute (`imap://`) URLs are refused.

use imap_exec::ExecError;
use imap_exec::fetch::{Slice, section_range};
use imap_proto::{CatPart, CatParts};
use store::Store;

/// What a URL names: `/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]`.
#[derive(Debug, PartialEq, Eq)]
pub struct MessageUrl {
    /// The mailbox name, percent-decoded (still modified UTF-7).
    pub mailbox: Vec<u8>,
    pub uidvalidity: Option<u32>,
    pub uid: u32,
    pub section: Option<(Vec<u32>, Slice)>,
    pub partial: Option<(u32, Option<u32>)>,
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn number(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `1.2.MIME`, `HEADER`, `2.TEXT`, `3`: the part path and what of it.
/// HEADER.FIELDS is not a URL section RFC 5092 clients send; refused.
fn section(s: &str) -> Option<(Vec<u32>, Slice)> {
    let mut path = Vec::new();
    let mut slice = Slice::Full;
    let mut items = s.split('.').peekable();
    while let Some(item) = items.next() {
        if let Some(n) = number(item).filter(|&n| n > 0) {
            path.push(n);
            continue;
        }
        slice = match item.to_ascii_uppercase().as_str() {
            "HEADER" => Slice::Header,
            "TEXT" => Slice::Text,
            "MIME" if !path.is_empty() => Slice::Mime,
            _ => return None,
        };
        if items.peek().is_some() {
            return None;
        }
    }
    Some((path, slice))
}

/// Parses a relative IMAP URL naming one message (RFC 5092 §6's
/// `imessagepart` after the server part). None for anything else.
pub fn parse(url: &[u8]) -> Option<MessageUrl> {
    let url = std::str::from_utf8(url).ok()?;
    let rest = url.strip_prefix('/')?;
    // The mailbox runs to the first `;` parameter (`;` cannot be in an
    // enc-mailbox unencoded) or to `/;UID=`.
    let split = rest.find(';')?;
    let (enc_mailbox, params) = rest.split_at(split);
    let enc_mailbox = enc_mailbox.strip_suffix('/').unwrap_or(enc_mailbox);
    if enc_mailbox.is_empty() {
        return None;
    }
    let mailbox: Vec<u8> = percent_encoding::percent_decode_str(enc_mailbox).collect();
    let mut out = MessageUrl {
        mailbox,
        uidvalidity: None,
        uid: 0,
        section: None,
        partial: None,
    };
    let mut params = params.split('/').filter(|p| !p.is_empty()).peekable();
    if let Some(v) = params
        .peek()
        .and_then(|p| strip_prefix_ci(p, ";UIDVALIDITY="))
    {
        out.uidvalidity = Some(number(v).filter(|&n| n > 0)?);
        params.next();
    }
    out.uid = number(strip_prefix_ci(params.next()?, ";UID=")?).filter(|&n| n > 0)?;
    for p in params {
        if let Some(s) = strip_prefix_ci(p, ";SECTION=") {
            if out.section.is_some() || out.partial.is_some() {
                return None;
            }
            let s = percent_encoding::percent_decode_str(s).decode_utf8().ok()?;
            out.section = Some(section(&s)?);
        } else if let Some(r) = strip_prefix_ci(p, ";PARTIAL=") {
            if out.partial.is_some() {
                return None;
            }
            let (off, len) = match r.split_once('.') {
                Some((o, l)) => (number(o)?, Some(number(l).filter(|&n| n > 0)?)),
                None => (number(r)?, None),
            };
            out.partial = Some((off, len));
        } else {
            // ;URLAUTH=, ;EXPIRE= and anything unknown.
            return None;
        }
    }
    Some(out)
}

/// `NO [BADURL url] ...`. The code carries the URL, and ExecError's codes
/// are static, so it goes out as the start of the text: the same bytes.
fn bad_url(url: &[u8]) -> ExecError {
    // url-resp-text: any text but CR, LF and `]`.
    let shown: String = String::from_utf8_lossy(url)
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n' | ']'))
        .collect();
    ExecError::no(
        None,
        format!("[BADURL {shown}] The URL names nothing this user can read"),
    )
}

/// The bytes `url` names, read from `store`.
async fn resolve(store: &Store, url: &[u8], utf8: bool) -> Result<Vec<u8>, ExecError> {
    let u = parse(url).ok_or_else(|| bad_url(url))?;
    let name = if utf8 {
        String::from_utf8(u.mailbox.clone()).map_err(|_| bad_url(url))?
    } else {
        imap_proto::mutf7::decode(&u.mailbox)
            .map_err(|_| bad_url(url))?
            .into_owned()
    };
    let name = super::names::canonical(&name);
    let id = store.mailbox_id(&name).ok_or_else(|| bad_url(url))?;
    let status = store.status(id)?;
    if u.uidvalidity.is_some_and(|v| v != status.uidvalidity) {
        return Err(bad_url(url));
    }
    let gone = |e: store::StoreError| match e {
        store::StoreError::NoSuchMessage(_) => bad_url(url),
        e => ExecError::Store(e),
    };
    let bytes = match &u.section {
        None => store.read_message(id, u.uid).await.map_err(gone)?.to_vec(),
        Some((path, slice)) => {
            let facts = store.facts(id, u.uid).await.map_err(gone)?;
            let r = section_range(&facts, path, *slice).ok_or_else(|| bad_url(url))?;
            let (start, len) = (
                u32::try_from(r.start).map_err(|_| bad_url(url))?,
                u32::try_from(r.len()).map_err(|_| bad_url(url))?,
            );
            store
                .read_range(id, u.uid, start, len)
                .await
                .map_err(gone)?
                .to_vec()
        }
    };
    Ok(match u.partial {
        None => bytes,
        Some((off, len)) => {
            let start = (off as usize).min(bytes.len());
            let end = len.map_or(bytes.len(), |l| {
                start.saturating_add(l as usize).min(bytes.len())
            });
            bytes[start..end].to_vec()
        }
    })
}

/// The message the parts make, at most `max` bytes (else `NO [TOOBIG]`).
pub async fn assemble(
    store: &Store,
    parts: &CatParts<'_>,
    utf8: bool,
    max: u64,
) -> Result<Vec<u8>, ExecError> {
    let mut out = Vec::new();
    for part in parts.iter() {
        match part {
            CatPart::Text { data, .. } => out.extend_from_slice(data),
            CatPart::Url(u) => out.extend_from_slice(&resolve(store, &u.to_bytes(), utf8).await?),
        }
        if out.len() as u64 > max {
            return Err(ExecError::no(
                Some("TOOBIG"),
                "The message would be larger than APPENDLIMIT",
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_4469_urls() {
        let u = parse(b"/INBOX;UIDVALIDITY=385759045/;UID=20/;section=1.mime").unwrap();
        assert_eq!(u.mailbox, b"INBOX");
        assert_eq!(u.uidvalidity, Some(385759045));
        assert_eq!(u.uid, 20);
        assert_eq!(u.section, Some((vec![1], Slice::Mime)));
        let u = parse(b"/Drafts%20Old/;UID=3/;SECTION=HEADER/;PARTIAL=5.10").unwrap();
        assert_eq!(u.mailbox, b"Drafts Old");
        assert_eq!((u.uidvalidity, u.uid), (None, 3));
        assert_eq!(u.section, Some((vec![], Slice::Header)));
        assert_eq!(u.partial, Some((5, Some(10))));
        let u = parse(b"/a/b;UIDVALIDITY=1/;UID=1/;SECTION=2.3.TEXT").unwrap();
        assert_eq!(u.mailbox, b"a/b");
        assert_eq!(u.section, Some((vec![2, 3], Slice::Text)));
        assert_eq!(
            parse(b"/INBOX/;UID=7/;PARTIAL=0").unwrap().partial,
            Some((0, None))
        );
    }

    #[test]
    fn refuses_what_it_cannot_serve() {
        for bad in [
            &b"imap://joe@example.com/INBOX/;UID=1"[..],
            b"INBOX/;UID=1",
            b"/INBOX",
            b"/INBOX/;UID=0",
            b"/INBOX/;UID=x",
            b"/;UID=1",
            b"/INBOX/;UID=1;URLAUTH=anonymous:internal:abc",
            b"/INBOX/;UID=1/;URLAUTH=anonymous",
            b"/INBOX/;UID=1/;SECTION=MIME",
            b"/INBOX/;UID=1/;SECTION=1.HEADER.FIELDS",
            b"/INBOX/;UID=1/;SECTION=TEXT.1",
            b"/INBOX/;UID=1/;PARTIAL=1.0",
            b"/INBOX/;UID=1/;PARTIAL=1/;PARTIAL=2",
            b"/INBOX;UIDVALIDITY=0/;UID=1",
            b"/INBOX/;UID=1/;PARTIAL=1/;SECTION=1",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
