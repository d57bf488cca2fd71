//! Property tests: random commands, encoded by a test-only command encoder,
//! parse back to the same commands; and a pipelined stream split at every
//! byte boundary yields the same commands as the whole stream.

use imap_proto::*;
use proptest::prelude::*;

/// How a string argument goes on the wire.
#[derive(Debug, Clone, PartialEq)]
enum Form {
    Atom,
    Quoted,
    Literal { sync: bool },
}

#[derive(Debug, Clone, PartialEq)]
struct Str {
    value: Vec<u8>,
    form: Form,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum N {
    V(u32),
    Star,
}

type Set = Vec<(N, N)>;

#[derive(Debug, Clone, PartialEq)]
enum Attr {
    Simple(&'static str),
    HeaderFields {
        fields: Vec<String>,
        not: bool,
        peek: bool,
        partial: Option<(u64, u64)>,
    },
    Section {
        part: Vec<u32>,
        text: Option<&'static str>,
        peek: bool,
    },
    BinarySize(Vec<u32>),
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Simple(&'static str),
    From(Str),
    Subject(Str),
    Larger(u32),
    Since(u16, u8, u8),
    Uid(Set),
    Seq(Set),
    Not(Box<Key>),
    Or(Box<Key>, Box<Key>),
    And(Vec<Key>),
}

#[derive(Debug, Clone, PartialEq)]
enum Cmd {
    Noop,
    Idle,
    Login(Str, Str),
    Select(Str, bool),
    Fetch {
        uid: bool,
        set: Set,
        attrs: Vec<Attr>,
        changed_since: Option<u64>,
    },
    Store {
        uid: bool,
        set: Set,
        mode: u8,
        silent: bool,
        flags: Vec<String>,
        unchanged: Option<u64>,
    },
    Search {
        uid: bool,
        keys: Vec<Key>,
    },
    Append {
        mailbox: Str,
        flags: Vec<String>,
        data: Vec<u8>,
        sync: bool,
        binary: bool,
    },
    CopyMove {
        uid: bool,
        is_move: bool,
        set: Set,
        mailbox: Str,
    },
    Status(Str, Vec<StatusItem>),
    UidExpunge(Set),
    Enable(Vec<String>),
}

// ---- strategies -----------------------------------------------------------

fn atom() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.$-]{1,12}"
}

fn string_arg() -> impl Strategy<Value = Str> {
    prop_oneof![
        atom().prop_map(|s| Str {
            value: s.into_bytes(),
            form: Form::Atom
        }),
        "[ -~]{0,16}".prop_map(|s| Str {
            value: s.into_bytes(),
            form: Form::Quoted
        }),
        (proptest::collection::vec(1u8..=255, 0..24), any::<bool>()).prop_map(|(v, sync)| Str {
            value: v,
            form: Form::Literal { sync }
        }),
    ]
}

fn seq_num() -> impl Strategy<Value = N> {
    prop_oneof![9 => (1u32..=u32::MAX).prop_map(N::V), 1 => Just(N::Star)]
}

fn set() -> impl Strategy<Value = Set> {
    proptest::collection::vec(
        prop_oneof![seq_num().prop_map(|n| (n, n)), (seq_num(), seq_num())],
        1..5,
    )
}

fn part() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(1u32..50, 0..4)
}

fn attr() -> impl Strategy<Value = Attr> {
    prop_oneof![
        prop_oneof![
            Just("UID"),
            Just("FLAGS"),
            Just("RFC822.SIZE"),
            Just("ENVELOPE"),
            Just("INTERNALDATE"),
            Just("BODYSTRUCTURE"),
            Just("BODY"),
            Just("MODSEQ"),
            Just("EMAILID"),
            Just("THREADID"),
            Just("SAVEDATE"),
            Just("RFC822"),
            Just("RFC822.HEADER"),
            Just("RFC822.TEXT"),
        ]
        .prop_map(Attr::Simple),
        (
            proptest::collection::vec("[A-Za-z-]{1,10}", 1..4),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of((0u64..100_000, 1u64..100_000))
        )
            .prop_map(|(fields, not, peek, partial)| Attr::HeaderFields {
                fields,
                not,
                peek,
                partial
            }),
        (
            part(),
            prop_oneof![
                Just(None),
                Just(Some("HEADER")),
                Just(Some("TEXT")),
                Just(Some("MIME"))
            ],
            any::<bool>()
        )
            .prop_map(|(part, text, peek)| {
                // MIME needs a part number.
                let text = if part.is_empty() && text == Some("MIME") {
                    None
                } else {
                    text
                };
                Attr::Section { part, text, peek }
            }),
        part().prop_map(Attr::BinarySize),
    ]
}

fn key() -> impl Strategy<Value = Key> {
    let leaf = prop_oneof![
        prop_oneof![
            Just("ALL"),
            Just("SEEN"),
            Just("UNSEEN"),
            Just("FLAGGED"),
            Just("DELETED"),
            Just("ANSWERED"),
            Just("DRAFT"),
            Just("NEW"),
            Just("OLD"),
            Just("UNDRAFT"),
        ]
        .prop_map(Key::Simple),
        string_arg().prop_map(Key::From),
        string_arg().prop_map(Key::Subject),
        any::<u32>().prop_map(Key::Larger),
        (1900u16..2100, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Key::Since(y, m, d)),
        set().prop_map(Key::Uid),
        set().prop_map(Key::Seq),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| Key::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Key::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 1..4).prop_map(Key::And),
        ]
    })
}

fn flag() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\\Seen".to_string()),
        Just("\\Answered".to_string()),
        Just("\\Flagged".to_string()),
        Just("\\Deleted".to_string()),
        Just("\\Draft".to_string()),
        "\\$?[A-Za-z]{1,8}".prop_map(|s| s),
    ]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        Just(Cmd::Noop),
        Just(Cmd::Idle),
        (string_arg(), string_arg()).prop_map(|(a, b)| Cmd::Login(a, b)),
        (string_arg(), any::<bool>()).prop_map(|(a, b)| Cmd::Select(a, b)),
        (
            any::<bool>(),
            set(),
            proptest::collection::vec(attr(), 1..6),
            proptest::option::of(1u64..1 << 62)
        )
            .prop_map(|(uid, set, attrs, changed_since)| Cmd::Fetch {
                uid,
                set,
                attrs,
                changed_since
            }),
        (
            any::<bool>(),
            set(),
            0u8..3,
            any::<bool>(),
            proptest::collection::vec(flag(), 0..5),
            proptest::option::of(0u64..1 << 62)
        )
            .prop_map(|(uid, set, mode, silent, flags, unchanged)| Cmd::Store {
                uid,
                set,
                mode,
                silent,
                flags,
                unchanged
            }),
        (any::<bool>(), proptest::collection::vec(key(), 1..5))
            .prop_map(|(uid, keys)| Cmd::Search { uid, keys }),
        (
            string_arg(),
            proptest::collection::vec(flag(), 0..3),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(mailbox, flags, mut data, sync, binary)| {
                if !binary {
                    data.retain(|&b| b != 0);
                }
                Cmd::Append {
                    mailbox,
                    flags,
                    data,
                    sync,
                    binary,
                }
            }),
        (any::<bool>(), any::<bool>(), set(), string_arg()).prop_map(
            |(uid, is_move, set, mailbox)| Cmd::CopyMove {
                uid,
                is_move,
                set,
                mailbox
            }
        ),
        (
            string_arg(),
            proptest::sample::subsequence(StatusItem::ALL.to_vec(), 1..5)
        )
            .prop_map(|(m, i)| Cmd::Status(m, i)),
        set().prop_map(Cmd::UidExpunge),
        proptest::collection::vec("[A-Z0-9=+-]{1,10}", 1..4).prop_map(Cmd::Enable),
    ]
}

// ---- test-only command encoder --------------------------------------------

fn w_str(out: &mut Vec<u8>, s: &Str) {
    match s.form {
        Form::Atom => out.extend_from_slice(&s.value),
        Form::Quoted => {
            out.push(b'"');
            for &b in &s.value {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        Form::Literal { sync } => {
            out.extend_from_slice(
                format!("{{{}{}}}\r\n", s.value.len(), if sync { "" } else { "+" }).as_bytes(),
            );
            out.extend_from_slice(&s.value);
        }
    }
}

fn w_n(n: N) -> String {
    match n {
        N::V(v) => v.to_string(),
        N::Star => "*".into(),
    }
}

fn w_set(out: &mut Vec<u8>, set: &Set) {
    let parts: Vec<String> = set
        .iter()
        .map(|&(a, b)| {
            if a == b {
                w_n(a)
            } else {
                format!("{}:{}", w_n(a), w_n(b))
            }
        })
        .collect();
    out.extend_from_slice(parts.join(",").as_bytes());
}

fn w_part(p: &[u32]) -> String {
    p.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

fn w_attr(out: &mut Vec<u8>, a: &Attr) {
    let s = match a {
        Attr::Simple(s) => s.to_string(),
        Attr::HeaderFields {
            fields,
            not,
            peek,
            partial,
        } => format!(
            "BODY{}[HEADER.FIELDS{} ({})]{}",
            if *peek { ".PEEK" } else { "" },
            if *not { ".NOT" } else { "" },
            fields.join(" "),
            partial
                .map(|(o, l)| format!("<{o}.{l}>"))
                .unwrap_or_default()
        ),
        Attr::Section { part, text, peek } => {
            let mut spec = w_part(part);
            if let Some(t) = text {
                if !spec.is_empty() {
                    spec.push('.');
                }
                spec.push_str(t);
            }
            format!("BODY{}[{spec}]", if *peek { ".PEEK" } else { "" })
        }
        Attr::BinarySize(p) => format!("BINARY.SIZE[{}]", w_part(p)),
    };
    out.extend_from_slice(s.as_bytes());
}

fn w_key(out: &mut Vec<u8>, k: &Key) {
    match k {
        Key::Simple(s) => out.extend_from_slice(s.as_bytes()),
        Key::From(s) => {
            out.extend_from_slice(b"FROM ");
            w_str(out, s);
        }
        Key::Subject(s) => {
            out.extend_from_slice(b"SUBJECT ");
            w_str(out, s);
        }
        Key::Larger(n) => out.extend_from_slice(format!("LARGER {n}").as_bytes()),
        Key::Since(y, m, d) => {
            const M: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            out.extend_from_slice(format!("SINCE {d}-{}-{y:04}", M[*m as usize - 1]).as_bytes());
        }
        Key::Uid(s) => {
            out.extend_from_slice(b"UID ");
            w_set(out, s);
        }
        Key::Seq(s) => w_set(out, s),
        Key::Not(k) => {
            out.extend_from_slice(b"NOT ");
            w_key(out, k);
        }
        Key::Or(a, b) => {
            out.extend_from_slice(b"OR ");
            w_key(out, a);
            out.push(b' ');
            w_key(out, b);
        }
        Key::And(ks) => {
            out.push(b'(');
            for (i, k) in ks.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                w_key(out, k);
            }
            out.push(b')');
        }
    }
}

fn encode(tag: &str, c: &Cmd) -> Vec<u8> {
    let mut o = format!("{tag} ").into_bytes();
    match c {
        Cmd::Noop => o.extend_from_slice(b"NOOP"),
        Cmd::Idle => o.extend_from_slice(b"IDLE"),
        Cmd::Login(u, p) => {
            o.extend_from_slice(b"LOGIN ");
            w_str(&mut o, u);
            o.push(b' ');
            w_str(&mut o, p);
        }
        Cmd::Select(m, condstore) => {
            o.extend_from_slice(b"SELECT ");
            w_str(&mut o, m);
            if *condstore {
                o.extend_from_slice(b" (CONDSTORE)");
            }
        }
        Cmd::Fetch {
            uid,
            set,
            attrs,
            changed_since,
        } => {
            o.extend_from_slice(if *uid { b"UID FETCH " } else { b"FETCH " });
            w_set(&mut o, set);
            o.extend_from_slice(b" (");
            for (i, a) in attrs.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                w_attr(&mut o, a);
            }
            o.push(b')');
            if let Some(n) = changed_since {
                o.extend_from_slice(format!(" (CHANGEDSINCE {n})").as_bytes());
            }
        }
        Cmd::Store {
            uid,
            set,
            mode,
            silent,
            flags,
            unchanged,
        } => {
            o.extend_from_slice(if *uid { b"UID STORE " } else { b"STORE " });
            w_set(&mut o, set);
            if let Some(n) = unchanged {
                o.extend_from_slice(format!(" (UNCHANGEDSINCE {n})").as_bytes());
            }
            let m = ["", "+", "-"][*mode as usize];
            o.extend_from_slice(
                format!(
                    " {m}FLAGS{} ({})",
                    if *silent { ".SILENT" } else { "" },
                    flags.join(" ")
                )
                .as_bytes(),
            );
        }
        Cmd::Search { uid, keys } => {
            o.extend_from_slice(if *uid { b"UID SEARCH" } else { b"SEARCH" });
            for k in keys {
                o.push(b' ');
                w_key(&mut o, k);
            }
        }
        Cmd::Append {
            mailbox,
            flags,
            data,
            sync,
            binary,
        } => {
            o.extend_from_slice(b"APPEND ");
            w_str(&mut o, mailbox);
            if !flags.is_empty() {
                o.extend_from_slice(format!(" ({})", flags.join(" ")).as_bytes());
            }
            o.extend_from_slice(
                format!(
                    " {}{{{}{}}}\r\n",
                    if *binary { "~" } else { "" },
                    data.len(),
                    if *sync { "" } else { "+" }
                )
                .as_bytes(),
            );
            o.extend_from_slice(data);
        }
        Cmd::CopyMove {
            uid,
            is_move,
            set,
            mailbox,
        } => {
            if *uid {
                o.extend_from_slice(b"UID ");
            }
            o.extend_from_slice(if *is_move { b"MOVE " } else { b"COPY " });
            w_set(&mut o, set);
            o.push(b' ');
            w_str(&mut o, mailbox);
        }
        Cmd::Status(m, items) => {
            o.extend_from_slice(b"STATUS ");
            w_str(&mut o, m);
            let names: Vec<&str> = items.iter().map(|i| i.name()).collect();
            o.extend_from_slice(format!(" ({})", names.join(" ")).as_bytes());
        }
        Cmd::UidExpunge(s) => {
            o.extend_from_slice(b"UID EXPUNGE ");
            w_set(&mut o, s);
        }
        Cmd::Enable(caps) => o.extend_from_slice(format!("ENABLE {}", caps.join(" ")).as_bytes()),
    }
    o.extend_from_slice(b"\r\n");
    o
}

// ---- parsed command back to the model -------------------------------------

fn m_str(s: AString<'_>, form_hint: &Form) -> Str {
    let form = match s {
        AString::Atom(_) => Form::Atom,
        AString::Quoted(_) => Form::Quoted,
        AString::Literal(_) => form_hint.clone(),
    };
    Str {
        value: s.to_bytes().into_owned(),
        form,
    }
}

fn m_n(n: SeqNum) -> N {
    match n {
        SeqNum::Value(v) => N::V(v),
        SeqNum::Star => N::Star,
    }
}

fn m_set(s: SequenceSet<'_>) -> Set {
    s.iter().map(|r| (m_n(r.start), m_n(r.end))).collect()
}

fn m_flag(f: Flag<'_>) -> String {
    match f {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Keyword(k) => String::from_utf8(k.to_vec()).unwrap(),
        Flag::Extension(e) => format!("\\{}", String::from_utf8(e.to_vec()).unwrap()),
    }
}

fn m_attr(a: FetchAttr<'_>) -> Attr {
    match a {
        FetchAttr::Uid => Attr::Simple("UID"),
        FetchAttr::Flags => Attr::Simple("FLAGS"),
        FetchAttr::Rfc822Size => Attr::Simple("RFC822.SIZE"),
        FetchAttr::Envelope => Attr::Simple("ENVELOPE"),
        FetchAttr::InternalDate => Attr::Simple("INTERNALDATE"),
        FetchAttr::BodyStructure => Attr::Simple("BODYSTRUCTURE"),
        FetchAttr::Body => Attr::Simple("BODY"),
        FetchAttr::ModSeq => Attr::Simple("MODSEQ"),
        FetchAttr::EmailId => Attr::Simple("EMAILID"),
        FetchAttr::ThreadId => Attr::Simple("THREADID"),
        FetchAttr::SaveDate => Attr::Simple("SAVEDATE"),
        FetchAttr::Rfc822 => Attr::Simple("RFC822"),
        FetchAttr::Rfc822Header => Attr::Simple("RFC822.HEADER"),
        FetchAttr::Rfc822Text => Attr::Simple("RFC822.TEXT"),
        FetchAttr::BodySection {
            peek,
            section,
            partial,
        } => match section.text {
            Some(SectionText::HeaderFields { not, fields }) => Attr::HeaderFields {
                fields: fields
                    .iter()
                    .map(|f| String::from_utf8(f.to_bytes().into_owned()).unwrap())
                    .collect(),
                not,
                peek,
                partial: partial.map(|p| (p.offset, p.length)),
            },
            t => Attr::Section {
                part: section.part.iter().collect(),
                text: match t {
                    None => None,
                    Some(SectionText::Header) => Some("HEADER"),
                    Some(SectionText::Text) => Some("TEXT"),
                    Some(SectionText::Mime) => Some("MIME"),
                    Some(SectionText::HeaderFields { .. }) => unreachable!(),
                },
                peek,
            },
        },
        FetchAttr::BinarySize { part } => Attr::BinarySize(part.iter().collect()),
        other => panic!("not generated: {other:?}"),
    }
}

/// Parsed keys back to the model; literal forms are matched against the
/// generated key to recover the sync flag the AST does not keep.
fn m_key(k: SearchKey<'_>, want: &Key) -> Key {
    let hint = |w: &Key| match w {
        Key::From(s) | Key::Subject(s) => s.form.clone(),
        _ => Form::Atom,
    };
    match k {
        SearchKey::All => Key::Simple("ALL"),
        SearchKey::Seen => Key::Simple("SEEN"),
        SearchKey::Unseen => Key::Simple("UNSEEN"),
        SearchKey::Flagged => Key::Simple("FLAGGED"),
        SearchKey::Deleted => Key::Simple("DELETED"),
        SearchKey::Answered => Key::Simple("ANSWERED"),
        SearchKey::Draft => Key::Simple("DRAFT"),
        SearchKey::New => Key::Simple("NEW"),
        SearchKey::Old => Key::Simple("OLD"),
        SearchKey::Undraft => Key::Simple("UNDRAFT"),
        SearchKey::From(s) => Key::From(m_str(s, &hint(want))),
        SearchKey::Subject(s) => Key::Subject(m_str(s, &hint(want))),
        SearchKey::Larger(n) => Key::Larger(n as u32),
        SearchKey::Since(d) => Key::Since(d.year, d.month, d.day),
        SearchKey::Uid(s) => Key::Uid(m_set(s)),
        SearchKey::SequenceSet(s) => Key::Seq(m_set(s)),
        SearchKey::Not(inner) => {
            let Key::Not(w) = want else { panic!("shape") };
            let v: Vec<_> = inner.iter().collect();
            assert_eq!(v.len(), 1);
            Key::Not(Box::new(m_key(v[0], w)))
        }
        SearchKey::Or(a, b) => {
            let Key::Or(wa, wb) = want else {
                panic!("shape")
            };
            let a = a.iter().next().unwrap();
            let b = b.iter().next().unwrap();
            Key::Or(Box::new(m_key(a, wa)), Box::new(m_key(b, wb)))
        }
        SearchKey::And(ks) => {
            let Key::And(ws) = want else { panic!("shape") };
            Key::And(ks.iter().zip(ws).map(|(k, w)| m_key(k, w)).collect())
        }
        other => panic!("not generated: {other:?}"),
    }
}

fn str_hint(s: &Str) -> Form {
    s.form.clone()
}

fn to_model(c: &Command<'_>, want: &Cmd) -> Cmd {
    match (&c.body, want) {
        (CommandBody::Noop, _) => Cmd::Noop,
        (CommandBody::Idle, _) => Cmd::Idle,
        (CommandBody::Login { user, password }, Cmd::Login(wu, wp)) => {
            Cmd::Login(m_str(*user, &str_hint(wu)), m_str(*password, &str_hint(wp)))
        }
        (CommandBody::Select { mailbox, params }, Cmd::Select(wm, _)) => {
            Cmd::Select(m_str(mailbox.0, &str_hint(wm)), params.condstore)
        }
        (
            CommandBody::Fetch {
                uid,
                set,
                attrs,
                modifiers,
            },
            _,
        ) => Cmd::Fetch {
            uid: *uid,
            set: m_set(*set),
            attrs: attrs.iter().map(m_attr).collect(),
            changed_since: modifiers.changed_since,
        },
        (
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            },
            _,
        ) => Cmd::Store {
            uid: *uid,
            set: m_set(*set),
            mode: match mode {
                StoreMode::Replace => 0,
                StoreMode::Add => 1,
                StoreMode::Remove => 2,
            },
            silent: *silent,
            flags: flags.iter().map(m_flag).collect(),
            unchanged: *unchanged_since,
        },
        (CommandBody::Search { uid, keys, .. }, Cmd::Search { keys: wk, .. }) => Cmd::Search {
            uid: *uid,
            keys: keys.iter().zip(wk).map(|(k, w)| m_key(k, w)).collect(),
        },
        (
            CommandBody::Append {
                mailbox,
                first,
                more,
            },
            Cmd::Append {
                mailbox: wm, sync, ..
            },
        ) => {
            assert!(more.is_empty());
            Cmd::Append {
                mailbox: m_str(mailbox.0, &str_hint(wm)),
                flags: first.flags.iter().map(m_flag).collect(),
                data: first.data.to_vec(),
                sync: *sync,
                binary: first.binary,
            }
        }
        (CommandBody::Copy { uid, set, mailbox }, Cmd::CopyMove { mailbox: wm, .. }) => {
            Cmd::CopyMove {
                uid: *uid,
                is_move: false,
                set: m_set(*set),
                mailbox: m_str(mailbox.0, &str_hint(wm)),
            }
        }
        (CommandBody::Move { uid, set, mailbox }, Cmd::CopyMove { mailbox: wm, .. }) => {
            Cmd::CopyMove {
                uid: *uid,
                is_move: true,
                set: m_set(*set),
                mailbox: m_str(mailbox.0, &str_hint(wm)),
            }
        }
        (CommandBody::Status { mailbox, items }, Cmd::Status(wm, wi)) => {
            // STATUS items come back in canonical order.
            let mut got: Vec<StatusItem> = items.iter().collect();
            let mut want_items = wi.clone();
            let key = |i: &StatusItem| *i as u16;
            got.sort_by_key(key);
            want_items.sort_by_key(key);
            want_items.dedup();
            assert_eq!(got, want_items);
            Cmd::Status(m_str(mailbox.0, &str_hint(wm)), wi.clone())
        }
        (CommandBody::UidExpunge { set }, _) => Cmd::UidExpunge(m_set(*set)),
        (CommandBody::Enable { capabilities }, _) => Cmd::Enable(
            capabilities
                .iter()
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect(),
        ),
        (body, want) => panic!("parsed {body:?} for {want:?}"),
    }
}

/// Collect commands from `stream`, feeding it in two reads split at `at`.
fn parse_stream(stream: &[u8], at: usize) -> Vec<Vec<u8>> {
    let mut r = CommandReader::new(Limits::default());
    let mut start = 0;
    let mut out = Vec::new();
    for end in [at, stream.len()] {
        loop {
            match r.parse(&stream[start..end]) {
                Ok(Parsed::Command { command, consumed }) => {
                    out.push(format!("{command:?}").into_bytes());
                    start += consumed;
                }
                Ok(Parsed::Continue { .. }) | Ok(Parsed::Incomplete { .. }) => break,
                Err(e) => panic!("valid stream failed: {e:?}"),
            }
        }
    }
    assert_eq!(start, stream.len());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn commands_round_trip(c in cmd()) {
        let wire = encode("t1", &c);
        let mut r = CommandReader::new(Limits::default());
        match r.parse(&wire) {
            Ok(Parsed::Command { command, consumed }) => {
                prop_assert_eq!(consumed, wire.len());
                prop_assert_eq!(command.tag, b"t1");
                prop_assert_eq!(to_model(&command, &c), c);
            }
            other => prop_assert!(false, "{:?} -> {:?}", String::from_utf8_lossy(&wire), other),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn split_anywhere_same_commands(cmds in proptest::collection::vec(cmd(), 1..5)) {
        let mut stream = Vec::new();
        for (i, c) in cmds.iter().enumerate() {
            stream.extend_from_slice(&encode(&format!("p{i}"), c));
        }
        let whole = parse_stream(&stream, stream.len());
        prop_assert_eq!(whole.len(), cmds.len());
        for at in 0..stream.len() {
            prop_assert_eq!(&parse_stream(&stream, at), &whole, "split at {}", at);
        }
    }
}
