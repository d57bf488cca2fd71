//! Property test: random operation sequences against a plain in-memory
//! model of what IMAP expects; the full state is compared after every step
//! and after clean and unclean (crash) reopens, checkpoints and compactions.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{cfg, run};
use proptest::prelude::*;
use store::{ExpungeMode, FlagOp, Flags, NewMessage, SpecialUse, Store, StoreConfig};

const NAMES: [&str; 6] = ["INBOX", "a", "b", "a/x", "a/x/y", "b/z"];
const KWS: [&str; 3] = ["$A", "$B", "k3"];

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Delete(usize),
    Rename(usize, usize),
    Append(usize, u8, u8, Option<usize>),
    Store(usize, u32, u32, u8, u8, Option<usize>),
    Copy(usize, usize, u32, u32, bool),
    Expunge(usize, bool),
    Reopen,
    Crash,
    Checkpoint,
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    prop_oneof![
        2 => n.clone().prop_map(Op::Create),
        1 => n.clone().prop_map(Op::Delete),
        1 => (n.clone(), n.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        5 => (n.clone(), 1u8..4, any::<u8>(), proptest::option::of(0..KWS.len())).prop_map(|(a, c, f, k)| Op::Append(a, c, f, k)),
        3 => (n.clone(), 1u32..8, 0u32..4, 0u8..3, any::<u8>(), proptest::option::of(0..KWS.len()))
            .prop_map(|(a, lo, w, o, f, k)| Op::Store(a, lo, lo + w, o, f, k)),
        2 => (n.clone(), n.clone(), 1u32..8, 0u32..4, any::<bool>()).prop_map(|(a, b, lo, w, m)| Op::Copy(a, b, lo, lo + w, m)),
        2 => (n.clone(), any::<bool>()).prop_map(|(a, d)| Op::Expunge(a, d)),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Compact),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct MMsg {
    flags: u8,
    kws: BTreeSet<String>,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct MBox {
    uidvalidity: Option<u32>,
    uidnext: u32,
    msgs: BTreeMap<u32, MMsg>,
}

impl Default for MBox {
    fn default() -> Self {
        MBox {
            uidvalidity: None,
            uidnext: 1,
            msgs: BTreeMap::new(),
        }
    }
}

#[derive(Default)]
struct Model {
    boxes: BTreeMap<String, MBox>,
    bodies: usize,
}

fn parents(name: &str) -> Vec<String> {
    name.char_indices()
        .filter(|(_, c)| *c == '/')
        .map(|(i, _)| name[..i].to_string())
        .collect()
}

impl Model {
    fn has_children(&self, n: &str) -> bool {
        let p = format!("{n}/");
        self.boxes.keys().any(|k| k.starts_with(&p))
    }
    fn create(&mut self, n: &str) -> bool {
        if self.boxes.contains_key(n) {
            return false;
        }
        for p in parents(n) {
            self.boxes.entry(p).or_default();
        }
        self.boxes.insert(n.to_string(), MBox::default());
        true
    }
    fn body(&mut self) -> Vec<u8> {
        self.bodies += 1;
        format!(
            "Subject: m{}\r\nFrom: x@y\r\n\r\nbody {}\r\n",
            self.bodies,
            "z".repeat(self.bodies % 300)
        )
        .into_bytes()
    }
}

fn cfg_small() -> StoreConfig {
    // Tiny segments so rotation and compaction of sealed segments happen.
    StoreConfig {
        segment_size: 2048,
        max_open_segments: 2,
        ..cfg()
    }
}

async fn check(s: &Store, m: &mut Model, step: &str) {
    let names: Vec<String> = s.list().into_iter().map(|i| i.name).collect();
    let want: Vec<String> = m.boxes.keys().cloned().collect();
    assert_eq!(names, want, "{step}: mailbox list");
    for (name, mb) in m.boxes.iter_mut() {
        let id = s.mailbox_id(name).unwrap();
        let st = s.status(id).unwrap();
        match mb.uidvalidity {
            None => mb.uidvalidity = Some(st.uidvalidity),
            Some(uv) => assert_eq!(uv, st.uidvalidity, "{step}: UIDVALIDITY of {name} changed"),
        }
        assert_eq!(st.uidnext, mb.uidnext, "{step}: UIDNEXT of {name}");
        assert_eq!(
            st.messages as usize,
            mb.msgs.len(),
            "{step}: MESSAGES of {name}"
        );
        let unseen = mb.msgs.values().filter(|x| x.flags & 1 == 0).count();
        let deleted = mb.msgs.values().filter(|x| x.flags & 8 != 0).count();
        let size: usize = mb.msgs.values().map(|x| x.body.len()).sum();
        assert_eq!(
            (st.unseen as usize, st.deleted as usize, st.size as usize),
            (unseen, deleted, size),
            "{step}: counts of {name}"
        );
        let snap = s.snapshot(id).unwrap();
        let got: Vec<(u32, u8, BTreeSet<String>)> = snap
            .messages
            .iter()
            .map(|x| {
                (
                    x.uid,
                    x.flags.0,
                    x.keywords
                        .ids()
                        .map(|k| snap.keywords[k as usize].clone())
                        .collect(),
                )
            })
            .collect();
        let exp: Vec<(u32, u8, BTreeSet<String>)> = mb
            .msgs
            .iter()
            .map(|(u, x)| (*u, x.flags, x.kws.clone()))
            .collect();
        assert_eq!(got, exp, "{step}: messages of {name}");
        for (u, x) in &mb.msgs {
            assert_eq!(
                &*s.read_message(id, *u).await.unwrap(),
                &x.body[..],
                "{step}: body of {name}/{u}"
            );
        }
        assert!(
            snap.messages.iter().all(|x| x.modseq <= st.highest_modseq),
            "{step}: modseq above HIGHESTMODSEQ"
        );
    }
}

async fn apply(s: &Store, m: &mut Model, op: &Op) {
    let id = |n: usize| s.mailbox_id(NAMES[n]);
    match op {
        Op::Create(n) => {
            let name = NAMES[*n];
            let ok = m.create(name);
            assert_eq!(
                s.create_mailbox(name, SpecialUse::None).await.is_ok(),
                ok,
                "create {name}"
            );
        }
        Op::Delete(n) => {
            let name = NAMES[*n];
            let ok = name != "INBOX" && m.boxes.contains_key(name) && !m.has_children(name);
            if ok {
                m.boxes.remove(name);
            }
            assert_eq!(s.delete_mailbox(name).await.is_ok(), ok, "delete {name}");
        }
        Op::Rename(a, b) => {
            let (f, t) = (NAMES[*a], NAMES[*b]);
            let refused = !m.boxes.contains_key(f)
                || m.boxes.contains_key(t)
                || t.starts_with(&format!("{f}/"))
                || (f == "INBOX" && t.starts_with("INBOX/"));
            let ok = !refused;
            let mut ok2 = ok;
            if ok && f != "INBOX" {
                let pre = format!("{f}/");
                let kids: Vec<String> = m
                    .boxes
                    .keys()
                    .filter(|k| k.starts_with(&pre))
                    .cloned()
                    .collect();
                ok2 = kids
                    .iter()
                    .all(|k| !m.boxes.contains_key(&format!("{t}/{}", &k[pre.len()..])));
                if ok2 {
                    let mut moved = vec![(f.to_string(), t.to_string())];
                    moved.extend(
                        kids.iter()
                            .map(|k| (k.clone(), format!("{t}/{}", &k[pre.len()..]))),
                    );
                    let taken: Vec<(String, MBox)> = moved
                        .iter()
                        .map(|(o, n)| (n.clone(), m.boxes.remove(o).unwrap()))
                        .collect();
                    for p in parents(t) {
                        m.boxes.entry(p).or_default();
                    }
                    m.boxes.extend(taken);
                }
            } else if ok {
                m.create(t);
                let inbox = m.boxes.get_mut("INBOX").unwrap();
                let msgs = std::mem::take(&mut inbox.msgs);
                let dst = m.boxes.get_mut(t).unwrap();
                for (_, x) in msgs {
                    dst.msgs.insert(dst.uidnext, x);
                    dst.uidnext += 1;
                }
            }
            assert_eq!(
                s.rename_mailbox(f, t).await.is_ok(),
                ok2,
                "rename {f} -> {t}"
            );
        }
        Op::Append(n, count, flags, kw) => {
            let Some(mid) = id(*n) else { return };
            let bodies: Vec<Vec<u8>> = (0..*count).map(|_| m.body()).collect();
            let kws: Vec<String> = kw.iter().map(|k| KWS[*k].to_string()).collect();
            let msgs: Vec<NewMessage<'_>> = bodies
                .iter()
                .map(|b| NewMessage {
                    raw: b,
                    flags: Flags(*flags),
                    keywords: kws.clone(),
                    internal_date: 5,
                })
                .collect();
            let uids = s.append(mid, &msgs).await.unwrap();
            let mb = m.boxes.get_mut(NAMES[*n]).unwrap();
            let want: Vec<u32> = (mb.uidnext..mb.uidnext + *count as u32).collect();
            assert_eq!(uids, want, "append uids");
            for b in bodies {
                mb.msgs.insert(
                    mb.uidnext,
                    MMsg {
                        flags: flags & 31,
                        kws: kws.iter().cloned().collect(),
                        body: b,
                    },
                );
                mb.uidnext += 1;
            }
        }
        Op::Store(n, lo, hi, o, flags, kw) => {
            let Some(mid) = id(*n) else { return };
            let kws: Vec<String> = kw.iter().map(|k| KWS[*k].to_string()).collect();
            let fop = [FlagOp::Set, FlagOp::Add, FlagOp::Remove][*o as usize];
            let r = s
                .store_flags(mid, &[(*lo, *hi)], fop, Flags(*flags), &kws, None)
                .await
                .unwrap();
            let mb = m.boxes.get_mut(NAMES[*n]).unwrap();
            let mut changed = Vec::new();
            for (u, x) in mb.msgs.range_mut(*lo..=*hi) {
                let (f, k) = match fop {
                    FlagOp::Set => (flags & 31, kws.iter().cloned().collect()),
                    FlagOp::Add => (
                        x.flags | (flags & 31),
                        x.kws.iter().chain(&kws).cloned().collect(),
                    ),
                    FlagOp::Remove => (
                        x.flags & !flags,
                        x.kws.iter().filter(|k| !kws.contains(k)).cloned().collect(),
                    ),
                };
                if f != x.flags || k != x.kws {
                    changed.push(*u);
                }
                x.flags = f;
                x.kws = k;
            }
            assert_eq!(
                r.changed.iter().map(|c| c.0).collect::<Vec<_>>(),
                changed,
                "store changed set"
            );
        }
        Op::Copy(a, b, lo, hi, is_move) => {
            let (Some(src), Some(dst)) = (id(*a), id(*b)) else {
                return;
            };
            let r = if *is_move {
                s.move_messages(src, &[(*lo, *hi)], dst).await
            } else {
                s.copy(src, &[(*lo, *hi)], dst).await
            };
            let r = r.unwrap();
            let picked: Vec<(u32, MMsg)> = m.boxes[NAMES[*a]]
                .msgs
                .range(*lo..=*hi)
                .map(|(u, x)| (*u, x.clone()))
                .collect();
            if *is_move {
                let sm = m.boxes.get_mut(NAMES[*a]).unwrap();
                for (u, _) in &picked {
                    sm.msgs.remove(u);
                }
            }
            let dm = m.boxes.get_mut(NAMES[*b]).unwrap();
            let mut pairs = Vec::new();
            for (u, x) in picked {
                pairs.push((u, dm.uidnext));
                dm.msgs.insert(dm.uidnext, x);
                dm.uidnext += 1;
            }
            assert_eq!(r.pairs, pairs, "copy uid mapping");
        }
        Op::Expunge(n, deleted_only) => {
            let Some(mid) = id(*n) else { return };
            let mode = if *deleted_only {
                ExpungeMode::DeletedOnly
            } else {
                ExpungeMode::Exact
            };
            let gone = s.expunge(mid, None, mode).await.unwrap();
            let mb = m.boxes.get_mut(NAMES[*n]).unwrap();
            let want: Vec<u32> = mb
                .msgs
                .iter()
                .filter(|(_, x)| !*deleted_only || x.flags & 8 != 0)
                .map(|(u, _)| *u)
                .collect();
            for u in &want {
                mb.msgs.remove(u);
            }
            assert_eq!(gone, want, "expunged uids");
        }
        Op::Checkpoint => s.checkpoint().await.unwrap(),
        Op::Compact => {
            s.compact().await.unwrap();
        }
        Op::Reopen | Op::Crash => unreachable!("handled by the driver"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("STORE_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        run(move || async move {
            let mut m = Model::default();
            m.boxes.insert("INBOX".into(), MBox::default());
            let mut s = Store::open(&path, cfg_small()).await.unwrap();
            check(&s, &mut m, "open").await;
            for (i, op) in ops.iter().enumerate() {
                let step = format!("step {i} {op:?}");
                match op {
                    Op::Reopen => {
                        s.close().await.unwrap();
                        s = Store::open(&path, cfg_small()).await.unwrap();
                        let info = s.open_info();
                        assert!(info.from_checkpoint && info.replayed_records == 0, "{step}: {info:?}");
                    }
                    Op::Crash => {
                        drop(s);
                        s = Store::open(&path, cfg_small()).await.unwrap();
                    }
                    _ => apply(&s, &mut m, op).await,
                }
                check(&s, &mut m, &step).await;
                let report = s.verify().await.unwrap();
                assert!(report.bad.is_empty() && report.index_matches, "{step}: verify {report:?}");
            }
            drop(s);
            let s = Store::open(&path, cfg_small()).await.unwrap();
            check(&s, &mut m, "final reopen").await;
        });
    }
}
