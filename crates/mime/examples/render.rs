//! Renders the facts of message files as IMAP BODYSTRUCTURE and ENVELOPE
//! text (quoted strings only, no literals), to compare with another server's
//! answers for the same files, e.g. `doveadm fetch 'imap.bodystructure
//! imap.envelope'`. A reference for the server's renderer, not a part of it.
//!
//! `cargo run -p postcore-mime --example render -- a.eml b.eml`

use std::io::Write;

use mime_facts::{Address, Envelope, Facts, Param, Part, PartKind, compute};

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

fn params(out: &mut Vec<u8>, ps: &[Param]) {
    if ps.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in ps.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, &p.attr);
        out.push(b' ');
        string(out, &p.value);
    }
    out.push(b')');
}

fn addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        nstring(out, a.name.as_deref());
        out.push(b' ');
        nstring(out, a.adl.as_deref());
        out.push(b' ');
        nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        nstring(out, a.host.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

pub fn envelope(out: &mut Vec<u8>, e: &Envelope) {
    out.push(b'(');
    nstring(out, e.date.as_deref());
    out.push(b' ');
    nstring(out, e.subject.as_deref());
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        out.push(b' ');
        addresses(out, list);
    }
    out.push(b' ');
    nstring(out, e.in_reply_to.as_deref());
    out.push(b' ');
    nstring(out, e.message_id.as_deref());
    out.push(b')');
}

fn extension(out: &mut Vec<u8>, p: &Part) {
    out.push(b' ');
    match &p.disposition {
        Some(d) => {
            out.push(b'(');
            string(out, &d.kind);
            out.push(b' ');
            params(out, &d.params);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    // Dovecot always writes a list, also for one language.
    match p.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring(out, p.location.as_deref());
}

/// One part, unparenthesised at the top level as IMAP FETCH shows it.
pub fn body(out: &mut Vec<u8>, f: &Facts, index: usize, nested: bool) {
    let Some(p) = f.parts.get(index) else {
        return;
    };
    if nested {
        out.push(b'(');
    }
    match &p.kind {
        PartKind::Multipart => {
            for &c in &p.children {
                body(out, f, c as usize, true);
            }
            out.push(b' ');
            string(out, &p.media_subtype);
            out.push(b' ');
            params(out, &p.params);
            extension(out, p);
        }
        kind => {
            string(out, &p.media_type);
            out.push(b' ');
            string(out, &p.media_subtype);
            out.push(b' ');
            params(out, &p.params);
            out.push(b' ');
            nstring(out, p.id.as_deref());
            out.push(b' ');
            nstring(out, p.description.as_deref());
            out.push(b' ');
            string(out, &p.encoding);
            out.extend_from_slice(format!(" {}", p.body_size()).as_bytes());
            if let PartKind::Message { envelope: e } = kind {
                out.push(b' ');
                envelope(out, e);
                out.push(b' ');
                let child = p.children.first().map_or(usize::MAX, |&c| c as usize);
                out.push(b'(');
                body(out, f, child, false);
                out.push(b')');
            }
            if p.has_lines() {
                out.extend_from_slice(format!(" {}", p.lines).as_bytes());
            }
            out.push(b' ');
            nstring(out, p.md5.as_deref());
            extension(out, p);
        }
    }
    if nested {
        out.push(b')');
    }
}

fn main() {
    for path in std::env::args().skip(1) {
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let f = compute(&raw);
        let mut text = format!("{path}\nBODYSTRUCTURE ").into_bytes();
        body(&mut text, &f, 0, false);
        text.extend_from_slice(b"\nENVELOPE ");
        envelope(&mut text, &f.envelope);
        text.push(b'\n');
        if std::io::stdout().write_all(&text).is_err() {
            return;
        }
    }
}
