//! Building [`Facts`] from a raw message with mail-parser.
//!
//! mail-parser supplies the MIME tree (which part is a multipart, which is an
//! encapsulated message, where each header and body starts and ends) and the
//! decoded values SORT and PREVIEW need. Everything IMAP returns verbatim
//! (ENVELOPE strings, BODYSTRUCTURE parameters) is re-read from the raw header
//! bytes by the small readers in `headers`, `address` and `params`.
//!
//! The tree is walked with an explicit stack, and mail-parser's own result is
//! taken apart iteratively afterwards, so nesting depth never turns into Rust
//! stack depth on our side.
//!
//! What we found in mail-parser 0.11 and how it is handled:
//! - Multipart and unencoded message/rfc822 nesting is parsed iteratively
//!   (no recursion), but dropping the result recurses once per nested
//!   message: see [`dismantle`].
//! - A base64 or quoted-printable message/rfc822 part is decoded and parsed
//!   recursively, and converting that result to owned data recurses once per
//!   level *inside* it, so 10,000 nested messages in one base64 part overflow
//!   the stack. mail-parser is therefore never told about transfer
//!   encodings (the header is parsed as ignored), and an encoded message part
//!   is hidden from it by renaming its media type in a private copy (see
//!   [`neutralize`]); such a part is a leaf in the facts, as IMAP servers
//!   commonly report it.
//! - Because mail-parser then does no transfer decoding, the preview text is
//!   decoded here ([`decode_binary`] plus mail-parser's charset decoders);
//!   BINARY sizes never depended on mail-parser's decoding.
//! - Only the headers the facts use are parsed by mail-parser (Date, Subject,
//!   From/To/Cc, message ids, MIME headers); the rest are skipped, which also
//!   saves its costly Received parsing.

use std::borrow::Cow;

use std::sync::OnceLock;

use mail_parser::{Header, HeaderName, Message, MessageParser, PartType};

use crate::address;
use crate::decode::{classify, decode_binary};
use crate::facts::{
    Address, Envelope, Facts, MAX_DEPTH_CEILING, Param, Part, PartKind, SortAddress, SortKeys,
    TransferEncoding,
};
use crate::headers::{find, nonempty_value_of, raw_value, unfold, value_of};
use crate::params;
use crate::subject::base_subject;
use mail_parser::decoders::charsets::map::charset_decoder;

/// Bounds on the work one message can cause. Past them, the subtree that
/// would exceed a bound is kept as one opaque leaf and [`Facts::truncated`]
/// is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest part nesting walked (the top-level body is depth 0); a
    /// message part cut here still gets its one stand-in body a level
    /// deeper. Clamped to [`MAX_DEPTH_CEILING`] - 1.
    pub max_depth: u32,
    /// Most parts walked. Message parts cut by this bound add one stand-in
    /// body each, so the tree holds at most twice this many parts.
    pub max_parts: u32,
    /// Most address structures kept per ENVELOPE address field.
    pub max_addresses: usize,
    /// PREVIEW length in characters (RFC 8970 caps it at 256; 200 is its
    /// recommendation).
    pub preview_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_parts: 10_000,
            max_addresses: 1_000,
            preview_chars: 200,
        }
    }
}

/// Raw body bytes looked at for the preview: enough for 200 characters
/// after decoding, with room for markup in HTML.
const PREVIEW_TEXT_SCAN: usize = 16 * 1024;
const PREVIEW_HTML_SCAN: usize = 64 * 1024;

/// Facts of `raw` with default [`Limits`]. Never panics; work is linear in
/// the message size and bounded in depth and part count.
pub fn compute(raw: &[u8]) -> Facts {
    compute_with(raw, &Limits::default())
}

/// Rounds of [`neutralize`] before a message is given up on as opaque; each
/// round hides every encoded message part mail-parser reported.
const MAX_NEUTRALIZE_ROUNDS: usize = 4;

/// The mail-parser configuration: only the headers the facts need, and
/// Content-Transfer-Encoding ignored so mail-parser never decodes a body.
fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .with_mime_headers()
            .with_message_ids()
            .header_date(HeaderName::Date)
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::From)
            .header_address(HeaderName::To)
            .header_address(HeaderName::Cc)
            .ignore_header(HeaderName::ContentTransferEncoding)
            .default_header_ignore()
    })
}

/// Facts of `raw` under explicit limits.
pub fn compute_with(raw: &[u8], limits: &Limits) -> Facts {
    // mail-parser's offsets are u32; a larger message cannot be described
    // part by part, so it is kept whole (the store's append limit is far
    // below this).
    if u32::try_from(raw.len()).is_err() {
        return opaque(raw, raw.len());
    }
    let mut work: Cow<'_, [u8]> = Cow::Borrowed(raw);
    for _ in 0..MAX_NEUTRALIZE_ROUNDS {
        // mail-parser 0.11 has `debug_assert!(false, ..)` on states that
        // malformed multipart nesting can reach ("Invalid part ID, could not
        // find multipart"); release builds skip them and carry on, debug
        // builds panic. Catching the unwind keeps debug builds (and tests)
        // as panic-free as release: such a message is kept whole.
        let work_ref: &[u8] = work.as_ref();
        let parsed = std::panic::catch_unwind(|| parser().parse(work_ref));
        let Ok(parsed) = parsed else {
            let mut facts = opaque(raw, 0);
            facts.truncated = true;
            return facts;
        };
        let Some(message) = parsed else {
            // No header field at all: the header is everything up to the
            // first empty line (or the whole message when there is none).
            let header_end = memchr::memmem::find(raw, b"\n\r\n")
                .map(|p| p + 3)
                .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|p| p + 2))
                .unwrap_or(raw.len());
            return opaque(raw, header_end);
        };
        let edits = encoded_message_parts(raw, &message);
        if edits.is_empty() {
            let facts = build(raw, &message, limits);
            dismantle(message);
            return facts;
        }
        dismantle(message);
        let buf = work.to_mut();
        for edit in edits {
            neutralize(buf, edit);
        }
    }
    let mut facts = opaque(raw, 0);
    facts.truncated = true;
    facts
}

/// Where to hide an encoded message part from mail-parser.
enum Edit {
    /// Content-Type value range: its "message" tokens get renamed.
    ContentType(usize, usize),
    /// Content-Transfer-Encoding field name range (a multipart/digest child
    /// without Content-Type): the field is renamed to Content-Type, whose
    /// value (`base64`) mail-parser then reads as a non-message type.
    TransferEncodingName(usize, usize),
}

/// Every part mail-parser treats as an encapsulated message (type
/// message/rfc822 or message/global, or no type inside a multipart/digest)
/// although its raw header says base64 or quoted-printable. Such a part is
/// found by its type, not by mail-parser's result, because with decoding
/// off mail-parser reads the encoded text as a (broken) inline message.
fn encoded_message_parts(raw: &[u8], message: &Message<'_>) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut pending = vec![(message, 0usize, false)];
    while let Some((m, id, in_digest)) = pending.pop() {
        let Some(part) = m.parts.get(id) else {
            continue;
        };
        let ct = part.headers.iter().find_map(|h| h.value.as_content_type());
        let is_message = match ct {
            Some(ct) => {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct.subtype().is_some_and(|s| {
                        s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global")
                    })
            }
            None => in_digest,
        };
        let encoded = is_message
            && matches!(
                classify(value_of(raw, &part.headers, "Content-Transfer-Encoding").as_deref()),
                TransferEncoding::Base64 | TransferEncoding::QuotedPrintable
            );
        if encoded {
            if let Some(h) = find(raw, &part.headers, "Content-Type") {
                edits.push(Edit::ContentType(
                    h.offset_start as usize,
                    h.offset_end as usize,
                ));
            } else if let Some(h) = find(raw, &part.headers, "Content-Transfer-Encoding") {
                let colon = (h.offset_start as usize).saturating_sub(1);
                edits.push(Edit::TransferEncodingName(h.offset_field as usize, colon));
            }
            continue;
        }
        match &part.body {
            PartType::Multipart(ids) => {
                let digest = ct.is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case("multipart")
                        && ct
                            .subtype()
                            .is_some_and(|s| s.eq_ignore_ascii_case("digest"))
                });
                pending.extend(ids.iter().map(|&c| (m, c as usize, digest)));
            }
            PartType::Message(inner) => pending.push((inner, 0, false)),
            _ => {}
        }
    }
    edits
}

/// Applies one [`Edit`] to the private copy; lengths never change, so every
/// offset mail-parser reports stays valid for the original bytes.
fn neutralize(buf: &mut [u8], edit: Edit) {
    match edit {
        Edit::ContentType(start, end) => {
            let end = end.min(buf.len());
            let Some(value) = buf.get_mut(start.min(end)..end) else {
                return;
            };
            let mut i = 0;
            while i + 7 <= value.len() {
                if value
                    .get(i..i + 7)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"message"))
                {
                    if let Some(first) = value.get_mut(i) {
                        *first = b'x';
                    }
                    i += 7;
                } else {
                    i += 1;
                }
            }
        }
        Edit::TransferEncodingName(start, end) => {
            let end = end.min(buf.len());
            let Some(name) = buf.get_mut(start.min(end)..end) else {
                return;
            };
            const NEW: &[u8] = b"Content-Type";
            if name.len() >= NEW.len() {
                let (head, tail) = name.split_at_mut(NEW.len());
                head.copy_from_slice(NEW);
                tail.fill(b' ');
            }
        }
    }
}

/// A message described as one text/plain body after `header_end`.
fn opaque(raw: &[u8], header_end: usize) -> Facts {
    let size = u32::try_from(raw.len()).unwrap_or(u32::MAX);
    let body_start = u32::try_from(header_end).unwrap_or(size).min(size);
    let body = raw
        .get(body_start as usize..size as usize)
        .unwrap_or_default();
    let root = Part {
        kind: PartKind::Leaf,
        media_type: b"text".to_vec(),
        media_subtype: b"plain".to_vec(),
        params: vec![us_ascii()],
        id: None,
        description: None,
        encoding: b"7bit".to_vec(),
        transfer_encoding: TransferEncoding::SevenBit,
        md5: None,
        disposition: None,
        language: Vec::new(),
        location: None,
        header_start: 0,
        body_start,
        body_end: size,
        lines: count_lines(body),
        decoded_size: Some(u64::from(size - body_start)),
        children: Vec::new(),
    };
    Facts {
        size: u64::from(size),
        envelope: Envelope::default(),
        parts: vec![root],
        sort: SortKeys::default(),
        preview: String::new(),
        has_attachment: false,
        truncated: u32::try_from(raw.len()).is_err(),
    }
}

fn us_ascii() -> Param {
    Param {
        attr: b"charset".to_vec(),
        value: b"us-ascii".to_vec(),
    }
}

fn count_lines(body: &[u8]) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', body).count()).unwrap_or(u32::MAX)
}

/// A pending part of the walk.
struct Item<'m, 'x> {
    msg: &'m Message<'x>,
    /// Index into `msg.parts`.
    id: usize,
    /// Index of the parent in the output, None for the top-level body.
    parent: Option<usize>,
    depth: u32,
    /// The parent's body range: this part's offsets are clamped into it.
    lo: u32,
    hi: u32,
    /// Body of a message (top-level or encapsulated): its header starts at
    /// `lo` and its body runs to `hi`.
    message_body: bool,
    in_digest: bool,
}

fn build(raw: &[u8], msg: &Message<'_>, limits: &Limits) -> Facts {
    let size = u32::try_from(raw.len()).unwrap_or(u32::MAX);
    // A stand-in body may sit one level below max_depth.
    let max_depth = limits.max_depth.min(MAX_DEPTH_CEILING - 1);
    let max_parts = limits.max_parts.max(1) as usize;
    let mut parts: Vec<Part> = Vec::new();
    let mut truncated = false;
    let mut stack = vec![Item {
        msg,
        id: 0,
        parent: None,
        depth: 0,
        lo: 0,
        hi: size,
        message_body: true,
        in_digest: false,
    }];
    while let Some(item) = stack.pop() {
        let Some(mp) = item.msg.parts.get(item.id) else {
            continue;
        };
        let clamp = |v: u32, floor: u32| v.clamp(floor.min(item.hi), item.hi);
        let (header_start, body_start, body_end) = if item.message_body {
            let body_start = clamp(mp.offset_body, item.lo);
            (item.lo, body_start, item.hi)
        } else {
            let header_start = clamp(mp.offset_header, item.lo);
            let body_start = clamp(mp.offset_body, header_start);
            (header_start, body_start, clamp(mp.offset_end, body_start))
        };
        let headers = mp.headers.as_slice();
        let mut part = leaf_part(
            raw,
            headers,
            item.in_digest,
            header_start,
            body_start,
            body_end,
        );
        let index = parts.len();
        let child_depth = item.depth + 1;
        let pending = parts.len() + 1 + stack.len();
        // A message part whose encapsulated message is not walked gets a
        // stand-in body (see `stand_in_body`); this is where its header ends.
        let mut stand_in_header_end = None;
        match &mp.body {
            PartType::Multipart(ids) => {
                if child_depth > max_depth || pending + ids.len() > max_parts {
                    truncated = true;
                } else {
                    part.kind = PartKind::Multipart;
                    if !part.media_type.eq_ignore_ascii_case(b"multipart") {
                        part.media_type = b"multipart".to_vec();
                        part.media_subtype = b"x-unknown".to_vec();
                        part.params
                            .retain(|p| !p.attr.eq_ignore_ascii_case(b"charset"));
                    }
                    let in_digest = part.media_subtype.eq_ignore_ascii_case(b"digest");
                    for &id in ids.iter().rev() {
                        stack.push(Item {
                            msg: item.msg,
                            id: id as usize,
                            parent: Some(index),
                            depth: child_depth,
                            lo: body_start,
                            hi: body_end,
                            message_body: false,
                            in_digest,
                        });
                    }
                }
            }
            // Encoded message parts were hidden from mail-parser (see
            // `neutralize`), so every message it reports is unencoded and
            // shares offsets with the raw message.
            PartType::Message(nested) => {
                let root = nested.parts.first();
                let envelope = root
                    .map(|r| envelope(raw, &r.headers, limits.max_addresses))
                    .unwrap_or_default();
                part.kind = PartKind::Message {
                    envelope: Box::new(envelope),
                };
                if child_depth > max_depth || pending + 1 > max_parts || root.is_none() {
                    truncated |= root.is_some();
                    let header_end = root.map_or(body_start, |r| r.offset_body);
                    stand_in_header_end = Some(header_end.clamp(body_start, body_end));
                } else {
                    stack.push(Item {
                        msg: nested,
                        id: 0,
                        parent: Some(index),
                        depth: child_depth,
                        lo: body_start,
                        hi: body_end,
                        message_body: true,
                        in_digest: false,
                    });
                }
            }
            _ if is_message_type(&part) => {
                // An encoded (or unparsable) message/rfc822: IMAP's grammar
                // still wants an envelope and a body, so it gets NIL
                // envelope fields and its whole body as a text part.
                part.kind = PartKind::Message {
                    envelope: Box::default(),
                };
                stand_in_header_end = Some(body_start);
            }
            _ => {}
        }
        let body = raw
            .get(body_start as usize..body_end as usize)
            .unwrap_or_default();
        if part.has_lines() {
            part.lines = count_lines(body);
        }
        if !matches!(part.kind, PartKind::Multipart) {
            part.decoded_size = decoded_size(body, part.transfer_encoding);
        }
        if let Some(parent) = item.parent.and_then(|p| parts.get_mut(p)) {
            // ok: the output stays far below u32::MAX parts.
            parent
                .children
                .push(u32::try_from(index).unwrap_or(u32::MAX));
        }
        if let Some(header_end) = stand_in_header_end {
            part.children
                .push(u32::try_from(index + 1).unwrap_or(u32::MAX));
            parts.push(part);
            parts.push(stand_in_body(raw, body_start, header_end, body_end));
        } else {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        return opaque(raw, msg.parts.first().map_or(0, |p| p.offset_body as usize));
    }
    let top_headers = msg.parts.first().map_or(&[][..], |p| p.headers.as_slice());
    let has_attachment = parts.iter().any(|p| {
        p.disposition
            .as_ref()
            .is_some_and(|d| d.kind.eq_ignore_ascii_case(b"attachment"))
            || (!matches!(p.kind, PartKind::Multipart)
                && !p.media_type.eq_ignore_ascii_case(b"text"))
    });
    Facts {
        size: u64::from(size),
        envelope: envelope(raw, top_headers, limits.max_addresses),
        parts,
        sort: sort_keys(msg),
        preview: preview(raw, msg, limits.preview_chars),
        has_attachment,
        truncated,
    }
}

fn is_message_type(part: &Part) -> bool {
    part.media_type.eq_ignore_ascii_case(b"message")
        && (part.media_subtype.eq_ignore_ascii_case(b"rfc822")
            || part.media_subtype.eq_ignore_ascii_case(b"global"))
}

/// BINARY.SIZE of a body: identity encodings need no decoding.
fn decoded_size(body: &[u8], te: TransferEncoding) -> Option<u64> {
    match te {
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
            Some(body.len() as u64)
        }
        te => decode_binary(body, te).ok().map(|d| d.len() as u64),
    }
}

/// The body of a message part whose encapsulated message is not described
/// (limits reached, or the part is transfer-encoded): one text/plain leaf
/// whose header is `start..header_end` and whose body is the rest.
fn stand_in_body(raw: &[u8], start: u32, header_end: u32, end: u32) -> Part {
    let body = raw
        .get(header_end as usize..end as usize)
        .unwrap_or_default();
    Part {
        kind: PartKind::Leaf,
        media_type: b"text".to_vec(),
        media_subtype: b"plain".to_vec(),
        params: vec![us_ascii()],
        id: None,
        description: None,
        encoding: b"7bit".to_vec(),
        transfer_encoding: TransferEncoding::SevenBit,
        md5: None,
        disposition: None,
        language: Vec::new(),
        location: None,
        header_start: start,
        body_start: header_end,
        body_end: end,
        lines: count_lines(body),
        decoded_size: Some(body.len() as u64),
        children: Vec::new(),
    }
}

/// A part's BODYSTRUCTURE fields from its header, as a leaf; the caller turns
/// it into a container when mail-parser found one.
fn leaf_part(
    raw: &[u8],
    headers: &[Header<'_>],
    in_digest: bool,
    header_start: u32,
    body_start: u32,
    body_end: u32,
) -> Part {
    let parsed = value_of(raw, headers, "Content-Type").and_then(|v| params::content_type(&v));
    let (media_type, media_subtype, mut params) = match parsed {
        Some(t) => t,
        None if in_digest => (b"message".to_vec(), b"rfc822".to_vec(), Vec::new()),
        None => (b"text".to_vec(), b"plain".to_vec(), Vec::new()),
    };
    let has_charset = params
        .iter()
        .any(|p| p.attr.eq_ignore_ascii_case(b"charset"));
    if !has_charset && media_type.eq_ignore_ascii_case(b"text") {
        params.push(us_ascii());
    }
    let cte =
        value_of(raw, headers, "Content-Transfer-Encoding").and_then(|v| params::first_token(&v));
    Part {
        kind: PartKind::Leaf,
        media_type,
        media_subtype,
        params,
        id: nonempty_value_of(raw, headers, "Content-ID"),
        description: nonempty_value_of(raw, headers, "Content-Description"),
        transfer_encoding: classify(cte.as_deref()),
        encoding: cte.unwrap_or_else(|| b"7bit".to_vec()),
        md5: nonempty_value_of(raw, headers, "Content-MD5"),
        disposition: value_of(raw, headers, "Content-Disposition")
            .and_then(|v| params::disposition(&v)),
        language: value_of(raw, headers, "Content-Language")
            .map(|v| params::language(&v))
            .unwrap_or_default(),
        location: nonempty_value_of(raw, headers, "Content-Location"),
        header_start,
        body_start,
        body_end,
        lines: 0,
        decoded_size: None,
        children: Vec::new(),
    }
}

fn addresses(raw: &[u8], headers: &[Header<'_>], name: &str, max: usize) -> Vec<Address> {
    find(raw, headers, name)
        .map(|h| address::parse_list(&unfold(raw_value(raw, h)), max))
        .unwrap_or_default()
}

fn envelope(raw: &[u8], headers: &[Header<'_>], max_addresses: usize) -> Envelope {
    let from = addresses(raw, headers, "From", max_addresses);
    let mut sender = addresses(raw, headers, "Sender", max_addresses);
    let mut reply_to = addresses(raw, headers, "Reply-To", max_addresses);
    if sender.is_empty() {
        sender = from.clone();
    }
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    Envelope {
        date: nonempty_value_of(raw, headers, "Date"),
        subject: value_of(raw, headers, "Subject"),
        from,
        sender,
        reply_to,
        to: addresses(raw, headers, "To", max_addresses),
        cc: addresses(raw, headers, "Cc", max_addresses),
        bcc: addresses(raw, headers, "Bcc", max_addresses),
        in_reply_to: nonempty_value_of(raw, headers, "In-Reply-To"),
        message_id: nonempty_value_of(raw, headers, "Message-ID"),
    }
}

fn sort_address(list: Option<&mail_parser::Address<'_>>) -> Option<SortAddress> {
    let first = list?.first()?;
    let addr = first.address().unwrap_or_default();
    let (mailbox, domain) = addr.rsplit_once('@').unwrap_or((addr, ""));
    Some(SortAddress {
        mailbox: mailbox.to_lowercase(),
        domain: domain.to_lowercase(),
        name: first.name().unwrap_or_default().to_string(),
    })
}

fn id_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn sort_keys(msg: &Message<'_>) -> SortKeys {
    let (base, is_reply) = base_subject(msg.subject().unwrap_or_default());
    SortKeys {
        sent_date: msg
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp()),
        base_subject: base,
        subject_is_reply_or_fwd: is_reply,
        from: sort_address(msg.from()),
        to: sort_address(msg.to()),
        cc: sort_address(msg.cc()),
        message_id: msg.message_id().map(str::to_string),
        in_reply_to: id_list(msg.in_reply_to()),
        references: id_list(msg.references()),
    }
}

/// RFC 8970 preview from the first text body mail-parser picked (text/plain
/// preferred, else text/html with tags stripped), transfer- and
/// charset-decoded here since mail-parser was told not to decode.
fn preview(raw: &[u8], msg: &Message<'_>, max_chars: usize) -> String {
    let Some((part, is_html)) = msg
        .text_body
        .iter()
        .chain(msg.html_body.iter())
        .find_map(|&id| {
            let part = msg.parts.get(id as usize)?;
            match part.body {
                PartType::Text(_) => Some((part, false)),
                PartType::Html(_) => Some((part, true)),
                _ => None,
            }
        })
    else {
        return String::new();
    };
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    let scan = if is_html {
        PREVIEW_HTML_SCAN
    } else {
        PREVIEW_TEXT_SCAN
    };
    let body = raw
        .get(start..end.min(start.saturating_add(scan)))
        .unwrap_or_default();
    let te = classify(value_of(raw, &part.headers, "Content-Transfer-Encoding").as_deref());
    let decoded = decode_binary(body, te).map_or(Cow::Borrowed(body), Cow::Owned);
    let charset = part
        .headers
        .iter()
        .find_map(|h| h.value.as_content_type())
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|cs| charset_decoder(cs.as_bytes()));
    let text = match charset {
        Some(decode) => decode(&decoded),
        None => String::from_utf8_lossy(&decoded).into_owned(),
    };
    let text = if is_html {
        mail_parser::decoders::html::html_to_text(&text)
    } else {
        text
    };
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for ch in text.chars() {
        if ch.is_whitespace() || ch.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        let needed = if pending_space { 2 } else { 1 };
        if count + needed > max_chars {
            break;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(ch);
        count += 1;
    }
    out
}

/// Drops mail-parser's result one encapsulated message at a time: its
/// `Drop` would otherwise recurse once per nesting level.
fn dismantle(message: Message<'_>) {
    let mut pending = vec![message];
    while let Some(mut m) = pending.pop() {
        for part in m.parts.iter_mut() {
            if matches!(part.body, PartType::Message(_)) {
                let body = std::mem::replace(&mut part.body, PartType::Text(Cow::Borrowed("")));
                if let PartType::Message(inner) = body {
                    pending.push(inner);
                }
            }
        }
    }
}
