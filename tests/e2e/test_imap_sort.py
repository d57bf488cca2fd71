"""SORT, SORT=DISPLAY, ESORT and THREAD (RFC 5256, 5957, 5267) through
Python's imaplib (its sort() and thread()) and raw commands for ESORT
and the refusals."""

import imaplib
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
