//! Seeded generator of realistic MIME messages: plain text, multipart/alternative
//! and messages with attachments, with a long-tailed size distribution.

use rand::Rng;
use rand::rngs::SmallRng;

const WORDS: &[&str] = &[
    "meeting",
    "report",
    "quarterly",
    "the",
    "and",
    "project",
    "deadline",
    "please",
    "review",
    "attached",
    "invoice",
    "schedule",
    "update",
    "team",
    "thanks",
    "regards",
    "budget",
    "draft",
    "customer",
    "release",
    "server",
    "mail",
    "friday",
    "tomorrow",
    "question",
    "proposal",
    "notes",
    "agenda",
    "client",
    "status",
];

fn words(rng: &mut SmallRng, bytes: usize, out: &mut String) {
    let mut line = 0;
    let target = out.len() + bytes;
    while out.len() < target {
        let w = WORDS[rng.gen_range(0..WORDS.len())];
        out.push_str(w);
        line += w.len() + 1;
        if line > 68 {
            out.push_str("\r\n");
            line = 0;
        } else {
            out.push(' ');
        }
    }
    out.push_str("\r\n");
}

fn base64_block(rng: &mut SmallRng, bytes: usize, out: &mut String) {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut n = 0;
    while n < bytes {
        for _ in 0..76 {
            out.push(A[rng.gen_range(0..64)] as char);
        }
        out.push_str("\r\n");
        n += 78;
    }
}

/// Messages come in threads of up to `THREAD_LEN`: the first of each is a
/// root, the others reply to it and to their predecessor (In-Reply-To and
/// References), so THREAD REFERENCES has real work.
const THREAD_LEN: u64 = 5;

fn headers(rng: &mut SmallRng, idx: u64, out: &mut String) {
    let subj: Vec<&str> = (0..rng.gen_range(2..8))
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect();
    let day = 1 + (idx % 28);
    let root = idx - idx % THREAD_LEN;
    let refs = if idx == root {
        String::new()
    } else {
        format!(
            "In-Reply-To: <{p}@example.org>\r\nReferences: <{root}@example.org> <{p}@example.org>\r\n",
            p = idx - 1
        )
    };
    let re = if idx == root { "" } else { "Re: " };
    out.push_str(&format!(
        "Return-Path: <sender{a}@example.org>\r\nReceived: from mx{b}.example.org (mx{b}.example.org [192.0.2.{b}])\r\n\tby mail.example.net with ESMTPS id {idx:x}; Mon, {day} Sep 2025 10:{m:02}:00 +0000\r\nDate: Mon, {day} Sep 2025 10:{m:02}:00 +0000\r\nFrom: Sender {a} <sender{a}@example.org>\r\nTo: Recipient <rcpt@example.net>\r\nSubject: {re}{s}\r\nMessage-ID: <{idx}@example.org>\r\n{refs}MIME-Version: 1.0\r\n",
        a = rng.gen_range(0..500),
        b = rng.gen_range(1..250),
        m = idx % 60,
        s = subj.join(" "),
    ));
}

/// Size class drawn from a long-tailed distribution (most mail is small, a few
/// messages carry large attachments), capped at `max_bytes`.
pub fn message(rng: &mut SmallRng, idx: u64, max_bytes: usize) -> Vec<u8> {
    let mut out = String::new();
    headers(rng, idx, &mut out);
    let kind = rng.gen_range(0..100);
    if kind < 55 {
        let len = rng.gen_range(300..6000);
        out.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
        );
        words(rng, len, &mut out);
    } else if kind < 85 {
        let len = rng.gen_range(1000..12000);
        out.push_str("Content-Type: multipart/alternative; boundary=\"alt-b\"\r\n\r\n--alt-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        words(rng, len, &mut out);
        out.push_str("--alt-b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>");
        words(rng, len + len / 2, &mut out);
        out.push_str("</p></body></html>\r\n--alt-b--\r\n");
    } else {
        // Attachment sizes: 20 KiB .. 1 MiB, log-uniform.
        let exp = rng.gen_range(14.3f64..20.0);
        let att = (2f64.powf(exp) as usize).min(max_bytes.saturating_sub(4096).max(1024));
        out.push_str("Content-Type: multipart/mixed; boundary=\"mix-b\"\r\n\r\n--mix-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        let len = rng.gen_range(200..3000);
        words(rng, len, &mut out);
        out.push_str("--mix-b\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        base64_block(rng, att, &mut out);
        out.push_str("--mix-b--\r\n");
    }
    let mut bytes = out.into_bytes();
    bytes.truncate(max_bytes.max(512));
    bytes
}

/// A plain-text message of exactly `size` bytes (for fixed-size APPEND runs).
pub fn sized(rng: &mut SmallRng, idx: u64, size: usize) -> Vec<u8> {
    let mut out = String::new();
    headers(rng, idx, &mut out);
    out.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    let body = size.saturating_sub(out.len());
    words(rng, body, &mut out);
    let mut bytes = out.into_bytes();
    bytes.truncate(size.max(1));
    if bytes.len() >= 2 && size > 2 {
        let n = bytes.len();
        bytes[n - 2] = b'\r';
        bytes[n - 1] = b'\n';
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn seeded_and_parseable_mime() {
        let mut a = SmallRng::seed_from_u64(7);
        let mut b = SmallRng::seed_from_u64(7);
        let mut kinds = [0usize; 3];
        for i in 0..200 {
            let m = message(&mut a, i, 2 << 20);
            assert_eq!(m, message(&mut b, i, 2 << 20));
            let text = String::from_utf8(m).unwrap();
            assert!(text.contains("\r\n\r\n"));
            assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
            if text.contains("multipart/alternative") {
                kinds[1] += 1;
                assert!(text.ends_with("--alt-b--\r\n"));
            } else if text.contains("multipart/mixed") {
                kinds[2] += 1;
                assert!(text.ends_with("--mix-b--\r\n"));
            } else {
                kinds[0] += 1;
            }
        }
        assert!(kinds.iter().all(|k| *k > 10), "{kinds:?}");
    }

    #[test]
    fn sized_is_exact() {
        let mut r = SmallRng::seed_from_u64(1);
        for size in [1024usize, 16384, 100_000] {
            let m = sized(&mut r, 3, size);
            assert_eq!(m.len(), size);
            assert!(m.ends_with(b"\r\n"));
        }
    }
}
