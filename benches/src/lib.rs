//! postcore's benchmark binaries (see `src/bin/`) and the little helpers
//! they share. Results and the commands that reproduce them are in
//! docs/benchmarks.md.

/// Resident and peak resident memory of this process in KiB (VmRSS, VmHWM).
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A plausible message of about `size` bytes (headers + text body).
pub fn message(n: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <sender{n}@example.org>\r\nFrom: Sender {n} <sender{n}@example.org>\r\n\
         To: user@example.com\r\nSubject: benchmark message {n}\r\n\
         Date: Sun, 22 Nov 2026 04:00:00 +0000\r\nMessage-ID: <{n}.bench@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    .into_bytes();
    let line = b"The quick brown fox jumps over the lazy dog; postcore bench text.\r\n";
    while m.len() + line.len() <= size {
        m.extend_from_slice(line);
    }
    m.resize(size.max(m.len()), b'.');
    m
}

/// Median and (min, max) of a sample.
pub fn median_spread(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.get(v.len() / 2).copied().unwrap_or(0.0);
    (
        mid,
        v.first().copied().unwrap_or(0.0),
        v.last().copied().unwrap_or(0.0),
    )
}
