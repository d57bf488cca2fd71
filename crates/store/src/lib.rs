//! postcore's message store: one append-only, log-structured store per user.
//! Records framed with crc32 in rotating segment files are the truth; an
//! in-memory index per mailbox (checkpointed as an rkyv archive) is the cache.
//! All file I/O runs on glommio's io_uring files; nothing here knows a protocol.
