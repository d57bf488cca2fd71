//! Hand-built messages through `compute`, checking ENVELOPE, BODYSTRUCTURE
//! fields, part numbering and byte ranges against what IMAP requires.

use mime_facts::{
    Address, Facts, Limits, PartKind, SectionKind, TransferEncoding, compute, compute_with,
    decode_binary,
};

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

fn slice<'a>(raw: &'a [u8], f: &Facts, path: &[u32], kind: SectionKind) -> Option<&'a str> {
    let r = f.section(path, kind)?;
    Some(std::str::from_utf8(&raw[r]).unwrap())
}

fn b(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

fn addr(name: Option<&str>, mailbox: Option<&str>, host: Option<&str>) -> Address {
    Address {
        name: name.map(|s| s.as_bytes().to_vec()),
        adl: None,
        mailbox: mailbox.map(|s| s.as_bytes().to_vec()),
        host: host.map(|s| s.as_bytes().to_vec()),
    }
}

fn roundtrip(f: &Facts) {
    let bytes = f.to_bytes();
    assert_eq!(&Facts::from_bytes(&bytes).unwrap(), f);
    assert_eq!(Facts::sort_keys_from_bytes(&bytes).unwrap(), f.sort);
}

#[test]
fn simple_text_plain() {
    let raw = crlf(
        "From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: Hi there\nDate: Mon, 7 Feb 1994 21:52:25 -0800\nMessage-ID: <m1@example.com>\nContent-Type: text/plain; charset=UTF-8\n\nline one\nline two\n",
    );
    let f = compute(&raw);
    assert_eq!(f.size, raw.len() as u64);
    assert_eq!(f.envelope.subject, b("Hi there"));
    assert_eq!(f.envelope.date, b("Mon, 7 Feb 1994 21:52:25 -0800"));
    assert_eq!(f.envelope.message_id, b("<m1@example.com>"));
    let alice = vec![addr(Some("Alice"), Some("alice"), Some("example.com"))];
    assert_eq!(f.envelope.from, alice);
    assert_eq!(f.envelope.sender, alice, "Sender defaults to From");
    assert_eq!(f.envelope.reply_to, alice, "Reply-To defaults to From");
    assert_eq!(
        f.envelope.to,
        vec![addr(None, Some("bob"), Some("example.org"))]
    );
    assert!(f.envelope.cc.is_empty() && f.envelope.bcc.is_empty());
    assert_eq!(f.envelope.in_reply_to, None);

    assert_eq!(f.parts.len(), 1);
    let p = &f.parts[0];
    assert_eq!(p.kind, PartKind::Leaf);
    assert_eq!(
        (&p.media_type[..], &p.media_subtype[..]),
        (&b"text"[..], &b"plain"[..])
    );
    assert_eq!(p.params.len(), 1);
    assert_eq!(p.params[0].value, b"UTF-8");
    assert_eq!(p.encoding, b"7bit");
    assert_eq!(p.body_size(), 20);
    assert_eq!(p.lines, 2);
    assert_eq!(p.decoded_size, Some(20));

    let header = slice(&raw, &f, &[], SectionKind::Header).unwrap();
    assert!(header.starts_with("From: Alice"));
    assert!(
        header.ends_with("charset=UTF-8\r\n\r\n"),
        "HEADER includes the blank line"
    );
    assert_eq!(
        slice(&raw, &f, &[], SectionKind::Text),
        Some("line one\r\nline two\r\n")
    );
    assert_eq!(
        slice(&raw, &f, &[], SectionKind::Full).unwrap().len(),
        raw.len()
    );
    // A non-multipart message's part 1 is its body; 1.MIME is its header.
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Full),
        Some("line one\r\nline two\r\n")
    );
    assert_eq!(slice(&raw, &f, &[1], SectionKind::Mime), Some(header));
    assert_eq!(f.section(&[2], SectionKind::Full), None);
    assert_eq!(f.section(&[0], SectionKind::Full), None);
    assert_eq!(f.section(&[1, 1], SectionKind::Full), None);
    assert_eq!(
        f.section(&[1], SectionKind::Header),
        None,
        "HEADER only on message parts"
    );
    assert_eq!(f.section(&[], SectionKind::Mime), None);

    assert_eq!(f.sort.sent_date, Some(760_686_745));
    assert_eq!(f.sort.base_subject, "Hi there");
    let from = f.sort.from.as_ref().unwrap();
    assert_eq!(
        (
            from.mailbox.as_str(),
            from.domain.as_str(),
            from.name.as_str()
        ),
        ("alice", "example.com", "Alice")
    );
    assert_eq!(f.sort.message_id.as_deref(), Some("m1@example.com"));
    assert_eq!(f.preview, "line one line two");
    assert!(!f.has_attachment);
    assert!(!f.truncated);
    roundtrip(&f);
}

#[test]
fn no_content_type_defaults() {
    let raw = crlf("Subject: plain\n\nbody\n");
    let f = compute(&raw);
    let p = &f.parts[0];
    assert_eq!(p.media_type, b"text");
    assert_eq!(p.media_subtype, b"plain");
    assert_eq!(p.params[0].attr, b"charset");
    assert_eq!(p.params[0].value, b"us-ascii");
    assert_eq!(p.encoding, b"7bit");
    assert_eq!(p.transfer_encoding, TransferEncoding::SevenBit);
    assert_eq!(p.id, None);
    assert_eq!(p.disposition, None);
    assert_eq!(p.body_size(), 6);
    assert_eq!(p.lines, 1);
    assert!(f.envelope.from.is_empty());
    assert!(f.envelope.sender.is_empty());
    assert_eq!(f.sort.from, None);
}

const MIXED: &str = "From: a@example.com\nSubject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"==b1==\"\n\nThis is the preamble.\n--==b1==\nContent-Type: text/plain; charset=us-ascii\n\nSee attached.\n--==b1==\nContent-Type: application/pdf; name=\"r.pdf\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"r.pdf\"\nContent-ID: <c1@x>\nContent-Description: The report\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Language: en, de\nContent-Location: http://x/r.pdf\n\naGVsbG8gd29y\nbGQ=\n--==b1==--\nepilogue\n";

#[test]
fn multipart_mixed_with_attachment() {
    let raw = crlf(MIXED);
    let f = compute(&raw);
    assert_eq!(f.parts.len(), 3);
    let root = &f.parts[0];
    assert_eq!(root.kind, PartKind::Multipart);
    assert_eq!(root.media_subtype, b"mixed");
    assert_eq!(root.params[0].attr, b"boundary");
    assert_eq!(root.params[0].value, b"==b1==");
    assert_eq!(root.children, vec![1, 2]);
    assert_eq!(root.decoded_size, None);

    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Full),
        Some("See attached.")
    );
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Mime),
        Some("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    );
    assert_eq!(
        f.parts[1].lines, 0,
        "the CRLF before a boundary belongs to the boundary"
    );
    assert_eq!(
        slice(&raw, &f, &[2], SectionKind::Full),
        Some("aGVsbG8gd29y\r\nbGQ=")
    );
    assert!(
        slice(&raw, &f, &[2], SectionKind::Mime)
            .unwrap()
            .starts_with("Content-Type: application/pdf")
    );
    assert_eq!(f.section(&[3], SectionKind::Full), None);
    assert_eq!(f.section(&[2], SectionKind::Text), None);
    assert!(
        slice(&raw, &f, &[], SectionKind::Text)
            .unwrap()
            .starts_with("This is the preamble.")
    );
    assert!(
        slice(&raw, &f, &[], SectionKind::Text)
            .unwrap()
            .ends_with("epilogue\r\n")
    );

    let pdf = &f.parts[2];
    assert_eq!(pdf.media_type, b"application");
    assert_eq!(pdf.transfer_encoding, TransferEncoding::Base64);
    assert_eq!(pdf.encoding, b"base64");
    assert_eq!(pdf.id, b("<c1@x>"));
    assert_eq!(pdf.description, b("The report"));
    assert_eq!(pdf.md5, b("Q2hlY2sgSW50ZWdyaXR5IQ=="));
    assert_eq!(pdf.language, vec![b"en".to_vec(), b"de".to_vec()]);
    assert_eq!(pdf.location, b("http://x/r.pdf"));
    let d = pdf.disposition.as_ref().unwrap();
    assert_eq!(d.kind, b"attachment");
    assert_eq!(d.params[0].value, b"r.pdf");
    assert_eq!(pdf.decoded_size, Some(11));
    let r = f.section(&[2], SectionKind::Full).unwrap();
    assert_eq!(
        decode_binary(&raw[r], pdf.transfer_encoding).unwrap(),
        b"hello world"
    );
    assert!(f.has_attachment);
    assert_eq!(f.preview, "See attached.");
    roundtrip(&f);
}

#[test]
fn alternative_inside_mixed_numbering() {
    let raw = crlf(
        "Subject: alt\nContent-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\nplain text\n--inner\nContent-Type: text/html\n\n<p>html <b>text</b></p>\n--inner--\n\n--outer\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--outer--\n",
    );
    let f = compute(&raw);
    assert_eq!(f.parts.len(), 5);
    assert_eq!(
        slice(&raw, &f, &[1, 1], SectionKind::Full),
        Some("plain text")
    );
    assert_eq!(
        slice(&raw, &f, &[1, 2], SectionKind::Full),
        Some("<p>html <b>text</b></p>")
    );
    assert_eq!(
        slice(&raw, &f, &[2], SectionKind::Full),
        Some("iVBORw0KGgo=")
    );
    let alt = f.part_at(&[1]).unwrap();
    assert_eq!(alt.kind, PartKind::Multipart);
    assert_eq!(alt.media_subtype, b"alternative");
    assert!(
        slice(&raw, &f, &[1], SectionKind::Full)
            .unwrap()
            .starts_with("--inner\r\n")
    );
    assert!(
        slice(&raw, &f, &[1], SectionKind::Full)
            .unwrap()
            .ends_with("--inner--\r\n")
    );
    assert_eq!(f.section(&[1, 3], SectionKind::Full), None);
    assert_eq!(f.section(&[2, 1], SectionKind::Full), None);
    assert_eq!(f.part_at(&[2]).unwrap().decoded_size, Some(8));
    assert_eq!(f.preview, "plain text");
    assert!(f.has_attachment, "a non-text leaf counts as an attachment");
}

#[test]
fn attached_message_rfc822() {
    let raw = crlf(
        "From: outer@example.com\nSubject: fwd\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nsee below\n--XX\nContent-Type: message/rfc822\n\nFrom: Inner Person <inner@example.net>\nSubject: inner subject\nMessage-ID: <inner@id>\n\ninner body\nsecond line\n--XX\nContent-Type: message/rfc822\n\nSubject: nested multi\nContent-Type: multipart/alternative; boundary=YY\n\n--YY\n\nalt one\n--YY\nContent-Type: text/html\n\n<i>alt two</i>\n--YY--\n\n--XX--\n",
    );
    let f = compute(&raw);
    let m = f.part_at(&[2]).unwrap();
    let PartKind::Message { envelope } = &m.kind else {
        panic!("part 2 should be a message, got {:?}", m.kind)
    };
    assert_eq!(envelope.subject, b("inner subject"));
    assert_eq!(envelope.message_id, b("<inner@id>"));
    assert_eq!(
        envelope.from,
        vec![addr(
            Some("Inner Person"),
            Some("inner"),
            Some("example.net")
        )]
    );
    assert_eq!(envelope.sender, envelope.from);
    assert_eq!(m.lines, 5);
    assert_eq!(m.media_type, b"message");

    let whole = slice(&raw, &f, &[2], SectionKind::Full).unwrap();
    assert!(whole.starts_with("From: Inner Person"));
    assert!(whole.ends_with("inner body\r\nsecond line"));
    assert_eq!(
        slice(&raw, &f, &[2], SectionKind::Header),
        Some(
            "From: Inner Person <inner@example.net>\r\nSubject: inner subject\r\nMessage-ID: <inner@id>\r\n\r\n"
        )
    );
    assert_eq!(
        slice(&raw, &f, &[2], SectionKind::Text),
        Some("inner body\r\nsecond line")
    );
    assert_eq!(
        slice(&raw, &f, &[2], SectionKind::Mime),
        Some("Content-Type: message/rfc822\r\n\r\n")
    );
    // A non-multipart encapsulated body is part 1 of the encapsulated message.
    assert_eq!(
        slice(&raw, &f, &[2, 1], SectionKind::Full),
        Some("inner body\r\nsecond line")
    );
    assert_eq!(f.section(&[2, 2], SectionKind::Full), None);
    let inner_body = f.part_at(&[2, 1]).unwrap();
    assert_eq!(inner_body.media_type, b"text");
    assert_eq!(inner_body.lines, 1);

    // Encapsulated multipart: 3.1 and 3.2 are its parts.
    assert_eq!(slice(&raw, &f, &[3, 1], SectionKind::Full), Some("alt one"));
    assert_eq!(
        slice(&raw, &f, &[3, 2], SectionKind::Full),
        Some("<i>alt two</i>")
    );
    assert_eq!(
        slice(&raw, &f, &[3, 2], SectionKind::Mime),
        Some("Content-Type: text/html\r\n\r\n")
    );
    assert!(
        slice(&raw, &f, &[3], SectionKind::Text)
            .unwrap()
            .starts_with("--YY\r\n")
    );
    assert_eq!(
        slice(&raw, &f, &[3], SectionKind::Header),
        Some("Subject: nested multi\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n")
    );
    assert_eq!(f.section(&[3, 3], SectionKind::Full), None);
    assert_eq!(f.section(&[3, 1, 1], SectionKind::Full), None);

    // The outer envelope is the outer header's, sort keys too.
    assert_eq!(f.envelope.subject, b("fwd"));
    assert_eq!(f.sort.base_subject, "fwd");
    assert_eq!(f.preview, "see below");
    assert!(f.has_attachment);
    roundtrip(&f);
}

#[test]
fn top_level_message_rfc822() {
    let raw = crlf("Subject: wrapper\nContent-Type: message/rfc822\n\nSubject: wrapped\n\nhello\n");
    let f = compute(&raw);
    assert!(matches!(f.parts[0].kind, PartKind::Message { .. }));
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Full),
        Some("Subject: wrapped\r\n\r\nhello\r\n")
    );
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Header),
        Some("Subject: wrapped\r\n\r\n")
    );
    assert_eq!(
        slice(&raw, &f, &[1, 1], SectionKind::Full),
        Some("hello\r\n")
    );
    assert_eq!(slice(&raw, &f, &[1], SectionKind::Text), Some("hello\r\n"));
}

#[test]
fn encoded_word_subject_stays_raw_in_envelope() {
    let raw = crlf(
        "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\nSubject: Re: =?utf-8?B?w6l0w6k=?=\n  [list] fwd\n\nx\n",
    );
    let f = compute(&raw);
    assert_eq!(f.envelope.subject, b("Re: =?utf-8?B?w6l0w6k=?= [list] fwd"));
    assert_eq!(
        f.envelope.from,
        vec![addr(
            Some("=?ISO-8859-1?Q?Andr=E9?= Pirard"),
            Some("PIRARD"),
            Some("vm1.ulg.ac.be")
        )]
    );
    assert_eq!(f.sort.base_subject, "été [list] fwd");
    assert!(f.sort.subject_is_reply_or_fwd);
    let from = f.sort.from.as_ref().unwrap();
    assert_eq!(from.name, "André Pirard");
    assert_eq!(from.mailbox, "pirard");
    assert_eq!(from.domain, "vm1.ulg.ac.be");
}

#[test]
fn group_addresses() {
    let raw = crlf(
        "From: me@example.com\nTo: Friends: a@x.org, \"B, b\" <b@y.org>;, undisclosed-recipients:;\nCc: c@z.org\n\n",
    );
    let f = compute(&raw);
    assert_eq!(
        f.envelope.to,
        vec![
            addr(None, Some("Friends"), None),
            addr(None, Some("a"), Some("x.org")),
            addr(Some("B, b"), Some("b"), Some("y.org")),
            addr(None, None, None),
            addr(None, Some("undisclosed-recipients"), None),
            addr(None, None, None),
        ]
    );
    assert_eq!(f.envelope.cc, vec![addr(None, Some("c"), Some("z.org"))]);
    assert_eq!(f.sort.cc.as_ref().unwrap().mailbox, "c");
}

#[test]
fn explicit_sender_and_reply_to_are_kept() {
    let raw = crlf(
        "From: a@a.a\nSender: s@s.s\nReply-To: r@r.r\nIn-Reply-To: <p@q>\nReferences: <o@q> <p@q>\n\n",
    );
    let f = compute(&raw);
    assert_eq!(f.envelope.sender, vec![addr(None, Some("s"), Some("s.s"))]);
    assert_eq!(
        f.envelope.reply_to,
        vec![addr(None, Some("r"), Some("r.r"))]
    );
    assert_eq!(f.envelope.in_reply_to, b("<p@q>"));
    assert_eq!(f.sort.in_reply_to, vec!["p@q".to_string()]);
    assert_eq!(
        f.sort.references,
        vec!["o@q".to_string(), "p@q".to_string()]
    );
}

#[test]
fn rfc3501_envelope_example() {
    // The header behind the ENVELOPE example of RFC 3501 §7.4.2 / RFC 9051 §7.5.2.
    let raw = crlf(
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\nFrom: Terry Gray <gray@cac.washington.edu>\nSubject: IMAP4rev1 WG mtg summary and minutes\nTo: imap@cac.washington.edu\ncc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\nMessage-Id: <B27397-0100000@cac.washington.edu>\nMIME-Version: 1.0\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\nbody\n",
    );
    let f = compute(&raw);
    let e = &f.envelope;
    assert_eq!(e.date, b("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"));
    assert_eq!(e.subject, b("IMAP4rev1 WG mtg summary and minutes"));
    let gray = vec![addr(
        Some("Terry Gray"),
        Some("gray"),
        Some("cac.washington.edu"),
    )];
    assert_eq!(e.from, gray);
    assert_eq!(e.sender, gray);
    assert_eq!(e.reply_to, gray);
    assert_eq!(
        e.to,
        vec![addr(None, Some("imap"), Some("cac.washington.edu"))]
    );
    assert_eq!(
        e.cc,
        vec![
            addr(None, Some("minutes"), Some("CNRI.Reston.VA.US")),
            addr(Some("John Klensin"), Some("KLENSIN"), Some("MIT.EDU")),
        ]
    );
    assert!(e.bcc.is_empty());
    assert_eq!(e.in_reply_to, None);
    assert_eq!(e.message_id, b("<B27397-0100000@cac.washington.edu>"));
    let p = &f.parts[0];
    assert_eq!(
        (&p.media_type[..], &p.media_subtype[..]),
        (&b"TEXT"[..], &b"PLAIN"[..])
    );
    assert_eq!(p.params[0].attr, b"CHARSET");
    assert_eq!(p.params[0].value, b"US-ASCII");
    assert_eq!(f.sort.sent_date, Some(837_595_405));
}

#[test]
fn missing_headers_give_nil_fields() {
    let raw = crlf("X-Only: this\n\nbody\n");
    let f = compute(&raw);
    assert_eq!(f.envelope, mime_facts::Envelope::default());
    assert_eq!(f.sort.sent_date, None);
    assert_eq!(f.sort.base_subject, "");
    assert_eq!(f.sort.message_id, None);
}

#[test]
fn lf_and_crlf_count_octets_as_stored() {
    let lf = MIXED.as_bytes().to_vec();
    let cr = crlf(MIXED);
    let (fl, fc) = (compute(&lf), compute(&cr));
    assert_eq!(fl.parts.len(), fc.parts.len());
    assert_eq!(fl.size, lf.len() as u64);
    assert_eq!(fc.size, cr.len() as u64);
    // "aGVsbG8gd29y" + line break + "bGQ=" : 17 vs 18 octets.
    assert_eq!(fl.parts[2].body_size(), 17);
    assert_eq!(fc.parts[2].body_size(), 18);
    assert_eq!(fl.parts[2].decoded_size, fc.parts[2].decoded_size);
    assert_eq!(
        slice(&lf, &fl, &[1], SectionKind::Full),
        Some("See attached.")
    );
    assert!(
        slice(&lf, &fl, &[], SectionKind::Header)
            .unwrap()
            .ends_with("\"==b1==\"\n\n")
    );
}

#[test]
fn eight_bit_body() {
    let mut raw = crlf(
        "Subject: 8bit\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n",
    );
    raw.extend_from_slice(b"caf\xe9 cr\xe8me\r\n\xff\xfe\r\n");
    let f = compute(&raw);
    let p = &f.parts[0];
    assert_eq!(p.transfer_encoding, TransferEncoding::EightBit);
    assert_eq!(p.body_size(), 16);
    assert_eq!(p.decoded_size, Some(16));
    assert_eq!(p.lines, 2);
    assert!(
        f.preview.starts_with("café crème"),
        "preview is charset-decoded: {:?}",
        f.preview
    );
    roundtrip(&f);
}

#[test]
fn quoted_printable_part_size_and_preview() {
    let raw = crlf(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 soft=\n break\n",
    );
    let f = compute(&raw);
    let p = &f.parts[0];
    assert_eq!(p.transfer_encoding, TransferEncoding::QuotedPrintable);
    assert_eq!(p.decoded_size, Some("Café soft break\r\n".len() as u64));
    assert_eq!(f.preview, "Café soft break");
}

#[test]
fn malformed_headers_do_not_break_the_message() {
    let raw = crlf(
        "this line has no colon\nSubject: still here\nContent-Type: ;;garbage;;\nFrom: <<<>>>\n\nbody\n",
    );
    let f = compute(&raw);
    assert_eq!(f.envelope.subject, b("still here"));
    let p = &f.parts[0];
    assert_eq!(
        p.media_type, b"text",
        "unparsable Content-Type falls back to text/plain"
    );
    assert_eq!(slice(&raw, &f, &[], SectionKind::Text), Some("body\r\n"));
    roundtrip(&f);
}

#[test]
fn multipart_without_boundary_has_one_empty_part() {
    // As Dovecot shows it: ("text" "plain" ... 0 0 ...) "mixed".
    let raw = crlf("Content-Type: multipart/mixed\n\n--x\n\nnot parsed\n--x--\n");
    let f = compute(&raw);
    assert_eq!(f.parts.len(), 2);
    assert_eq!(f.parts[0].kind, PartKind::Multipart);
    assert_eq!(f.parts[0].media_subtype, b"mixed");
    let child = f.part_at(&[1]).unwrap();
    assert_eq!((child.body_size(), child.lines), (0, 0));
    assert_eq!(slice(&raw, &f, &[1], SectionKind::Full), Some(""));
    assert_eq!(
        slice(&raw, &f, &[], SectionKind::Text),
        Some("--x\r\n\r\nnot parsed\r\n--x--\r\n")
    );
}

#[test]
fn empty_message() {
    let f = compute(b"");
    assert_eq!(f.size, 0);
    assert_eq!(f.parts.len(), 1);
    assert_eq!(f.section(&[], SectionKind::Full), Some(0..0));
    assert_eq!(f.section(&[], SectionKind::Header), Some(0..0));
    assert_eq!(f.section(&[], SectionKind::Text), Some(0..0));
    assert_eq!(f.section(&[1], SectionKind::Full), Some(0..0));
    assert_eq!(f.envelope, mime_facts::Envelope::default());
    roundtrip(&f);
}

#[test]
fn body_without_any_header() {
    let raw = b"just some text\r\nand more\r\n".to_vec();
    let f = compute(&raw);
    // No empty line: everything is (a broken) header, the body is empty.
    assert_eq!(f.section(&[], SectionKind::Text).unwrap().len(), 0);
    assert_eq!(f.section(&[], SectionKind::Header), Some(0..raw.len()));
}

#[test]
fn header_with_no_body() {
    let raw = crlf("Subject: only a header\nFrom: x@y.z\n");
    let f = compute(&raw);
    assert_eq!(f.envelope.subject, b("only a header"));
    assert_eq!(f.section(&[], SectionKind::Header), Some(0..raw.len()));
    assert_eq!(
        f.section(&[], SectionKind::Text),
        Some(raw.len()..raw.len())
    );
    assert_eq!(f.parts[0].body_size(), 0);
    assert_eq!(f.parts[0].lines, 0);
}

#[test]
fn digest_parts_default_to_message_rfc822() {
    let raw = crlf(
        "Content-Type: multipart/digest; boundary=D\n\n--D\n\nSubject: first\n\none\n--D\n\nSubject: second\n\ntwo\n--D--\n",
    );
    let f = compute(&raw);
    let p1 = f.part_at(&[1]).unwrap();
    assert_eq!(
        (&p1.media_type[..], &p1.media_subtype[..]),
        (&b"message"[..], &b"rfc822"[..])
    );
    let PartKind::Message { envelope } = &p1.kind else {
        panic!("digest child should be an encapsulated message")
    };
    assert_eq!(envelope.subject, b("first"));
    assert_eq!(slice(&raw, &f, &[2, 1], SectionKind::Full), Some("two"));
    assert_eq!(
        slice(&raw, &f, &[2], SectionKind::Header),
        Some("Subject: second\r\n\r\n")
    );
}

#[test]
fn html_only_preview_strips_tags() {
    let raw = crlf(
        "Content-Type: text/html\n\n<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>bold</b>\n\n world</p></body></html>\n",
    );
    let f = compute(&raw);
    assert_eq!(f.preview, "Hello bold world");
}

#[test]
fn preview_is_capped_at_200_characters() {
    let body = "é".repeat(150) + " " + &"x".repeat(300);
    let raw = crlf(&format!(
        "Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    ));
    let f = compute(&raw);
    assert_eq!(f.preview.chars().count(), 200);
    assert_eq!(f.preview, "é".repeat(150) + " " + &"x".repeat(49));
}

fn nested_multiparts(depth: usize) -> Vec<u8> {
    let mut raw = String::from("Subject: deep\n");
    for i in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\n\ncore\n");
    for i in (0..depth).rev() {
        raw.push_str(&format!("--b{i}--\n"));
    }
    raw.into_bytes()
}

fn nested_messages(depth: usize) -> Vec<u8> {
    let mut raw = String::new();
    for _ in 0..depth {
        raw.push_str("Subject: level\nContent-Type: message/rfc822\n\n");
    }
    raw.push_str("Subject: core\n\ncore\n");
    raw.into_bytes()
}

fn max_depth(f: &Facts) -> usize {
    let mut depth = vec![0usize; f.parts.len()];
    for (i, p) in f.parts.iter().enumerate() {
        for &c in &p.children {
            depth[c as usize] = depth[i] + 1;
        }
    }
    depth.into_iter().max().unwrap_or(0)
}

#[test]
fn ten_thousand_deep_multipart_is_cut_at_the_depth_limit() {
    let raw = nested_multiparts(10_000);
    let f = compute(&raw);
    assert!(f.truncated);
    assert!(max_depth(&f) <= 32, "depth {}", max_depth(&f));
    assert!(f.parts.len() <= 33);
    let bytes = f.to_bytes();
    assert_eq!(Facts::from_bytes(&bytes).unwrap(), f);
}

#[test]
fn ten_thousand_deep_message_rfc822_is_cut() {
    let raw = nested_messages(10_000);
    // The parse budget stops this first (each level re-parses ~all bytes).
    let f = compute(&raw);
    assert!(f.truncated);
    assert!(max_depth(&f) <= 33);
    roundtrip(&f);
    // Without a budget concern, the depth limit does: 32 walked levels plus
    // the stand-in body of the last message part.
    let limits = Limits {
        parse_factor: 1_000,
        ..Limits::default()
    };
    let f = compute_with(&raw, &limits);
    assert!(f.truncated);
    assert_eq!(max_depth(&f), 33);
    let last = f.parts.last().unwrap();
    assert_eq!(last.kind, PartKind::Leaf);
    let path = vec![1u32; 16];
    assert!(f.section(&path, SectionKind::Header).is_some());
    roundtrip(&f);
}

#[test]
fn shallow_nesting_is_not_truncated() {
    let f = compute(&nested_multiparts(5));
    assert!(!f.truncated);
    let raw = nested_multiparts(5);
    assert_eq!(
        slice(&raw, &f, &[1, 1, 1, 1, 1], SectionKind::Full),
        Some("core")
    );
}

#[test]
fn part_count_limit_keeps_the_container_as_a_leaf() {
    let mut raw = String::from("Content-Type: multipart/mixed; boundary=Z\n\n");
    for i in 0..50 {
        raw.push_str(&format!("--Z\n\npart {i}\n"));
    }
    raw.push_str("--Z--\n");
    let limits = Limits {
        max_parts: 10,
        ..Limits::default()
    };
    let f = compute_with(raw.as_bytes(), &limits);
    assert!(f.truncated);
    assert_eq!(f.parts.len(), 1);
    assert_eq!(f.parts[0].kind, PartKind::Leaf);
    let all = compute(raw.as_bytes());
    assert_eq!(all.parts.len(), 51);
    assert!(!all.truncated);
}

#[test]
fn base64_message_rfc822_gets_a_stand_in_body() {
    let raw = crlf(
        "Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogaGkKCmJvZHkK\n--X--\n",
    );
    let f = compute(&raw);
    let p = f.part_at(&[1]).unwrap();
    let PartKind::Message { envelope } = &p.kind else {
        panic!("message/rfc822 keeps the message shape, got {:?}", p.kind)
    };
    assert_eq!(**envelope, mime_facts::Envelope::default());
    assert_eq!(p.encoding, b"base64");
    assert_eq!(p.decoded_size, Some(18));
    // As in Dovecot, the encoded text (no empty line in it) is read as the
    // encapsulated header and the encapsulated body is empty.
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Header),
        Some("U3ViamVjdDogaGkKCmJvZHkK")
    );
    assert_eq!(slice(&raw, &f, &[1], SectionKind::Text), Some(""));
    assert_eq!(slice(&raw, &f, &[1, 1], SectionKind::Full), Some(""));
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Full),
        Some("U3ViamVjdDogaGkKCmJvZHkK")
    );
    let stand_in = f.part_at(&[1, 1]).unwrap();
    assert_eq!(stand_in.kind, PartKind::Leaf);
    assert_eq!(stand_in.media_type, b"text");
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (j, &b)| n | (b as u32) << (16 - 8 * j));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn deep_nesting_inside_a_base64_message_does_not_crash() {
    // mail-parser parses an encoded message/rfc822 from its decoded bytes;
    // here those bytes hold 10,000 nested messages.
    let inner = nested_messages(10_000);
    let mut raw = crlf(
        "Subject: outer\nContent-Type: multipart/mixed; boundary=Q\n\n--Q\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n",
    );
    raw.extend_from_slice(base64(&inner).as_bytes());
    raw.extend_from_slice(b"\r\n--Q--\r\n");
    let f = compute(&raw);
    let p = f.part_at(&[1]).unwrap();
    assert!(matches!(p.kind, PartKind::Message { .. }));
    assert_eq!(p.decoded_size, Some(inner.len() as u64));
}

#[test]
fn base64_digest_child_without_type_gets_a_stand_in_body() {
    let raw = crlf(
        "Content-Type: multipart/digest; boundary=D\n\n--D\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogaGkKCmJvZHkK\n--D\n\nSubject: plain\n\ntwo\n--D--\n",
    );
    let f = compute(&raw);
    let p1 = f.part_at(&[1]).unwrap();
    assert!(matches!(p1.kind, PartKind::Message { .. }));
    assert_eq!(
        (&p1.media_type[..], &p1.media_subtype[..]),
        (&b"message"[..], &b"rfc822"[..])
    );
    assert_eq!(p1.encoding, b"base64");
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Full),
        Some("U3ViamVjdDogaGkKCmJvZHkK")
    );
    assert_eq!(p1.decoded_size, Some(18));
    assert!(matches!(
        f.part_at(&[2]).unwrap().kind,
        PartKind::Message { .. }
    ));
    assert_eq!(slice(&raw, &f, &[2, 1], SectionKind::Full), Some("two"));
}

#[test]
fn preview_decodes_base64_text_and_quoted_printable_html() {
    let raw = crlf(
        "Content-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nw6l0w6kgc3VtbWVy\n--A\nContent-Type: text/html\n\n<p>html</p>\n--A--\n",
    );
    assert_eq!(compute(&raw).preview, "été summer");
    let raw = crlf(
        "Content-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n<div>Gr=FC=DFe,<br>\n  Welt</div>\n",
    );
    assert_eq!(compute(&raw).preview, "Grüße, Welt");
}

#[test]
fn mail_parser_inconsistent_state_does_not_panic() {
    // Found by the token-soup property test: this nesting trips a
    // debug_assert inside mail-parser 0.11 (debug builds only).
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n--b\r\nContent-Type: message/rfc822\r\nAAAA\r\n\r\nContent-Type: message/rfc822\r\nAAAA\r\n\r\n\r\n--b--\r\n";
    let f = compute(raw);
    assert_eq!(f.size, raw.len() as u64);
    roundtrip(&f);
}

#[test]
fn message_directly_inside_message_inside_multipart() {
    // mail-parser 0.11's own inline parse gets this one wrong (the outer
    // message part swallows the closing boundary line).
    let raw = crlf(
        "Subject: top\nContent-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: multipart/mixed; boundary=\"i\"\n\n--i\nContent-Type: message/rfc822\n\nSubject: middle\nContent-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain\n\na\n--i--\n--o--",
    );
    let f = compute(&raw);
    assert!(!f.truncated);
    assert_eq!(
        slice(&raw, &f, &[1, 1], SectionKind::Full),
        Some(
            "Subject: middle\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\na"
        )
    );
    assert_eq!(
        slice(&raw, &f, &[1, 1, 1], SectionKind::Header),
        Some("Subject: inner\r\nContent-Type: text/plain\r\n\r\n")
    );
    assert_eq!(slice(&raw, &f, &[1, 1, 1, 1], SectionKind::Full), Some("a"));
    let PartKind::Message { envelope } = &f.part_at(&[1, 1]).unwrap().kind else {
        panic!("1.1 is a message")
    };
    assert_eq!(envelope.subject, b("middle"));
    let PartKind::Message { envelope } = &f.part_at(&[1, 1, 1]).unwrap().kind else {
        panic!("1.1.1 is a message")
    };
    assert_eq!(envelope.subject, b("inner"));
    assert_eq!(f.sort.base_subject, "top");
}

#[test]
fn subject_mentioning_message_types_is_not_altered() {
    let raw = crlf(
        "Subject: Re: message/rfc822 and multipart/digest\nContent-Type: text/plain\n\nmessage/rfc822\n",
    );
    let f = compute(&raw);
    assert_eq!(
        f.envelope.subject,
        b("Re: message/rfc822 and multipart/digest")
    );
    assert_eq!(f.sort.base_subject, "message/rfc822 and multipart/digest");
    assert_eq!(f.preview, "message/rfc822");
}

#[test]
fn oddly_cased_message_type_is_still_a_message() {
    let raw = crlf(
        "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: MeSsAgE/Rfc822\n\nSubject: inner\n\nbody\n--o\nContent-Type: text/plain\n\nafter\n--o--\n",
    );
    let f = compute(&raw);
    assert!(matches!(
        f.part_at(&[1]).unwrap().kind,
        PartKind::Message { .. }
    ));
    assert_eq!(
        slice(&raw, &f, &[1], SectionKind::Header),
        Some("Subject: inner\r\n\r\n")
    );
    assert_eq!(slice(&raw, &f, &[1, 1], SectionKind::Full), Some("body"));
    assert_eq!(slice(&raw, &f, &[2], SectionKind::Full), Some("after"));
}

#[test]
fn nested_messages_cost_is_capped_by_the_parse_budget() {
    // 20 levels of message/rfc822 around a 200 KiB body: walking every level
    // would parse about 4 MiB; the budget (4x size + 64 KiB) cuts it short.
    let mut raw = nested_messages(20);
    let pad = "x".repeat(200 * 1024);
    raw.extend_from_slice(pad.as_bytes());
    let f = compute(&raw);
    assert!(f.truncated);
    let depth = max_depth(&f);
    assert!((3..=6).contains(&depth), "depth {depth}");
    // The cut message still has its envelope and header section.
    let mut path = vec![1u32; depth - 1];
    assert!(f.section(&path, SectionKind::Header).is_some());
    path.push(1);
    assert!(f.part_at(&path).is_some());
    let generous = Limits {
        parse_factor: 100,
        ..Limits::default()
    };
    let all = compute_with(&raw, &generous);
    assert!(!all.truncated);
    assert_eq!(max_depth(&all), 20);
}

#[test]
fn repeated_headers() {
    let raw = crlf(
        "Subject: first\nSubject: Re: second\nFrom: a@one.example\nFrom: b@two.example\nContent-Type: text/plain\nContent-Type: multipart/mixed; boundary=z\n\n--z\n\npart\n--z--\n",
    );
    let f = compute(&raw);
    // ENVELOPE as Dovecot builds it: last Subject, From lists added up.
    assert_eq!(f.envelope.subject, b("Re: second"));
    let from: Vec<_> = f.envelope.from.iter().map(|a| a.mailbox.clone()).collect();
    assert_eq!(from, vec![b("a"), b("b")]);
    // Sort keys take the first occurrence.
    assert_eq!(f.sort.base_subject, "first");
    assert_eq!(f.sort.from.as_ref().unwrap().mailbox, "a");
    // The structure follows the last Content-Type, and so does the type.
    assert_eq!(f.parts[0].kind, PartKind::Multipart);
    assert_eq!(f.parts[0].media_subtype, b"mixed");
    assert_eq!(slice(&raw, &f, &[1], SectionKind::Full), Some("part"));
}

#[test]
fn content_fields_of_a_non_mime_message_are_ignored() {
    // Neither MIME-Version nor Content-Type: Dovecot ignores Content-*.
    let raw = crlf(
        "Subject: old\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment\n\naGk=\n",
    );
    let f = compute(&raw);
    let p = &f.parts[0];
    assert_eq!(p.encoding, b"7bit");
    assert_eq!(p.disposition, None);
    assert_eq!(p.decoded_size, Some(6));
    let raw = crlf("MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\naGk=\n");
    assert_eq!(compute(&raw).parts[0].encoding, b"base64");
}

#[test]
fn multipart_closed_before_its_first_part_gets_one_empty_part() {
    let raw = crlf(
        "Content-Type: multipart/mixed; boundary=\"AAA\"\n\n--AAA\nContent-Type: message/rfc822\n\nTo: z@example.com\nContent-Type: multipart/mixed; boundary=\"BBB\"\n\n--BBB--\n\n--AAA--\n",
    );
    let f = compute(&raw);
    for (i, p) in f.parts.iter().enumerate() {
        match p.kind {
            PartKind::Multipart => assert!(!p.children.is_empty(), "multipart {i} has no part"),
            PartKind::Message { .. } => assert_eq!(p.children.len(), 1),
            PartKind::Leaf => {}
        }
    }
    let inner = f.part_at(&[1, 1]).unwrap();
    assert_eq!((inner.body_size(), inner.lines), (0, 0));
    roundtrip(&f);
}
