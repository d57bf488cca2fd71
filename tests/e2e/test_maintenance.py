"""Operator tools on users' stores: `postcore stats`, `check [--repair]` and
`compact`, run against the data directory of a real server (stopped, or
running with the user busy), checked over IMAP afterwards."""

import re

import pytest

from conftest import Server

BODY = "x" * 3000


def message(i):
    return (
        f"From: a@example.org\r\nTo: alice@example.org\r\nSubject: m{i}\r\n"
        f"Message-ID: <m{i}@example.org>\r\n\r\nmarker-{i:03d}\r\n{BODY}\r\n"
    ).encode()


def fill(srv, n):
    c = srv.login("alice")
    for i in range(1, n + 1):
        typ, _ = c.append("INBOX", None, None, message(i))
        assert typ == "OK"
    c.logout()


def run(srv, *args):
    r = srv.cli(*args)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def user_dir(srv, user="alice"):
    found = list((srv.data / "users").glob(f"*/{user}"))
    assert len(found) == 1, found
    return found[0]


def subjects(c):
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    return [re.search(rb"Subject: (m\d+)", d[1]).group(1).decode() for d in data if isinstance(d, tuple)]


@pytest.fixture
def srv(tmp_path):
    # No background compaction (dead ratio never above 1): `compact` is what
    # reclaims here.
    s = Server(tmp_path / "maint", extra="[store]\nsegment_size = 32768\ncompact_dead_ratio = 1.0\n")
    s.start()
    yield s
    s.stop()


def test_stats_counts_mailboxes_messages_and_dead_bytes(srv):
    fill(srv, 20)
    c = srv.login("alice")
    c.select("INBOX")
    c.store("1:5", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()
    srv.stop()
    code, out, err = run(srv, "stats")
    assert code == 0, err
    line = next(l for l in out.splitlines() if l.startswith("alice:"))
    # INBOX and the five default folders; 15 messages left.
    assert "6 mailboxes, 15 messages (15 unseen)" in line, line
    dead = int(re.search(r"(\d+) dead", line).group(1))
    assert dead >= 5 * len(message(1)), line
    code, out, err = run(srv, "stats", "alice")
    assert code == 0, err
    assert re.search(r"^  INBOX +15 messages", out, re.M), out
    code, out, err = run(srv, "stats", "nobody")
    assert code != 0 and "no store" in err, (out, err)


def test_compact_reclaims_expunged_messages(srv):
    fill(srv, 40)
    c = srv.login("alice")
    c.select("INBOX")
    c.store("1:30", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()
    srv.stop()
    code, out, err = run(srv, "compact", "alice")
    assert code == 0, err
    m = re.search(r"(\d+) segment\(s\) rewritten, log (\d+) -> (\d+) bytes", out)
    assert m, out
    rewritten, before, after = map(int, m.groups())
    assert rewritten >= 1 and after < before - 20 * len(message(1)), out
    code, out, err = run(srv, "check", "alice")
    assert code == 0 and "ok:" in out, (out, err)
    srv.start()
    c = srv.login("alice")
    c.select("INBOX")
    assert subjects(c) == [f"m{i}" for i in range(31, 41)]
    c.logout()


def test_check_reports_busy_user_while_served(srv):
    fill(srv, 1)
    c = srv.login("alice")
    c.select("INBOX")
    code, out, _ = run(srv, "check", "alice")
    assert code == 1 and "alice: busy" in out, out
    c.logout()


def test_check_finds_and_repair_fixes_injected_corruption(srv):
    fill(srv, 12)
    srv.stop()
    code, out, err = run(srv, "check")
    assert code == 0 and "alice:" in out and "ok:" in out, (out, err)

    # Damage message 7's record: flip one byte of its body in the log.
    d = user_dir(srv)
    hit = None
    for seg in sorted(d.glob("seg-*.log")):
        data = seg.read_bytes()
        at = data.find(b"marker-007")
        if at >= 0:
            hit = (seg, at)
    assert hit, "message 7 not found in the log"
    seg, at = hit
    raw = bytearray(seg.read_bytes())
    raw[at + 3] ^= 0x20
    seg.write_bytes(bytes(raw))

    code, out, _ = run(srv, "check", "alice")
    assert code == 1, out
    assert "DAMAGED" in out and "crc mismatch" in out and "--repair" in out, out

    # Without a checkpoint an open must replay the damaged record, and a
    # store with damage in the middle of its log refuses to open.
    for ck in d.glob("index.rkyv"):
        ck.unlink()
    srv.start()
    c = srv.connect()
    with pytest.raises(c.error, match="UNAVAILABLE"):
        c.login("alice", "alice-secret")
    srv.stop()

    code, out, _ = run(srv, "check", "--repair", "alice")
    assert code == 0, out
    assert "repaired:" in out and "quarantined" in out, out
    q = list((d / "quarantine").glob("*.bin"))
    assert len(q) == 1 and b"marker-0" in q[0].read_bytes(), q
    code, out, _ = run(srv, "check", "alice")
    assert code == 0 and "ok:" in out and "DAMAGED" not in out, out

    srv.start()
    c = srv.login("alice")
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"11"], data
    assert subjects(c) == [f"m{i}" for i in range(1, 13) if i != 7]
    typ, data = c.fetch("1", "(BODY[])")
    assert data[0][1] == message(1)
    c.logout()


def test_a_second_server_on_the_same_data_dir_is_refused(srv):
    # The listeners use SO_REUSEPORT: without the lock a second instance
    # would share the ports and fight over every user's store.
    r = srv.cli("serve")
    assert r.returncode != 0
    assert b"another postcore server is running" in r.stderr, r.stderr
    c = srv.login("alice")
    c.logout()
