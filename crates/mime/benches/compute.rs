//! compute() and the facts encoding on a 4 KiB and a 100 KiB multipart
//! message (text + HTML alternative, base64 attachment, attached message).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mime_facts::{Facts, compute};

/// A realistic multipart message of about `size` bytes: most of the extra
/// size goes into a base64 attachment, as in real mail.
fn message(size: usize) -> Vec<u8> {
    let mut m = String::new();
    m.push_str("Return-Path: <sender@example.com>\r\nReceived: from mx.example.com (mx.example.com [192.0.2.1])\r\n\tby mail.example.org with ESMTPS id 4abc\r\n\tfor <rcpt@example.org>; Mon, 7 Feb 2022 21:52:25 -0800\r\n");
    m.push_str("From: \"Sender, Some\" <sender@example.com>\r\nTo: rcpt@example.org, Team: a@example.org, b@example.org;\r\nCc: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\r\n");
    m.push_str("Subject: Re: [list] =?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?=\r\nDate: Mon, 7 Feb 2022 21:52:25 -0800\r\nMessage-ID: <abc.123@example.com>\r\nIn-Reply-To: <prev.1@example.org>\r\nReferences: <root.0@example.org> <prev.1@example.org>\r\n");
    m.push_str(
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer-boundary\"\r\n\r\n",
    );
    m.push_str("--outer-boundary\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n");
    m.push_str("--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    for _ in 0..8 {
        m.push_str("Hello team, here are the quarterly numbers =E2=80=94 see the attachm=\r\nent for details.\r\n");
    }
    m.push_str("\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>");
    for _ in 0..8 {
        m.push_str("<p>Hello team, here are the <b>quarterly</b> numbers.</p>\r\n");
    }
    m.push_str("</body></html>\r\n--alt--\r\n\r\n");
    m.push_str("--outer-boundary\r\nContent-Type: message/rfc822\r\n\r\nFrom: other@example.net\r\nSubject: earlier\r\n\r\nearlier text\r\n\r\n");
    m.push_str("--outer-boundary\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let line = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29k\r\n";
    while m.len() + line.len() + 24 < size {
        m.push_str(line);
    }
    m.push_str("--outer-boundary--\r\n");
    m.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("facts");
    for size in [4 * 1024, 100 * 1024] {
        let raw = message(size);
        group.throughput(Throughput::Bytes(raw.len() as u64));
        group.bench_with_input(BenchmarkId::new("compute", size), &raw, |b, raw| {
            b.iter(|| compute(std::hint::black_box(raw)))
        });
        let facts = compute(&raw);
        let bytes = facts.to_bytes();
        group.bench_with_input(BenchmarkId::new("to_bytes", size), &facts, |b, f| {
            b.iter(|| std::hint::black_box(f).to_bytes())
        });
        group.bench_with_input(BenchmarkId::new("from_bytes", size), &bytes, |b, bytes| {
            b.iter(|| Facts::from_bytes(std::hint::black_box(bytes)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
