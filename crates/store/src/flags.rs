//! System flags as a bitset and per-message keyword sets.

/// IMAP system flags stored with a message (`\Recent` is per session and
/// never stored). One bit each, so a message's flags fit in a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);
    /// Bits that mean something; others are dropped on input.
    pub const ALL: Flags = Flags(31);

    pub const fn empty() -> Flags {
        Flags(0)
    }
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
    pub const fn minus(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
    pub const fn sanitized(self) -> Flags {
        Flags(self.0 & Self::ALL.0)
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

/// A message's keywords as ids into its mailbox's keyword table. Ids below
/// 64 live in an inline bitset (the common case costs 8 bytes per message in
/// the index); higher ids go to a small side list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct KeywordSet {
    pub(crate) low: u64,
    pub(crate) high: Vec<u16>,
}

impl KeywordSet {
    pub fn new() -> Self {
        Self::default()
    }
    /// Ids below 64 only, as the index keeps them inline.
    pub(crate) fn from_low(low: u64) -> Self {
        KeywordSet {
            low,
            high: Vec::new(),
        }
    }
    pub fn from_ids(ids: impl IntoIterator<Item = u16>) -> Self {
        let mut s = Self::default();
        for id in ids {
            s.insert(id);
        }
        s
    }
    pub fn is_empty(&self) -> bool {
        self.low == 0 && self.high.is_empty()
    }
    pub fn contains(&self, id: u16) -> bool {
        if id < 64 {
            self.low & (1u64 << id) != 0
        } else {
            self.high.binary_search(&id).is_ok()
        }
    }
    pub fn insert(&mut self, id: u16) {
        if id < 64 {
            self.low |= 1u64 << id;
        } else if let Err(pos) = self.high.binary_search(&id) {
            self.high.insert(pos, id);
        }
    }
    pub fn remove(&mut self, id: u16) {
        if id < 64 {
            self.low &= !(1u64 << id);
        } else if let Ok(pos) = self.high.binary_search(&id) {
            self.high.remove(pos);
        }
    }
    /// Ids in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        (0u16..64)
            .filter(|i| self.low & (1u64 << i) != 0)
            .chain(self.high.iter().copied())
    }
    pub fn len(&self) -> usize {
        self.low.count_ones() as usize + self.high.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_set_spans_inline_and_overflow_ids() {
        let mut s = KeywordSet::from_ids([3, 70, 63, 64, 200]);
        assert_eq!(s.ids().collect::<Vec<_>>(), vec![3, 63, 64, 70, 200]);
        assert!(s.contains(70) && s.contains(3) && !s.contains(4));
        s.remove(70);
        s.remove(3);
        assert_eq!(s.ids().collect::<Vec<_>>(), vec![63, 64, 200]);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn flags_set_algebra() {
        let f = Flags::SEEN | Flags::DELETED;
        assert!(f.contains(Flags::SEEN) && !f.contains(Flags::DRAFT));
        assert_eq!(f.minus(Flags::SEEN), Flags::DELETED);
        assert_eq!(Flags(0xff).sanitized(), Flags::ALL);
    }
}
