#!/usr/bin/env python3
"""Runs the SEARCH cases of ../search.rs against a reference Dovecot holding the
same fixture (manifest.txt), printing each command and Dovecot's untagged
answer. Usage: dovecot_compare.py [host port user] (default 127.0.0.1 10143
searchfixture; password "pass", see /work/shared/peers/dovecot.sh).
The mailbox is recreated on every run so UIDs are 1..12."""
import imaplib, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
host, port, user = (sys.argv[1:4] + ["127.0.0.1", "10143", "searchfixture"][len(sys.argv[1:4]):])
m = imaplib.IMAP4(host, int(port))
m.login(user, "pass")
box = "SearchFixture"
m.delete(box)
m.create(box)
for line in open(os.path.join(here, "manifest.txt")):
    if line.startswith("#") or not line.strip():
        continue
    name, flags, date = line.rstrip("\n").split("|")
    raw = open(os.path.join(here, name), "rb").read()
    typ, _ = m.append(box, "(" + flags + ")", '"' + date + '"', raw)
    assert typ == "OK", (name, typ)
m.select(box)

def run(cmd):
    tag = m._new_tag().decode()
    wire = re.sub(rb"\[\[(.*?)\]\]",
                  lambda g: b"{%d+}\r\n" % len(g.group(1)) + g.group(1),
                  cmd.encode("utf-8"))
    m.send(tag.encode() + b" " + wire + b"\r\n")
    out = []
    while True:
        l = m.readline().decode("utf-8", "replace").rstrip("\r\n")
        if l.startswith(tag + " "):
            out.append(l[len(tag) + 1:])
            return out
        out.append(l)

cases = [l.rstrip("\n") for l in open(os.path.join(here, "cases.txt")) if l.strip() and not l.startswith("#")]
for c in cases:
    res = run(c)
    print(c, "=>", " | ".join(l for l in res if not l.startswith("OK ")) or "OK")
m.logout()
