//! A tiny single-threaded notification primitive: listeners wait until the
//! event's generation moves past the one they saw.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
pub struct Event {
    generation: Cell<u64>,
    wakers: RefCell<Vec<Waker>>,
}

impl Event {
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }

    pub fn notify(&self) {
        self.generation.set(self.generation.get().wrapping_add(1));
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        for w in wakers {
            w.wake();
        }
    }

    /// Resolves once the generation differs from `seen`.
    pub fn wait_past(&self, seen: u64) -> WaitPast<'_> {
        WaitPast { ev: self, seen }
    }
}

pub struct WaitPast<'a> {
    ev: &'a Event,
    seen: u64,
}

impl Future for WaitPast<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.ev.generation.get() != self.seen {
            return Poll::Ready(());
        }
        let mut w = self.ev.wakers.borrow_mut();
        if !w.iter().any(|x| x.will_wake(cx.waker())) {
            w.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
