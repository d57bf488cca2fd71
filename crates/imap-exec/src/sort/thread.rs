//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES, the algorithms of RFC 5256
//! §3, and the thread-list output of §4.

use super::keys::{Keyed, casemap_cmp};
use imap_proto::ThreadAlgorithm;
use std::collections::HashMap;

/// A thread node: a message (an index into the items given), or a missing
/// parent that still holds its children together (REFERENCES only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub item: Option<usize>,
    pub children: Vec<Thread>,
}

pub fn thread(items: &[Keyed], alg: ThreadAlgorithm) -> Vec<Thread> {
    match alg {
        ThreadAlgorithm::OrderedSubject => ordered_subject(items),
        ThreadAlgorithm::References => references(items),
    }
}

/// Sent date, then mailbox order.
fn date_order(items: &[Keyed], a: usize, b: usize) -> std::cmp::Ordering {
    (items[a].sent_date(), items[a].index).cmp(&(items[b].sent_date(), items[b].index))
}

fn ordered_subject(items: &[Keyed]) -> Vec<Thread> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        casemap_cmp(&items[a].keys.base_subject, &items[b].keys.base_subject)
            .then_with(|| date_order(items, a, b))
    });
    let mut threads: Vec<Thread> = Vec::new();
    let mut last_subject: Option<&str> = None;
    for i in order {
        let subject = items[i].keys.base_subject.as_str();
        let same =
            last_subject.is_some_and(|s| casemap_cmp(s, subject) == std::cmp::Ordering::Equal);
        match threads.last_mut() {
            Some(t) if same => t.children.push(Thread {
                item: Some(i),
                children: Vec::new(),
            }),
            _ => threads.push(Thread {
                item: Some(i),
                children: Vec::new(),
            }),
        }
        last_subject = Some(subject);
    }
    threads.sort_by(|a, b| date_order(items, a.item.unwrap_or(0), b.item.unwrap_or(0)));
    threads
}

struct Node {
    item: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Arena {
    nodes: Vec<Node>,
}

impl Arena {
    fn add(&mut self, item: Option<usize>) -> usize {
        self.nodes.push(Node {
            item,
            parent: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Whether `a` is `b` or one of `b`'s ancestors.
    fn is_ancestor_or_self(&self, a: usize, b: usize) -> bool {
        let mut cur = Some(b);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == a {
                return true;
            }
            cur = self.nodes[c].parent;
            steps += 1;
            if steps > self.nodes.len() {
                return true;
            }
        }
        false
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }
}

fn references(items: &[Keyed]) -> Vec<Thread> {
    let mut a = Arena { nodes: Vec::new() };
    let mut by_id: HashMap<String, usize> = HashMap::new();
    // (1) containers and links, in mailbox order.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].index);
    for i in order {
        let k = &items[i].keys;
        let own = match k.message_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => match by_id.get(id).copied() {
                Some(n) if a.nodes[n].item.is_none() => {
                    a.nodes[n].item = Some(i);
                    n
                }
                // A duplicate Message-ID: this message gets a node of its own.
                Some(_) => a.add(Some(i)),
                None => {
                    let n = a.add(Some(i));
                    by_id.insert(id.to_string(), n);
                    n
                }
            },
            None => a.add(Some(i)),
        };
        let refs: &[String] = if !k.references.is_empty() {
            &k.references
        } else {
            &k.in_reply_to[..k.in_reply_to.len().min(1)]
        };
        let mut prev: Option<usize> = None;
        for r in refs.iter().filter(|r| !r.is_empty()) {
            let n = match by_id.get(r.as_str()) {
                Some(&n) => n,
                None => {
                    let n = a.add(None);
                    by_id.insert(r.clone(), n);
                    n
                }
            };
            if let Some(p) = prev
                && p != n
                && a.nodes[n].parent.is_none()
                && !a.is_ancestor_or_self(n, p)
            {
                a.link(p, n);
            }
            prev = Some(n);
        }
        // The message's parent is its last reference, unless that loops.
        match prev {
            Some(p) if p != own && !a.is_ancestor_or_self(own, p) => a.link(p, own),
            _ => a.unlink(own),
        }
    }
    // (2) the root set; (3) dummies pruned.
    let roots: Vec<usize> = (0..a.nodes.len())
        .filter(|&n| a.nodes[n].parent.is_none())
        .collect();
    // (4) sorted by date (a dummy by its first child's, children first).
    let mut trees = prune(&a, &roots, true);
    for t in &mut trees {
        sort_children(items, t);
    }
    trees.sort_by(|x, y| date_order(items, first_item(x), first_item(y)));
    // (5) roots with the same base subject gathered.
    let mut trees = gather_subjects(items, trees);
    for t in &mut trees {
        sort_children(items, t);
    }
    trees.sort_by(|x, y| date_order(items, first_item(x), first_item(y)));
    trees
}

/// Removes empty dummies, and dummies whose children can take their place
/// (any below the root; at the root, one with a single child).
fn prune(a: &Arena, nodes: &[usize], at_root: bool) -> Vec<Thread> {
    let mut out = Vec::new();
    for &n in nodes {
        let node = &a.nodes[n];
        let children = prune(a, &node.children, false);
        match node.item {
            Some(i) => out.push(Thread {
                item: Some(i),
                children,
            }),
            None if children.is_empty() => {}
            None if !at_root || children.len() == 1 => out.extend(children),
            None => out.push(Thread {
                item: None,
                children,
            }),
        }
    }
    out
}

fn first_item(t: &Thread) -> usize {
    match t.item {
        Some(i) => i,
        None => t.children.first().map_or(0, first_item),
    }
}

fn sort_children(items: &[Keyed], t: &mut Thread) {
    for c in &mut t.children {
        sort_children(items, c);
    }
    t.children
        .sort_by(|x, y| date_order(items, first_item(x), first_item(y)));
}

fn subject_of<'a>(items: &'a [Keyed], t: &Thread) -> (&'a str, bool) {
    let i = first_item(t);
    let k = &items[i].keys;
    (k.base_subject.as_str(), k.subject_is_reply_or_fwd)
}

fn gather_subjects(items: &[Keyed], trees: Vec<Thread>) -> Vec<Thread> {
    // A: which root stands for each subject.
    let mut table: HashMap<String, usize> = HashMap::new();
    for (n, t) in trees.iter().enumerate() {
        let (s, reply) = subject_of(items, t);
        if s.is_empty() {
            continue;
        }
        let key = s.to_ascii_uppercase();
        match table.get(&key).copied() {
            None => {
                table.insert(key, n);
            }
            Some(old) => {
                let o = &trees[old];
                let (_, old_reply) = subject_of(items, o);
                if (t.item.is_none() && o.item.is_some())
                    || (o.item.is_some() && t.item.is_some() && old_reply && !reply)
                {
                    table.insert(key, n);
                }
            }
        }
    }
    // B: the others merge into it.
    let mut slots: Vec<Option<Thread>> = trees.into_iter().map(Some).collect();
    for n in 0..slots.len() {
        let Some(t) = slots[n].as_ref() else { continue };
        let (s, reply) = subject_of(items, t);
        if s.is_empty() {
            continue;
        }
        let Some(&target) = table.get(&s.to_ascii_uppercase()) else {
            continue;
        };
        if target == n {
            continue;
        }
        let Some(cur) = slots[n].take() else { continue };
        let Some(mut tgt) = slots[target].take() else {
            slots[n] = Some(cur);
            continue;
        };
        let (_, tgt_reply) = subject_of(items, &tgt);
        tgt = match (tgt.item.is_none(), cur.item.is_none()) {
            (true, true) => {
                tgt.children.extend(cur.children);
                tgt
            }
            (true, false) => {
                tgt.children.push(cur);
                tgt
            }
            _ if reply && !tgt_reply => {
                tgt.children.push(cur);
                tgt
            }
            _ => Thread {
                item: None,
                children: vec![tgt, cur],
            },
        };
        slots[target] = Some(tgt);
    }
    slots.into_iter().flatten().collect()
}

/// `(a b (c)(d))...` with each message as `number(item)`.
pub fn render(out: &mut Vec<u8>, threads: &[Thread], number: &dyn Fn(usize) -> u32) {
    for t in threads {
        out.push(b'(');
        members(out, t, number);
        out.push(b')');
    }
}

fn members(out: &mut Vec<u8>, t: &Thread, number: &dyn Fn(usize) -> u32) {
    let mut wrote = false;
    if let Some(i) = t.item {
        out.extend_from_slice(number(i).to_string().as_bytes());
        wrote = true;
    }
    match t.children.len() {
        0 => {}
        1 if t.item.is_some() => {
            out.push(b' ');
            members(out, &t.children[0], number);
        }
        _ => {
            if wrote {
                out.push(b' ');
            }
            for c in &t.children {
                out.push(b'(');
                members(out, c, number);
                out.push(b')');
            }
        }
    }
}
