"""Retention (`[retention]`): Trash and Junk messages are expunged once
their save date is older than the configured days (fractions allowed),
when the mailbox is selected and by each shard's background sweep; never
an Inbox message, never one just moved into Trash however old its
internal date; open sessions see the EXPUNGE."""

import time

from test_imap_util import append_raw, login_raw, ok

OLD = "01-Jan-2001 10:00:00 +0000"
# 0.00004 days = 3.456 s, kept as 3 s.
TERM = 3


def mail(mid):
    return f"From: bob@example.org\r\nSubject: {mid}\r\nMessage-ID: <{mid}>\r\n\r\nbody\r\n".encode()


def count(r, tag, box):
    lines, t = r.cmd(tag, f"STATUS {box} (MESSAGES)")
    ok(t, tag)
    return int(lines[0].split(b"MESSAGES ")[1].split(b")")[0])


def test_expired_on_select_only_by_save_date(make_server, raw):
    # A sweep that never comes in the test: only SELECT expires.
    srv = make_server("[retention]\ntrash_days = 0.00004\njunk_days = 0\nsweep_interval_secs = 3600\n")
    r = login_raw(raw, srv)
    ok(append_raw(r, "a1", "INBOX", mail("inbox-old@x"), date=OLD)[1], "a1")
    ok(append_raw(r, "a2", "INBOX", mail("to-move@x"), date=OLD)[1], "a2")
    ok(append_raw(r, "a3", "Trash", mail("trash@x"), date=OLD)[1], "a3")
    ok(append_raw(r, "a4", "Junk", mail("junk@x"), date=OLD)[1], "a4")
    time.sleep(TERM + 1)
    # Moved now: years old by its internal date, saved into Trash just now.
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    ok(r.cmd("mv", "MOVE 2 Trash")[1], "mv")
    # Not selected yet: nothing expired.
    assert count(r, "c1", "Trash") == 2
    lines, t = r.cmd("st", "SELECT Trash")
    ok(t, "st")
    assert b"* 1 EXISTS\r\n" in lines, lines
    lines, t = r.cmd("f", "FETCH 1 (INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert b"to-move@x" in b"".join(lines), lines
    # INBOX and Junk (junk_days = 0) keep theirs however old.
    ok(r.cmd("sj", "SELECT Junk")[1], "sj")
    assert count(r, "c2", "Junk") == 1
    ok(r.cmd("si", "SELECT INBOX")[1], "si")
    assert count(r, "c3", "INBOX") == 1
    # And the moved one goes when its own term is up.
    time.sleep(TERM + 1)
    lines, t = r.cmd("st2", "SELECT Trash")
    ok(t, "st2")
    assert b"* 0 EXISTS\r\n" in lines, lines
    assert count(r, "c4", "INBOX") == 1


def test_sweep_expunges_and_open_sessions_see_it(make_server, raw):
    srv = make_server("[retention]\ntrash_days = 0.00004\nsweep_interval_secs = 1\n", shards=1)
    r = login_raw(raw, srv)
    ok(append_raw(r, "a1", "Trash", mail("t1@x"))[1], "a1")
    ok(append_raw(r, "a2", "INBOX", mail("i1@x"))[1], "a2")
    lines, t = r.cmd("e", "ENABLE CONDSTORE")
    ok(t, "e")
    lines, t = r.cmd("s", "SELECT Trash")
    ok(t, "s")
    assert b"* 1 EXISTS\r\n" in lines, lines
    modseq = [l for l in lines if b"HIGHESTMODSEQ" in l][0]
    # Watcher stays in Trash; nobody selects it again: the sweep must act.
    time.sleep(TERM + 2.5)
    lines, t = r.cmd("n", "NOOP")
    ok(t, "n")
    # IMAP4rev1 sessions also hear "* 0 RECENT"; one EXPUNGE, nothing else.
    assert [l for l in lines if b"EXPUNGE" in l or b"EXISTS" in l] == [b"* 1 EXPUNGE\r\n"], lines
    lines, t = r.cmd("st", "STATUS Trash (MESSAGES HIGHESTMODSEQ)")
    assert b"MESSAGES 0" in lines[0], lines
    assert lines[0] != modseq
    assert count(r, "c", "INBOX") == 1


def test_bad_retention_config_is_refused(tmp_path):
    from conftest import Server

    for bad, field in [("trash_days = -1", "trash_days"), ("junk_days = nan", "junk_days"), ("sweep_interval_secs = 0", "sweep_interval_secs")]:
        srv = Server(tmp_path / field, extra=f"[retention]\n{bad}\n", users={})
        r = srv.cli("user", "list")
        assert r.returncode != 0, bad
        assert f"retention.{field}".encode() in r.stderr, r.stderr
