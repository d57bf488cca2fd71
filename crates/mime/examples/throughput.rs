//! compute() on the benchmark's 4 KiB and 100 KiB messages a fixed number
//! of times, for instruction counts under `perf stat` when the machine is
//! too busy for wall-clock numbers (`cargo bench` is the real benchmark).
//!
//! `cargo run --release -p postcore-mime --example throughput -- 4096 2000`

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

fn main() {
    let mut args = std::env::args().skip(1);
    let size = args.next().and_then(|a| a.parse().ok()).unwrap_or(4096);
    let iterations: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let raw = message(size);
    let start = std::time::Instant::now();
    let mut parts = 0;
    for _ in 0..iterations {
        parts += mime_facts::compute(std::hint::black_box(&raw)).parts.len();
    }
    let per = start.elapsed() / iterations.max(1);
    let facts = mime_facts::compute(&raw);
    let stored = facts.to_bytes().len();
    if std::env::var_os("FACTS_SIZES").is_some() {
        let mut f = facts.clone();
        f.parts.truncate(1);
        f.parts[0].children.clear();
        f.parts[0].kind = mime_facts::PartKind::Leaf;
        let one_part = f.to_bytes().len();
        f.envelope = Default::default();
        let no_env = f.to_bytes().len();
        f.sort = Default::default();
        f.preview.clear();
        println!(
            "one part {one_part}, without envelope {no_env}, bare {}",
            f.to_bytes().len()
        );
    }
    println!(
        "{} bytes: {per:?} per compute, {} parts, {stored} bytes of stored facts",
        raw.len(),
        parts / iterations.max(1) as usize
    );
}
