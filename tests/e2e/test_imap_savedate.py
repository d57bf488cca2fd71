"""SAVEDATE (RFC 8514): when a message was saved into its current mailbox
(APPEND, LMTP delivery, COPY, MOVE), FETCH SAVEDATE and SEARCH
SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED; `[imap] disable`."""

import re
import time

from test_imap_util import append_raw, assert_not_enabled, login_raw, ok

SAVEDATE = re.compile(rb'\* (\d+) FETCH \(SAVEDATE "([^"]+)"\)\r\n$')
OLD = "01-Jan-2001 10:00:00 +0000"


def mail(mid):
    return f"From: bob@example.org\r\nSubject: {mid}\r\nMessage-ID: <{mid}>\r\n\r\nbody\r\n".encode()


def savedates(r, tag, seqs="1:*"):
    """{seq: unix seconds} of FETCH (SAVEDATE)."""
    lines, t = r.cmd(tag, f"FETCH {seqs} (SAVEDATE)")
    ok(t, tag)
    out = {}
    for line in lines:
        m = SAVEDATE.match(line)
        assert m, line
        # IMAP date-time: 07-Feb-1994 21:52:25 +0000
        d = time.strptime(m.group(2).decode(), "%d-%b-%Y %H:%M:%S %z")
        out[int(m.group(1))] = int(time.mktime(d)) - time.timezone
    return out


def imap_day(t):
    return time.strftime("%d-%b-%Y", time.gmtime(t))


def test_savedate_is_the_save_not_the_internal_date(server, raw):
    r = login_raw(raw, server)
    t0 = int(time.time())
    ok(append_raw(r, "a", "INBOX", mail("s1@x"), date=OLD)[1], "a")
    ok(r.cmd("c", "CREATE Later")[1], "c")
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    lines, t = r.cmd("i", "FETCH 1 (INTERNALDATE SAVEDATE)")
    ok(t, "i")
    assert lines[0].startswith(f'* 1 FETCH (INTERNALDATE "{OLD}" SAVEDATE "'.encode()), lines
    saved = savedates(r, "f1")[1]
    assert t0 - 1 <= saved <= time.time() + 1, (t0, saved)
    # A copy and a move get their own save date, not the original's.
    time.sleep(2.1)
    ok(r.cmd("cp", "COPY 1 Later")[1], "cp")
    ok(append_raw(r, "a2", "INBOX", mail("s2@x"), date=OLD)[1], "a2")
    ok(r.cmd("n", "NOOP")[1], "n")
    time.sleep(1.1)
    ok(r.cmd("mv", "MOVE 2 Later")[1], "mv")
    assert savedates(r, "f2") == {1: saved}, "the source keeps its save date"
    ok(r.cmd("s2", "SELECT Later")[1], "s2")
    later = savedates(r, "f3")
    assert later[1] >= saved + 2, (saved, later)
    assert later[2] >= later[1] + 1, later
    assert later[2] <= time.time() + 1


def test_search_by_save_date(server, raw):
    r = login_raw(raw, server)
    for i in range(3):
        ok(append_raw(r, f"a{i}", "INBOX", mail(f"q{i}@x"), date=OLD)[1], f"a{i}")
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    today = imap_day(time.time())
    tomorrow = imap_day(time.time() + 86400)
    expect = {
        f"SAVEDSINCE {today}": b"* SEARCH 1 2 3\r\n",
        f"SAVEDON {today}": b"* SEARCH 1 2 3\r\n",
        f"SAVEDBEFORE {today}": b"* SEARCH\r\n",
        f"SAVEDSINCE {tomorrow}": b"* SEARCH\r\n",
        f"SAVEDBEFORE {tomorrow}": b"* SEARCH 1 2 3\r\n",
        "SAVEDATESUPPORTED": b"* SEARCH 1 2 3\r\n",
        # The internal date says 2001: SINCE today finds none of them.
        f"SINCE {today}": b"* SEARCH\r\n",
        f"SAVEDSINCE {today} 2:3": b"* SEARCH 2 3\r\n",
        f"NOT SAVEDON {today}": b"* SEARCH\r\n",
    }
    for i, (keys, want) in enumerate(expect.items()):
        lines, t = r.cmd(f"q{i}", f"SEARCH {keys}")
        ok(t, f"q{i}")
        assert lines == [want], (keys, lines)
    for i, bad in enumerate(["SAVEDSINCE", "SAVEDSINCE 32-Jan-2020", "SAVEDON yesterday", "SAVEDBEFORE (1-Jan-2020)"]):
        _, t = r.cmd(f"b{i}", f"SEARCH {bad}")
        assert t.startswith(f"b{i} BAD".encode()), (bad, t)
    _, t = r.cmd("bf", "FETCH 1 (SAVEDATE")
    assert t.startswith(b"bf BAD"), t


def test_disabled_savedate_is_gone_and_bad(make_server, raw):
    srv = make_server('[imap]\ndisable = ["savedate"]\n')
    r = login_raw(raw, srv)
    caps, _ = r.cmd("c", "CAPABILITY")
    words = caps[0].split()
    assert b"SAVEDATE" not in words and b"OBJECTID" in words, caps
    ok(append_raw(r, "a", "INBOX", mail("x@x"))[1], "a")
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    assert_not_enabled(
        r,
        "SAVEDATE",
        [
            ("f", "FETCH 1 (UID SAVEDATE)"),
            ("q1", "SEARCH SAVEDATESUPPORTED"),
            ("q2", "SEARCH OR SEEN SAVEDSINCE 1-Jan-2020"),
        ],
    )
    lines, t = r.cmd("ok", "FETCH 1 (EMAILID)")
    ok(t, "ok")
