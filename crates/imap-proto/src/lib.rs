//! IMAP grammar for postcore: a hand-written, zero-copy, incremental parser of
//! client commands (IMAP4rev2 and IMAP4rev1 plus the extensions postcore
//! announces) and an encoder of server responses. No I/O, no storage, no async.
