//! The sort keys of messages recently sorted or threaded, kept in memory
//! per shard so a webmail that re-sorts a 100,000-message mailbox on every
//! page reads the stored facts once, not on every command. A message's keys
//! never change (messages are immutable), so entries are never stale; an
//! expunged message's entry is garbage, dropped when a mailbox's cache
//! outgrows its mailbox. The whole cache has a byte budget: the least
//! recently used mailboxes go first.

use super::entry::SortEntry;
use imap_proto::SortCriterion;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::rc::Rc;

/// Which mailbox a cached entry belongs to. UIDVALIDITY makes a mailbox
/// deleted and created again under the same id a different one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MailboxKey {
    pub user: Rc<str>,
    pub mailbox: u32,
    pub uidvalidity: u32,
}

/// Hashes UIDs by one multiplication (Fibonacci hashing). UIDs are the
/// server's own sequential numbers, not a client's choice, so they need no
/// keyed hash, and a SORT of 100,000 messages does 100,000 lookups.
#[derive(Default)]
struct UidHasher(u64);

impl std::hash::Hasher for UidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type UidMap<V> = HashMap<u32, V, std::hash::BuildHasherDefault<UidHasher>>;

#[derive(Default)]
struct MailboxCache {
    entries: UidMap<Rc<SortEntry>>,
    /// The UIDs of the whole mailbox in the order of a single-criterion
    /// SORT, as of the last such SORT (see `super::sort_remembered`).
    orders: Vec<(SortCriterion, Rc<[u32]>)>,
    bytes: usize,
    last_used: u64,
}

/// Per-entry overhead of the map and the `Rc`, roughly.
const ENTRY_OVERHEAD: usize = 40;

pub struct SortCache {
    /// Hashes message ids into [`SortEntry`]; one per cache, so all entries
    /// agree, and keyed at random so no one can make ids collide on purpose.
    ids: RandomState,
    budget: usize,
    used: usize,
    tick: u64,
    boxes: HashMap<MailboxKey, MailboxCache>,
}

impl SortCache {
    /// A cache holding at most about `budget` bytes (0: caches nothing).
    pub fn new(budget: usize) -> SortCache {
        SortCache {
            ids: RandomState::new(),
            budget,
            used: 0,
            tick: 0,
            boxes: HashMap::new(),
        }
    }

    pub fn hasher(&self) -> &RandomState {
        &self.ids
    }

    /// Bytes in use (approximate).
    pub fn used(&self) -> usize {
        self.used
    }

    /// The cached entries for `uids` (None where not cached), marking the
    /// mailbox used. `all`: `uids` are every message of the mailbox; if the
    /// cache holds many more (expunged ones), it is trimmed to them first.
    pub fn get(&mut self, key: &MailboxKey, uids: &[u32], all: bool) -> Vec<Option<Rc<SortEntry>>> {
        self.tick += 1;
        let Some(mb) = self.boxes.get_mut(key) else {
            return vec![None; uids.len()];
        };
        mb.last_used = self.tick;
        if all && mb.entries.len() > uids.len() + uids.len() / 2 + 1024 {
            let keep: std::collections::HashSet<u32> = uids.iter().copied().collect();
            let mut freed = 0;
            mb.entries.retain(|uid, e| {
                let k = keep.contains(uid);
                if !k {
                    freed += e.footprint() + ENTRY_OVERHEAD;
                }
                k
            });
            mb.bytes -= freed;
            self.used -= freed;
        }
        uids.iter().map(|u| mb.entries.get(u).cloned()).collect()
    }

    /// Remembers `entries` of mailbox `key`, evicting other mailboxes (least
    /// recently used first) to stay within the budget. What does not fit
    /// even then is simply not cached.
    pub fn put(&mut self, key: &MailboxKey, entries: &[(u32, Rc<SortEntry>)]) {
        let need: usize = entries
            .iter()
            .map(|(_, e)| e.footprint() + ENTRY_OVERHEAD)
            .sum();
        self.make_room(key, need);
        let tick = self.tick;
        let mb = self.boxes.entry(key.clone()).or_default();
        mb.last_used = tick;
        for (uid, e) in entries {
            let cost = e.footprint() + ENTRY_OVERHEAD;
            if self.used + cost > self.budget {
                break;
            }
            if mb.entries.insert(*uid, e.clone()).is_none() {
                mb.bytes += cost;
                self.used += cost;
            }
        }
    }
}

impl SortCache {
    /// Evicts other mailboxes, least recently used first, until `need`
    /// more bytes fit or only `key` is left.
    fn make_room(&mut self, key: &MailboxKey, need: usize) {
        while self.used + need > self.budget {
            let victim = self
                .boxes
                .iter()
                .filter(|(k, _)| *k != key)
                .min_by_key(|(_, m)| m.last_used)
                .map(|(k, _)| k.clone());
            let Some(v) = victim else { break };
            if let Some(m) = self.boxes.remove(&v) {
                self.used -= m.bytes;
            }
        }
    }

    /// The remembered whole-mailbox order for `c`, if any.
    pub fn order(&mut self, key: &MailboxKey, c: SortCriterion) -> Option<Rc<[u32]>> {
        let mb = self.boxes.get(key)?;
        mb.orders
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, o)| o.clone())
    }

    /// Remembers `order` (every UID of the mailbox, sorted by `c`),
    /// replacing the one before; not kept if it does not fit the budget.
    pub fn put_order(&mut self, key: &MailboxKey, c: SortCriterion, order: Vec<u32>) {
        let cost = order.len() * 4 + ENTRY_OVERHEAD;
        if let Some(mb) = self.boxes.get_mut(key)
            && let Some(i) = mb.orders.iter().position(|(k, _)| *k == c)
        {
            let (_, old) = mb.orders.swap_remove(i);
            let freed = old.len() * 4 + ENTRY_OVERHEAD;
            mb.bytes -= freed;
            self.used -= freed;
        }
        self.make_room(key, cost);
        if self.used + cost > self.budget {
            return;
        }
        let tick = self.tick;
        let mb = self.boxes.entry(key.clone()).or_default();
        mb.last_used = tick;
        mb.orders.push((c, order.into()));
        mb.bytes += cost;
        self.used += cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mime_facts::SortKeys;

    fn key(mailbox: u32) -> MailboxKey {
        MailboxKey {
            user: "alice".into(),
            mailbox,
            uidvalidity: 7,
        }
    }

    fn entry(c: &SortCache, subject: &str) -> Rc<SortEntry> {
        let k = SortKeys {
            base_subject: subject.into(),
            ..Default::default()
        };
        Rc::new(SortEntry::new(&k, c.hasher()))
    }

    #[test]
    fn hits_after_put_and_misses_for_other_mailboxes() {
        let mut c = SortCache::new(1 << 20);
        let e = entry(&c, "a");
        c.put(&key(1), &[(5, e.clone())]);
        assert_eq!(c.get(&key(1), &[5, 6], false), vec![Some(e), None]);
        assert_eq!(c.get(&key(2), &[5], false), vec![None]);
        let other = MailboxKey {
            uidvalidity: 8,
            ..key(1)
        };
        assert_eq!(c.get(&other, &[5], false), vec![None]);
    }

    #[test]
    fn budget_evicts_least_recently_used_mailbox() {
        let mut c = SortCache::new(0);
        c.put(&key(1), &[(1, entry(&c, "x"))]);
        assert_eq!(c.used(), 0, "a zero budget caches nothing");
        let one = entry(&c, "x").footprint() + ENTRY_OVERHEAD;
        let mut c = SortCache::new(2 * one);
        c.put(&key(1), &[(1, entry(&c, "x"))]);
        c.put(&key(2), &[(1, entry(&c, "y"))]);
        let _ = c.get(&key(1), &[1], false);
        c.put(&key(3), &[(1, entry(&c, "z"))]);
        assert!(c.get(&key(1), &[1], false)[0].is_some());
        assert!(
            c.get(&key(2), &[1], false)[0].is_none(),
            "mailbox 2 was least recent"
        );
        assert!(c.get(&key(3), &[1], false)[0].is_some());
        assert!(c.used() <= 2 * one);
    }

    #[test]
    fn expunged_entries_are_trimmed() {
        let mut c = SortCache::new(usize::MAX);
        let all: Vec<(u32, Rc<SortEntry>)> = (1..=3000).map(|u| (u, entry(&c, "s"))).collect();
        c.put(&key(1), &all);
        let before = c.used();
        let live: Vec<u32> = (1..=100).collect();
        let got = c.get(&key(1), &live, true);
        assert!(got.iter().all(Option::is_some));
        assert!(c.used() < before / 10);
        let gone = c.get(&key(1), &[2999], false);
        assert_eq!(gone, vec![None]);
    }
}
