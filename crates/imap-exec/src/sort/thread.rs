//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES, the algorithms of RFC 5256
//! §3, and the thread-list output of §4.
//!
//! Threads live in one flat arena and every walk over them is a loop with
//! its own stack: a client can append a reply chain a million messages
//! deep, and recursion that deep would overflow the executor's stack.

use super::entry::Text;
use super::keys::Keyed;
use imap_proto::ThreadAlgorithm;
use std::cmp::Ordering;
use std::collections::HashMap;

/// A thread node: a message (an index into the items given), or a missing
/// parent that still holds its children together (REFERENCES only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub item: Option<usize>,
    pub children: Vec<usize>,
}

/// The threads of a THREAD answer: `roots` index `nodes`, in output order.
#[derive(Debug, Default)]
pub struct Threads {
    pub nodes: Vec<Node>,
    pub roots: Vec<usize>,
}

pub fn thread(items: &[Keyed], alg: ThreadAlgorithm) -> Threads {
    match alg {
        ThreadAlgorithm::OrderedSubject => ordered_subject(items),
        ThreadAlgorithm::References => references(items),
    }
}

/// Sent date, then mailbox order.
fn date_order(items: &[Keyed], a: usize, b: usize) -> Ordering {
    (items[a].sent_date(), items[a].index).cmp(&(items[b].sent_date(), items[b].index))
}

fn subject(items: &[Keyed], i: usize) -> &[u8] {
    items[i].keys.text(Text::Subject)
}

fn leaf(item: usize) -> Node {
    Node {
        item: Some(item),
        children: Vec::new(),
    }
}

fn ordered_subject(items: &[Keyed]) -> Threads {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        subject(items, a)
            .cmp(subject(items, b))
            .then_with(|| date_order(items, a, b))
    });
    let mut t = Threads::default();
    let mut last: Option<usize> = None;
    for i in order {
        let n = t.nodes.len();
        t.nodes.push(leaf(i));
        match last {
            Some(root)
                if t.nodes[root]
                    .item
                    .is_some_and(|r| subject(items, r) == subject(items, i)) =>
            {
                t.nodes[root].children.push(n)
            }
            _ => {
                t.roots.push(n);
                last = Some(n);
            }
        }
    }
    t.roots.sort_by(|&a, &b| {
        date_order(
            items,
            t.nodes[a].item.unwrap_or(0),
            t.nodes[b].item.unwrap_or(0),
        )
    });
    t
}

struct Container {
    item: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Arena {
    nodes: Vec<Container>,
    /// Parent steps [`Arena::is_ancestor_or_self`] may still walk in this
    /// command; past it, links are refused as if they looped, so a crafted
    /// mailbox cannot make threading quadratic.
    steps_left: usize,
}

impl Arena {
    fn add(&mut self, item: Option<usize>) -> usize {
        self.nodes.push(Container {
            item,
            parent: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Whether `a` is `b` or one of `b`'s ancestors.
    fn is_ancestor_or_self(&mut self, a: usize, b: usize) -> bool {
        if a == b {
            return true;
        }
        // Without children `a` is nobody's ancestor: the usual case (a new
        // message), answered without a walk.
        if self.nodes[a].children.is_empty() {
            return false;
        }
        let mut cur = self.nodes[b].parent;
        while let Some(c) = cur {
            if c == a || self.steps_left == 0 {
                return true;
            }
            self.steps_left -= 1;
            cur = self.nodes[c].parent;
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

fn references(items: &[Keyed]) -> Threads {
    let mut a = Arena {
        nodes: Vec::with_capacity(items.len() * 2),
        steps_left: 64 * items.len() + 1_000_000,
    };
    let mut by_id: HashMap<u64, usize> = HashMap::with_capacity(items.len());
    // (1) containers and links, in mailbox order.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].index);
    for i in order {
        let k = &items[i].keys;
        let own = match k.message_id {
            Some(id) => match by_id.get(&id).copied() {
                Some(n) if a.nodes[n].item.is_none() => {
                    a.nodes[n].item = Some(i);
                    n
                }
                // A duplicate Message-ID: this message gets a node of its own.
                Some(_) => a.add(Some(i)),
                None => {
                    let n = a.add(Some(i));
                    by_id.insert(id, n);
                    n
                }
            },
            None => a.add(Some(i)),
        };
        let mut prev: Option<usize> = None;
        for r in k.refs.iter() {
            let n = match by_id.get(r) {
                Some(&n) => n,
                None => {
                    let n = a.add(None);
                    by_id.insert(*r, n);
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
            Some(p) if !a.is_ancestor_or_self(own, p) => a.link(p, own),
            _ => a.unlink(own),
        }
    }
    // (2) the root set; (3) dummies pruned.
    let roots: Vec<usize> = (0..a.nodes.len())
        .filter(|&n| a.nodes[n].parent.is_none())
        .collect();
    let mut t = prune(&a, &roots);
    // (4) sorted by date (a dummy by its first child's, children first).
    let mut first = sort_children(items, &mut t);
    sort_roots(items, &mut t, &first);
    // (5) roots with the same base subject gathered.
    gather_subjects(items, &mut t, &mut first);
    let first = sort_children(items, &mut t);
    sort_roots(items, &mut t, &first);
    t
}

/// Removes empty dummies, and dummies whose children can take their place
/// (any below the root; at the root, one with a single child). Node ids
/// are kept: the result indexes the same way the arena does.
fn prune(a: &Arena, roots: &[usize]) -> Threads {
    let n = a.nodes.len();
    // Each node's children after pruning, filled bottom-up.
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut stack: Vec<(usize, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((node, done)) = stack.pop() {
        if !done {
            stack.push((node, true));
            stack.extend(a.nodes[node].children.iter().rev().map(|&c| (c, false)));
            continue;
        }
        let mut mine = Vec::new();
        for &c in &a.nodes[node].children {
            if a.nodes[c].item.is_some() {
                mine.push(c);
            } else {
                // A dummy below the root gives its children to its parent.
                mine.append(&mut kids[c]);
            }
        }
        kids[node] = mine;
    }
    let mut t = Threads::default();
    let mut keep_roots = Vec::new();
    for &r in roots {
        match (a.nodes[r].item, kids[r].len()) {
            (Some(_), _) => keep_roots.push(r),
            (None, 0) => {}
            (None, 1) => keep_roots.push(kids[r][0]),
            (None, _) => keep_roots.push(r),
        }
    }
    t.nodes = a
        .nodes
        .iter()
        .zip(kids)
        .map(|(c, children)| Node {
            item: c.item,
            children,
        })
        .collect();
    t.roots = keep_roots;
    t
}

/// Nodes reachable from the roots, parents before children.
fn preorder(t: &Threads) -> Vec<usize> {
    let mut out = Vec::with_capacity(t.nodes.len());
    let mut stack: Vec<usize> = t.roots.clone();
    while let Some(n) = stack.pop() {
        out.push(n);
        stack.extend(t.nodes[n].children.iter().copied());
    }
    out
}

/// Sorts every node's children by date, deepest first, and returns for
/// each node the message it stands for in date order: its own, else its
/// first child's (`usize::MAX` for nodes no root reaches).
fn sort_children(items: &[Keyed], t: &mut Threads) -> Vec<usize> {
    let mut first = vec![usize::MAX; t.nodes.len()];
    for &n in preorder(t).iter().rev() {
        let mut ch = std::mem::take(&mut t.nodes[n].children);
        ch.sort_by(|&x, &y| date_order(items, first[x], first[y]));
        first[n] = match t.nodes[n].item {
            Some(i) => i,
            None => ch.first().map_or(0, |&c| first[c]),
        };
        t.nodes[n].children = ch;
    }
    first
}

fn sort_roots(items: &[Keyed], t: &mut Threads, first: &[usize]) {
    t.roots
        .sort_by(|&x, &y| date_order(items, first[x], first[y]));
}

fn gather_subjects(items: &[Keyed], t: &mut Threads, first: &mut Vec<usize>) {
    let subject_of = |first: &[usize], n: usize| {
        let i = first[n];
        (subject(items, i), items[i].keys.reply_or_fwd)
    };
    let trees = std::mem::take(&mut t.roots);
    // A: which root stands for each subject.
    let mut table: HashMap<&[u8], usize> = HashMap::new();
    for (pos, &n) in trees.iter().enumerate() {
        let (s, reply) = subject_of(first, n);
        if s.is_empty() {
            continue;
        }
        match table.get(s).copied() {
            None => {
                table.insert(s, pos);
            }
            Some(old) => {
                let o = trees[old];
                let (_, old_reply) = subject_of(first, o);
                let (t_dummy, o_dummy) = (t.nodes[n].item.is_none(), t.nodes[o].item.is_none());
                // A dummy beats a message; a message beats a reply.
                if !o_dummy && (t_dummy || (old_reply && !reply)) {
                    table.insert(s, pos);
                }
            }
        }
    }
    // B: the others merge into it.
    let mut slots: Vec<Option<usize>> = trees.iter().copied().map(Some).collect();
    for pos in 0..slots.len() {
        let Some(n) = slots[pos] else { continue };
        let (s, reply) = subject_of(first, n);
        if s.is_empty() {
            continue;
        }
        let Some(&target) = table.get(s) else {
            continue;
        };
        if target == pos {
            continue;
        }
        let Some(tgt) = slots[target] else { continue };
        slots[pos] = None;
        let (_, tgt_reply) = subject_of(first, tgt);
        let merged = match (t.nodes[tgt].item.is_none(), t.nodes[n].item.is_none()) {
            (true, true) => {
                let moved = std::mem::take(&mut t.nodes[n].children);
                t.nodes[tgt].children.extend(moved);
                tgt
            }
            (true, false) => {
                t.nodes[tgt].children.push(n);
                tgt
            }
            _ if reply && !tgt_reply => {
                t.nodes[tgt].children.push(n);
                tgt
            }
            _ => {
                t.nodes.push(Node {
                    item: None,
                    children: vec![tgt, n],
                });
                first.push(first[tgt]);
                t.nodes.len() - 1
            }
        };
        slots[target] = Some(merged);
    }
    t.roots = slots.into_iter().flatten().collect();
}

/// `(a b (c)(d))...` with each message as `number(item)`.
pub fn render(out: &mut Vec<u8>, t: &Threads, number: &dyn Fn(usize) -> u32) {
    enum Step {
        Open,
        Node(usize),
        Close,
    }
    let mut stack: Vec<Step> = Vec::new();
    for &r in t.roots.iter().rev() {
        stack.extend([Step::Close, Step::Node(r), Step::Open]);
    }
    while let Some(step) = stack.pop() {
        let n = match step {
            Step::Open => {
                out.push(b'(');
                continue;
            }
            Step::Close => {
                out.push(b')');
                continue;
            }
            Step::Node(n) => &t.nodes[n],
        };
        if let Some(i) = n.item {
            out.extend_from_slice(number(i).to_string().as_bytes());
        }
        match n.children.len() {
            0 => {}
            1 if n.item.is_some() => {
                out.push(b' ');
                stack.push(Step::Node(n.children[0]));
            }
            _ => {
                if n.item.is_some() {
                    out.push(b' ');
                }
                for &c in n.children.iter().rev() {
                    stack.extend([Step::Close, Step::Node(c), Step::Open]);
                }
            }
        }
    }
}
