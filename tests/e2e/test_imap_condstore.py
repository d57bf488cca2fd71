"""CONDSTORE and QRESYNC (RFC 7162) over real sockets: MODSEQ in FETCH,
CHANGEDSINCE, UNCHANGEDSINCE with MODIFIED, SEARCH MODSEQ, STATUS
HIGHESTMODSEQ, ENABLE QRESYNC, SELECT (QRESYNC ...) with VANISHED
(EARLIER), VANISHED instead of EXPUNGE, UID FETCH (CHANGEDSINCE VANISHED),
and a resync of a 100,000-message mailbox whose cost follows the changes."""

import re
import subprocess

import pytest

from conftest import BIN, USERS, Raw, Server

PW = USERS["alice"]


def login(srv):
    r = Raw(srv.imap_port)
    _, ok = r.cmd("l", f"LOGIN alice {PW}")
    assert ok.startswith(b"l OK"), ok
    return r


def ok(r, tag, text):
    untagged, tagged = r.cmd(tag, text)
    assert tagged.startswith(f"{tag} OK".encode()), (text, tagged, untagged)
    return untagged, tagged


def bad(r, tag, text):
    untagged, tagged = r.cmd(tag, text)
    assert tagged.startswith(f"{tag} BAD".encode()), (text, tagged, untagged)
    return tagged


def code(lines, name):
    for line in lines:
        m = re.search(rb"\[" + name.encode() + rb" (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no {name} in {lines}")


def fetches(lines):
    """{uid: (flags set, modseq)} of the untagged FETCH lines."""
    out = {}
    for line in lines:
        if b" FETCH (" not in line:
            continue
        uid = int(re.search(rb"UID (\d+)", line).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", line)
        modseq = re.search(rb"MODSEQ \((\d+)\)", line)
        out[uid] = (
            set(flags.group(1).decode().split()) if flags else None,
            int(modseq.group(1)) if modseq else None,
        )
    return out


def vanished(lines, earlier=True):
    """The UIDs of `* VANISHED [(EARLIER)] set` lines."""
    uids = set()
    prefix = b"* VANISHED (EARLIER) " if earlier else b"* VANISHED "
    for line in lines:
        if line.startswith(prefix) and (earlier or not line.startswith(b"* VANISHED (")):
            for part in line[len(prefix) :].strip().split(b","):
                lo, _, hi = part.partition(b":")
                uids.update(range(int(lo), int(hi or lo) + 1))
    return uids


@pytest.fixture
def srv(make_server):
    s = make_server()
    c = s.login("alice")
    for i in range(10):
        assert c.append("INBOX", None, None, f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())[0] == "OK"
    c.logout()
    return s


def test_condstore_fetch_store_search_status(srv):
    r = login(srv)
    caps, _ = ok(r, "c", "CAPABILITY")
    assert b" CONDSTORE" in caps[0] and b" QRESYNC" in caps[0]
    sel, _ = ok(r, "s", "SELECT INBOX")
    h0 = code(sel, "HIGHESTMODSEQ")
    assert h0 >= 1
    # MODSEQ item: every message has one, none above HIGHESTMODSEQ.
    lines, _ = ok(r, "f", "FETCH 1:* (UID MODSEQ)")
    got = fetches(lines)
    assert len(got) == 10 and all(1 <= m <= h0 for _, m in got.values())
    # A change raises the message's MODSEQ above every older one.
    lines, _ = ok(r, "st", "UID STORE 3 +FLAGS (\\Flagged)")
    after = fetches(lines)
    assert after[3][0] == {"\\Flagged"} and after[3][1] > h0, lines
    # CHANGEDSINCE: only that message, with MODSEQ though not asked.
    lines, _ = ok(r, "f2", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h0})")
    assert set(fetches(lines)) == {3} and fetches(lines)[3][1] == after[3][1]
    # UNCHANGEDSINCE: message 3 changed after h0, so it is left alone and
    # reported in MODIFIED; the others are changed.
    lines, tagged = ok(r, "u", f"UID STORE 1:4 (UNCHANGEDSINCE {h0}) +FLAGS.SILENT (\\Seen)")
    assert b"[MODIFIED 3]" in tagged, tagged
    got = fetches(lines)
    assert set(got) == {1, 2, 4} and all(f is None and m > after[3][1] for f, m in got.values()), lines
    lines, tagged = ok(r, "u2", "STORE 5 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert b"[MODIFIED 5]" in tagged, tagged
    # SEARCH MODSEQ gives the highest MODSEQ of the matches.
    lines, _ = ok(r, "se", f"SEARCH MODSEQ {h0 + 1}")
    m = re.match(rb"\* SEARCH ([\d ]+) \(MODSEQ (\d+)\)", lines[0])
    assert m and set(m.group(1).split()) == {b"1", b"2", b"3", b"4"}, lines
    assert int(m.group(2)) == max(v[1] for v in got.values())
    # STATUS HIGHESTMODSEQ agrees with a fresh SELECT.
    lines, _ = ok(r, "sa", "STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
    hs = int(re.search(rb"HIGHESTMODSEQ (\d+)", lines[0]).group(1))
    sel, _ = ok(r, "s2", "EXAMINE INBOX")
    assert code(sel, "HIGHESTMODSEQ") == hs
    assert any(b"[CLOSED]" in line for line in sel)
    # Another session's change reaches this one as FETCH with UID and
    # MODSEQ, now that CONDSTORE is on.
    other = srv.login("alice")
    other.select("INBOX")
    other.store("7", "+FLAGS", "(\\Answered)")
    other.logout()
    lines, _ = ok(r, "n", "NOOP")
    got = fetches(lines)
    assert got[7][0] == {"\\Answered"} and got[7][1] > hs, lines
    # Bad arguments.
    bad(r, "b1", "UID FETCH 1:* FLAGS (CHANGEDSINCE x)")
    bad(r, "b2", "UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)")  # QRESYNC not enabled
    bad(r, "b3", "SELECT INBOX (QRESYNC (1 1))")
    r.close()


def test_qresync_select_vanished_and_expunge(srv):
    r = login(srv)
    sel, _ = ok(r, "s", "SELECT INBOX")
    uv, h0 = code(sel, "UIDVALIDITY"), code(sel, "HIGHESTMODSEQ")
    r.close()
    # Meanwhile: flags change on 2 and 4, 6 and 9 are expunged.
    c = srv.login("alice")
    c.select("INBOX")
    c.uid("STORE", "2,4", "+FLAGS", "(\\Seen)")
    c.uid("STORE", "6,9", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()

    r = login(srv)
    en, _ = ok(r, "e", "ENABLE QRESYNC")
    assert en == [b"* ENABLED QRESYNC\r\n"], en
    lines, _ = ok(r, "q", f"SELECT INBOX (QRESYNC ({uv} {h0} 1:10))")
    assert vanished(lines) == {6, 9}, lines
    assert {u: f for u, (f, _) in fetches(lines).items()} == {2: {"\\Seen"}, 4: {"\\Seen"}}, lines
    # Known UIDs limit VANISHED; a stale UIDVALIDITY gives nothing.
    lines, _ = ok(r, "q2", f"SELECT INBOX (QRESYNC ({uv} {h0} 1:7))")
    assert vanished(lines) == {6}
    assert any(b"[CLOSED]" in line for line in lines)
    lines, _ = ok(r, "q3", f"SELECT INBOX (QRESYNC ({uv + 1} {h0}))")
    assert not vanished(lines) and not fetches(lines)
    # UID FETCH (CHANGEDSINCE VANISHED).
    lines, _ = ok(r, "f", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h0} VANISHED)")
    assert vanished(lines) == {6, 9} and set(fetches(lines)) == {2, 4}, lines
    bad(r, "b", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {h0} VANISHED)")  # not UID FETCH
    bad(r, "b2", "UID FETCH 1:* (FLAGS) (VANISHED)")  # no CHANGEDSINCE
    # With QRESYNC, EXPUNGE is announced as VANISHED (UIDs), not EXPUNGE.
    ok(r, "d", "UID STORE 10 +FLAGS.SILENT (\\Deleted)")
    lines, _ = ok(r, "x", "EXPUNGE")
    assert b"* VANISHED 10\r\n" in lines and not any(b"EXPUNGE" in line for line in lines), lines
    # Another session's expunge arrives as VANISHED too.
    c = srv.login("alice")
    c.select("INBOX")
    c.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()
    lines, _ = ok(r, "n", "NOOP")
    assert b"* VANISHED 1\r\n" in lines, lines
    r.close()


def make_big_mailbox(srv, tmp_path, n):
    """An mbox of n small messages imported offline (the server stopped)."""
    path = tmp_path / "big.mbox"
    with open(path, "wb") as f:
        for i in range(n):
            f.write(
                b"From a@example.org Thu Jan  1 00:00:00 2026\n"
                + f"Subject: m{i}\nMessage-ID: <m{i}@x>\n\nbody {i}\n\n".encode()
            )
    r = subprocess.run(
        [BIN, "--config", str(srv.config), "import", "--from", "mbox", "alice", str(path)],
        capture_output=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def resync_bytes(srv, uv, since, n):
    """Bytes the server sends for ENABLE QRESYNC + SELECT (QRESYNC ...)."""
    r = login(srv)
    ok(r, "e", "ENABLE QRESYNC")
    lines, tagged = ok(r, "q", f"SELECT INBOX (QRESYNC ({uv} {since} 1:{n}))")
    size = sum(len(line) for line in lines) + len(tagged)
    r.close()
    return size, lines


def change(srv, flag_uids, gone_uids):
    c = srv.login("alice")
    c.select("INBOX")
    for chunk in range(0, len(flag_uids), 500):
        part = ",".join(map(str, flag_uids[chunk : chunk + 500]))
        assert c.uid("STORE", part, "+FLAGS.SILENT", "(\\Flagged)")[0] == "OK"
    part = ",".join(map(str, gone_uids))
    assert c.uid("STORE", part, "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    assert c.uid("EXPUNGE", part)[0] == "OK"
    c.logout()


def test_qresync_of_100k_messages_costs_what_changed(tmp_path):
    n = 100_000
    srv = Server(tmp_path / "srv")
    make_big_mailbox(srv, tmp_path, n)
    srv.start()
    try:
        r = login(srv)
        sel, _ = ok(r, "s", "EXAMINE INBOX")
        uv, h0 = code(sel, "UIDVALIDITY"), code(sel, "HIGHESTMODSEQ")
        assert any(f"* {n} EXISTS".encode() in line for line in sel)
        # What a client without QRESYNC would fetch to learn the flags.
        lines, _ = ok(r, "f", "FETCH 1:* (UID FLAGS)")
        full = sum(len(line) for line in lines)
        r.close()

        # 100 flag changes and 50 expunges from another session.
        change(srv, list(range(1000, 1100)), list(range(5000, 5050)))
        small, lines = resync_bytes(srv, uv, h0, n)
        assert vanished(lines) == set(range(5000, 5050))
        assert set(fetches(lines)) == set(range(1000, 1100))
        sel, _ = ok(login(srv), "s", "EXAMINE INBOX")
        h1 = code(sel, "HIGHESTMODSEQ")

        # Ten times the changes, from h1: about ten times the bytes.
        change(srv, list(range(20000, 21000)), list(range(60000, 60500)))
        large, lines = resync_bytes(srv, uv, h1, n)
        assert set(fetches(lines)) == set(range(20000, 21000))
        assert vanished(lines) == set(range(60000, 60500))

        print(f"full flag fetch {full} B; resync after 150 changes {small} B, after 1500 {large} B")
        assert small < full / 100, (small, full)
        assert 5 < large / small < 15, (small, large)
    finally:
        srv.stop()
