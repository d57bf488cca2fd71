"""CATENATE (RFC 4469): APPEND builds a message from literal text and from
messages or parts of messages already stored, named by relative IMAP URLs
(RFC 5092), byte for byte; a URL that names nothing gets NO [BADURL url] and
nothing is saved; URLAUTH and absolute URLs are not served."""

import re

from conftest import USERS, Raw

PW = USERS["alice"]

HEADER = (
    b"From: a@example.org\r\nTo: b@example.org\r\nSubject: orig\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
)
PART1_MIME = b"Content-Type: text/plain\r\n\r\n"
PART1 = b"hello there"
PART2_MIME = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
PART2 = b"AAECAwQFBgcICQ=="
ORIGINAL = (
    HEADER
    + b"--XX\r\n" + PART1_MIME + PART1 + b"\r\n"
    + b"--XX\r\n" + PART2_MIME + PART2 + b"\r\n"
    + b"--XX--\r\n"
)


def login(port):
    r = Raw(port)
    _, t = r.cmd("l", f'LOGIN alice "{PW}"')
    assert t.startswith(b"l OK"), t
    return r


def ok(reply, tag):
    untagged, t = reply
    assert t.startswith(f"{tag} OK".encode()), t
    return untagged, t


def append_raw(r, tag, mailbox, body):
    r.send(f"{tag} APPEND {mailbox} {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    return ok(r.until(tag), tag)


def uidvalidity(r, mailbox):
    untagged, _ = ok(r.cmd("st", f"STATUS {mailbox} (UIDVALIDITY)"), "st")
    return int(re.search(rb"UIDVALIDITY (\d+)", untagged[0]).group(1))


def count(r, mailbox):
    untagged, _ = ok(r.cmd("st", f"STATUS {mailbox} (MESSAGES)"), "st")
    return int(re.search(rb"MESSAGES (\d+)", untagged[0]).group(1))


def body_of(r, mailbox, uid):
    ok(r.cmd("ex", f"EXAMINE {mailbox}"), "ex")
    r.send(f"f UID FETCH {uid} BODY.PEEK[]\r\n")
    line = r.line()
    m = re.search(rb"\{(\d+)\}\r\n$", line)
    assert m, line
    data = r.f.read(int(m.group(1)))
    rest, t = r.until("f")
    assert t.startswith(b"f OK"), t
    return data


def literal(data):
    return f"{{{len(data)}+}}\r\n".encode() + data


def test_forward_built_from_parts(server):
    r = login(server.imap_port)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" CATENATE" in caps[0], caps
    append_raw(r, "a0", "INBOX", ORIGINAL)
    uv = uidvalidity(r, "INBOX")
    # The server's own idea of the parts matches the test's.
    assert body_of(r, "INBOX", 1) == ORIGINAL
    url = f"/INBOX;UIDVALIDITY={uv}/;UID=1"
    intro = b"--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
    # A synchronizing literal in the middle: the server asks for it.
    r.send(
        f'a1 APPEND Drafts (\\Draft) CATENATE (URL "{url}/;SECTION=HEADER" TEXT {{{len(intro)}}}\r\n'.encode()
    )
    assert r.line().startswith(b"+ "), "no continuation for the TEXT literal"
    r.send(
        intro
        + f' URL "{url}/;SECTION=2.MIME" URL "{url}/;section=2" TEXT '.encode()
        + literal(b"\r\n--XX--\r\n")
        + b")\r\n"
    )
    untagged, t = r.until("a1")
    assert untagged == [], untagged
    dv = uidvalidity(r, "Drafts")
    assert t == f"a1 OK [APPENDUID {dv} 1] APPEND completed\r\n".encode(), t
    expected = HEADER + intro + PART2_MIME + PART2 + b"\r\n--XX--\r\n"
    assert body_of(r, "Drafts", 1) == expected
    # The flags of the APPEND apply.
    untagged, _ = ok(r.cmd("fl", "UID FETCH 1 FLAGS"), "fl")
    assert b"\\Draft" in untagged[0], untagged


def test_whole_message_partial_and_encoded_names(server):
    r = login(server.imap_port)
    append_raw(r, "a0", "INBOX", ORIGINAL)
    ok(r.cmd("cr", 'CREATE "Old Mail"'), "cr")
    ok(r.cmd("s", "SELECT INBOX"), "s")
    ok(r.cmd("cp", 'UID COPY 1 "Old Mail"'), "cp")
    r.send(
        b'a1 APPEND INBOX CATENATE (URL "/Old%20Mail/;UID=1" URL "/INBOX/;UID=1/;PARTIAL=0.10"'
        b' URL "/INBOX/;UID=1/;SECTION=1/;PARTIAL=6" URL "/INBOX/;UID=1/;PARTIAL=100000.5")\r\n'
    )
    _, t = ok(r.until("a1"), "a1")
    assert b"[APPENDUID " in t and t.split(b"]")[0].endswith(b" 2"), t
    assert body_of(r, "INBOX", 2) == ORIGINAL + ORIGINAL[:10] + PART1[6:]
    # MULTIAPPEND with a plain message and a CATENATE one.
    r.send(b"a2 APPEND INBOX " + literal(b"Subject: x\r\n\r\nx\r\n") + b' CATENATE (TEXT ' + literal(b"Subject: y\r\n\r\n") + b' URL "/INBOX/;UID=1/;SECTION=1")\r\n')
    _, t = ok(r.until("a2"), "a2")
    assert b" 3:4]" in t, t
    assert body_of(r, "INBOX", 4) == b"Subject: y\r\n\r\n" + PART1


def test_urls_that_name_nothing(server, make_server):
    r = login(server.imap_port)
    append_raw(r, "a0", "INBOX", ORIGINAL)
    uv = uidvalidity(r, "INBOX")
    bad = [
        f"/INBOX;UIDVALIDITY={uv + 1}/;UID=1",
        "/INBOX/;UID=99",
        "/Nowhere/;UID=1",
        "imap://alice@127.0.0.1/INBOX/;UID=1",
        "/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123456789abcdef",
        "/INBOX/;UID=1/;SECTION=9",
        "/INBOX/;UID=1/;SECTION=1.2.3",
        "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(FROM)",
        "INBOX/;UID=1",
    ]
    for i, url in enumerate(bad):
        # The good URL first: a later failure still saves nothing.
        _, t = r.cmd(f"b{i}", f'APPEND Drafts CATENATE (URL "/INBOX/;UID=1" TEXT {{2+}}\r\nxx URL "{url}")')
        assert t.startswith(f"b{i} NO [BADURL {url}] ".encode()), (url, t)
    # One bad message in a MULTIAPPEND: neither is saved.
    r.send(b"m APPEND Drafts " + literal(b"Subject: ok\r\n\r\nok\r\n") + b' CATENATE (URL "/INBOX/;UID=42")\r\n')
    _, t = r.until("m")
    assert t.startswith(b"m NO [BADURL /INBOX/;UID=42] "), t
    assert count(r, "Drafts") == 0
    # Another user's mail cannot be named: bob's INBOX is not alice's.
    b = Raw(server.imap_port)
    _, t = b.cmd("l", f'LOGIN bob "{USERS["bob"]}"')
    assert t.startswith(b"l OK"), t
    _, t = b.cmd("x", 'APPEND INBOX CATENATE (URL "/INBOX/;UID=1")')
    assert t.startswith(b"x NO [BADURL /INBOX/;UID=1] "), t
    # The target must exist; the URL's mailbox need not be selected.
    _, t = r.cmd("t", 'APPEND Missing CATENATE (URL "/INBOX/;UID=1")')
    assert t.startswith(b"t NO [TRYCREATE] "), t
    # Grammar errors are BAD.
    for i, args in enumerate(["CATENATE ()", 'CATENATE (URL)', 'CATENATE (TEXT "abc")', 'CATENATE (BODY "/INBOX/;UID=1")', 'CATENATE URL "/INBOX/;UID=1"']):
        _, t = r.cmd(f"g{i}", f"APPEND Drafts {args}")
        assert t.startswith(f"g{i} BAD ".encode()), (args, t)
    # An empty result is refused like an empty APPEND.
    _, t = r.cmd("e", 'APPEND Drafts CATENATE (URL "/INBOX/;UID=1/;PARTIAL=100000")')
    assert t.startswith(b"e NO "), t
    assert count(r, "Drafts") == 0
    # The session still works.
    ok(r.cmd("n", "NOOP"), "n")


def test_too_big_and_disabled(make_server):
    srv = make_server("[limits]\nmax_literal_size = 700\n")

    r = login(srv.imap_port)
    append_raw(r, "a0", "INBOX", ORIGINAL)
    assert len(ORIGINAL) * 3 > 700 > len(ORIGINAL) * 2
    _, t = r.cmd("a1", 'APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")')
    assert t.startswith(b"a1 OK"), t
    _, t = r.cmd("a2", 'APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")')
    assert t.startswith(b"a2 NO [TOOBIG] "), t
    assert count(r, "INBOX") == 2

    off = make_server('[imap]\ndisable = ["CATENATE"]\n')

    r = login(off.imap_port)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"CATENATE" not in caps[0], caps
    append_raw(r, "a0", "INBOX", ORIGINAL)
    _, t = r.cmd("a1", 'APPEND INBOX CATENATE (URL "/INBOX/;UID=1")')
    assert t.startswith(b"a1 BAD "), t
    assert count(r, "INBOX") == 1
