"""CONDSTORE and QRESYNC driven by a client library no one here wrote:
IMAPClient (PyPI `imapclient`). Debian's mbsync (isync 1.4.4) and
offlineimap3 carry no CONDSTORE or QRESYNC code at all (no CHANGEDSINCE,
MODSEQ or QRESYNC string in either), so their sync tests
(test_clients.py, test_imap_roundtrip.py) cannot exercise them; this one
does, through IMAPClient's own ENABLE, SELECT, FETCH CHANGEDSINCE, STATUS
HIGHESTMODSEQ and its parsing of VANISHED. IMAPClient works by UID."""

import imapclient
import pytest

from conftest import USERS, raw_login, untagged_of_ok

N = 1000


def client(srv):
    c = imapclient.IMAPClient("127.0.0.1", port=srv.imap_port, ssl=False, timeout=30)
    c.login("alice", USERS["alice"])
    return c


@pytest.fixture
def filled(server):
    c = client(server)
    c.append("INBOX", b"Subject: seed\r\n\r\nseed\r\n")
    # MULTIAPPEND through the raw helper: IMAPClient appends one at a time.
    r = raw_login(server)
    body = b"Subject: m\r\n\r\nm\r\n"
    lits = b" ".join(f"{{{len(body)}+}}\r\n".encode() + body for _ in range(N - 1))
    r.send(b"a APPEND INBOX " + lits + b"\r\n")
    _, t = r.until("a")
    assert t.startswith(b"a OK"), t
    r.close()
    c.logout()
    return server


def test_imapclient_condstore_sync(filled):
    c = client(filled)
    assert b"CONDSTORE" in c.capabilities() and b"QRESYNC" in c.capabilities()
    assert c.enable("CONDSTORE") == [b"CONDSTORE"]
    info = c.select_folder("INBOX")
    assert info[b"EXISTS"] == N
    base = info[b"HIGHESTMODSEQ"]
    every = c.search("ALL")
    full = c.fetch(every, ["FLAGS", "MODSEQ"])
    assert len(full) == N

    # Another session changes 10 messages' flags and expunges 5 others.
    other = raw_login(filled)
    untagged_of_ok(other.cmd("s", "SELECT INBOX"), "s")
    untagged_of_ok(other.cmd("f", "UID STORE 11:20 +FLAGS.SILENT (\\Flagged)"), "f")
    untagged_of_ok(other.cmd("d", "UID STORE 101:105 +FLAGS.SILENT (\\Deleted)"), "d")
    untagged_of_ok(other.cmd("x", "UID EXPUNGE 101:105"), "x")

    c.noop()
    # IMAPClient keeps only the responses for the UIDs it asked about.
    changed = c.fetch(every, ["FLAGS"], modifiers=[f"CHANGEDSINCE {base}"])
    uids = sorted(changed)
    assert uids == list(range(11, 21)), uids
    assert all(b"\\Flagged" in v[b"FLAGS"] for v in changed.values())
    now = c.folder_status("INBOX", ["HIGHESTMODSEQ", "MESSAGES"])
    assert now[b"MESSAGES"] == N - 5 and now[b"HIGHESTMODSEQ"] > base

    other.close()
    c.logout()


def test_imapclient_qresync_vanished(filled):
    c = client(filled)
    assert c.enable("QRESYNC") == [b"QRESYNC"]
    info = c.select_folder("INBOX")
    base = info[b"HIGHESTMODSEQ"]
    every = c.search("ALL")
    other = raw_login(filled)
    untagged_of_ok(other.cmd("s", "SELECT INBOX"), "s")
    untagged_of_ok(other.cmd("d", "UID STORE 201:203 +FLAGS.SILENT (\\Deleted)"), "d")
    untagged_of_ok(other.cmd("x", "UID EXPUNGE 201:203"), "x")
    other.close()
    # With QRESYNC enabled, expunges arrive as VANISHED, not EXPUNGE.
    responses = c.noop()[1]
    kinds = [r[0] for r in responses if isinstance(r, tuple)]
    assert (b"VANISHED", b"201:203") in responses, responses
    assert b"VANISHED" in kinds and b"EXPUNGE" not in kinds, responses
    # Nothing else changed: CHANGEDSINCE finds no flag changes.
    changed = c.fetch(every, ["FLAGS"], modifiers=[f"CHANGEDSINCE {base}"])
    assert changed == {}, changed
    c.logout()
