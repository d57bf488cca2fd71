"""MESSAGELIMIT (RFC 9738): with `max_messages_per_command` set, the limit
is announced, FETCH, STORE, COPY, MOVE and UID EXPUNGE act on the first n
messages of their set (the lowest UIDs) and say so with `[MESSAGELIMIT n]`,
so the client continues after the last UID it got; a MULTIAPPEND of more is
refused whole."""

import re

from conftest import raw_login as login


def lit(body):
    return f"{{{len(body)}+}}\r\n".encode() + body


def msg(i):
    return f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode()


def fetched_uids(untagged):
    return [int(m.group(1)) for m in (re.search(rb"UID (\d+)", l) for l in untagged) if m]


def test_messagelimit(make_server):
    srv = make_server("[limits]\nmax_messages_per_command = 3\n")
    r = login(srv)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" MESSAGELIMIT=3" in caps[0], caps
    # A MULTIAPPEND over the limit saves nothing; at the limit it is fine.
    r.send(b"a0 APPEND INBOX " + b" ".join(lit(msg(i)) for i in range(4)) + b"\r\n")
    _, t = r.until("a0")
    assert t == b"a0 NO [MESSAGELIMIT 3] At most 3 messages in one APPEND\r\n", t
    r.send(b"a1 APPEND INBOX " + b" ".join(lit(msg(i)) for i in range(3)) + b"\r\n")
    _, t = r.until("a1")
    assert t.startswith(b"a1 OK [APPENDUID "), t
    r.send(b"a2 APPEND INBOX " + b" ".join(lit(msg(i)) for i in range(3, 5)) + b"\r\n")
    _, t = r.until("a2")
    assert t.startswith(b"a2 OK [APPENDUID "), t
    _, t = r.cmd("s", "SELECT INBOX")
    assert t.startswith(b"s OK"), t

    # FETCH: the lowest three, then the rest from where it stopped.
    u, t = r.cmd("f1", "UID FETCH 1:* (FLAGS)")
    assert fetched_uids(u) == [1, 2, 3], u
    assert t == b"f1 OK [MESSAGELIMIT 3] UID FETCH completed\r\n", t
    u, t = r.cmd("f2", "UID FETCH 4:* (FLAGS)")
    assert fetched_uids(u) == [4, 5], u
    assert t == b"f2 OK UID FETCH completed\r\n", t
    u, t = r.cmd("f3", "FETCH 2:5 (UID)")
    assert fetched_uids(u) == [2, 3, 4], u
    assert t == b"f3 OK [MESSAGELIMIT 3] FETCH completed\r\n", t
    u, t = r.cmd("f4", "UID FETCH 1,3,5 (UID)")
    assert fetched_uids(u) == [1, 3, 5] and t == b"f4 OK UID FETCH completed\r\n", (u, t)

    # STORE changes only the first three.
    u, t = r.cmd("st", "UID STORE 1:* +FLAGS (\\Flagged)")
    assert fetched_uids(u) == [1, 2, 3], u
    assert t == b"st OK [MESSAGELIMIT 3] UID STORE completed\r\n", t
    u, t = r.cmd("se", "UID SEARCH FLAGGED")
    assert u == [b"* SEARCH 1 2 3\r\n"], u

    # COPY: COPYUID goes untagged so MESSAGELIMIT can be on the tagged OK.
    st, _ = r.cmd("v", "STATUS Trash (UIDVALIDITY)")
    tv = int(re.search(rb"UIDVALIDITY (\d+)", st[0]).group(1))
    u, t = r.cmd("cp", "UID COPY 1:* Trash")
    assert u == [f"* OK [COPYUID {tv} 1:3 1:3] Copied\r\n".encode()], u
    assert t == b"cp OK [MESSAGELIMIT 3] COPY completed\r\n", t
    u, t = r.cmd("cp2", "UID COPY 4:* Trash")
    assert t == f"cp2 OK [COPYUID {tv} 4:5 4:5] COPY completed\r\n".encode(), t

    # UID EXPUNGE removes the first three \Deleted of the set.
    _, t = r.cmd("d1", "UID STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    assert t.startswith(b"d1 OK"), t
    _, t = r.cmd("d2", "UID STORE 4:5 +FLAGS.SILENT (\\Deleted)")
    assert t.startswith(b"d2 OK"), t
    u, t = r.cmd("x", "UID EXPUNGE 1:*")
    assert u == [b"* 1 EXPUNGE\r\n"] * 3, u
    assert t == b"x OK [MESSAGELIMIT 3] EXPUNGE completed\r\n", t
    u, t = r.cmd("x2", "UID EXPUNGE 1:*")
    assert u == [b"* 1 EXPUNGE\r\n"] * 2 and t == b"x2 OK EXPUNGE completed\r\n", (u, t)

    # MOVE likewise.
    _, t = r.cmd("s2", "SELECT Trash")
    assert t.startswith(b"s2 OK"), t
    u, t = r.cmd("mv", "UID MOVE 1:* INBOX")
    assert u[0].startswith(b"* OK [COPYUID ") and u[1:] == [b"* 1 EXPUNGE\r\n"] * 3, u
    assert t == b"mv OK [MESSAGELIMIT 3] MOVE completed\r\n", t
    st, _ = r.cmd("n", "STATUS INBOX (MESSAGES)")
    assert b"MESSAGES 3" in st[0], st


def test_no_limit_by_default(server):
    r = login(server)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"MESSAGELIMIT" not in caps[0], caps
    r.send(b"a APPEND INBOX " + b" ".join(lit(msg(i)) for i in range(5)) + b"\r\n")
    _, t = r.until("a")
    assert t.startswith(b"a OK"), t
    r.cmd("s", "SELECT INBOX")
    u, t = r.cmd("f", "UID FETCH 1:* (FLAGS)")
    assert fetched_uids(u) == [1, 2, 3, 4, 5] and t == b"f OK UID FETCH completed\r\n", (u, t)
