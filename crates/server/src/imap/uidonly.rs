//! UIDONLY (RFC 9586): once enabled, a client may not name messages by
//! number. Which commands do is decided here, before anything runs, so a
//! refused command changes nothing.

use imap_proto::{CommandBody, SearchKey, SearchKeys};

/// Whether `body` names messages by sequence number: the non-UID forms of
/// FETCH, STORE, COPY, MOVE, SEARCH, SORT, THREAD and REPLACE, a sequence
/// set among search keys (`$` is a saved result, allowed), or QRESYNC's
/// sequence-match data.
pub fn uses_numbers(body: &CommandBody<'_>) -> bool {
    match body {
        CommandBody::Fetch { uid, .. }
        | CommandBody::Store { uid, .. }
        | CommandBody::Copy { uid, .. }
        | CommandBody::Move { uid, .. }
        | CommandBody::Replace { uid, .. }
            if !uid =>
        {
            true
        }
        CommandBody::Search { uid, keys, .. }
        | CommandBody::Sort { uid, keys, .. }
        | CommandBody::Thread { uid, keys, .. } => !uid || keys_use_numbers(keys),
        CommandBody::Select { params, .. } | CommandBody::Examine { params, .. } => params
            .qresync
            .as_ref()
            .is_some_and(|q| q.seq_match.is_some()),
        _ => false,
    }
}

/// The parser bounds the nesting of search keys, so this recursion is too.
fn keys_use_numbers(keys: &SearchKeys<'_>) -> bool {
    keys.iter().any(|k| match k {
        SearchKey::SequenceSet(set) => !set.is_saved(),
        SearchKey::Not(inner) | SearchKey::And(inner) => keys_use_numbers(&inner),
        SearchKey::Or(a, b) => keys_use_numbers(&a) || keys_use_numbers(&b),
        _ => false,
    })
}
