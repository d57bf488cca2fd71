//! Latency and throughput accounting: one HDR histogram per command for the
//! whole run plus one per reporting interval, merged across executors at the end.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Highest latency recorded exactly (µs); larger values are clamped so a stuck
/// server shows as the maximum instead of being dropped.
pub const MAX_LATENCY_US: u64 = 600_000_000;

fn new_hist() -> Histogram<u64> {
    // ok: the bounds are constants that satisfy the constructor's conditions.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

#[derive(Clone)]
pub struct CommandStats {
    pub total: Histogram<u64>,
    pub errors: u64,
    /// Per-interval histograms, index = interval number since the measurement start.
    pub intervals: Vec<Histogram<u64>>,
    pub interval_errors: Vec<u64>,
}

impl CommandStats {
    fn new() -> Self {
        CommandStats {
            total: new_hist(),
            errors: 0,
            intervals: Vec::new(),
            interval_errors: Vec::new(),
        }
    }

    fn slot(&mut self, idx: usize) {
        while self.intervals.len() <= idx {
            self.intervals.push(new_hist());
            self.interval_errors.push(0);
        }
    }
}

/// Per-executor recorder. Samples before `measure_from` (warm-up) or after
/// `measure_until` are dropped.
#[derive(Clone)]
pub struct Recorder {
    pub measure_from: Instant,
    pub interval: Duration,
    pub commands: BTreeMap<String, CommandStats>,
    /// Protocol or connection errors outside any single command (e.g. a dropped connection).
    pub connection_errors: u64,
}

impl Recorder {
    pub fn new(measure_from: Instant, interval: Duration) -> Self {
        let interval = interval.max(Duration::from_millis(10));
        Recorder {
            measure_from,
            interval,
            commands: BTreeMap::new(),
            connection_errors: 0,
        }
    }

    fn entry(&mut self, cmd: &str) -> &mut CommandStats {
        if !self.commands.contains_key(cmd) {
            self.commands.insert(cmd.to_string(), CommandStats::new());
        }
        // ok: inserted just above when missing.
        self.commands.get_mut(cmd).expect("present")
    }

    fn interval_index(&self, at: Instant) -> Option<usize> {
        let since = at.checked_duration_since(self.measure_from)?;
        Some((since.as_nanos() / self.interval.as_nanos()) as usize)
    }

    /// Records a completed command that was (intended to be) sent at `sent`
    /// and whose completion arrived at `done`.
    pub fn record(&mut self, cmd: &str, sent: Instant, done: Instant, ok: bool) {
        let Some(idx) = self.interval_index(sent) else {
            return;
        };
        let us = (done.saturating_duration_since(sent).as_micros() as u64).clamp(1, MAX_LATENCY_US);
        let s = self.entry(cmd);
        s.slot(idx);
        if ok {
            // ok-ish: value is clamped into the histogram's range, so this cannot fail.
            let _ = s.total.record(us);
            if let Some(h) = s.intervals.get_mut(idx) {
                let _ = h.record(us);
            }
        } else {
            s.errors += 1;
            if let Some(e) = s.interval_errors.get_mut(idx) {
                *e += 1;
            }
        }
    }

    pub fn connection_error(&mut self, at: Instant) {
        if at >= self.measure_from {
            self.connection_errors += 1;
        }
    }

    /// Counts measured so far (for the progress line).
    pub fn counts(&self) -> (u64, u64) {
        let mut ok = 0;
        let mut err = self.connection_errors;
        for s in self.commands.values() {
            ok += s.total.len();
            err += s.errors;
        }
        (ok, err)
    }

    pub fn merge(&mut self, other: &Recorder) {
        self.connection_errors += other.connection_errors;
        for (name, o) in &other.commands {
            let s = self.entry(name);
            let _ = s.total.add(&o.total);
            s.errors += o.errors;
            if !o.intervals.is_empty() {
                s.slot(o.intervals.len() - 1);
            }
            for (i, h) in o.intervals.iter().enumerate() {
                if let Some(mine) = s.intervals.get_mut(i) {
                    let _ = mine.add(h);
                }
            }
            for (i, e) in o.interval_errors.iter().enumerate() {
                if let Some(mine) = s.interval_errors.get_mut(i) {
                    *mine += e;
                }
            }
        }
    }
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

pub fn summarize(h: &Histogram<u64>, errors: u64, seconds: f64) -> Summary {
    let count = h.len();
    let q = |p: f64| {
        if count == 0 {
            0
        } else {
            h.value_at_quantile(p)
        }
    };
    Summary {
        count,
        errors,
        throughput_per_s: if seconds > 0.0 {
            count as f64 / seconds
        } else {
            0.0
        },
        p50_us: q(0.5),
        p90_us: q(0.9),
        p99_us: q(0.99),
        p999_us: q(0.999),
        max_us: if count == 0 { 0 } else { h.max() },
        mean_us: if count == 0 { 0.0 } else { h.mean() },
    }
}

#[derive(Debug, Serialize)]
pub struct IntervalRow {
    pub start_s: f64,
    #[serde(flatten)]
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct CommandReport {
    pub total: Summary,
    pub intervals: Vec<IntervalRow>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: String,
    pub target: String,
    pub seed: u64,
    pub connections: usize,
    pub threads: usize,
    pub measured_seconds: f64,
    pub connection_errors: u64,
    pub total_errors: u64,
    pub commands: BTreeMap<String, CommandReport>,
    /// Extra figures of a mode (e.g. server RSS for idle-density).
    pub extra: BTreeMap<String, f64>,
}

impl Report {
    pub fn build(
        rec: &Recorder,
        measured: f64,
        mode: &str,
        target: &str,
        seed: u64,
        conns: usize,
        threads: usize,
    ) -> Report {
        let iv = rec.interval.as_secs_f64();
        let mut commands = BTreeMap::new();
        let mut total_errors = rec.connection_errors;
        for (name, s) in &rec.commands {
            total_errors += s.errors;
            let n_iv = ((measured / iv).ceil() as usize).min(s.intervals.len());
            let intervals = s
                .intervals
                .iter()
                .take(n_iv)
                .enumerate()
                .map(|(i, h)| {
                    let errs = s.interval_errors.get(i).copied().unwrap_or(0);
                    IntervalRow {
                        start_s: i as f64 * iv,
                        summary: summarize(h, errs, iv),
                    }
                })
                .collect();
            commands.insert(
                name.clone(),
                CommandReport {
                    total: summarize(&s.total, s.errors, measured),
                    intervals,
                },
            );
        }
        Report {
            mode: mode.to_string(),
            target: target.to_string(),
            seed,
            connections: conns,
            threads,
            measured_seconds: measured,
            connection_errors: rec.connection_errors,
            total_errors,
            commands,
            extra: BTreeMap::new(),
        }
    }

    /// Human-readable table.
    pub fn text(&self) -> String {
        let mut out = format!(
            "mode {} target {} conns {} threads {} measured {:.1}s errors {}\n{:<16} {:>10} {:>7} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
            self.mode,
            self.target,
            self.connections,
            self.threads,
            self.measured_seconds,
            self.total_errors,
            "command",
            "count",
            "errors",
            "ops/s",
            "p50us",
            "p90us",
            "p99us",
            "p99.9us",
            "maxus"
        );
        for (name, c) in &self.commands {
            let t = &c.total;
            out.push_str(&format!(
                "{:<16} {:>10} {:>7} {:>11.1} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
                name,
                t.count,
                t.errors,
                t.throughput_per_s,
                t.p50_us,
                t.p90_us,
                t.p99_us,
                t.p999_us,
                t.max_us
            ));
        }
        for (k, v) in &self.extra {
            out.push_str(&format!("{k} = {v:.1}\n"));
        }
        out
    }
}

/// Writes every interval histogram of every command as an HDR interval log
/// (V2 compressed), tagged with the command name.
pub fn write_hdr_log<W: std::io::Write>(rec: &Recorder, out: &mut W) -> Result<(), String> {
    use hdrhistogram::serialization::V2DeflateSerializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
    let mut ser = V2DeflateSerializer::new();
    let mut w = IntervalLogWriterBuilder::new()
        .add_comment("postcore-loadgen interval log; values in microseconds")
        .begin_log_with(out, &mut ser)
        .map_err(|e| e.to_string())?;
    let iv = rec.interval;
    for (name, s) in &rec.commands {
        let tag_name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        for (i, h) in s.intervals.iter().enumerate() {
            let start = iv * i as u32;
            w.write_histogram(h, start, iv, Tag::new(&tag_name))
                .map_err(|e| format!("{e:?}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_excluded_and_intervals_split() {
        let t0 = Instant::now();
        let start = t0 + Duration::from_secs(2);
        let mut r = Recorder::new(start, Duration::from_secs(1));
        r.record("NOOP", t0, t0 + Duration::from_millis(5), true); // warm-up: dropped
        r.record("NOOP", start, start + Duration::from_micros(100), true);
        r.record(
            "NOOP",
            start + Duration::from_millis(1500),
            start + Duration::from_millis(1501),
            true,
        );
        r.record(
            "NOOP",
            start + Duration::from_millis(1600),
            start + Duration::from_millis(1700),
            false,
        );
        let s = &r.commands["NOOP"];
        assert_eq!(s.total.len(), 2);
        assert_eq!(s.errors, 1);
        assert_eq!(s.intervals.len(), 2);
        assert_eq!(s.intervals[0].len(), 1);
        assert_eq!(s.intervals[1].len(), 1);
        assert_eq!(s.interval_errors, vec![0, 1]);
        assert_eq!(r.counts(), (2, 1));
    }

    #[test]
    fn merge_adds_counts_and_intervals() {
        let t = Instant::now();
        let mut a = Recorder::new(t, Duration::from_secs(1));
        let mut b = Recorder::new(t, Duration::from_secs(1));
        a.record("X", t, t + Duration::from_micros(10), true);
        b.record(
            "X",
            t + Duration::from_secs(3),
            t + Duration::from_secs(3) + Duration::from_micros(20),
            true,
        );
        b.record("Y", t, t, false);
        b.connection_error(t);
        a.merge(&b);
        assert_eq!(a.commands["X"].total.len(), 2);
        assert_eq!(a.commands["X"].intervals.len(), 4);
        assert_eq!(a.commands["X"].intervals[3].len(), 1);
        assert_eq!(a.commands["Y"].errors, 1);
        assert_eq!(a.connection_errors, 1);
    }

    #[test]
    fn summary_percentiles_and_throughput() {
        let mut h = new_hist();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        let s = summarize(&h, 3, 2.0);
        assert_eq!(s.count, 1000);
        assert_eq!(s.errors, 3);
        assert!((s.throughput_per_s - 500.0).abs() < 1e-9);
        assert!((499..=501).contains(&s.p50_us), "{}", s.p50_us);
        assert!((989..=991).contains(&s.p99_us), "{}", s.p99_us);
        assert_eq!(s.max_us, 1000);
        let empty = summarize(&new_hist(), 0, 1.0);
        assert_eq!(empty.p99_us, 0);
        assert_eq!(empty.count, 0);
    }

    #[test]
    fn huge_latency_clamped_not_lost() {
        let t = Instant::now();
        let mut r = Recorder::new(t, Duration::from_secs(1));
        r.record("S", t, t + Duration::from_secs(10_000), true);
        assert_eq!(r.commands["S"].total.len(), 1);
        assert!(r.commands["S"].total.max() >= MAX_LATENCY_US * 999 / 1000);
    }

    #[test]
    fn report_json_and_hdr_log_roundtrip() {
        let t = Instant::now();
        let mut r = Recorder::new(t, Duration::from_secs(1));
        for i in 0..100u64 {
            r.record("UID FETCH", t, t + Duration::from_micros(50 + i), true);
        }
        let rep = Report::build(&r, 1.0, "pipelined", "x", 1, 1, 1);
        let json = serde_json::to_value(&rep).unwrap();
        assert_eq!(json["commands"]["UID FETCH"]["total"]["count"], 100);
        assert_eq!(
            json["commands"]["UID FETCH"]["intervals"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(rep.text().contains("UID FETCH"));
        let mut log = Vec::new();
        write_hdr_log(&r, &mut log).unwrap();
        let mut de = hdrhistogram::serialization::Deserializer::new();
        let mut count = 0;
        for item in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log) {
            if let Ok(hdrhistogram::serialization::interval_log::LogEntry::Interval(ih)) = item {
                assert_eq!(
                    ih.tag().map(|t| t.as_str().to_string()),
                    Some("UID_FETCH".to_string())
                );
                let bytes = base64_decode(ih.encoded_histogram());
                let h: Histogram<u64> = de.deserialize(&mut &bytes[..]).unwrap();
                assert_eq!(h.len(), 100);
                count += 1;
            }
        }
        assert_eq!(count, 1);
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes().filter(|c| *c != b'=') {
            let v = A.iter().position(|a| *a == c).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }
}
