//! BODY and BODYSTRUCTURE from the stored part tree.

use bytes::{BufMut, BytesMut};
use imap_proto::encode::{nstring, number, string};
use mime_facts::{Disposition, Facts, MAX_DEPTH_CEILING, Param, PartKind};

use super::envelope;

/// Writes the body structure of `facts.parts[index]` (0: the whole message).
/// `extensible` adds the extension data of BODYSTRUCTURE; without it this is
/// the non-extensible form FETCH BODY returns.
pub fn body_structure(
    buf: &mut BytesMut,
    facts: &Facts,
    index: usize,
    extensible: bool,
    utf8: bool,
) {
    part(buf, facts, index, extensible, utf8, 0);
}

/// The stand-in for a part that cannot be described (a multipart with no
/// parts, an index a damaged record points past): the grammar needs a body,
/// and an empty text part is what Dovecot reports for an empty multipart.
fn empty_leaf(buf: &mut BytesMut, extensible: bool) {
    buf.extend_from_slice(b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0");
    if extensible {
        buf.extend_from_slice(b" NIL NIL NIL NIL");
    }
    buf.put_u8(b')');
}

// Recursion is bounded: stored facts are validated to MAX_DEPTH_CEILING
// levels, and `depth` stops anything deeper regardless.
fn part(buf: &mut BytesMut, facts: &Facts, index: usize, ext: bool, utf8: bool, depth: u32) {
    let Some(p) = facts.parts.get(index) else {
        empty_leaf(buf, ext);
        return;
    };
    if depth > MAX_DEPTH_CEILING {
        empty_leaf(buf, ext);
        return;
    }
    buf.put_u8(b'(');
    if let PartKind::Multipart = p.kind {
        if p.children.is_empty() {
            empty_leaf(buf, ext);
        }
        for &c in &p.children {
            part(buf, facts, c as usize, ext, utf8, depth + 1);
        }
        buf.put_u8(b' ');
        string(buf, &p.media_subtype, utf8);
        if ext {
            buf.put_u8(b' ');
            params(buf, &p.params, utf8);
            extension_tail(
                buf,
                p.disposition.as_ref(),
                &p.language,
                p.location.as_deref(),
                utf8,
            );
        }
        buf.put_u8(b')');
        return;
    }
    string(buf, &p.media_type, utf8);
    buf.put_u8(b' ');
    string(buf, &p.media_subtype, utf8);
    buf.put_u8(b' ');
    params(buf, &p.params, utf8);
    buf.put_u8(b' ');
    nstring(buf, p.id.as_deref(), utf8);
    buf.put_u8(b' ');
    nstring(buf, p.description.as_deref(), utf8);
    buf.put_u8(b' ');
    string(buf, &p.encoding, utf8);
    buf.put_u8(b' ');
    number(buf, u64::from(p.body_size()));
    match &p.kind {
        PartKind::Message { envelope: env } => {
            buf.put_u8(b' ');
            envelope(buf, env, utf8);
            buf.put_u8(b' ');
            match p.children.first() {
                Some(&c) => part(buf, facts, c as usize, ext, utf8, depth + 1),
                None => empty_leaf(buf, ext),
            }
            buf.put_u8(b' ');
            number(buf, u64::from(p.lines));
        }
        _ if p.media_type.eq_ignore_ascii_case(b"text") => {
            buf.put_u8(b' ');
            number(buf, u64::from(p.lines));
        }
        _ => {}
    }
    if ext {
        buf.put_u8(b' ');
        nstring(buf, p.md5.as_deref(), utf8);
        extension_tail(
            buf,
            p.disposition.as_ref(),
            &p.language,
            p.location.as_deref(),
            utf8,
        );
    }
    buf.put_u8(b')');
}

/// ` disposition language location`, common to both extension forms.
fn extension_tail(
    buf: &mut BytesMut,
    disposition: Option<&Disposition>,
    language: &[Vec<u8>],
    location: Option<&[u8]>,
    utf8: bool,
) {
    buf.put_u8(b' ');
    match disposition {
        Some(d) => {
            buf.put_u8(b'(');
            string(buf, &d.kind, utf8);
            buf.put_u8(b' ');
            params(buf, &d.params, utf8);
            buf.put_u8(b')');
        }
        None => buf.extend_from_slice(b"NIL"),
    }
    buf.put_u8(b' ');
    if language.is_empty() {
        buf.extend_from_slice(b"NIL");
    } else {
        buf.put_u8(b'(');
        for (i, l) in language.iter().enumerate() {
            if i > 0 {
                buf.put_u8(b' ');
            }
            string(buf, l, utf8);
        }
        buf.put_u8(b')');
    }
    buf.put_u8(b' ');
    nstring(buf, location, utf8);
}

/// `("attr" "value" ...)` or NIL.
fn params(buf: &mut BytesMut, params: &[Param], utf8: bool) {
    if params.is_empty() {
        buf.extend_from_slice(b"NIL");
        return;
    }
    buf.put_u8(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b' ');
        }
        string(buf, &p.attr, utf8);
        buf.put_u8(b' ');
        string(buf, &p.value, utf8);
    }
    buf.put_u8(b')');
}
