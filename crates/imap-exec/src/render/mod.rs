//! IMAP syntax for the stored message facts: ENVELOPE and BODY /
//! BODYSTRUCTURE (RFC 9051 §7.5.2), written straight into a response
//! buffer. Strings go through `imap_proto::encode`, which picks quoted or
//! literal form (8-bit bytes stay raw only when the session allows UTF-8).
//!
//! Where the RFC leaves a choice, the output follows Dovecot 2.3 (compared
//! by hand, see the tests): a language list is always parenthesised, a
//! disposition without parameters is `("inline" NIL)`, an absent parameter
//! list is NIL.

mod body_structure;
mod envelope;

pub use body_structure::body_structure;
pub use envelope::envelope;

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use mime_facts::{
        Address, Disposition, Envelope, Facts, Param, Part, PartKind, SortKeys, TransferEncoding,
    };

    use super::*;

    fn leaf(t: &str, s: &str) -> Part {
        Part {
            kind: PartKind::Leaf,
            media_type: t.as_bytes().to_vec(),
            media_subtype: s.as_bytes().to_vec(),
            params: Vec::new(),
            id: None,
            description: None,
            encoding: b"7bit".to_vec(),
            transfer_encoding: TransferEncoding::SevenBit,
            md5: None,
            disposition: None,
            language: Vec::new(),
            location: None,
            header_start: 0,
            body_start: 0,
            body_end: 0,
            lines: 0,
            decoded_size: Some(0),
            children: Vec::new(),
        }
    }

    fn facts(parts: Vec<Part>) -> Facts {
        Facts {
            size: 0,
            envelope: Envelope::default(),
            parts,
            sort: SortKeys::default(),
            preview: String::new(),
            has_attachment: false,
            truncated: false,
        }
    }

    fn bs(f: &Facts, ext: bool, utf8: bool) -> String {
        let mut b = BytesMut::new();
        body_structure(&mut b, f, 0, ext, utf8);
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn multipart_without_parts_gets_an_empty_text_part() {
        let mut root = leaf("multipart", "mixed");
        root.kind = PartKind::Multipart;
        let f = facts(vec![root]);
        assert_eq!(
            bs(&f, false, false),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")"
        );
        assert_eq!(
            bs(&f, true, false),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)"
        );
    }

    #[test]
    fn strings_needing_it_become_literals_and_utf8_is_quoted_only_when_allowed() {
        let mut p = leaf("application", "pdf");
        p.params = vec![Param {
            attr: b"name".to_vec(),
            value: "r\u{e9}sum\u{e9}.pdf".as_bytes().to_vec(),
        }];
        p.description = Some(b"two\r\nlines".to_vec());
        p.disposition = Some(Disposition {
            kind: b"attachment".to_vec(),
            params: vec![Param {
                attr: b"filename".to_vec(),
                value: b"a \"q\" \\ b".to_vec(),
            }],
        });
        p.language = vec![b"fr".to_vec()];
        p.md5 = Some(b"abc=".to_vec());
        p.location = Some(b"x".to_vec());
        p.body_end = 10;
        let f = facts(vec![p]);
        assert_eq!(
            bs(&f, true, false),
            "(\"application\" \"pdf\" (\"name\" {12}\r\nr\u{e9}sum\u{e9}.pdf) NIL {10}\r\ntwo\r\nlines \"7bit\" 10 \
             \"abc=\" (\"attachment\" (\"filename\" \"a \\\"q\\\" \\\\ b\")) (\"fr\") \"x\")"
        );
        assert_eq!(
            bs(&f, false, true),
            "(\"application\" \"pdf\" (\"name\" \"r\u{e9}sum\u{e9}.pdf\") NIL {10}\r\ntwo\r\nlines \"7bit\" 10)"
        );
    }

    #[test]
    fn message_part_nests_envelope_body_and_lines() {
        let mut msg = leaf("message", "rfc822");
        msg.kind = PartKind::Message {
            envelope: Box::new(Envelope {
                subject: Some(b"inner".to_vec()),
                ..Envelope::default()
            }),
        };
        msg.children = vec![1];
        msg.body_end = 30;
        msg.lines = 3;
        let mut inner = leaf("text", "plain");
        inner.body_end = 5;
        inner.lines = 1;
        let f = facts(vec![msg, inner]);
        assert_eq!(
            bs(&f, false, false),
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 30 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) \
             (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1) 3)"
        );
    }

    #[test]
    fn deep_nesting_stops_at_the_ceiling() {
        // A chain of multiparts deeper than any validated record can be.
        let n = mime_facts::MAX_DEPTH_CEILING as usize + 10;
        let mut parts: Vec<Part> = (0..n)
            .map(|i| {
                let mut p = leaf("multipart", "mixed");
                p.kind = PartKind::Multipart;
                p.children = vec![i as u32 + 1];
                p
            })
            .collect();
        parts.push(leaf("text", "plain"));
        let out = bs(&facts(parts), false, false);
        let depth = out.bytes().take_while(|&b| b == b'(').count();
        assert_eq!(depth, mime_facts::MAX_DEPTH_CEILING as usize + 2);
        assert_eq!(
            out.matches('(').count(),
            out.matches(')').count(),
            "balanced"
        );
    }

    #[test]
    fn envelope_groups_and_nil_lists() {
        let addr = |name: Option<&str>, mailbox: Option<&str>, host: Option<&str>| Address {
            name: name.map(|s| s.as_bytes().to_vec()),
            adl: None,
            mailbox: mailbox.map(|s| s.as_bytes().to_vec()),
            host: host.map(|s| s.as_bytes().to_vec()),
        };
        let env = Envelope {
            date: None,
            subject: Some(Vec::new()),
            from: vec![addr(Some("Joe"), Some("joe"), Some("x.y"))],
            to: vec![
                addr(None, Some("team"), None),
                addr(None, Some("a"), Some("b.c")),
                addr(None, None, None),
            ],
            message_id: Some(b"<id@x>".to_vec()),
            ..Envelope::default()
        };
        let mut b = BytesMut::new();
        envelope(&mut b, &env, false);
        assert_eq!(
            &b[..],
            b"(NIL \"\" ((\"Joe\" NIL \"joe\" \"x.y\")) NIL NIL ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b.c\")(NIL NIL NIL NIL)) NIL NIL NIL \"<id@x>\")"
        );
    }
}
