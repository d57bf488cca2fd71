//! Model-based test: random MIME trees are rendered to a message, and every
//! IMAP section of the computed facts must be exactly the bytes the model
//! put there. This checks mail-parser's offsets and our part numbering
//! together, for LF and CRLF line ends.

use mime_facts::{PartKind, SectionKind, compute};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Multi(&'static str, Vec<Node>),
    Message(Box<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = "[a-z][a-z .]{0,30}".prop_map(Node::Text);
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec!["mixed", "alternative", "related"]),
                prop::collection::vec(inner.clone(), 1..4)
            )
                .prop_map(|(sub, children)| Node::Multi(sub, children)),
            inner.prop_map(|n| Node::Message(Box::new(n))),
        ]
    })
}

/// (MIME header lines, body) of a node; `tag` makes boundaries unique.
fn render(node: &Node, tag: &str, nl: &str) -> (String, String) {
    match node {
        Node::Text(t) => (format!("Content-Type: text/plain{nl}"), t.clone()),
        Node::Multi(sub, children) => {
            // RFC 2046 §5.1.2: no boundary may have an enclosing one as a
            // prefix ("=_t_" is not a prefix of "=_t.0_").
            let boundary = format!("=_{tag}_");
            let header = format!("Content-Type: multipart/{sub}; boundary=\"{boundary}\"{nl}");
            let mut body = String::new();
            for (i, c) in children.iter().enumerate() {
                let (h, b) = render(c, &format!("{tag}.{i}"), nl);
                body.push_str(&format!("--{boundary}{nl}{h}{nl}{b}{nl}"));
            }
            body.push_str(&format!("--{boundary}--"));
            (header, body)
        }
        Node::Message(inner) => {
            let (h, b) = render(inner, &format!("{tag}m"), nl);
            (
                format!("Content-Type: message/rfc822{nl}"),
                format!("Subject: {tag}{nl}{h}{nl}{b}"),
            )
        }
    }
}

fn count(node: &Node) -> usize {
    match node {
        Node::Text(_) => 1,
        Node::Multi(_, c) => 1 + c.iter().map(count).sum::<usize>(),
        Node::Message(inner) => 1 + count(inner),
    }
}

type Expected = Vec<(Vec<u32>, SectionKind, String)>;

/// Expected (path, kind, bytes) for every section the model defines.
/// `message_header` is set when the node is the whole body of a message: its
/// MIME header is then that message's header.
fn expect(
    node: &Node,
    tag: &str,
    path: Vec<u32>,
    nl: &str,
    message_header: Option<String>,
    out: &mut Expected,
) {
    let (h, b) = render(node, tag, nl);
    out.push((path.clone(), SectionKind::Full, b));
    let mime = message_header.unwrap_or_else(|| format!("{h}{nl}"));
    out.push((path.clone(), SectionKind::Mime, mime));
    match node {
        Node::Text(_) => {}
        Node::Multi(_, children) => {
            for (i, c) in children.iter().enumerate() {
                let mut p = path.clone();
                p.push(i as u32 + 1);
                expect(c, &format!("{tag}.{i}"), p, nl, None, out);
            }
        }
        Node::Message(inner) => {
            let inner_tag = format!("{tag}m");
            let (ih, ib) = render(inner, &inner_tag, nl);
            let header = format!("Subject: {tag}{nl}{ih}{nl}");
            out.push((path.clone(), SectionKind::Header, header.clone()));
            out.push((path.clone(), SectionKind::Text, ib));
            in_message(inner, &inner_tag, header, path, nl, out);
        }
    }
}

/// Parts of a message whose body is `body`: a multipart's parts are 1..n,
/// any other body is part 1.
fn in_message(
    body: &Node,
    tag: &str,
    header: String,
    path: Vec<u32>,
    nl: &str,
    out: &mut Expected,
) {
    match body {
        Node::Multi(_, children) => {
            for (i, c) in children.iter().enumerate() {
                let mut p = path.clone();
                p.push(i as u32 + 1);
                expect(c, &format!("{tag}.{i}"), p, nl, None, out);
            }
        }
        other => {
            let mut p = path;
            p.push(1);
            expect(other, tag, p, nl, Some(header), out);
        }
    }
}

fn run(root: &Node, nl: &str) -> Result<(), TestCaseError> {
    let (h, b) = render(root, "t", nl);
    let raw = format!("Subject: top{nl}{h}{nl}{b}");
    let f = compute(raw.as_bytes());
    prop_assert!(!f.truncated);
    prop_assert_eq!(f.parts.len(), count(root));
    let text = |r: std::ops::Range<usize>| raw[r].to_string();
    prop_assert_eq!(
        f.section(&[], SectionKind::Header).map(text),
        Some(format!("Subject: top{nl}{h}{nl}"))
    );
    prop_assert_eq!(f.section(&[], SectionKind::Text).map(text), Some(b.clone()));
    let mut want = Vec::new();
    in_message(
        root,
        "t",
        format!("Subject: top{nl}{h}{nl}"),
        vec![],
        nl,
        &mut want,
    );
    for (path, kind, bytes) in want {
        let got = f.section(&path, kind).map(text);
        prop_assert_eq!(got, Some(bytes), "section {:?} {:?}", path, kind);
    }
    // One past the last part at each level does not exist.
    let beyond = match root {
        Node::Multi(_, c) => c.len() as u32 + 1,
        _ => 2,
    };
    prop_assert_eq!(f.section(&[beyond], SectionKind::Full), None);
    for p in &f.parts {
        if let PartKind::Message { envelope } = &p.kind {
            prop_assert!(envelope.subject.is_some());
        }
    }
    Ok(())
}

/// Case count: `PROPTEST_CASES` when set (for long local runs), else a
/// count that keeps debug-build CI fast.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn sections_match_the_model_crlf(root in node()) {
        run(&root, "\r\n")?;
    }

    #[test]
    fn sections_match_the_model_lf(root in node()) {
        run(&root, "\n")?;
    }
}
