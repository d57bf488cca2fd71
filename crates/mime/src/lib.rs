//! Message facts for postcore: everything FETCH, SEARCH and SORT need to know
//! about a message's structure (ENVELOPE, BODYSTRUCTURE, byte offsets of the
//! header, body and every MIME part), computed once at delivery with
//! `mail-parser` and stored next to the message so nothing re-parses MIME later.
