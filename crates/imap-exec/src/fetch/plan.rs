//! The FETCH attribute list turned, once per command, into what every
//! message needs: which items to write in which order, whether the message
//! facts or bytes must be read at all, and whether \Seen gets set.

use imap_proto::{FetchAttr, FetchAttrs, Part, Partial, Section, SectionText};

use super::header_fields::FieldNames;
use super::section::Slice;
use crate::ExecError;

/// How a section item is named in the response.
#[derive(Debug, Clone, Copy)]
pub enum SectionName<'a> {
    /// `BODY[...]` with the section as the client wrote it.
    Body(Section<'a>),
    Rfc822,
    Rfc822Header,
    Rfc822Text,
}

/// The part of a section that is sent.
#[derive(Debug, Clone)]
pub enum SectionSpec {
    Slice(Slice),
    Fields { names: FieldNames, not: bool },
}

#[derive(Debug, Clone)]
pub enum Item<'a> {
    /// UID where a plain FETCH listed it (a UID FETCH puts it first).
    Uid,
    Flags,
    InternalDate,
    Rfc822Size,
    Envelope,
    /// BODY (non-extensible) or BODYSTRUCTURE.
    Structure {
        extensible: bool,
    },
    ModSeq,
    Preview,
    EmailId,
    ThreadId,
    SaveDate,
    Section {
        name: SectionName<'a>,
        path: Vec<u32>,
        spec: SectionSpec,
        partial: Option<Partial>,
    },
    Binary {
        part: Part<'a>,
        path: Vec<u32>,
        partial: Option<Partial>,
    },
    BinarySize {
        part: Part<'a>,
        path: Vec<u32>,
    },
}

impl Item<'_> {
    /// Must be located in the message's parts before writing (sections
    /// and BINARY read bytes, BINARY.SIZE can be refused).
    pub fn locates(&self) -> bool {
        matches!(
            self,
            Item::Section { .. } | Item::Binary { .. } | Item::BinarySize { .. }
        )
    }

    fn needs_facts(&self) -> bool {
        match self {
            Item::Uid
            | Item::Flags
            | Item::InternalDate
            | Item::Rfc822Size
            | Item::ModSeq
            | Item::EmailId
            | Item::ThreadId
            | Item::SaveDate => false,
            // Top-level sections need at most where the header ends, which
            // a scan of the message finds (see `needs_header_end`).
            Item::Section { path, .. } => !path.is_empty(),
            _ => true,
        }
    }

    /// A top-level HEADER, TEXT or HEADER.FIELDS: needs the end of the
    /// message header (from the facts when they are read anyway, else by
    /// scanning the bytes for the blank line).
    fn needs_header_end(&self) -> bool {
        match self {
            Item::Section { path, spec, .. } => {
                path.is_empty() && !matches!(spec, SectionSpec::Slice(Slice::Full))
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
pub struct Plan<'a> {
    /// Items in the order asked (UID left out in a UID FETCH).
    pub items: Vec<Item<'a>>,
    /// A UID FETCH: UID goes first, as Dovecot sends it; in a plain FETCH
    /// UID stays where the client listed it.
    pub uid_first: bool,
    pub flags_asked: bool,
    pub modseq_asked: bool,
    pub needs_facts: bool,
    /// Some item needs the end of the top-level header.
    pub needs_header_end: bool,
    /// Some item must be located (see [`Item::locates`]).
    pub locates: bool,
    /// Some item sets \Seen (non-PEEK body, BINARY, RFC822, RFC822.TEXT).
    pub sets_seen: bool,
}

/// Section path numbers. A number the parser accepted but that does not fit
/// a u32 becomes 0, which names no part, so the section reads as missing
/// instead of silently meaning a shorter path.
fn path(p: &Part<'_>) -> Vec<u32> {
    p.raw()
        .split(|&b| b == b'.')
        .filter(|s| !s.is_empty())
        .map(|s| {
            std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(0)
        })
        .collect()
}

fn section_item<'a>(
    name: SectionName<'a>,
    section: &Section<'a>,
    partial: Option<Partial>,
) -> Item<'a> {
    let spec = match section.text {
        None => SectionSpec::Slice(Slice::Full),
        Some(SectionText::Header) => SectionSpec::Slice(Slice::Header),
        Some(SectionText::Text) => SectionSpec::Slice(Slice::Text),
        Some(SectionText::Mime) => SectionSpec::Slice(Slice::Mime),
        Some(SectionText::HeaderFields { not, fields }) => SectionSpec::Fields {
            names: FieldNames::new(fields.iter().map(|f| f.to_bytes().into_owned()).collect()),
            not,
        },
    };
    Item::Section {
        name,
        path: path(&section.part),
        spec,
        partial,
    }
}

/// The first FETCH item in `attrs` that needs an extension `on` says is
/// off: OBJECTID for EMAILID/THREADID, SAVEDATE for SAVEDATE.
pub fn disabled_item(attrs: &FetchAttrs<'_>, on: impl Fn(&str) -> bool) -> Option<&'static str> {
    attrs.iter().find_map(|a| match a {
        FetchAttr::EmailId | FetchAttr::ThreadId if !on("OBJECTID") => Some("OBJECTID"),
        FetchAttr::SaveDate if !on("SAVEDATE") => Some("SAVEDATE"),
        _ => None,
    })
}

impl<'a> Plan<'a> {
    pub fn new(attrs: &FetchAttrs<'a>, uid_command: bool) -> Result<Plan<'a>, ExecError> {
        let mut plan = Plan {
            items: Vec::new(),
            uid_first: uid_command,
            flags_asked: false,
            modseq_asked: false,
            needs_facts: false,
            needs_header_end: false,
            locates: false,
            sets_seen: false,
        };
        let mut uid_listed = uid_command;
        for attr in attrs.iter() {
            let item = match attr {
                FetchAttr::Uid if uid_listed => continue,
                FetchAttr::Uid => {
                    uid_listed = true;
                    Item::Uid
                }
                FetchAttr::Flags if plan.flags_asked => continue,
                FetchAttr::Flags => {
                    plan.flags_asked = true;
                    Item::Flags
                }
                FetchAttr::ModSeq if plan.modseq_asked => continue,
                FetchAttr::ModSeq => {
                    plan.modseq_asked = true;
                    Item::ModSeq
                }
                FetchAttr::InternalDate => Item::InternalDate,
                FetchAttr::Rfc822Size => Item::Rfc822Size,
                FetchAttr::Envelope => Item::Envelope,
                FetchAttr::Body => Item::Structure { extensible: false },
                FetchAttr::BodyStructure => Item::Structure { extensible: true },
                FetchAttr::Preview { .. } => Item::Preview,
                FetchAttr::Rfc822 => {
                    plan.sets_seen = true;
                    section_item(SectionName::Rfc822, &Section::default(), None)
                }
                FetchAttr::Rfc822Header => section_item(
                    SectionName::Rfc822Header,
                    &Section {
                        text: Some(SectionText::Header),
                        ..Section::default()
                    },
                    None,
                ),
                FetchAttr::Rfc822Text => {
                    plan.sets_seen = true;
                    section_item(
                        SectionName::Rfc822Text,
                        &Section {
                            text: Some(SectionText::Text),
                            ..Section::default()
                        },
                        None,
                    )
                }
                FetchAttr::BodySection {
                    peek,
                    section,
                    partial,
                } => {
                    plan.sets_seen |= !peek;
                    section_item(SectionName::Body(section), &section, partial)
                }
                FetchAttr::Binary {
                    peek,
                    part,
                    partial,
                } => {
                    plan.sets_seen |= !peek;
                    Item::Binary {
                        part,
                        path: path(&part),
                        partial,
                    }
                }
                FetchAttr::BinarySize { part } => Item::BinarySize {
                    part,
                    path: path(&part),
                },
                // The server refuses these before planning when OBJECTID
                // or SAVEDATE is disabled (`disabled_item`).
                FetchAttr::EmailId => Item::EmailId,
                FetchAttr::ThreadId => Item::ThreadId,
                FetchAttr::SaveDate => Item::SaveDate,
            };
            plan.needs_facts |= item.needs_facts();
            plan.needs_header_end |= item.needs_header_end();
            plan.locates |= item.locates();
            plan.items.push(item);
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_proto::{CommandBody, CommandReader, Limits, Parsed};

    /// Parses `FETCH 1 <attrs>` and plans it.
    fn plan_of(attrs: &str, f: impl FnOnce(&Plan<'_>)) {
        let line = format!("t FETCH 1 {attrs}\r\n");
        let mut reader = CommandReader::new(Limits::default());
        let Ok(Parsed::Command { command, .. }) = reader.parse(line.as_bytes()) else {
            panic!("parse {attrs}");
        };
        let CommandBody::Fetch { attrs, .. } = command.body else {
            panic!("not a fetch");
        };
        f(&Plan::new(&attrs, false).unwrap());
    }

    #[test]
    fn flag_sync_reads_nothing() {
        plan_of("(UID FLAGS RFC822.SIZE INTERNALDATE MODSEQ)", |p| {
            assert!(!p.uid_first && p.flags_asked && p.modseq_asked);
            assert!(matches!(p.items[0], Item::Uid));
            assert!(!p.needs_facts && !p.locates && !p.sets_seen);
            assert_eq!(p.items.len(), 5);
        });
    }

    #[test]
    fn whole_message_needs_bytes_not_facts() {
        plan_of("(BODY.PEEK[] RFC822.SIZE)", |p| {
            assert!(!p.needs_facts && p.locates && !p.sets_seen);
        });
        plan_of("RFC822", |p| {
            assert!(!p.needs_facts && p.locates && p.sets_seen)
        });
        plan_of("BODY.PEEK[]<10.20>", |p| assert!(!p.needs_facts));
    }

    #[test]
    fn sections_need_facts_and_set_seen_unless_peek() {
        plan_of("BODY.PEEK[HEADER.FIELDS (From \"To\")]", |p| {
            assert!(!p.needs_facts && p.needs_header_end && p.locates && !p.sets_seen);
            match &p.items[0] {
                Item::Section {
                    spec: SectionSpec::Fields { names, not: false },
                    ..
                } => assert_eq!(
                    names,
                    &FieldNames::new(vec![b"From".to_vec(), b"To".to_vec()])
                ),
                other => panic!("{other:?}"),
            }
        });
        plan_of("BODY[1.2.MIME]", |p| {
            assert!(p.sets_seen);
            match &p.items[0] {
                Item::Section { path, .. } => assert_eq!(path, &vec![1, 2]),
                other => panic!("{other:?}"),
            }
        });
        plan_of("(BINARY.PEEK[1] BINARY.SIZE[2])", |p| {
            assert!(!p.sets_seen && p.needs_facts)
        });
        plan_of("BINARY[1]", |p| assert!(p.sets_seen));
        plan_of("RFC822.HEADER", |p| {
            assert!(!p.sets_seen && !p.needs_facts && p.needs_header_end)
        });
        plan_of("BODY.PEEK[2.HEADER]", |p| {
            assert!(p.needs_facts && !p.needs_header_end)
        });
        plan_of("ENVELOPE", |p| assert!(p.needs_facts && !p.locates));
    }

    #[test]
    fn largest_part_number_survives() {
        // The parser refuses numbers past u32; the largest one must not be
        // mistaken for "no number".
        plan_of("BODY[1.4294967295.2]", |p| match &p.items[0] {
            Item::Section { path, .. } => assert_eq!(path, &vec![1, u32::MAX, 2]),
            other => panic!("{other:?}"),
        });
    }

    #[test]
    fn duplicates_and_object_ids() {
        plan_of("(FLAGS FLAGS UID UID)", |p| assert_eq!(p.items.len(), 2));
        plan_of("(EMAILID THREADID SAVEDATE)", |p| {
            assert!(matches!(
                p.items[..],
                [Item::EmailId, Item::ThreadId, Item::SaveDate]
            ));
            // Index data only: no message read.
            assert!(!p.needs_facts && !p.needs_header_end && !p.locates && !p.sets_seen);
        });
        let line = b"t FETCH 1 (FLAGS SAVEDATE THREADID)\r\n";
        let mut reader = CommandReader::new(Limits::default());
        let Ok(Parsed::Command { command, .. }) = reader.parse(line) else {
            panic!()
        };
        let CommandBody::Fetch { attrs, .. } = command.body else {
            panic!()
        };
        assert_eq!(disabled_item(&attrs, |_| true), None);
        assert_eq!(disabled_item(&attrs, |e| e != "SAVEDATE"), Some("SAVEDATE"));
        assert_eq!(disabled_item(&attrs, |e| e != "OBJECTID"), Some("OBJECTID"));
        assert_eq!(disabled_item(&attrs, |e| e == "OBJECTID"), Some("SAVEDATE"));
    }
}
