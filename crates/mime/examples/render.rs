//! Renders the facts of message files as IMAP BODYSTRUCTURE and ENVELOPE
//! text (quoted strings only, no literals), to compare with another server's
//! answers for the same files, e.g. `doveadm fetch 'imap.bodystructure
//! imap.envelope'`. A reference for the server's renderer, not a part of it.
//!
//! `cargo run -p postcore-mime --example render -- a.eml b.eml`

use mime_facts::{Address, Envelope, Facts, Param, Part, PartKind, compute};

fn string(out: &mut String, s: &[u8]) {
    out.push('"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push('\\');
        }
        out.push(char::from(b));
    }
    out.push('"');
}

fn nstring(out: &mut String, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.push_str("NIL"),
    }
}

fn params(out: &mut String, ps: &[Param]) {
    if ps.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    for (i, p) in ps.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        string(out, &p.attr);
        out.push(' ');
        string(out, &p.value);
    }
    out.push(')');
}

fn addresses(out: &mut String, list: &[Address]) {
    if list.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    for a in list {
        out.push('(');
        nstring(out, a.name.as_deref());
        out.push(' ');
        nstring(out, a.adl.as_deref());
        out.push(' ');
        nstring(out, a.mailbox.as_deref());
        out.push(' ');
        nstring(out, a.host.as_deref());
        out.push(')');
    }
    out.push(')');
}

fn envelope(out: &mut String, e: &Envelope) {
    out.push('(');
    nstring(out, e.date.as_deref());
    out.push(' ');
    nstring(out, e.subject.as_deref());
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        out.push(' ');
        addresses(out, list);
    }
    out.push(' ');
    nstring(out, e.in_reply_to.as_deref());
    out.push(' ');
    nstring(out, e.message_id.as_deref());
    out.push(')');
}

fn extension(out: &mut String, p: &Part) {
    out.push(' ');
    match &p.disposition {
        Some(d) => {
            out.push('(');
            string(out, &d.kind);
            out.push(' ');
            params(out, &d.params);
            out.push(')');
        }
        None => out.push_str("NIL"),
    }
    out.push(' ');
    match p.language.as_slice() {
        [] => out.push_str("NIL"),
        [one] => string(out, one),
        many => {
            out.push('(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                string(out, l);
            }
            out.push(')');
        }
    }
    out.push(' ');
    nstring(out, p.location.as_deref());
}

/// One part, unparenthesised at the top level as IMAP FETCH shows it.
fn body(out: &mut String, f: &Facts, index: usize, nested: bool) {
    let Some(p) = f.parts.get(index) else {
        return;
    };
    if nested {
        out.push('(');
    }
    match &p.kind {
        PartKind::Multipart => {
            for &c in &p.children {
                body(out, f, c as usize, true);
            }
            out.push(' ');
            string(out, &p.media_subtype);
            out.push(' ');
            params(out, &p.params);
            extension(out, p);
        }
        kind => {
            string(out, &p.media_type);
            out.push(' ');
            string(out, &p.media_subtype);
            out.push(' ');
            params(out, &p.params);
            out.push(' ');
            nstring(out, p.id.as_deref());
            out.push(' ');
            nstring(out, p.description.as_deref());
            out.push(' ');
            string(out, &p.encoding);
            out.push_str(&format!(" {}", p.body_size()));
            if let PartKind::Message { envelope: e } = kind {
                out.push(' ');
                envelope(out, e);
                out.push(' ');
                let child = p.children.first().map_or(usize::MAX, |&c| c as usize);
                out.push('(');
                body(out, f, child, false);
                out.push(')');
            }
            if p.has_lines() {
                out.push_str(&format!(" {}", p.lines));
            }
            out.push(' ');
            nstring(out, p.md5.as_deref());
            extension(out, p);
        }
    }
    if nested {
        out.push(')');
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
        let mut bs = String::new();
        body(&mut bs, &f, 0, false);
        let mut env = String::new();
        envelope(&mut env, &f.envelope);
        println!("{path}\nBODYSTRUCTURE {bs}\nENVELOPE {env}");
    }
}
