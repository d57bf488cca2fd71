//! Property test: for generated MIME messages and generated FETCH item
//! lists, FETCH either answers or refuses with `[UNKNOWN-CTE]`; every
//! response is well-formed IMAP (literal lengths match, parentheses
//! balance, one `* 1 FETCH (...)` line); whole-message partials are exactly
//! the stored bytes; and a section the mime crate can number yields exactly
//! its bytes.

mod fetch_support;

use fetch_support::*;
use imap_exec::ExecError;
use proptest::prelude::*;

/// A MIME tree rendered to bytes.
#[derive(Debug, Clone)]
enum Node {
    Text(String, u8),
    Multi(Vec<Node>),
    Message(Box<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = ("[a-z =.]{0,40}", 0u8..3).prop_map(|(t, e)| Node::Text(t, e));
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Node::Multi),
            inner.prop_map(|n| Node::Message(Box::new(n))),
        ]
    })
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn render(n: &Node, depth: usize, out: &mut String) {
    match n {
        Node::Text(t, enc) => {
            let (cte, body) = match enc {
                0 => ("7bit", t.clone()),
                1 => ("quoted-printable", t.replace('=', "=3D")),
                _ => ("base64", b64(t.as_bytes())),
            };
            out.push_str(&format!(
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{body}"
            ));
        }
        Node::Multi(parts) => {
            let b = format!("b{depth}x");
            out.push_str(&format!(
                "Content-Type: multipart/mixed; boundary={b}\r\n\r\n"
            ));
            for p in parts {
                out.push_str(&format!("--{b}\r\n"));
                render(p, depth + 1, out);
                out.push_str("\r\n");
            }
            out.push_str(&format!("--{b}--\r\n"));
        }
        Node::Message(inner) => {
            out.push_str("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nX-F: a\r\n b\r\n");
            render(inner, depth + 1, out);
        }
    }
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    ("[A-Za-z ]{0,20}", node()).prop_map(|(subject, n)| {
        let mut s = format!("Subject: {subject}\r\nFrom: a@b.c\r\nX-Long: one\r\n\ttwo\r\n");
        render(&n, 0, &mut s);
        s.into_bytes()
    })
}

fn item() -> impl Strategy<Value = String> {
    let path = prop::collection::vec(1u32..4, 0..4).prop_map(|p| {
        p.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(".")
    });
    let partial = prop::option::of((0u32..200, 1u32..100)).prop_map(|p| match p {
        Some((o, n)) => format!("<{o}.{n}>"),
        None => String::new(),
    });
    prop_oneof![
        Just("FLAGS".to_string()),
        Just("ENVELOPE".to_string()),
        Just("BODYSTRUCTURE".to_string()),
        Just("BODY".to_string()),
        Just("RFC822.HEADER".to_string()),
        Just("PREVIEW".to_string()),
        (path.clone(), 0..5usize, partial.clone()).prop_map(|(p, t, part)| {
            let text = ["", "HEADER", "TEXT", "MIME", "HEADER.FIELDS (SUBJECT X-F)"][t];
            let sec = match (p.is_empty(), text.is_empty()) {
                (true, _) if text == "MIME" => String::new(),
                (true, _) => text.to_string(),
                (false, true) => p,
                (false, false) => format!("{p}.{text}"),
            };
            format!("BODY.PEEK[{sec}]{part}")
        }),
        (path.clone(), partial).prop_map(|(p, part)| format!("BINARY.PEEK[{p}]{part}")),
        path.prop_map(|p| format!("BINARY.SIZE[{p}]")),
    ]
}

/// Checks one `* 1 FETCH (...)\r\n` response; returns the literals' bytes
/// in order.
fn well_formed(out: &[u8]) -> Vec<Vec<u8>> {
    assert!(
        out.starts_with(b"* 1 FETCH ("),
        "{}",
        String::from_utf8_lossy(out)
    );
    let mut literals = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < out.len() {
        match out[i] {
            b'"' => {
                i += 1;
                while out[i] != b'"' {
                    assert!(
                        out[i] != b'\r' && out[i] != b'\n',
                        "CR/LF in a quoted string"
                    );
                    i += if out[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' => {
                let close = i + out[i..].iter().position(|&b| b == b'}').unwrap();
                let n: usize = std::str::from_utf8(&out[i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(&out[close + 1..close + 3], b"\r\n");
                literals.push(out[close + 3..close + 3 + n].to_vec());
                i = close + 3 + n;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced");
                if depth == 0 {
                    assert_eq!(&out[i..], b")\r\n", "one response, nothing after it");
                    return literals;
                }
            }
            b'\r' | b'\n' => panic!("line break outside a literal"),
            _ => {}
        }
        i += 1;
    }
    panic!("response not closed");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fetch_is_well_formed(raw in message(), items in prop::collection::vec(item(), 1..5), o in 0u32..300, n in 1u32..300) {
        let attrs = format!("({} BODY.PEEK[]<{o}.{n}>)", items.join(" "));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let raw2 = raw.clone();
        let (out, result) = run(move || async move {
            let (s, mb) = open(&path).await;
            append_plain(&s, mb, &[&raw2]).await;
            fetch_raw(&s, mb, &[1], &attrs, opts()).await
        });
        match result {
            Ok(_) => {
                let lits = well_formed(&out);
                // The last item is BODY.PEEK[]<o.n>: exactly those bytes.
                let start = (o as usize).min(raw.len());
                let end = (start + n as usize).min(raw.len());
                prop_assert_eq!(lits.last().unwrap(), &raw[start..end].to_vec());
            }
            Err(ExecError::Refused { code: Some("UNKNOWN-CTE"), .. }) => prop_assert!(out.is_empty()),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn sections_are_the_mime_crates_ranges(raw in message(), p in prop::collection::vec(1u32..4, 1..4)) {
        let facts = mime_facts::compute(&raw);
        let path = p.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(".");
        let attrs = format!("(BODY.PEEK[{path}] BODY.PEEK[{path}.MIME])");
        let dir = tempfile::tempdir().unwrap();
        let dpath = dir.path().to_path_buf();
        let raw2 = raw.clone();
        let (out, result) = run(move || async move {
            let (s, mb) = open(&dpath).await;
            append_plain(&s, mb, &[&raw2]).await;
            fetch_raw(&s, mb, &[1], &attrs, opts()).await
        });
        prop_assert!(result.is_ok());
        let lits = well_formed(&out);
        for (kind, lit) in [mime_facts::SectionKind::Full, mime_facts::SectionKind::Mime].into_iter().zip(&lits) {
            if let Some(r) = facts.section(&p, kind) {
                prop_assert_eq!(lit, &raw[r].to_vec());
            }
        }
    }
}
