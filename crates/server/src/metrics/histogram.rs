//! A latency histogram with fixed bucket bounds, kept in atomics so a
//! scrape on another thread can read it while its shard writes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds in seconds: from 50 µs (a cached FETCH) to a minute (a
/// large APPEND on a slow link); beyond that, +Inf.
pub const BOUNDS: [f64; 19] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// `BOUNDS` in nanoseconds, for the comparison on the hot path.
const BOUNDS_NS: [u64; 19] = {
    let mut out = [0u64; 19];
    let mut i = 0;
    while i < BOUNDS.len() {
        out[i] = (BOUNDS[i] * 1e9 + 0.5) as u64;
        i += 1;
    }
    out
};

#[derive(Debug)]
pub struct Histogram {
    /// Non-cumulative: observations in (BOUNDS[i-1], BOUNDS[i]]; the last
    /// is above every bound.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
        }
    }
}

/// A histogram's state summed over shards, in the encoder's terms.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub buckets: [u64; BOUNDS.len() + 1],
    pub sum_ns: u64,
}

impl Totals {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// (upper bound, cumulative count) pairs ending with +Inf.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut acc = 0;
        let mut out = Vec::with_capacity(self.buckets.len());
        for (i, n) in self.buckets.iter().enumerate() {
            acc += n;
            out.push((BOUNDS.get(i).copied().unwrap_or(f64::INFINITY), acc));
        }
        out
    }
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = BOUNDS_NS.partition_point(|b| *b < ns);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    pub fn add_to(&self, t: &mut Totals) {
        for (acc, b) in t.buckets.iter_mut().zip(&self.buckets) {
            *acc += b.load(Ordering::Relaxed);
        }
        t.sum_ns = t.sum_ns.wrapping_add(self.sum_ns.load(Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_at_or_above_them() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50)); // exactly on the first bound
        h.observe(Duration::from_micros(51));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(3600));
        let mut t = Totals::default();
        h.add_to(&mut t);
        assert_eq!(t.buckets[0], 1);
        assert_eq!(t.buckets[1], 1);
        assert_eq!(t.buckets[6], 1); // (2.5 ms, 5 ms]
        assert_eq!(t.buckets[19], 1); // +Inf
        assert_eq!(t.count(), 4);
        let c = t.cumulative();
        assert_eq!(c.len(), 20);
        assert_eq!(c[0], (0.000_05, 1));
        assert_eq!(c[19].1, 4);
        assert!(c[19].0.is_infinite());
        assert_eq!(t.sum_ns, 50_000 + 51_000 + 3_000_000 + 3_600_000_000_000);
    }

    #[test]
    fn totals_sum_over_histograms() {
        let (a, b) = (Histogram::default(), Histogram::default());
        a.observe(Duration::from_millis(1));
        b.observe(Duration::from_millis(1));
        let mut t = Totals::default();
        a.add_to(&mut t);
        b.add_to(&mut t);
        assert_eq!(t.buckets[4], 2);
        assert_eq!(t.sum_ns, 2_000_000);
    }
}
