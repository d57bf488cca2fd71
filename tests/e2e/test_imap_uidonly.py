"""UIDONLY (RFC 9586): after ENABLE UIDONLY no message numbers go either
way: FETCH responses are `* uid UIDFETCH`, expunges are VANISHED, `[UNSEEN
n]` is left out, and every command that names messages by number gets
`BAD [UIDREQUIRED]` and changes nothing."""

import re

from conftest import raw_login as login, raw_append as append, untagged_of_ok as ok


def test_uidonly(server):
    r = login(server)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" UIDONLY" in caps[0], caps
    for i in range(4):
        append(r, f"a{i}", f"m{i + 1}")
    # UID 1 goes: from now on message numbers and UIDs differ by one.
    ok(r.cmd("s0", "SELECT INBOX"), "s0")
    ok(r.cmd("d0", "UID STORE 1 +FLAGS.SILENT (\\Deleted)"), "d0")
    ok(r.cmd("x0", "EXPUNGE"), "x0")
    assert ok(r.cmd("e", "ENABLE UIDONLY"), "e") == [b"* ENABLED UIDONLY\r\n"]
    lines = ok(r.cmd("s", "SELECT INBOX"), "s")
    assert b"* 3 EXISTS\r\n" in lines
    assert not any(b"[UNSEEN" in l for l in lines), lines
    # Keyed by UID; UID itself only where the client listed it.
    lines = ok(r.cmd("f1", "UID FETCH 2:* (FLAGS)"), "f1")
    assert lines == [b"* 2 UIDFETCH (FLAGS ())\r\n", b"* 3 UIDFETCH (FLAGS ())\r\n", b"* 4 UIDFETCH (FLAGS ())\r\n"], lines
    lines = ok(r.cmd("f2", "UID FETCH 3 (FLAGS UID RFC822.SIZE)"), "f2")
    assert lines == [b"* 3 UIDFETCH (FLAGS () UID 3 RFC822.SIZE 21)\r\n"], lines
    lines = ok(r.cmd("f3", "UID FETCH 4 (BODY[HEADER.FIELDS (SUBJECT)])"), "f3")
    assert lines[0].startswith(b"* 4 UIDFETCH (FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {"), lines
    lines = ok(r.cmd("st", "UID STORE 3 +FLAGS (\\Flagged)"), "st")
    assert lines == [b"* 3 UIDFETCH (FLAGS (\\Flagged))\r\n"], lines
    assert ok(r.cmd("st2", "UID STORE 3 -FLAGS.SILENT (\\Flagged)"), "st2") == []
    lines = ok(r.cmd("se", "UID SEARCH UID 3:* FLAGGED"), "se")
    assert lines in ([b"* SEARCH\r\n"], [b"* ESEARCH (TAG \"se\") UID\r\n"]), lines
    ok(r.cmd("se2", "UID SEARCH RETURN (SAVE) UID 2:3"), "se2")
    lines = ok(r.cmd("se3", "UID FETCH $ (FLAGS)"), "se3")
    assert [l.split(b" ")[1] for l in lines] == [b"2", b"3"], lines
    # Every use of message numbers is refused, and nothing changes.
    for tag, cmd in [
        ("n1", "FETCH 1 (FLAGS)"),
        ("n2", "STORE 1 +FLAGS (\\Deleted)"),
        ("n3", "COPY 1 INBOX"),
        ("n4", "MOVE 1 Trash"),
        ("n5", "SEARCH ALL"),
        ("n6", "SORT (SUBJECT) UTF-8 ALL"),
        ("n7", "THREAD REFERENCES UTF-8 ALL"),
        ("n8", "UID SEARCH 1:2"),
        ("n9", "UID SEARCH OR UID 2 NOT 1"),
        ("n10", "UID SORT (SUBJECT) UTF-8 (1:*)"),
        ("n11", "FETCH * (UID)"),
    ]:
        lines, t = r.cmd(tag, cmd)
        assert t.startswith(f"{tag} BAD [UIDREQUIRED]".encode()), (cmd, t)
        assert lines == [], (cmd, lines)
    lines = ok(r.cmd("chk", "UID FETCH 2:* (FLAGS)"), "chk")
    assert b"\\Deleted" not in b"".join(lines)
    lines = ok(r.cmd("so", "UID SORT (REVERSE SUBJECT) UTF-8 ALL"), "so")
    assert lines == [b"* SORT 4 3 2\r\n"], lines
    # Another session's changes come as UIDFETCH and VANISHED; EXISTS stays.
    o = login(server)
    ok(o.cmd("os", "SELECT INBOX"), "os")
    ok(o.cmd("o1", "UID STORE 2 +FLAGS.SILENT (\\Answered)"), "o1")
    ok(o.cmd("o2", "UID STORE 3 +FLAGS.SILENT (\\Deleted)"), "o2")
    ok(o.cmd("o3", "EXPUNGE"), "o3")
    append(o, "o4", "m5")
    lines = ok(r.cmd("no", "NOOP"), "no")
    # (RECENT is a count, not a number of a message: it stays.)
    assert lines == [b"* VANISHED 3\r\n", b"* 3 EXISTS\r\n", b"* 2 UIDFETCH (FLAGS (\\Answered))\r\n", b"* 0 RECENT\r\n"], lines
    # This session's own expunges too.
    ok(r.cmd("d1", "UID STORE 2 +FLAGS.SILENT (\\Deleted)"), "d1")
    lines = ok(r.cmd("x1", "EXPUNGE"), "x1")
    assert lines == [b"* VANISHED 2\r\n"], lines
    lines = ok(r.cmd("mv", "UID MOVE 5 Trash"), "mv")
    assert lines[0].startswith(b"* OK [COPYUID ") and lines[1:] == [b"* VANISHED 5\r\n"], lines
    o.close()
    r.close()


def test_uidonly_with_qresync_refuses_sequence_match_data(server):
    r = login(server)
    append(r, "a", "one")
    ok(r.cmd("e", "ENABLE QRESYNC UIDONLY"), "e")
    lines = ok(r.cmd("x", "EXAMINE INBOX"), "x")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(lines)).group(1))
    _, t = r.cmd("s", f"SELECT INBOX (QRESYNC ({uv} 1 1:* (1 1)))")
    assert t.startswith(b"s BAD [UIDREQUIRED]"), t
    lines = ok(r.cmd("s2", f"SELECT INBOX (QRESYNC ({uv} 1 1:*))"), "s2")
    changed = [l for l in lines if re.fullmatch(rb"\* 1 UIDFETCH \(FLAGS \(\) MODSEQ \(\d+\)\)\r\n", l)]
    assert len(changed) == 1 and not any(b" FETCH " in l for l in lines), lines
    r.close()


def test_uidonly_disabled(make_server):
    srv = make_server(extra='[imap]\ndisable = ["UIDONLY"]\n')
    r = login(srv)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"UIDONLY" not in caps[0], caps
    append(r, "a", "one")
    assert ok(r.cmd("e", "ENABLE UIDONLY"), "e") == [b"* ENABLED\r\n"]
    ok(r.cmd("s", "SELECT INBOX"), "s")
    lines = ok(r.cmd("f", "FETCH 1 (FLAGS)"), "f")
    assert lines == [b"* 1 FETCH (FLAGS ())\r\n"], lines
    r.close()
