"""REPLACE and UID REPLACE (RFC 8508): the new message is saved (APPENDUID
first), then the old one expunged; nothing is expunged when the APPEND
fails; read-only mailboxes and missing targets are refused."""

import re

from conftest import USERS, Raw

PW = USERS["alice"]


def lit(body):
    return f"{{{len(body)}+}}\r\n".encode() + body


def run(r, tag, head, body):
    r.send(f"{tag} {head} ".encode() + lit(body) + b"\r\n")
    return r.until(tag)


def test_replace(server):
    r = Raw(server.imap_port)
    r.cmd("l", f'LOGIN alice "{PW}"')
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" REPLACE" in caps[0]
    run(r, "a", "APPEND Drafts (\\Draft)", b"Subject: v1\r\n\r\nfirst draft\r\n")
    lines, _ = r.cmd("s", "SELECT Drafts")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(lines)).group(1))
    lines, t = run(r, "r1", "REPLACE 1 Drafts (\\Draft)", b"Subject: v2\r\n\r\nsecond draft\r\n")
    assert t.startswith(b"r1 OK"), t
    assert lines[0].startswith(f"* OK [APPENDUID {uv} 2]".encode()), lines
    assert b"* 1 EXPUNGE\r\n" in lines and b"* 1 EXISTS\r\n" in lines, lines
    lines, _ = r.cmd("f", "UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    text = b"".join(lines)
    assert b"UID 2" in text and b"Subject: v2" in text and b"UID 1 " not in text, text
    # UID REPLACE into another mailbox (a draft sent: into Sent).
    lines, t = run(r, "r2", "UID REPLACE 2 Sent", b"Subject: sent\r\n\r\nfinal\r\n")
    assert t.startswith(b"r2 OK") and b"* 1 EXPUNGE\r\n" in lines, (lines, t)
    lines, _ = r.cmd("st", "STATUS Sent (MESSAGES)")
    assert b"MESSAGES 1" in lines[0]
    # Refusals leave the mailbox alone.
    run(r, "a2", "APPEND Drafts", b"Subject: keep\r\n\r\nkeep me\r\n")
    r.cmd("n", "NOOP")
    _, t = run(r, "x1", "REPLACE 1 Nowhere", b"Subject: x\r\n\r\nx\r\n")
    assert t.startswith(b"x1 NO [TRYCREATE]"), t
    _, t = run(r, "x2", "UID REPLACE 999 Drafts", b"Subject: x\r\n\r\nx\r\n")
    assert t.startswith(b"x2 NO [NONEXISTENT]"), t
    _, t = run(r, "x3", "REPLACE 7 Drafts", b"Subject: x\r\n\r\nx\r\n")
    assert t.startswith(b"x3 BAD"), t
    lines, _ = r.cmd("st2", "STATUS Drafts (MESSAGES)")
    assert b"MESSAGES 1" in lines[0], lines
    r.cmd("e", "EXAMINE Drafts")
    _, t = run(r, "x4", "REPLACE 1 Drafts", b"Subject: x\r\n\r\nx\r\n")
    assert t.startswith(b"x4 NO [READ-ONLY]"), t
    r.cmd("u", "UNSELECT")
    _, t = run(r, "x5", "REPLACE 1 Drafts", b"Subject: x\r\n\r\nx\r\n")
    assert t.startswith(b"x5 BAD"), t
    r.close()
