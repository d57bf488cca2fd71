"""OBJECTID (RFC 8474): EMAILID and THREADID per message, MAILBOXID per
mailbox; FETCH items, SEARCH keys, STATUS item, the MAILBOXID response
code on SELECT/EXAMINE and CREATE, LIST RETURN (STATUS (MAILBOXID)), and
`[imap] disable = ["OBJECTID"]`."""

import re

from test_imap_util import append_raw, assert_not_enabled, login_raw, ok

EMAILID = re.compile(rb"EMAILID \((M[0-9a-f]{16})\)")
THREADID = re.compile(rb"THREADID \((T[0-9a-f]{16})\)")
MBID = re.compile(rb"MAILBOXID \((F[0-9a-f]{16})\)")


def mail(mid, extra=""):
    return (
        f"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: {mid}\r\n"
        f"Message-ID: <{mid}>\r\n{extra}\r\nbody of {mid}\r\n"
    ).encode()


def fetch_ids(r, tag, seqs="1:*"):
    """{seq: (emailid, threadid)} of FETCH (EMAILID THREADID)."""
    lines, t = r.cmd(tag, f"FETCH {seqs} (EMAILID THREADID)")
    ok(t, tag)
    out = {}
    for line in lines:
        m = re.match(rb"\* (\d+) FETCH \(EMAILID \((M[0-9a-f]{16})\) THREADID \((T[0-9a-f]{16})\)\)\r\n$", line)
        assert m, line
        out[int(m.group(1))] = (m.group(2).decode(), m.group(3).decode())
    return out


def mailbox_id(lines_or_line):
    text = b"".join(lines_or_line) if isinstance(lines_or_line, list) else lines_or_line
    found = MBID.findall(text)
    assert len(found) == 1, text
    return found[0].decode()


def test_capability_after_login_only(server, raw):
    r = raw(server.imap_port)
    caps, _ = r.cmd("a", "CAPABILITY")
    assert b" OBJECTID" not in caps[0], caps
    r = login_raw(raw, server)
    caps, t = r.cmd("b", "CAPABILITY")
    ok(t, "b")
    words = caps[0].split()
    assert b"OBJECTID" in words and b"SAVEDATE" in words, caps


def test_emailid_same_after_copy_and_move_distinct_otherwise(server, raw):
    r = login_raw(raw, server)
    ok(append_raw(r, "a1", "INBOX", mail("one@x"))[1], "a1")
    # Byte-identical to the first, still another message.
    ok(append_raw(r, "a2", "INBOX", mail("one@x"))[1], "a2")
    ok(append_raw(r, "a3", "INBOX", mail("two@x"))[1], "a3")
    ok(r.cmd("c", "CREATE Box")[1], "c")
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    before = fetch_ids(r, "f1")
    emails = [before[i][0] for i in (1, 2, 3)]
    assert len(set(emails)) == 3, before
    ok(r.cmd("cp", "COPY 1 Box")[1], "cp")
    ok(r.cmd("mv", "MOVE 3 Box")[1], "mv")
    ok(r.cmd("s2", "SELECT Box")[1], "s2")
    after = fetch_ids(r, "f2")
    assert after == {1: before[1], 2: before[3]}, (before, after)
    # UID FETCH puts UID first and keeps the ids.
    lines, t = r.cmd("u", "UID FETCH 1 (EMAILID)")
    ok(t, "u")
    assert lines == [f"* 1 FETCH (UID 1 EMAILID ({before[1][0]}))\r\n".encode()], lines
    # SEARCH by id: exactly the message and its copy; nothing for others.
    lines, t = r.cmd("q1", f"SEARCH EMAILID {before[3][0]}")
    ok(t, "q1")
    assert lines == [b"* SEARCH 2\r\n"], lines
    ok(r.cmd("s3", "SELECT INBOX")[1], "s3")
    lines, _ = r.cmd("q2", f"SEARCH EMAILID {before[1][0]}")
    assert lines == [b"* SEARCH 1\r\n"], lines
    lines, _ = r.cmd("q3", "SEARCH EMAILID M0000000000000000")
    assert lines == [b"* SEARCH\r\n"], lines
    lines, _ = r.cmd("q4", "SEARCH OR EMAILID Mnot-an-id-at-all EMAILID " + before[2][0])
    assert lines == [b"* SEARCH 2\r\n"], lines


def test_threadid_shared_by_replies(server, raw):
    r = login_raw(raw, server)
    ok(append_raw(r, "a1", "INBOX", mail("root@x"))[1], "a1")
    ok(append_raw(r, "a2", "INBOX", mail("other@x"))[1], "a2")
    ok(append_raw(r, "a3", "INBOX", mail("re1@x", "In-Reply-To: <root@x>\r\nReferences: <root@x>\r\n"))[1], "a3")
    # A reply to the reply, naming only it: the same thread.
    ok(append_raw(r, "a4", "INBOX", mail("re2@x", "In-Reply-To: <re1@x>\r\n"))[1], "a4")
    ok(append_raw(r, "a5", "INBOX", mail("re3@x", "References: <nowhere@x>\r\n"))[1], "a5")
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    got = fetch_ids(r, "f")
    root_thread = got[1][1]
    assert got[3][1] == root_thread and got[4][1] == root_thread, got
    assert got[2][1] != root_thread and got[5][1] not in (root_thread, got[2][1]), got
    # A thread id is the hex of its first message's email id.
    assert root_thread[1:] == got[1][0][1:], got
    lines, t = r.cmd("q", f"UID SEARCH THREADID {root_thread}")
    ok(t, "q")
    assert lines == [b"* SEARCH 1 3 4\r\n"], lines


def test_mailboxid_create_select_status_list_rename_delete(server, raw):
    r = login_raw(raw, server)
    _, t = r.cmd("c", "CREATE Projects")
    ok(t, "c")
    created = mailbox_id(t)
    lines, t = r.cmd("s", "SELECT Projects")
    ok(t, "s")
    assert f"* OK [MAILBOXID ({created})] Ok\r\n".encode() in lines, lines
    lines, t = r.cmd("e", "EXAMINE Projects")
    assert mailbox_id([l for l in lines if b"MAILBOXID" in l]) == created
    lines, t = r.cmd("st", "STATUS Projects (MESSAGES MAILBOXID)")
    ok(t, "st")
    assert lines == [f"* STATUS \"Projects\" (MESSAGES 0 MAILBOXID ({created}))\r\n".encode()], lines
    inbox = mailbox_id(r.cmd("st2", "STATUS INBOX (MAILBOXID)")[0])
    assert inbox != created
    ok(r.cmd("rn", "RENAME Projects Archive2")[1], "rn")
    lines, _ = r.cmd("st3", "STATUS Archive2 (MAILBOXID)")
    assert mailbox_id(lines) == created, "RENAME keeps the MAILBOXID"
    lines, t = r.cmd("l", 'LIST "" "Archive2" RETURN (STATUS (MAILBOXID))')
    ok(t, "l")
    assert mailbox_id([l for l in lines if l.startswith(b"* STATUS")]) == created, lines
    ok(r.cmd("cl", "CLOSE")[1], "cl")
    ok(r.cmd("d", "DELETE Archive2")[1], "d")
    _, t = r.cmd("c2", "CREATE Archive2")
    again = mailbox_id(t)
    assert again != created, "a new mailbox of the same name has a new id"
    # Bad arguments.
    _, t = r.cmd("b1", "FETCH 1 (EMAILID")
    assert t.startswith(b"b1 BAD"), t
    ok(r.cmd("s9", "SELECT INBOX")[1], "s9")
    for i, bad in enumerate(["SEARCH EMAILID", "SEARCH EMAILID (M1)", 'SEARCH THREADID "T1 2"', "SEARCH EMAILID " + "M" * 256]):
        _, t = r.cmd(f"x{i}", bad)
        assert t.startswith(f"x{i} BAD".encode()), (bad, t)


def test_ids_survive_restart(make_server, raw):
    srv = make_server()
    r = login_raw(raw, srv)
    ok(append_raw(r, "a1", "INBOX", mail("keep@x"))[1], "a1")
    ok(append_raw(r, "a2", "INBOX", mail("keep2@x", "In-Reply-To: <keep@x>\r\n"))[1], "a2")
    _, t = r.cmd("c", "CREATE Kept")
    box = mailbox_id(t)
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    ok(r.cmd("cp", "COPY 1:2 Kept")[1], "cp")
    before = fetch_ids(r, "f")
    r.close()
    srv.restart()
    r = login_raw(raw, srv)
    lines, t = r.cmd("s", "SELECT Kept")
    assert mailbox_id([l for l in lines if b"MAILBOXID" in l]) == box
    assert fetch_ids(r, "f") == before
    # After restart a reply still threads with the old messages.
    ok(append_raw(r, "a3", "INBOX", mail("keep3@x", "References: <keep@x> <keep2@x>\r\n"))[1], "a3")
    ok(r.cmd("s2", "SELECT INBOX")[1], "s2")
    got = fetch_ids(r, "f2")
    assert got[3][1] == before[1][1], got
    assert got[3][0] not in (before[1][0], before[2][0])


def test_disabled_objectid_is_gone_and_bad(make_server, raw):
    srv = make_server('[imap]\ndisable = ["OBJECTID"]\n')
    r = login_raw(raw, srv)
    caps, _ = r.cmd("c", "CAPABILITY")
    words = caps[0].split()
    assert b"OBJECTID" not in words and b"SAVEDATE" in words, caps
    _, t = r.cmd("cr", "CREATE Box")
    assert t == b"cr OK CREATE completed\r\n", t
    ok(append_raw(r, "a", "INBOX", mail("d@x"))[1], "a")
    lines, t = r.cmd("s", "SELECT INBOX")
    ok(t, "s")
    assert not any(b"MAILBOXID" in l for l in lines), lines
    assert_not_enabled(
        r,
        "OBJECTID",
        [
            ("f1", "FETCH 1 (EMAILID)"),
            ("f2", "FETCH 1 (FLAGS THREADID)"),
            ("q1", "SEARCH EMAILID M0000000000000001"),
            ("q2", "SEARCH NOT THREADID T0000000000000001"),
            ("st", "STATUS INBOX (MESSAGES MAILBOXID)"),
            ("l", 'LIST "" "*" RETURN (STATUS (MESSAGES MAILBOXID))'),
        ],
    )
    # The rest still works, SAVEDATE included.
    lines, t = r.cmd("ok", "FETCH 1 (SAVEDATE)")
    ok(t, "ok")
