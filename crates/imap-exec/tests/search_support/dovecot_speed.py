#!/usr/bin/env python3
"""Times the searches of ../search_bench.rs on Dovecot holding the same
generated mailbox (10 000 messages by default). Usage: dovecot_speed.py [n].
Prints the first (cold cache file) and best of 3 wall times per search, over
loopback, including the response transfer."""
import imaplib, sys, time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000

def message(i):
    topic = ["budget", "meeting", "holiday", "release", "invoice"][i % 5]
    m = (f"From: User {i} <user{i}@example.org>\r\nTo: team@example.com\r\n"
         f"Subject: {topic} number {i}\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\n"
         f"Message-ID: <{i}@example.org>\r\n\r\n")
    for line in range(40):
        m += f"Line {line} of the body of message {i} about the {topic}.\r\n"
    if i % 1000 == 7:
        m += "The needle is here.\r\n"
    return m.encode()

m = imaplib.IMAP4("127.0.0.1", 10143)
m.login("searchbench", "pass")
box = f"Bench{n}"
typ, data = m.select(box)
if typ != "OK" or int(data[0]) != n:
    m.delete(box)
    m.create(box)
    t = time.time()
    for i in range(n):
        flags = "(\\Flagged)" if i % 10 == 0 else "(\\Seen)"
        m.append(box, flags, None, message(i))
    print(f"appended {n} in {time.time() - t:.1f}s")
    m.select(box)
for cmd in ["SEARCH FLAGGED", "SEARCH UNSEEN NOT DELETED LARGER 100 SINCE 1-Jan-2020",
            "SEARCH SUBJECT invoice", 'SEARCH FROM "user77@"', "SEARCH HEADER Message-ID <7@",
            "SEARCH BODY needle", "SEARCH TEXT needle"]:
    times = []
    for _ in range(3):
        t = time.time()
        typ, data = m._simple_command(*cmd.split(" ", 1))
        typ, data = m._untagged_response(typ, data, "SEARCH")
        times.append(time.time() - t)
    hits = len(data[0].split()) if data and data[0] else 0
    print(f"{cmd:<60} first {times[0]*1e3:9.1f} ms  best {min(times)*1e3:9.1f} ms  {hits} matches")
m.logout()
