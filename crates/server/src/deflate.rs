//! COMPRESS=DEFLATE (RFC 4978): raw deflate (RFC 1951, no zlib header) in
//! both directions, between the session's plaintext and TLS (or the
//! socket). Every write ends with a sync flush, so each response reaches
//! the client whole, IDLE updates included (RFC 4978 §4).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::io;

/// Inflated bytes handed to the session per read: the session's line and
/// literal limits then apply as to uncompressed input, and a small
/// compressed input cannot make one read allocate without bound.
pub const MAX_INFLATE: usize = 64 * 1024;

pub struct Deflate {
    tx: Compress,
    rx: Decompress,
    /// Received compressed bytes not inflated yet.
    pending: Vec<u8>,
}

fn broken(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("deflate: {e}"))
}

impl Deflate {
    pub fn new(level: u32) -> Deflate {
        Deflate {
            tx: Compress::new(Compression::new(level.min(9)), false),
            rx: Decompress::new(false),
            pending: Vec::new(),
        }
    }

    /// Compressed input waiting to be inflated.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn received(&mut self, compressed: &[u8]) {
        self.pending.extend_from_slice(compressed);
    }

    /// Inflates pending input onto `out`, at most [`MAX_INFLATE`] bytes;
    /// returns how many. 0: more compressed input is needed.
    pub fn inflate(&mut self, out: &mut bytes::BytesMut) -> io::Result<usize> {
        let start = out.len();
        out.resize(start + MAX_INFLATE, 0);
        let before_in = self.rx.total_in();
        let before_out = self.rx.total_out();
        let r = self
            .rx
            .decompress(&self.pending, &mut out[start..], FlushDecompress::Sync);
        let used = (self.rx.total_in() - before_in) as usize;
        let made = (self.rx.total_out() - before_out) as usize;
        out.truncate(start + made);
        self.pending.drain(..used);
        match r {
            Ok(Status::Ok | Status::BufError) => Ok(made),
            // The client ended its stream: nothing more can come.
            Ok(Status::StreamEnd) => Err(broken("the client ended the compressed stream")),
            Err(e) => Err(broken(e)),
        }
    }

    /// Deflates `data` and sync-flushes, replacing `out`'s contents.
    pub fn deflate(&mut self, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        let mut input = data;
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
            let before = self.tx.total_in();
            self.tx
                .compress_vec(input, out, FlushCompress::Sync)
                .map_err(broken)?;
            let used = (self.tx.total_in() - before) as usize;
            input = &input[used..];
            // Done when all input is taken and the flush fit in the room.
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_round_trip_in_pieces() {
        let (mut a, mut b) = (Deflate::new(6), Deflate::new(1));
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut wire = Vec::new();
        a.deflate(&text[..100_000], &mut wire).unwrap();
        let mut all = wire.clone();
        a.deflate(&text[100_000..], &mut wire).unwrap();
        all.extend_from_slice(&wire);
        // Fed a few bytes at a time, as TCP may deliver it.
        let mut got = bytes::BytesMut::new();
        for chunk in all.chunks(777) {
            b.received(chunk);
            while b.has_pending() {
                if b.inflate(&mut got).unwrap() == 0 {
                    break;
                }
            }
        }
        while b.inflate(&mut got).unwrap() > 0 {}
        assert_eq!(&got[..], &text[..]);
    }

    #[test]
    fn a_bomb_is_inflated_a_bounded_piece_at_a_time() {
        let mut a = Deflate::new(9);
        let zeros = vec![0u8; 8 << 20];
        let mut wire = Vec::new();
        a.deflate(&zeros, &mut wire).unwrap();
        assert!(wire.len() < 64 * 1024);
        let mut b = Deflate::new(6);
        b.received(&wire);
        let mut out = bytes::BytesMut::new();
        assert_eq!(b.inflate(&mut out).unwrap(), MAX_INFLATE);
        assert_eq!(out.len(), MAX_INFLATE);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut b = Deflate::new(6);
        b.received(&[0xff; 64]);
        assert!(b.inflate(&mut bytes::BytesMut::new()).is_err());
    }
}
