"""Generate a big Dovecot-style Maildir++ for `postcore import --from maildir`
benchmarks (docs/benchmarks.md#import). Deterministic for a given --seed.

    nice -n 19 python3 benches/gen_maildir.py --messages 1000000 \
        --mean-kib 10 /tmp/bench-1m/Maildir

Layout, as Dovecot 2.3 leaves it:

- INBOX (the root) and the folders .Sent, .Drafts, .Archive.2020,
  .Archive.2021 and .Lists.rust-users, each with cur/, new/, tmp/; the
  subfolders have a `maildirfolder` file; `subscriptions` lists them all.
- `dovecot-uidlist` (version 3: `3 V<uidvalidity> N<uidnext> G<guid>`, then
  `<uid> W<vsize> S<size> :<base name>` per message); about 2% of UIDs are
  gaps (expunged messages), and the last few INBOX messages sit in new/,
  not yet in the uidlist, as fresh deliveries do.
- File names `<time>.M<usec>P<pid>.<host>,S=<size>,W=<vsize>:2,<flags>` in
  cur/ (flags from D F P R S T and keyword letters `a`..`c`, which
  `dovecot-keywords` names); the file's mtime is the received time (what
  Dovecot and the importer take as the internal date).
- Messages are RFC 5322 with LF line ends (as Dovecot stores them):
  Return-Path, Received, Date, From, To, (Cc), Subject, Message-ID,
  (In-Reply-To/References), MIME-Version, Content-Type, and a body of text
  lines. About 25% are multipart/mixed with a base64 attachment.
- Sizes: log-normal, clipped to [--min-kib, --max-kib], scaled so the mean
  is --mean-kib (the script prints the achieved mean).
"""

import argparse
import base64
import math
import os
import random
import sys
import time

HOST = "mx1.example.net"
WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his "
    "from at which but have an they you were her she there been one all we their "
    "has would when if so no will more other about out up them some could what "
    "into than its time only new like my do can these two may first then any "
    "report meeting budget server release deploy backup invoice schedule project "
    "review patch kernel mailbox quota network latency storage migration draft "
    "agenda minutes customer ticket rollout monday tuesday friday quarter result"
).split()
NAMES = [
    "Alice Martin", "Bob Schulz", "Carol Nguyen", "Dave Okafor", "Erin Rossi",
    "Frank Dubois", "Grace Kim", "Heidi Larsen", "Ivan Petrov", "Judy Moreau",
    "Mallory Brown", "Niaj Patel", "Olivia Garcia", "Peggy Novak", "Rupert Weiss",
    "Sybil Lopez", "Trent Walker", "Victor Haas", "Walter Silva", "Zoe Fischer",
]
DOMAINS = ["example.org", "example.com", "lists.example.net", "corp.example", "mail.example.de"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# (directory, share of messages, uidvalidity, flag profile)
FOLDERS = [
    ("", 0.55, 1546300800, "inbox"),
    (".Sent", 0.14, 1546300801, "sent"),
    (".Drafts", 0.01, 1546300802, "drafts"),
    (".Archive.2020", 0.18, 1577836800, "archive"),
    (".Archive.2021", 0.08, 1609459200, "archive"),
    (".Lists.rust-users", 0.04, 1620000000, "list"),
]
KEYWORDS = ["$Label1", "$Forwarded", "work"]


def addr(rng):
    name = rng.choice(NAMES)
    local = name.lower().replace(" ", ".")
    return name, f"{local}@{rng.choice(DOMAINS)}"


def rfc2822_date(t, tz_min):
    lt = time.gmtime(t + tz_min * 60)
    sign = "+" if tz_min >= 0 else "-"
    tz = abs(tz_min)
    return (
        f"{DAYS[lt.tm_wday]}, {lt.tm_mday} {MONTHS[lt.tm_mon - 1]} {lt.tm_year} "
        f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d} {sign}{tz // 60:02d}{tz % 60:02d}"
    )


def make_text_corpus(rng, size):
    lines = []
    total = 0
    while total < size:
        n = rng.randint(4, 14)
        line = " ".join(rng.choice(WORDS) for _ in range(n))
        if rng.random() < 0.08:
            line = "> " + line
        if rng.random() < 0.06:
            line = ""
        line = line[:1].upper() + line[1:] + ("." if line else "")
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def make_b64_corpus(rng, size):
    raw = rng.randbytes(size * 3 // 4)
    b = base64.b64encode(raw)
    return b"\n".join(b[i:i + 76] for i in range(0, len(b), 76)) + b"\n"


def slice_lines(corpus, rng, n):
    """About n bytes of whole lines from a random place in corpus."""
    if n <= 0:
        return b""
    start = rng.randrange(0, len(corpus) - n - 200)
    start = corpus.index(b"\n", start) + 1
    end = corpus.index(b"\n", start + n) + 1
    return corpus[start:end]


def flags_for(profile, rng):
    r = rng.random()
    if profile == "sent":
        return "S"
    if profile == "drafts":
        return "DS" if r < 0.5 else "D"
    if profile == "archive":
        f = "S"
        if r < 0.06:
            f = "FS"
        elif r < 0.16:
            f = "RS"
        if rng.random() < 0.05:
            f += "a"
        return "".join(sorted(f, key=lambda c: (c.islower(), c)))
    if profile == "list":
        return "S" if r < 0.7 else ""
    # inbox
    if r < 0.10:
        f = ""
    elif r < 0.15:
        f = "FS"
    elif r < 0.25:
        f = "RS"
    elif r < 0.27:
        f = "PS"
    else:
        f = "S"
    if rng.random() < 0.04:
        f += rng.choice("abc")
    return "".join(sorted(f, key=lambda c: (c.islower(), c)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--mean-kib", type=float, default=10.0)
    ap.add_argument("--min-kib", type=float, default=2.0)
    ap.add_argument("--max-kib", type=float, default=40.0)
    ap.add_argument("--sigma", type=float, default=0.6, help="log-normal shape")
    ap.add_argument("--multipart", type=float, default=0.25, help="share with an attachment")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    lo, hi, mean = args.min_kib * 1024, args.max_kib * 1024, args.mean_kib * 1024

    # Find the log-normal median whose clipped mean is the wanted mean.
    probe = random.Random(args.seed + 1)
    z = [probe.gauss(0, 1) for _ in range(20000)]
    mu_lo, mu_hi = math.log(lo), math.log(hi)
    for _ in range(50):
        mu = (mu_lo + mu_hi) / 2
        m = sum(min(hi, max(lo, math.exp(mu + args.sigma * x))) for x in z) / len(z)
        mu_lo, mu_hi = (mu, mu_hi) if m < mean else (mu_lo, mu)

    text = make_text_corpus(rng, 8 << 20)
    b64 = make_b64_corpus(rng, 4 << 20)

    root = args.root
    os.makedirs(root, exist_ok=False)
    counts = []
    left = args.messages
    for i, (_, share, _, _) in enumerate(FOLDERS):
        c = left if i == len(FOLDERS) - 1 else round(args.messages * share)
        counts.append(c)
        left -= c

    t_start = 1546300800  # 2019-01-01
    t_end = 1796000000    # late 2026
    pid = 4000
    total_bytes = 0
    done = 0
    t0 = time.time()
    for (dirname, _, uidvalidity, profile), count in zip(FOLDERS, counts):
        fdir = os.path.join(root, dirname) if dirname else root
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(fdir, sub), exist_ok=True)
        if dirname:
            open(os.path.join(fdir, "maildirfolder"), "w").close()
        with open(os.path.join(fdir, "dovecot-keywords"), "w") as f:
            f.write("".join(f"{i} {k}\n" for i, k in enumerate(KEYWORDS)))
        span_start = t_start if profile != "archive" else uidvalidity
        span_end = t_end if profile != "archive" else uidvalidity + 366 * 86400
        fresh = 25 if profile == "inbox" else 0  # in new/, not in the uidlist yet
        uid = 0
        last_listed = 0
        uidlist = []
        for i in range(count):
            uid += 1
            if rng.random() < 0.02:
                uid += rng.randint(1, 5)  # expunged messages leave gaps
            t = span_start + (span_end - span_start) * i // count + rng.randint(0, 600)
            tz = rng.choice([0, 60, 120, -300, -420, 330, 540])
            size = int(min(hi, max(lo, math.exp(mu + args.sigma * rng.gauss(0, 1)))))
            fn, fa = addr(rng)
            tn, ta = ("Big User", "big@example.net")
            if profile == "sent":
                (fn, fa), (tn, ta) = (tn, ta), (fn, fa)
            subj = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))).capitalize()
            if rng.random() < 0.3:
                subj = "Re: " + subj
            msgid = f"<{t:x}.{rng.getrandbits(48):012x}@{fa.split('@')[1]}>"
            h = [
                f"Return-Path: <{fa}>",
                f"Delivered-To: {ta}",
                f"Received: from {fa.split('@')[1]} (localhost [127.0.0.1])\n\tby {HOST} with ESMTPS id {rng.getrandbits(40):010X}\n\tfor <{ta}>; {rfc2822_date(t, 0)}",
                f"Date: {rfc2822_date(t - rng.randint(1, 90), tz)}",
                f"From: {fn} <{fa}>",
                f"To: {tn} <{ta}>",
            ]
            if rng.random() < 0.2:
                cn, ca = addr(rng)
                h.append(f"Cc: {cn} <{ca}>")
            h.append(f"Subject: {subj}")
            h.append(f"Message-ID: {msgid}")
            if subj.startswith("Re: "):
                ref = f"<{t - 3600:x}.{rng.getrandbits(48):012x}@{rng.choice(DOMAINS)}>"
                h.append(f"In-Reply-To: {ref}")
                h.append(f"References: {ref}")
            h.append("MIME-Version: 1.0")
            multipart = rng.random() < args.multipart and size > 4096
            if multipart:
                boundary = f"=_pc{rng.getrandbits(64):016x}"
                h.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
                head = ("\n".join(h) + "\n\n").encode()
                att_name = f"{rng.choice(WORDS)}-{i}.{rng.choice(['pdf', 'png', 'zip', 'docx'])}"
                ctype = {"pdf": "application/pdf", "png": "image/png", "zip": "application/zip",
                         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}[att_name.rsplit(".", 1)[1]]
                room = size - len(head) - 400
                text_part = slice_lines(text, rng, max(200, room // 5))
                att = slice_lines(b64, rng, max(100, room - len(text_part)))
                body = (
                    b"This is a multi-part message in MIME format.\n\n"
                    + f"--{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n".encode()
                    + text_part
                    + f"\n--{boundary}\nContent-Type: {ctype}; name=\"{att_name}\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"{att_name}\"\n\n".encode()
                    + att
                    + f"\n--{boundary}--\n".encode()
                )
            else:
                h.append("Content-Type: text/plain; charset=utf-8")
                h.append("Content-Transfer-Encoding: 7bit")
                head = ("\n".join(h) + "\n\n").encode()
                body = slice_lines(text, rng, max(64, size - len(head)))
            data = head + body
            n = len(data)
            vsize = n + data.count(b"\n")
            base = f"{t}.M{rng.randint(0, 999999)}P{pid + i % 30000}.{HOST},S={n},W={vsize}"
            if i >= count - fresh:
                path = os.path.join(fdir, "new", base)
            else:
                path = os.path.join(fdir, "cur", f"{base}:2,{flags_for(profile, rng)}")
                uidlist.append(f"{uid} W{vsize} S{n} :{base}\n")
                last_listed = uid
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            mv = memoryview(data)
            while mv:
                mv = mv[os.write(fd, mv):]
            os.utime(fd, (t, t))
            os.close(fd)
            total_bytes += n
            done += 1
            if done % 50000 == 0:
                el = time.time() - t0
                print(f"{done} messages, {total_bytes / 2**30:.2f} GiB, {done / el:.0f}/s", file=sys.stderr)
        guid = f"{rng.getrandbits(128):032x}"
        with open(os.path.join(fdir, "dovecot-uidlist"), "w") as f:
            f.write(f"3 V{uidvalidity} N{last_listed + 1} G{guid}\n")
            f.write("".join(uidlist))
    with open(os.path.join(root, "subscriptions"), "w") as f:
        f.write("V\t2\n\n" + "".join(
            (d[1:].replace(".", "\t") if d else "INBOX") + "\n" for d, *_ in FOLDERS))
    el = time.time() - t0
    print(
        f"{done} messages in {len(FOLDERS)} folders, {total_bytes} bytes "
        f"({total_bytes / 2**30:.2f} GiB), mean {total_bytes / done / 1024:.2f} KiB, {el:.0f} s",
    )


if __name__ == "__main__":
    main()
