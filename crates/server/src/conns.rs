//! Connection accounting across shards: a total and a per-IP count, checked
//! when a connection is accepted. The counts are shared by all shards (a
//! mutex held for a hash-map update at connect and disconnect, never across
//! I/O); per-user counts live on the user's home shard, which sees all of
//! that user's sessions.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct ConnTracker {
    max_total: usize,
    max_per_ip: usize,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooManyTotal,
    TooManyFromIp,
}

/// Held for the life of a connection (it moves with the hand-off); dropping
/// it gives the slot back.
#[derive(Debug)]
pub struct ConnGuard {
    tracker: Arc<ConnTracker>,
    ip: IpAddr,
    /// The open-connections gauge this connection was counted in, on the
    /// shard that accepted it (the guard travels along with a hand-off).
    open: Option<crate::transport::Meter>,
}

impl ConnTracker {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(ConnTracker {
            max_total,
            max_per_ip,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        })
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnGuard, Refusal> {
        let prev = self.total.fetch_add(1, Ordering::AcqRel);
        if prev >= self.max_total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::TooManyTotal);
        }
        let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            drop(map);
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::TooManyFromIp);
        }
        *n += 1;
        Ok(ConnGuard {
            tracker: Arc::clone(self),
            ip,
            open: None,
        })
    }

    pub fn total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }
}

impl ConnGuard {
    /// Counts the connection as open in `m` until the guard drops.
    pub fn count_open(&mut self, m: crate::transport::Meter) {
        m.0.connection_opened(m.1);
        self.open = Some(m);
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Some((m, p)) = self.open.take() {
            m.closed(p);
        }
        let mut map = self
            .tracker
            .per_ip
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
        drop(map);
        self.tracker.total.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_slots_come_back() {
        let t = ConnTracker::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let g1 = t.admit(a).unwrap();
        let _g2 = t.admit(a).unwrap();
        assert_eq!(t.admit(a).unwrap_err(), Refusal::TooManyFromIp);
        let _g3 = t.admit(b).unwrap();
        assert_eq!(t.admit(b).unwrap_err(), Refusal::TooManyTotal);
        assert_eq!(t.total(), 3);
        drop(g1);
        assert_eq!(t.total(), 2);
        let _g4 = t.admit(a).unwrap();
        assert_eq!(t.per_ip.lock().unwrap().get(&a), Some(&2));
    }
}
