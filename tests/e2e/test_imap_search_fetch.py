"""SEARCH / UID SEARCH (+ ESEARCH, SEARCHRES) and FETCH / UID FETCH (+ BINARY)
over a fixed set of messages (RFC 9051 §6.4.4-6.4.5, §7.5.2, RFC 4731,
RFC 5182, RFC 3516)."""

import base64
import re

import pytest

from conftest import USERS, Raw, Server
from test_imap_util import append_raw, literal_fetch, login_raw, ok, status_items

ATTACHMENT = bytes(range(256)) * 3

M1 = (
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: Lunch plans\r\n"
    b"Date: Fri, 01 Jan 2021 09:30:00 +0000\r\n"
    b"Message-ID: <m1@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Let's get pizza\r\n"
    b"at noon.\r\n"
)

# The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1).
M2_TEXT = b"See attached report"
M2 = (
    b"From: Carol <carol@example.com>\r\n"
    b"To: alice@example.org, Dan <dan@example.net>\r\n"
    b"Cc: bob@example.org\r\n"
    b"Subject: Quarterly report\r\n"
    b"Date: Wed, 15 Jun 2022 12:00:00 +0200\r\n"
    b"Message-ID: <m2@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"preamble\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n" + M2_TEXT + b"\r\n--b1\r\n"
    b"Content-Type: application/octet-stream; name=r.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=r.bin\r\n"
    b"\r\n"
    + b"\r\n".join(
        base64.b64encode(ATTACHMENT)[i : i + 76] for i in range(0, len(base64.b64encode(ATTACHMENT)), 76)
    )
    + b"\r\n--b1--\r\n"
)

M3 = (
    b"From: Bob <bob@example.org>\r\n"
    b"To: Alice Example <alice@example.org>\r\n"
    b"Subject: Re: Lunch plans\r\n"
    b"Date: Mon, 20 Mar 2023 08:00:00 -0500\r\n"
    b"X-Priority: 1\r\n"
    b"In-Reply-To: <m1@example.org>\r\n"
    b"\r\n" + b"Sounds good. " * 400 + b"\r\n"
)

M4 = (
    b"From: dave@example.net\r\n"
    b"To: alice@example.org\r\n"
    b"Subject: Invoice 42\r\n"
    b"Date: Sun, 05 May 2024 23:59:59 +0000\r\n"
    b"\r\n"
    b"Amount due: 10 EUR\r\n"
)

M5 = (
    b"From: =?utf-8?q?Eve_M=C3=BCller?= <eve@example.net>\r\n"
    b"To: alice@example.org\r\n"
    b"Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n"
    b"Date: Tue, 10 Sep 2024 10:00:00 +0000\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + base64.b64encode("Viele Grüße aus Köln\r\n".encode()) + b"\r\n"
)

MSGS = [
    (M1, "\\Seen", "01-Jan-2021 10:00:00 +0000"),
    (M2, "\\Flagged", "15-Jun-2022 10:00:00 +0000"),
    (M3, "\\Answered \\Seen", "20-Mar-2023 13:00:00 +0000"),
    (M4, "\\Deleted $Billing", "05-May-2024 12:00:00 +0000"),
    (M5, "", "10-Sep-2024 10:00:00 +0000"),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("imap-search-fetch"), extra="[auth]\nfailure_delay_ms = 10\n")
    s.start()
    # Built by hand: the `raw` fixture is per test, this set-up is per module.
    # "sf": the five messages with UIDs 1..5. "sf2": the same after an expunge of a
    # first message, so UIDs (2..6) differ from sequence numbers (1..5).
    r = Raw(s.imap_port)
    _, t = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    ok(t, "l")
    for box in ("sf", "sf2"):
        ok(r.cmd("c", f"CREATE {box}")[1], "c")
    ok(append_raw(r, "z", "sf2", b"Subject: gone\r\n\r\nx\r\n")[1], "z")
    for box in ("sf", "sf2"):
        for i, (m, flags, date) in enumerate(MSGS):
            ok(append_raw(r, f"a{i}", box, m, flags=flags, date=date)[1], f"a{i}")
    ok(r.cmd("s", "SELECT sf2")[1], "s")
    ok(r.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1], "d")
    ok(r.cmd("e", "UID EXPUNGE 1")[1], "e")
    r.cmd("o", "LOGOUT")
    r.close()
    yield s
    s.stop()


def session(raw, srv, box="sf", examine=True):
    r = login_raw(raw, srv)
    ok(r.cmd("s", f"{'EXAMINE' if examine else 'SELECT'} {box}")[1], "s")
    return r


def search(r, criteria, tag="q", uid=False):
    """Numbers of one `* SEARCH` response."""
    untagged, tagged = r.cmd(tag, f"{'UID ' if uid else ''}SEARCH {criteria}")
    ok(tagged, tag)
    lines = [u for u in untagged if u.startswith(b"* SEARCH")]
    assert len(lines) == 1, (criteria, untagged)
    assert lines[0].endswith(b"\r\n")
    return [int(x) for x in lines[0][len(b"* SEARCH") :].split()]


# --- SEARCH -----------------------------------------------------------------------------------

CASES = [
    ("ALL", [1, 2, 3, 4, 5]),
    ("SEEN", [1, 3]),
    ("UNSEEN", [2, 4, 5]),
    ("FLAGGED", [2]),
    ("UNFLAGGED", [1, 3, 4, 5]),
    ("ANSWERED", [3]),
    ("DELETED", [4]),
    ("UNDELETED", [1, 2, 3, 5]),
    ("DRAFT", []),
    ("KEYWORD $Billing", [4]),
    ("UNKEYWORD $Billing", [1, 2, 3, 5]),
    ("KEYWORD $Nothing", []),
    ("FROM carol", [2]),
    ("FROM example.org", [1, 3]),
    ('FROM "Alice Example"', [1]),
    ("TO alice@example.org", [2, 3, 4, 5]),
    ("CC bob", [2]),
    ("SUBJECT lunch", [1, 3]),
    ('SUBJECT "re: lunch"', [3]),
    ("BODY pizza", [1]),
    ('BODY "attached report"', [2]),
    ("BODY carol", []),
    ("TEXT carol", [2]),
    ("TEXT pizza", [1]),
    ("HEADER X-Priority 1", [3]),
    ('HEADER X-Priority ""', [3]),
    ("HEADER In-Reply-To m1@example.org", [3]),
    ("BEFORE 1-Jan-2022", [1]),
    ("ON 15-Jun-2022", [2]),
    ("SINCE 1-Jan-2023", [3, 4, 5]),
    ("SENTBEFORE 2-Jan-2021", [1]),
    ("SENTON 15-Jun-2022", [2]),
    ("SENTSINCE 5-May-2024", [4, 5]),
    (f"LARGER {len(M3) - 1}", [3]),
    (f"SMALLER {len(M4) + 1}", [4]),
    ("NOT SEEN", [2, 4, 5]),
    ("NOT FROM example.org", [2, 4, 5]),
    ("OR FLAGGED ANSWERED", [2, 3]),
    ("OR SUBJECT invoice OR FROM carol BODY pizza", [1, 2, 4]),
    ("SEEN SUBJECT lunch NOT ANSWERED", [1]),
    ("(OR SEEN FLAGGED) UNANSWERED", [1, 2]),
    ("2:4", [2, 3, 4]),
    ("2:4 UNSEEN", [2, 4]),
    ("*", [5]),
    ("UID 1,5", [1, 5]),
    ("NOT 1:3", [4, 5]),
    ("SUBJECT nothing-matches-this", []),
]


@pytest.mark.parametrize("criteria,expect", CASES, ids=[c for c, _ in CASES])
def test_search(srv, raw, criteria, expect):
    r = session(raw, srv)
    assert search(r, criteria) == expect
    # The same in the mailbox where UIDs are one above sequence numbers.
    r2 = session(raw, srv, "sf2")
    crit2 = criteria
    if criteria.startswith("UID "):
        crit2 = "UID 2,6"
    assert search(r2, crit2) == expect, "sequence numbers in sf2"
    assert search(r2, crit2, uid=True) == [n + 1 for n in expect], "UID SEARCH in sf2"


def test_search_charset_utf8(srv, raw):
    r = session(raw, srv)
    subj = "Grüße".encode()
    r.send(b"q SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n" % len(subj) + subj + b"\r\n")
    untagged, tagged = r.until("q")
    ok(tagged, "q")
    assert untagged == [b"* SEARCH 5\r\n"], untagged
    body = "Köln".encode()
    r.send(b"q2 SEARCH CHARSET UTF-8 BODY {%d+}\r\n" % len(body) + body + b"\r\n")
    untagged, tagged = r.until("q2")
    assert untagged == [b"* SEARCH 5\r\n"], untagged
    # Encoded-word display names are matched decoded.
    name = "Müller".encode()
    r.send(b"q3 SEARCH CHARSET UTF-8 FROM {%d+}\r\n" % len(name) + name + b"\r\n")
    untagged, tagged = r.until("q3")
    ok(tagged, "q3")
    assert untagged == [b"* SEARCH 5\r\n"], untagged
    # Without CHARSET, a quoted UTF-8 string works too (RFC 9051 §6.4.4: UTF-8 is the default).
    assert search(r, 'SUBJECT "Grüße"', "q4") == [5]


def test_search_bad_charset(srv, raw):
    r = session(raw, srv)
    _, tagged = r.cmd("q", "SEARCH CHARSET X-NOSUCH SUBJECT x")
    assert tagged.startswith(b"q NO [BADCHARSET"), tagged


def test_search_syntax_errors(srv, raw):
    r = session(raw, srv)
    for i, crit in enumerate(["NOTAKEY", "BEFORE 32-Foo-2020", "LARGER x", "OR SEEN", "(SEEN", ""]):
        _, tagged = r.cmd(f"q{i}", f"SEARCH {crit}".rstrip())
        assert tagged.startswith(f"q{i} BAD".encode()), (crit, tagged)


def test_esearch(srv, raw):
    r = session(raw, srv, "sf2")
    untagged, tagged = r.cmd("t1", "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    ok(tagged, "t1")
    assert untagged == [b'* ESEARCH (TAG "t1") MIN 2 MAX 5 COUNT 3 ALL 2,4:5\r\n'], untagged
    untagged, tagged = r.cmd("t2", "UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    ok(tagged, "t2")
    assert untagged == [b'* ESEARCH (TAG "t2") UID MIN 3 MAX 6 COUNT 3 ALL 3,5:6\r\n'], untagged
    untagged, tagged = r.cmd("t3", "SEARCH RETURN (COUNT) DRAFT")
    ok(tagged, "t3")
    assert untagged == [b'* ESEARCH (TAG "t3") COUNT 0\r\n'], untagged
    untagged, tagged = r.cmd("t4", "SEARCH RETURN (MIN MAX ALL) DRAFT")
    ok(tagged, "t4")
    # RFC 4731 §3.1: no MIN/MAX/ALL for an empty result.
    assert untagged == [b'* ESEARCH (TAG "t4")\r\n'], untagged
    untagged, tagged = r.cmd("t5", "SEARCH RETURN () SEEN")
    ok(tagged, "t5")
    assert untagged == [b'* ESEARCH (TAG "t5") ALL 1,3\r\n'], untagged


def test_searchres_save(srv, raw):
    r = session(raw, srv, "sf2")
    untagged, tagged = r.cmd("s1", "SEARCH RETURN (SAVE) OR FLAGGED DELETED")
    ok(tagged, "s1")
    # SAVE alone returns nothing (RFC 5182 §2.1).
    assert untagged == [], untagged
    untagged, tagged = r.cmd("f", "FETCH $ (UID)")
    ok(tagged, "f")
    assert untagged == [b"* 2 FETCH (UID 3)\r\n", b"* 4 FETCH (UID 5)\r\n"], untagged
    assert search(r, "UID $", "s2", uid=True) == [3, 5]
    assert search(r, "$ SEEN", "s3") == []
    assert search(r, "NOT $", "s4") == [1, 3, 5]
    untagged, tagged = r.cmd("s5", "UID SEARCH RETURN (SAVE MIN) SEEN")
    ok(tagged, "s5")
    assert untagged == [b'* ESEARCH (TAG "s5") UID MIN 2\r\n'], untagged
    # With MIN, only the minimum is saved (RFC 5182 §2.1).
    assert search(r, "$", "s6") == [1]
    # Re-selecting resets $ to empty (RFC 5182 §2.1).
    ok(r.cmd("s7", "EXAMINE sf2")[1], "s7")
    assert search(r, "$", "s8") == []


def test_searchres_unset_is_empty(srv, raw):
    r = session(raw, srv)
    untagged, tagged = r.cmd("f", "FETCH $ UID")
    ok(tagged, "f")
    assert untagged == [], untagged


def test_imaplib_search(srv):
    c = srv.login("alice")
    c.select("sf2", readonly=True)
    typ, data = c.search(None, "SUBJECT", "lunch")
    assert (typ, data) == ("OK", [b"1 3"])
    typ, data = c.uid("SEARCH", "SUBJECT", "lunch")
    assert (typ, data) == ("OK", [b"2 4"])
    c.logout()


# --- FETCH ----------------------------------------------------------------------------------


def fetch(r, tag, command):
    return literal_fetch(r, tag, command)


def test_fetch_flags_date_size_uid(srv, raw):
    r = session(raw, srv, "sf2")
    untagged, tagged = r.cmd("f", "FETCH 1:5 (UID FLAGS INTERNALDATE RFC822.SIZE)")
    ok(tagged, "f")
    assert len(untagged) == 5
    for i, (u, (m, flags, date)) in enumerate(zip(untagged, MSGS), start=1):
        text = u.decode()
        assert text.startswith(f"* {i} FETCH ("), text
        assert re.search(rf"\bUID {i + 1}\b", text), text
        got = set(re.search(r"FLAGS \(([^)]*)\)", text).group(1).split()) - {"\\Recent"}
        assert got == set(flags.split()), text
        assert f'INTERNALDATE "{date}"' in text, text
        assert re.search(rf"RFC822\.SIZE {len(m)}\b", text), text


def test_uid_fetch_includes_uid(srv, raw):
    r = session(raw, srv, "sf2")
    untagged, tagged = r.cmd("f", "UID FETCH 3:4 FLAGS")
    ok(tagged, "f")
    assert len(untagged) == 2
    assert untagged[0].startswith(b"* 2 FETCH (") and b"UID 3" in untagged[0], untagged
    assert untagged[1].startswith(b"* 3 FETCH (") and b"UID 4" in untagged[1], untagged
    untagged, tagged = r.cmd("f2", "UID FETCH 1 FLAGS")
    ok(tagged, "f2")
    assert untagged == [], "UID 1 was expunged"
    untagged, tagged = r.cmd("f3", "UID FETCH 6:* UID")
    assert untagged == [b"* 5 FETCH (UID 6)\r\n"], untagged
    # n:* with n above the highest UID still names the highest (RFC 9051 §6.4.8).
    untagged, tagged = r.cmd("f4", "UID FETCH 100:* UID")
    assert untagged == [b"* 5 FETCH (UID 6)\r\n"], untagged


def test_fetch_envelope(srv, raw):
    r = session(raw, srv)
    untagged, tagged = r.cmd("f", "FETCH 1 ENVELOPE")
    ok(tagged, "f")
    assert untagged == [
        b'* 1 FETCH (ENVELOPE ("Fri, 01 Jan 2021 09:30:00 +0000" "Lunch plans" '
        b'(("Alice Example" NIL "alice" "example.org")) '
        b'(("Alice Example" NIL "alice" "example.org")) '
        b'(("Alice Example" NIL "alice" "example.org")) '
        b'((NIL NIL "bob" "example.org")) NIL NIL NIL "<m1@example.org>"))\r\n'
    ], untagged
    untagged, tagged = r.cmd("f2", "FETCH 2 ENVELOPE")
    ok(tagged, "f2")
    assert untagged == [
        b'* 2 FETCH (ENVELOPE ("Wed, 15 Jun 2022 12:00:00 +0200" "Quarterly report" '
        b'(("Carol" NIL "carol" "example.com")) '
        b'(("Carol" NIL "carol" "example.com")) '
        b'(("Carol" NIL "carol" "example.com")) '
        b'((NIL NIL "alice" "example.org")("Dan" NIL "dan" "example.net")) '
        b'((NIL NIL "bob" "example.org")) NIL NIL "<m2@example.com>"))\r\n'
    ], untagged
    untagged, tagged = r.cmd("f3", "FETCH 3 ENVELOPE")
    assert b'"<m1@example.org>" NIL))' in untagged[0], untagged


def test_fetch_body_and_bodystructure_single_part(srv, raw):
    r = session(raw, srv)
    body = M1.split(b"\r\n\r\n", 1)[1]
    lines = body.count(b"\r\n")
    untagged, tagged = r.cmd("f", "FETCH 1 (BODY BODYSTRUCTURE)")
    ok(tagged, "f")
    got = untagged[0].upper()
    assert b'BODY ("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "7BIT" %d %d)' % (len(body), lines) in got, got
    assert b'BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "7BIT" %d %d NIL NIL NIL NIL)' % (
        len(body),
        lines,
    ) in got, got


def test_fetch_bodystructure_multipart(srv, raw):
    r = session(raw, srv)
    untagged, tagged = r.cmd("f", "FETCH 2 BODYSTRUCTURE")
    ok(tagged, "f")
    got = untagged[0].upper()
    b64_part = M2.split(b"filename=r.bin\r\n\r\n", 1)[1].split(b"\r\n--b1--", 1)[0]
    head = b'* 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" %d ' % len(M2_TEXT)
    # The part has no line break of its own: 0 lines (Dovecot counts LFs), or 1.
    assert got.startswith(head + b"0 NIL NIL NIL NIL)") or got.startswith(head + b"1 NIL NIL NIL NIL)"), got
    assert b'("APPLICATION" "OCTET-STREAM" ("NAME" "R.BIN") NIL NIL "BASE64" %d NIL ("ATTACHMENT" ("FILENAME" "R.BIN")) NIL NIL)' % len(
        b64_part
    ) in got, got
    assert b'"MIXED" ("BOUNDARY" "B1") NIL NIL NIL))\r\n' in got, got
    untagged, tagged = r.cmd("f2", "FETCH 2 BODY")
    got = untagged[0].upper()
    assert got.endswith(b'"MIXED"))\r\n'), got


def test_fetch_body_sections(srv, raw):
    r = session(raw, srv)
    header, text = M1.split(b"\r\n\r\n", 1)
    out = fetch(r, "f", "FETCH 1 (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
    assert b"BODY[] {%d}\r\n" % len(M1) + M1 in out, out
    assert b"BODY[HEADER] {%d}\r\n" % (len(header) + 4) + header + b"\r\n\r\n" in out, out
    assert b"BODY[TEXT] {%d}\r\n" % len(text) + text in out, out
    assert out.endswith(b"f OK Fetch completed.\r\n") or out.split(b"\r\n")[-2].startswith(b"f OK")


def test_fetch_header_fields(srv, raw):
    r = session(raw, srv)
    out = fetch(r, "f", "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT FROM X-NONE)]")
    want = b"From: Alice Example <alice@example.org>\r\nSubject: Lunch plans\r\n\r\n"
    assert b"BODY[HEADER.FIELDS (SUBJECT FROM X-NONE)] {%d}\r\n" % len(want) + want in out, out
    out = fetch(r, "f2", "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (FROM TO SUBJECT DATE)]")
    want = b"Message-ID: <m1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    assert b" {%d}\r\n" % len(want) + want in out, out
    # Header field names are case-insensitive.
    out = fetch(r, "f3", "FETCH 3 BODY.PEEK[HEADER.FIELDS (x-priority)]")
    assert b"{17}\r\nX-Priority: 1\r\n\r\n" in out, out


def test_fetch_mime_parts(srv, raw):
    r = session(raw, srv)
    out = fetch(r, "f", "FETCH 2 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2])")
    assert b"BODY[1] {%d}\r\n" % len(M2_TEXT) + M2_TEXT in out, out
    mime = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    assert b"BODY[1.MIME] {%d}\r\n" % len(mime) + mime in out, out
    part2 = M2.split(b"filename=r.bin\r\n\r\n", 1)[1].split(b"\r\n--b1--", 1)[0]
    assert b"BODY[2] {%d}\r\n" % len(part2) + part2 in out, out
    # Part 1 of a single-part message is its body.
    out = fetch(r, "f2", "FETCH 1 BODY.PEEK[1]")
    text = M1.split(b"\r\n\r\n", 1)[1]
    assert b"BODY[1] {%d}\r\n" % len(text) + text in out, out
    # A part that does not exist: empty (Dovecot) or NIL.
    out = fetch(r, "f3", "FETCH 2 BODY.PEEK[7]")
    assert b"BODY[7] NIL" in out or b'BODY[7] ""' in out or b"BODY[7] {0}" in out, out


def test_fetch_partial(srv, raw):
    r = session(raw, srv)
    out = fetch(r, "f", "FETCH 1 BODY.PEEK[]<0.10>")
    assert b"BODY[]<0> {10}\r\n" + M1[:10] in out, out
    out = fetch(r, "f2", "FETCH 1 BODY.PEEK[TEXT]<4.5>")
    text = M1.split(b"\r\n\r\n", 1)[1]
    assert b"BODY[TEXT]<4> {5}\r\n" + text[4:9] in out, out
    out = fetch(r, "f3", f"FETCH 1 BODY.PEEK[]<{len(M1) - 3}.100>")
    assert b"BODY[]<%d> {3}\r\n" % (len(M1) - 3) + M1[-3:] in out, out
    out = fetch(r, "f4", f"FETCH 1 BODY.PEEK[]<{len(M1) + 10}.5>")
    assert b'BODY[]<%d> ""' % (len(M1) + 10) in out or b"BODY[]<%d> {0}\r\n" % (len(M1) + 10) in out, out


def test_fetch_binary(srv, raw):
    r = session(raw, srv)
    out = fetch(r, "f", "FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[2])")
    assert b"BINARY.SIZE[2] %d" % len(ATTACHMENT) in out, out
    # Decoded content with NULs goes as a literal8 (RFC 3516 §4.2).
    assert b"BINARY[2] ~{%d}\r\n" % len(ATTACHMENT) + ATTACHMENT in out, out
    out = fetch(r, "f2", "FETCH 5 (BINARY.SIZE[1] BINARY.PEEK[1])")
    plain = "Viele Grüße aus Köln\r\n".encode()
    assert b"BINARY.SIZE[1] %d" % len(plain) in out, out
    assert plain in out, out
    out = fetch(r, "f3", "FETCH 2 BINARY.PEEK[2]<0.4>")
    assert b"BINARY[2]<0> ~{4}\r\n" + ATTACHMENT[:4] in out or b"BINARY[2]<0> {4}\r\n" + ATTACHMENT[:4] in out, out


def test_fetch_macros(srv, raw):
    r = session(raw, srv)
    untagged, tagged = r.cmd("f", "FETCH 1 FAST")
    ok(tagged, "f")
    text = untagged[0].decode()
    for item in ("FLAGS", "INTERNALDATE", "RFC822.SIZE"):
        assert item in text, text
    assert "ENVELOPE" not in text
    untagged, tagged = r.cmd("f2", "FETCH 1 ALL")
    assert "ENVELOPE" in untagged[0].decode()
    untagged, tagged = r.cmd("f3", "FETCH 1 FULL")
    assert "BODY (" in untagged[0].decode()


def test_body_peek_vs_body_seen(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE seenbox")[1], "c")
    ok(append_raw(r, "a", "seenbox", M4)[1], "a")
    ok(append_raw(r, "a2", "seenbox", M1)[1], "a2")
    ok(r.cmd("s", "SELECT seenbox")[1], "s")
    out = fetch(r, "f", "FETCH 1 BODY.PEEK[]")
    assert b"\\Seen" not in out, out
    untagged, _ = r.cmd("f2", "FETCH 1 FLAGS")
    assert b"\\Seen" not in untagged[0], untagged
    out = fetch(r, "f3", "FETCH 1 BODY[]")
    # RFC 9051 §6.4.5: BODY[] sets \Seen, and the change is reported in the response.
    assert b"\\Seen" in out, out
    untagged, _ = r.cmd("f4", "FETCH 1 FLAGS")
    assert b"\\Seen" in untagged[0], untagged
    # BINARY[] also sets \Seen; BINARY.PEEK does not.
    fetch(r, "f5", "FETCH 2 BINARY.PEEK[1]")
    untagged, _ = r.cmd("f6", "FETCH 2 FLAGS")
    assert b"\\Seen" not in untagged[0], untagged
    fetch(r, "f7", "FETCH 2 BINARY[1]")
    untagged, _ = r.cmd("f8", "FETCH 2 FLAGS")
    assert b"\\Seen" in untagged[0], untagged
    # The flag is stored: another session sees it.
    r2 = login_raw(raw, srv)
    untagged, _ = r2.cmd("st", "STATUS seenbox (UNSEEN)")
    assert status_items(untagged[0]) == ("seenbox", {"UNSEEN": 0}), untagged


def test_fetch_rfc822_items(srv, raw):
    r = session(raw, srv)
    header, text = M4.split(b"\r\n\r\n", 1)
    out = fetch(r, "f", "FETCH 4 (RFC822.HEADER RFC822.TEXT)")
    assert b"RFC822.HEADER {%d}\r\n" % (len(header) + 4) + header + b"\r\n\r\n" in out, out
    assert b"RFC822.TEXT {%d}\r\n" % len(text) + text in out, out


def test_fetch_errors(srv, raw):
    r = session(raw, srv)
    for i, items in enumerate(["(NOSUCHITEM)", "BODY[HEADER.FIELDS]", "BODY[1.2.X]", "(FLAGS", "BODY[]<5>"]):
        _, tagged = r.cmd(f"e{i}", f"FETCH 1 {items}")
        assert tagged.startswith(f"e{i} BAD".encode()), (items, tagged)


def test_imaplib_fetch(srv):
    c = srv.login("alice")
    c.select("sf", readonly=True)
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    assert data[0][1] == b"Subject: Lunch plans\r\n\r\n", data
    typ, data = c.uid("FETCH", "2", "(BODY.PEEK[1])")
    assert typ == "OK" and data[0][1] == M2_TEXT, data
    assert b"UID 2" in data[0][0], data
    c.logout()


def test_large_message_roundtrip(srv, raw):
    # Larger than the server's output flush threshold and than one read.
    line = bytes(range(33, 127)) + b"\r\n"
    big = b"Subject: big\r\nFrom: big@example.org\r\n\r\n" + line * (3 * 1024 * 1024 // len(line))
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE bigbox")[1], "c")
    _, tagged = append_raw(r, "a", "bigbox", big)
    assert tagged.startswith(b"a OK [APPENDUID "), tagged
    ok(r.cmd("s", "EXAMINE bigbox")[1], "s")
    out = fetch(r, "f", "FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    assert b"RFC822.SIZE %d" % len(big) in out
    assert b"BODY[] {%d}\r\n" % len(big) + big + b")\r\n" in out
    off = 1_500_000
    out = fetch(r, "f2", f"FETCH 1 BODY.PEEK[TEXT]<{off}.70000>")
    text = big.split(b"\r\n\r\n", 1)[1]
    assert b"BODY[TEXT]<%d> {70000}\r\n" % off + text[off : off + 70000] in out
    # And by imaplib, which reads the literal its own way.
    c = srv.login("alice")
    c.select("bigbox", readonly=True)
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == big
    c.logout()


def test_fetch_several_messages_in_one_command(srv, raw):
    r = session(raw, srv)
    out = fetch(r, "f", "FETCH 1:5 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    heads = re.findall(rb"\* (\d+) FETCH \(UID (\d+) ", out)
    assert heads == [(b"%d" % i, b"%d" % i) for i in range(1, 6)], out
    assert out.count(b"Subject: ") == 5


def test_rev2_fetch_and_binary(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("e", "ENABLE IMAP4rev2")[1], "e")
    ok(r.cmd("s", "EXAMINE sf")[1], "s")
    out = fetch(r, "f", "FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[2])")
    assert b"BINARY.SIZE[2] %d" % len(ATTACHMENT) in out
    assert b"BINARY[2] ~{%d}\r\n" % len(ATTACHMENT) + ATTACHMENT in out, out[:300]
    untagged, tagged = r.cmd("f2", "FETCH 1 (FLAGS)")
    assert b"\\Recent" not in untagged[0], untagged


INNER = b"From: x@example.org\r\nSubject: inner one\r\n\r\ninner body text\r\n"
NESTED = (
    b"From: outer@example.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n'
    b"--zz\r\nContent-Type: text/plain\r\n\r\nintro\r\n"
    b"--zz\r\nContent-Type: message/rfc822\r\n\r\n" + INNER + b"\r\n--zz--\r\n"
)
HEADER_ONLY = b"Subject: no body here\r\nFrom: h@example.org\r\n"


def test_message_rfc822_parts(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE nested")[1], "c")
    ok(append_raw(r, "a", "nested", NESTED)[1], "a")
    ok(r.cmd("s", "EXAMINE nested")[1], "s")
    inner_head, inner_text = INNER.split(b"\r\n\r\n", 1)
    out = fetch(r, "f", "FETCH 1 (BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] BODY.PEEK[2])")
    assert b"BODY[2.HEADER] {%d}\r\n" % (len(inner_head) + 4) + inner_head + b"\r\n\r\n" in out, out
    assert b"BODY[2.TEXT] {%d}\r\n" % len(inner_text) + inner_text in out, out
    assert b"BODY[2.1] {%d}\r\n" % len(inner_text) + inner_text in out, out
    assert b"BODY[2] {%d}\r\n" % len(INNER) + INNER in out, out
    untagged, tagged = r.cmd("b", "FETCH 1 BODYSTRUCTURE")
    ok(tagged, "b")
    got = untagged[0].upper()
    # RFC 9051 §7.5.2: message/rfc822 carries the inner ENVELOPE, BODYSTRUCTURE and line count.
    m = re.search(rb'\("MESSAGE" "RFC822" NIL NIL NIL "7BIT" (\d+) \(NIL "INNER ONE" ', got)
    assert m and int(m.group(1)) == len(INNER), got
    assert b'(("TEXT" "PLAIN" ' in got and b'"MIXED"' in got, got
    assert search(r, 'BODY "inner body"') == [1]
    assert search(r, 'TEXT "inner one"', "q2") == [1]


def test_header_only_message(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE hdronly")[1], "c")
    ok(append_raw(r, "a", "hdronly", HEADER_ONLY)[1], "a")
    ok(r.cmd("s", "EXAMINE hdronly")[1], "s")
    out = fetch(r, "f", "FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[TEXT] ENVELOPE)")
    assert b"RFC822.SIZE %d" % len(HEADER_ONLY) in out, out
    assert b"BODY[HEADER] {%d}\r\n" % len(HEADER_ONLY) + HEADER_ONLY in out or (
        b"BODY[HEADER] {%d}\r\n" % (len(HEADER_ONLY) + 2) + HEADER_ONLY + b"\r\n" in out
    ), out
    assert b'BODY[TEXT] ""' in out or b"BODY[TEXT] {0}\r\n" in out, out
    assert b'"no body here"' in out and b"NIL" in out, out


def test_copy_into_selected_mailbox(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE selfcopy")[1], "c")
    ok(append_raw(r, "a", "selfcopy", M4)[1], "a")
    ok(r.cmd("s", "SELECT selfcopy")[1], "s")
    untagged, tagged = r.cmd("cp", "COPY 1 selfcopy")
    assert re.match(rb"cp OK \[COPYUID \d+ 1 2\]", tagged), tagged
    untagged2, _ = r.cmd("n", "NOOP")
    assert b"* 2 EXISTS\r\n" in b"".join(untagged + untagged2), (untagged, untagged2)
    untagged, _ = r.cmd("f", "FETCH 1:2 (UID RFC822.SIZE)")
    assert untagged == [b"* 1 FETCH (UID 1 RFC822.SIZE %d)\r\n" % len(M4), b"* 2 FETCH (UID 2 RFC822.SIZE %d)\r\n" % len(M4)], untagged


FOLDED = (
    b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"Subject: a subject that is\r\n folded over\r\n\ttwo more lines\r\n"
    b"Received: from c by d; Mon, 1 Jan 2024 00:00:01 +0000\r\n"
    b"From: f@example.org\r\n"
    b"\r\n"
    b"body\r\n"
)


def test_header_fields_folded_and_repeated(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE folded")[1], "c")
    ok(append_raw(r, "a", "folded", FOLDED)[1], "a")
    ok(r.cmd("s", "EXAMINE folded")[1], "s")
    out = fetch(r, "f", "FETCH 1 BODY.PEEK[HEADER.FIELDS (RECEIVED SUBJECT)]")
    want = b"".join(l + b"\r\n" for l in FOLDED.split(b"\r\n\r\n")[0].split(b"\r\n") if not l.startswith(b"From:")) + b"\r\n"
    assert b"{%d}\r\n" % len(want) + want in out, out
    untagged, _ = r.cmd("e", "FETCH 1 ENVELOPE")
    # The ENVELOPE subject is unfolded: CRLFs removed (RFC 5322 §2.2.3); the
    # folding tab may be kept or shown as a space.
    assert re.search(rb'"a subject that is folded over[\t ]two more lines"', untagged[0]), untagged
    assert search(r, 'SUBJECT "folded over"') == [1]


def test_multiappend_with_synchronizing_literals(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE multi-sync")[1], "c")
    a, b = M1, M4
    r.send(b"m APPEND multi-sync {%d}\r\n" % len(a))
    assert r.line().startswith(b"+")
    r.send(a + b" (\\Seen) {%d}\r\n" % len(b))
    assert r.line().startswith(b"+"), "no continuation for the second message"
    r.send(b + b"\r\n")
    _, tagged = r.until("m")
    assert re.match(rb"m OK \[APPENDUID \d+ 1:2\]", tagged), tagged
    ok(r.cmd("s", "EXAMINE multi-sync")[1], "s")
    out = fetch(r, "f", "FETCH 1:2 (FLAGS BODY.PEEK[])")
    assert b"{%d}\r\n" % len(a) + a in out and b"{%d}\r\n" % len(b) + b in out, out
