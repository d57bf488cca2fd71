//! Where responses go. The server's connection implements [`Sink`]; tests
//! use [`VecSink`]. Long responses (a FETCH of thousands of messages) call
//! [`Sink::flush_if_full`] between messages so the server can write them out
//! and wait for a slow client instead of buffering without bound.

use bytes::BytesMut;
use std::future::Future;

pub trait Sink {
    /// The buffer responses are encoded into.
    fn buf(&mut self) -> &mut BytesMut;
    /// Write the buffer out if it has grown past the server's threshold.
    fn flush_if_full(&mut self) -> impl Future<Output = std::io::Result<()>>;
}

/// A sink that keeps everything in memory (tests, and responses that are
/// built before being sent).
#[derive(Debug, Default)]
pub struct VecSink {
    pub out: BytesMut,
    /// How many times `flush_if_full` was called.
    pub flush_points: usize,
}

impl Sink for VecSink {
    fn buf(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    async fn flush_if_full(&mut self) -> std::io::Result<()> {
        self.flush_points += 1;
        Ok(())
    }
}
