//! One message's sort and thread keys in the shape comparisons want: every
//! string already folded for i;ascii-casemap (so comparing is `memcmp`),
//! and message ids reduced to keyed 64-bit hashes (threading only asks
//! whether two ids are equal). About a fifth of [`SortKeys`]' memory.

use mime_facts::{SortAddress, SortKeys};
use std::hash::BuildHasher;

/// The string keys, in the order of [`SortEntry::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Subject = 0,
    From = 1,
    To = 2,
    Cc = 3,
    DisplayFrom = 4,
    DisplayTo = 5,
}

const FIELDS: usize = 6;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortEntry {
    /// The Date header as unix seconds.
    pub sent_date: Option<i64>,
    /// The subject looked like a reply or forward (THREAD=REFERENCES).
    pub reply_or_fwd: bool,
    /// Hash of the Message-ID.
    pub message_id: Option<u64>,
    /// Hashes of the parents to thread by: References, else the first
    /// In-Reply-To id (RFC 5256 §3, REFERENCES step 1).
    pub refs: Box<[u64]>,
    /// The [`Text`] fields, ASCII-uppercased, one after another.
    text: Box<[u8]>,
    ends: [u32; FIELDS],
}

/// i;ascii-casemap folding: ASCII letters to upper case, other bytes as
/// they are.
fn fold_into(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().map(|c| c.to_ascii_uppercase()));
}

fn mailbox_of(a: &Option<SortAddress>) -> &str {
    a.as_ref().map_or("", |a| a.mailbox.as_str())
}

/// RFC 5957: the display name, else the address (`mailbox@domain`).
fn display_into(out: &mut Vec<u8>, a: &Option<SortAddress>) {
    match a {
        None => {}
        Some(a) if !a.name.trim().is_empty() => fold_into(out, a.name.trim()),
        Some(a) if a.domain.is_empty() => fold_into(out, &a.mailbox),
        Some(a) => {
            fold_into(out, &a.mailbox);
            out.push(b'@');
            fold_into(out, &a.domain);
        }
    }
}

impl SortEntry {
    /// `ids` hashes message ids; every entry compared with this one must
    /// come from the same hasher.
    pub fn new(k: &SortKeys, ids: &impl BuildHasher) -> SortEntry {
        let mut text = Vec::with_capacity(k.base_subject.len() + 48);
        let mut ends = [0u32; FIELDS];
        let mut end = |text: &Vec<u8>, f: Text| ends[f as usize] = text.len() as u32;
        fold_into(&mut text, &k.base_subject);
        end(&text, Text::Subject);
        fold_into(&mut text, mailbox_of(&k.from));
        end(&text, Text::From);
        fold_into(&mut text, mailbox_of(&k.to));
        end(&text, Text::To);
        fold_into(&mut text, mailbox_of(&k.cc));
        end(&text, Text::Cc);
        display_into(&mut text, &k.from);
        end(&text, Text::DisplayFrom);
        display_into(&mut text, &k.to);
        end(&text, Text::DisplayTo);
        let hash = |id: &String| ids.hash_one(id.as_str());
        let refs: Vec<&String> = if !k.references.is_empty() {
            k.references.iter().collect()
        } else {
            k.in_reply_to.iter().take(1).collect()
        };
        SortEntry {
            sent_date: k.sent_date,
            reply_or_fwd: k.subject_is_reply_or_fwd,
            message_id: k.message_id.as_ref().filter(|id| !id.is_empty()).map(hash),
            refs: refs
                .into_iter()
                .filter(|r| !r.is_empty())
                .map(hash)
                .collect(),
            text: text.into_boxed_slice(),
            ends,
        }
    }

    /// A string key, folded.
    pub fn text(&self, f: Text) -> &[u8] {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text
            .get(start..self.ends[i] as usize)
            .unwrap_or_default()
    }

    /// Bytes this entry holds on the heap and inline, for the cache budget.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<SortEntry>() + self.text.len() + self.refs.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;

    fn addr(name: &str, mailbox: &str, domain: &str) -> Option<SortAddress> {
        Some(SortAddress {
            mailbox: mailbox.into(),
            domain: domain.into(),
            name: name.into(),
        })
    }

    #[test]
    fn fields_are_folded_and_separate() {
        let k = SortKeys {
            base_subject: "Re-Done Déjà".into(),
            from: addr("  Ann Example ", "ann", "example.org"),
            to: addr("", "bob", "example.net"),
            cc: addr("", "carol", ""),
            ..Default::default()
        };
        let e = SortEntry::new(&k, &RandomState::new());
        assert_eq!(e.text(Text::Subject), "RE-DONE DéJà".as_bytes());
        assert_eq!(e.text(Text::From), b"ANN");
        assert_eq!(e.text(Text::To), b"BOB");
        assert_eq!(e.text(Text::Cc), b"CAROL");
        assert_eq!(e.text(Text::DisplayFrom), b"ANN EXAMPLE");
        assert_eq!(e.text(Text::DisplayTo), b"BOB@EXAMPLE.NET");
        let none = SortEntry::new(&SortKeys::default(), &RandomState::new());
        for f in [Text::Subject, Text::From, Text::DisplayTo] {
            assert_eq!(none.text(f), b"");
        }
    }

    #[test]
    fn ids_hash_alike_under_one_hasher_and_refs_fall_back_to_in_reply_to() {
        let h = RandomState::new();
        let parent = SortKeys {
            message_id: Some("p@x".into()),
            ..Default::default()
        };
        let child = SortKeys {
            message_id: Some("c@x".into()),
            in_reply_to: vec!["p@x".into(), "other@x".into()],
            ..Default::default()
        };
        let (p, c) = (SortEntry::new(&parent, &h), SortEntry::new(&child, &h));
        assert_eq!(&*c.refs, &[p.message_id.unwrap()]);
        assert_ne!(p.message_id, c.message_id);
        let with_refs = SortKeys {
            references: vec!["a@x".into(), "".into(), "p@x".into()],
            in_reply_to: vec!["z@x".into()],
            message_id: Some(String::new()),
            ..Default::default()
        };
        let r = SortEntry::new(&with_refs, &h);
        assert_eq!(r.refs.len(), 2);
        assert_eq!(r.refs[1], p.message_id.unwrap());
        assert_eq!(r.message_id, None);
    }
}
