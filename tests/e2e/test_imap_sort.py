"""SORT, SORT=DISPLAY, ESORT and THREAD (RFC 5256, 5957, 5267) through
Python's imaplib (its sort() and thread()) and raw commands for ESORT
and the refusals."""

import re

import pytest

from conftest import USERS, Raw

PW = USERS["alice"]

# (subject, from, to, cc, date header, internal date, message-id, references, body size)
MESSAGES = [
    ("Re: Lunch", '"Zed Z" <zed@example.org>', "bob@example.org", "", "Mon, 02 Mar 2026 10:00:00 +0000", "01-Jan-2026 00:00:04 +0000", "<b@x>", "<a@x>", 300),
    ("Lunch", "Anna <anna@example.org>", "carl@example.org", "dora@example.org", "Sun, 01 Mar 2026 09:00:00 +0100", "01-Jan-2026 00:00:02 +0000", "<a@x>", "", 100),
    ("[list] Fwd: budget (fwd)", "mike@example.org", "Al <al@example.org>", "", "Tue, 03 Mar 2026 08:00:00 -0500", "01-Jan-2026 00:00:01 +0000", "<c@x>", "", 500),
    ("budget", "BETTY@example.org", "zoe@example.org", "bob@example.org", "", "01-Jan-2026 00:00:03 +0000", "<d@x>", "", 200),
    ("Re: Re: lunch", "carl@example.org", "anna@example.org", "", "Wed, 04 Mar 2026 12:00:00 +0000", "01-Jan-2026 00:00:05 +0000", "<e@x>", "<a@x> <b@x>", 400),
]


def raw_message(subject, frm, to, cc, date, msgid, refs, size):
    head = f"Subject: {subject}\r\nFrom: {frm}\r\nTo: {to}\r\nMessage-ID: {msgid}\r\n"
    if cc:
        head += f"Cc: {cc}\r\n"
    if date:
        head += f"Date: {date}\r\n"
    if refs:
        head += f"References: {refs}\r\n"
    head += "\r\n"
    return (head + "x" * size + "\r\n").encode()


@pytest.fixture
def c(server):
    c = server.login("alice")
    for subject, frm, to, cc, date, idate, msgid, refs, size in MESSAGES:
        typ, _ = c.append("INBOX", None, f'"{idate}"', raw_message(subject, frm, to, cc, date, msgid, refs, size))
        assert typ == "OK"
    c.select("INBOX")
    yield c
    c.logout()


def order(c, criteria, *search, uid=False):
    if uid:
        typ, data = c.uid("SORT", criteria, "UTF-8", *(search or ("ALL",)))
    else:
        typ, data = c.sort(criteria, "UTF-8", *(search or ("ALL",)))
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def test_capabilities(c):
    caps = c.capability()[1][0].split()
    for cap in [b"SORT", b"SORT=DISPLAY", b"ESORT", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES"]:
        assert cap in caps, caps


def test_sort_keys(c):
    # Base subjects: lunch, lunch, budget, budget, lunch; ties by sequence.
    assert order(c, "(SUBJECT)") == [3, 4, 1, 2, 5]
    assert order(c, "(REVERSE SUBJECT)") == [1, 2, 5, 3, 4]
    # DATE: the Date header in UTC (2 is 08:00Z); 4 has none: its
    # internal date, the oldest.
    assert order(c, "(DATE)") == [4, 2, 1, 3, 5]
    assert order(c, "(ARRIVAL)") == [3, 2, 4, 1, 5]
    assert order(c, "(SIZE)") == [2, 4, 1, 5, 3]
    # FROM/TO/CC: the first address's local part, case-insensitively;
    # no Cc sorts first.
    assert order(c, "(FROM)") == [2, 4, 5, 3, 1]
    assert order(c, "(TO)") == [3, 5, 1, 2, 4]
    assert order(c, "(CC)") == [1, 3, 5, 4, 2]
    # DISPLAYFROM: the display name, else the address (RFC 5957).
    assert order(c, "(DISPLAYFROM)") == [2, 4, 5, 3, 1]
    assert order(c, "(DISPLAYTO)") == [3, 5, 1, 2, 4]
    assert order(c, "(SUBJECT REVERSE DATE)") == [3, 4, 5, 1, 2]
    # With a search, and as UIDs.
    assert order(c, "(SIZE)", "SUBJECT", "lunch") == [2, 1, 5]
    assert order(c, "(SIZE)", uid=True) == [2, 4, 1, 5, 3]


def test_esort_return_options(server, c):
    r = Raw(server.imap_port)
    r.cmd("l", f"LOGIN alice {PW}")
    r.cmd("s", "SELECT INBOX")
    lines, t = r.cmd("a", "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
    assert t.startswith(b"a OK"), t
    assert lines == [b'* ESEARCH (TAG "a") MIN 4 MAX 5 COUNT 5 ALL 4,2,1,3,5\r\n'], lines
    lines, _ = r.cmd("b", "UID SORT RETURN (COUNT) (SUBJECT) UTF-8 SUBJECT lunch")
    assert lines == [b'* ESEARCH (TAG "b") UID COUNT 3\r\n'], lines
    lines, _ = r.cmd("c", "SORT RETURN () (ARRIVAL) UTF-8 ALL")
    assert lines == [b'* ESEARCH (TAG "c") ALL 3,2,4,1,5\r\n'], lines
    lines, _ = r.cmd("d", "SORT RETURN (MIN) (DATE) UTF-8 SUBJECT nothing-matches")
    assert lines == [b'* ESEARCH (TAG "d")\r\n'], lines
    # The MODSEQ of a MODSEQ search comes along (RFC 7162 §3.1.5).
    lines, _ = r.cmd("e", "SORT (SIZE) UTF-8 MODSEQ 1")
    assert re.match(rb"\* SORT 2 4 1 5 3 \(MODSEQ \d+\)\r\n", lines[0]), lines
    # Refusals.
    for tag, cmd in [
        ("f1", "SORT (NAME) UTF-8 ALL"),
        ("f3", "SORT DATE UTF-8 ALL"),
        ("f4", "SORT RETURN (SAVE) (DATE) UTF-8 ALL"),
        ("f5", "SORT () UTF-8 ALL"),
        ("f6", "THREAD FOO UTF-8 ALL"),
        ("f7", "THREAD REFERENCES UTF-8"),
    ]:
        _, t = r.cmd(tag, cmd)
        assert t.startswith(f"{tag} BAD".encode()), (cmd, t)
    # The charset is required: a search key in its place is a charset
    # name postcore does not know.
    for tag, cmd in [("g", "SORT (DATE) KOI8-R ALL"), ("g2", "SORT (DATE) ALL")]:
        _, t = r.cmd(tag, cmd)
        assert t.startswith(f"{tag} NO [BADCHARSET (UTF-8 US-ASCII)]".encode()), (cmd, t)
    r.cmd("u", "UNSELECT")
    _, t = r.cmd("h", "SORT (DATE) UTF-8 ALL")
    assert t.startswith(b"h BAD"), t
    r.close()


def test_thread(c):
    typ, data = c.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK", data
    # 2 (<a>) has 1 (<b>, refs a) which has 5 (refs a b); 3 and 4 join by
    # base subject "budget" (4 is not a reply); threads go by their root's
    # date, and 4 has no Date header: its internal date, the oldest.
    assert data == [b"(4 3)(2 1 5)"], data
    typ, data = c.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert data == [b"(4 3)(2 (1)(5))"], data
    typ, data = c.uid("THREAD", "REFERENCES", "UTF-8", "SUBJECT", "budget")
    assert data == [b"(4 3)"], data
    typ, data = c.thread("REFERENCES", "UTF-8", "SUBJECT", "nothing-matches")
    assert typ == "OK" and data == [b""], data


def sort_of(c, criteria):
    typ, data = c.sort(criteria, "UTF-8", "ALL")
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


@pytest.mark.parametrize("cache_mib", [256, 0])
def test_sort_follows_appends_expunges_and_users(make_server, cache_mib):
    # The shard keeps sort keys between commands (unless sort_cache_mib is
    # 0); either way each SORT answers for the mailbox as it is now, and
    # one user's keys never answer for another's mailbox.
    srv = make_server(extra=f"[imap]\nsort_cache_mib = {cache_mib}\n", shards=1)
    a = srv.login("alice")
    for subject, frm, to, cc, date, idate, msgid, refs, size in MESSAGES:
        assert a.append("INBOX", None, f'"{idate}"', raw_message(subject, frm, to, cc, date, msgid, refs, size))[0] == "OK"
    a.select("INBOX")
    assert sort_of(a, "(SUBJECT)") == [3, 4, 1, 2, 5]
    b = srv.login("bob")
    for s in ["zeta", "alpha", "mid"]:
        assert b.append("INBOX", None, None, raw_message(s, "x@y", "z@y", "", "", f"<{s}@b>", "", 10))[0] == "OK"
    b.select("INBOX")
    assert sort_of(b, "(SUBJECT)") == [2, 3, 1]
    assert sort_of(a, "(SUBJECT)") == [3, 4, 1, 2, 5]
    assert a.append("INBOX", None, None, raw_message("Apple", "x@y", "z@y", "", "", "<f@x>", "", 10))[0] == "OK"
    a.noop()
    assert sort_of(a, "(SUBJECT)") == [6, 3, 4, 1, 2, 5]
    a.store("3", "+FLAGS", "(\\Deleted)")
    a.expunge()
    assert sort_of(a, "(SUBJECT)") == [5, 3, 1, 2, 4]
    # "Apple" has no Date header: its internal date (now) is the newest.
    assert sort_of(a, "(REVERSE DATE)") == [5, 4, 1, 2, 3]
    # A mailbox deleted and made again under the same name is a new one.
    a.create("Again")
    a.select("Again")
    assert a.append("Again", None, None, raw_message("b", "x@y", "z@y", "", "", "<g1@x>", "", 10))[0] == "OK"
    assert a.append("Again", None, None, raw_message("a", "x@y", "z@y", "", "", "<g2@x>", "", 10))[0] == "OK"
    a.noop()
    assert sort_of(a, "(SUBJECT)") == [2, 1]
    a.select("INBOX")
    assert a.delete("Again")[0] == "OK"
    a.create("Again")
    a.select("Again")
    assert a.append("Again", None, None, raw_message("a", "x@y", "z@y", "", "", "<h1@x>", "", 10))[0] == "OK"
    assert a.append("Again", None, None, raw_message("b", "x@y", "z@y", "", "", "<h2@x>", "", 10))[0] == "OK"
    a.noop()
    assert sort_of(a, "(SUBJECT)") == [1, 2]
    a.logout()
    b.logout()


def test_thread_of_a_very_deep_reply_chain(make_server):
    # 30,000 messages, each replying to the one before: a client can make
    # such a mailbox, and threading it must neither exhaust the server's
    # stack nor take quadratic time. One thread, in order.
    srv = make_server(shards=1)
    n = 30_000
    r = Raw(srv.imap_port, timeout=120)
    _, t = r.cmd("l", f'LOGIN alice "{PW}"')
    assert t.startswith(b"l OK"), t
    batch = 500
    for start in range(0, n, batch):
        out = bytearray()
        for i in range(start, min(n, start + batch)):
            parent = f"References: <m{i - 1}@x>\r\n" if i else ""
            m = f"Subject: chain\r\nMessage-ID: <m{i}@x>\r\n{parent}Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nx\r\n".encode()
            out += f"a{i} APPEND INBOX {{{len(m)}+}}\r\n".encode() + m + b"\r\n"
        r.send(bytes(out))
        for i in range(start, min(n, start + batch)):
            _, t = r.until(f"a{i}")
            assert t.startswith(f"a{i} OK".encode()), t
    _, t = r.cmd("s", "EXAMINE INBOX")
    assert t.startswith(b"s OK"), t
    for alg in ["REFERENCES", "REFERENCES"]:
        untagged, t = r.cmd("t", f"UID THREAD {alg} UTF-8 ALL")
        assert t.startswith(b"t OK"), t
        assert untagged == [b"* THREAD (" + b" ".join(str(u).encode() for u in range(1, n + 1)) + b")\r\n"]
    untagged, t = r.cmd("o", "THREAD ORDEREDSUBJECT UTF-8 ALL")
    assert t.startswith(b"o OK"), t
    assert untagged == [b"* THREAD (1 " + b"".join(f"({i})".encode() for i in range(2, n + 1)) + b")\r\n"]
    r.close()
