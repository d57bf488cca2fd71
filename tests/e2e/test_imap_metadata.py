"""METADATA and METADATA-SERVER (RFC 5464), LIST-METADATA (RFC 9590):
server and mailbox annotations set and read back exactly, DEPTH, MAXSIZE
and LONGENTRIES, NIL deletes, the configured limits and their response
codes, RENAME and DELETE, persistence across restart and compaction, and
the extensions switched off."""

import imaplib
import re

from conftest import USERS, Raw, raw_login as login, untagged_of_ok as ok

PW = USERS["alice"]

ADMIN = '[metadata]\nadmin = "mailto:postmaster@example.org"\n'
LIMITS = (
    ADMIN +
    "max_value_bytes = 64\n"
    "max_entries_per_mailbox = 4\n"
    "max_entries_per_user = 9\n"
    "max_total_bytes = 400\n"
    "max_entry_name = 40\n"
    "max_entry_depth = 4\n"
)


def answer(r, tag, cmd):
    """The untagged bytes, joined (literals span lines), and the tagged line."""
    untagged, t = r.cmd(tag, cmd)
    return b"".join(untagged), t


def caps(r):
    lines, _ = r.cmd("c", "CAPABILITY")
    return lines[0].split()


def test_server_and_mailbox_entries(make_server):
    srv = make_server(extra=ADMIN)
    r = login(srv)
    c = caps(r)
    assert b"METADATA" in c and b"METADATA-SERVER" in c and b"LIST-METADATA" in c, c

    # Server annotations: nothing yet but the administrator's address.
    assert answer(r, "g0", 'GETMETADATA "" /shared/comment') == (
        b'* METADATA "" (/shared/comment NIL)\r\n',
        b"g0 OK GETMETADATA completed\r\n",
    )
    assert answer(r, "g1", 'GETMETADATA "" /shared/admin') == (
        b'* METADATA "" (/shared/admin "mailto:postmaster@example.org")\r\n',
        b"g1 OK GETMETADATA completed\r\n",
    )
    assert r.cmd("s0", 'SETMETADATA "" (/shared/admin "mailto:me@example.org")') == (
        [],
        b"s0 NO [NOPERM] /shared/admin is set by the administrator\r\n",
    )
    ok(r.cmd("s1", 'SETMETADATA "" (/shared/comment "Say \\"hi\\"" /private/vendor/x/y "1")'), "s1",
       "SETMETADATA completed")
    # Names are case-insensitive and come back folded.
    assert answer(r, "g2", 'GETMETADATA "" (/Shared/Comment /private/vendor/x/y /private/none)') == (
        b'* METADATA "" (/shared/comment "Say \\"hi\\"" /private/vendor/x/y "1" /private/none NIL)\r\n',
        b"g2 OK GETMETADATA completed\r\n",
    )

    # Mailbox annotations: a quoted value, a literal with CRLF, a literal8
    # with NUL (sent back as literal8), an empty string.
    r.send(b'm1 SETMETADATA INBOX (/private/comment "mine" /shared/comment {7+}\r\nab\r\ncde'
           b" /private/bin ~{3+}\r\na\x00b /private/empty \"\")\r\n")
    assert r.until("m1") == ([], b"m1 OK SETMETADATA completed\r\n")
    assert answer(r, "g3", "GETMETADATA INBOX (/private/comment /shared/comment /private/bin /private/empty)") == (
        b'* METADATA "INBOX" (/private/comment "mine" /shared/comment {7}\r\nab\r\ncde'
        b' /private/bin ~{3}\r\na\x00b /private/empty "")\r\n',
        b"g3 OK GETMETADATA completed\r\n",
    )
    # The same names on the server and on another mailbox are separate.
    assert answer(r, "g4", 'GETMETADATA Sent /private/comment')[0] == b'* METADATA "Sent" (/private/comment NIL)\r\n'
    assert answer(r, "g5", 'GETMETADATA "" /private/comment')[0] == b'* METADATA "" (/private/comment NIL)\r\n'

    # DEPTH: 0 (the default) the entry only, 1 one level below, infinity all.
    ok(r.cmd("m2", "SETMETADATA INBOX (/private/a/b \"ab\" /private/a/b/c \"abc\")"), "m2")
    assert answer(r, "d0", "GETMETADATA (DEPTH 0) INBOX /private/a") == (
        b'* METADATA "INBOX" (/private/a NIL)\r\n',
        b"d0 OK GETMETADATA completed\r\n",
    )
    assert answer(r, "d1", "GETMETADATA (DEPTH 1) INBOX /private/a")[0] == b'* METADATA "INBOX" (/private/a/b "ab")\r\n'
    assert answer(r, "d2", "GETMETADATA (DEPTH infinity) INBOX /private/a")[0] == (
        b'* METADATA "INBOX" (/private/a/b "ab" /private/a/b/c "abc")\r\n'
    )
    # Each entry once, however often it is asked for.
    assert answer(r, "d3", "GETMETADATA (DEPTH infinity) INBOX (/private /private/comment)")[0] == (
        b'* METADATA "INBOX" (/private/a/b "ab" /private/a/b/c "abc" /private/bin ~{3}\r\na\x00b'
        b' /private/comment "mine" /private/empty "")\r\n'
    )
    assert answer(r, "d4", 'GETMETADATA (DEPTH 1) "" /shared')[0] == (
        b'* METADATA "" (/shared/admin "mailto:postmaster@example.org" /shared/comment "Say \\"hi\\"")\r\n'
    )

    # MAXSIZE: longer values are left out and the longest is reported.
    assert answer(r, "x1", "GETMETADATA (MAXSIZE 3 DEPTH infinity) INBOX (/private/a /shared/comment /private/comment)") == (
        b'* METADATA "INBOX" (/private/a/b "ab" /private/a/b/c "abc")\r\n',
        b"x1 OK [METADATA LONGENTRIES 7] GETMETADATA completed\r\n",
    )
    assert answer(r, "x2", "GETMETADATA (MAXSIZE 1) INBOX /private/comment") == (
        b"",
        b"x2 OK [METADATA LONGENTRIES 4] GETMETADATA completed\r\n",
    )

    # NIL deletes; deleting what is not there is fine.
    ok(r.cmd("n1", "SETMETADATA INBOX (/private/comment NIL /private/never NIL)"), "n1")
    assert answer(r, "n2", "GETMETADATA INBOX /private/comment")[0] == b'* METADATA "INBOX" (/private/comment NIL)\r\n'

    assert r.cmd("ne", "GETMETADATA Nope /private/comment") == ([], b"ne NO [NONEXISTENT] No such mailbox\r\n")
    assert r.cmd("ne2", 'SETMETADATA Nope (/private/comment "x")') == ([], b"ne2 NO [NONEXISTENT] No such mailbox\r\n")
    r.close()


def test_imaplib_drives_setmetadata_and_getmetadata(server):
    imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))
    imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))
    c = server.login("alice")
    typ, data = c._simple_command("SETMETADATA", "INBOX", '(/private/comment "from imaplib")')
    assert (typ, data) == ("OK", [b"SETMETADATA completed"])
    typ, data = c._simple_command("GETMETADATA", "INBOX", "/private/comment")
    assert typ == "OK"
    typ, data = c._untagged_response(typ, data, "METADATA")
    assert data == [b'"INBOX" (/private/comment "from imaplib")']
    c.logout()


def test_limits(make_server):
    srv = make_server(extra=LIMITS)
    r = login(srv)
    big = "v" * 65
    assert r.cmd("b1", f'SETMETADATA INBOX (/private/ok "1" /private/big "{big}")') == (
        [],
        b"b1 NO [METADATA MAXSIZE 64] Value larger than the server allows\r\n",
    )
    # All or nothing: the entry beside the refused one was not set.
    assert answer(r, "b2", "GETMETADATA INBOX /private/ok")[0] == b'* METADATA "INBOX" (/private/ok NIL)\r\n'
    ok(r.cmd("b3", f'SETMETADATA INBOX (/private/max "{"v" * 64}")'), "b3")

    ok(r.cmd("t1", 'SETMETADATA INBOX (/private/a "1" /private/b "2" /private/c "3")'), "t1")
    assert r.cmd("t2", 'SETMETADATA INBOX (/private/d "4")') == (
        [],
        b"t2 NO [METADATA TOOMANY] At most 4 entries per mailbox and on the server\r\n",
    )
    # Replacing and deleting within the limit is fine.
    ok(r.cmd("t3", 'SETMETADATA INBOX (/private/a "x" /private/b NIL /private/d "4")'), "t3")
    # Other mailboxes have entries of their own, but the user's total is
    # bounded: INBOX's names and values take 109 bytes, each of these 70.
    for i, mbox in enumerate(["Sent", "Drafts", "Trash", "Junk"]):
        ok(r.cmd(f"u{i}", f'SETMETADATA {mbox} (/private/x "{"y" * 60}")'), f"u{i}")
    assert r.cmd("u9", f'SETMETADATA Archive (/private/x "{"y" * 60}")') == (
        [],
        b"u9 NO [METADATA TOOMANY] Annotations are limited to 400 bytes in all\r\n",
    )
    # And so is the number of entries over all mailboxes and the server.
    ok(r.cmd("v1", 'SETMETADATA "" (/private/n "")'), "v1")
    assert r.cmd("v2", 'SETMETADATA "" (/private/o "")') == (
        [],
        b"v2 NO [METADATA TOOMANY] At most 9 entries in all\r\n",
    )
    # Name length and depth.
    assert r.cmd("nl", f'SETMETADATA INBOX (/private/{"n" * 40} "1")') == (
        [],
        b"nl NO [LIMIT] Entry names are limited to 40 bytes and 4 levels\r\n",
    )
    assert r.cmd("nd", 'SETMETADATA INBOX (/private/a/b/c/d "1")') == (
        [],
        b"nd NO [LIMIT] Entry names are limited to 40 bytes and 4 levels\r\n",
    )
    r.close()


def test_bad_arguments(server):
    r = Raw(server.imap_port)
    assert r.cmd("p", 'GETMETADATA "" /shared/comment') == ([], b"p BAD Log in first\r\n")
    r.close()
    r = login(server)
    bad_name = b"BAD Invalid entry name: /private/... or /shared/..., printable ASCII without * % or //\r\n"
    for tag, cmd in [
        ("e1", "GETMETADATA INBOX /comment"),
        ("e2", "GETMETADATA INBOX /private//x"),
        ("e3", "GETMETADATA INBOX /private/x/"),
        ("e4", 'GETMETADATA INBOX "/private/a%"'),
        ("e5", 'SETMETADATA INBOX (/privatex "1")'),
        ("e6", 'SETMETADATA INBOX ("/shared/a b" "1")'),
    ]:
        assert r.cmd(tag, cmd) == ([], tag.encode() + b" " + bad_name), cmd
    for tag, cmd in [
        ("f1", "GETMETADATA (DEPTH 2) INBOX /private/x"),
        ("f2", "GETMETADATA (COLOUR red) INBOX /private/x"),
        ("f3", "GETMETADATA INBOX"),
        ("f4", 'SETMETADATA INBOX /private/x "1"'),
        ("f5", "SETMETADATA INBOX (/private/x)"),
        ("f6", "GETMETADATA INBOX /private/*"),
        ("f7", "LIST \"\" * RETURN (METADATA ())"),
        ("f8", "GETMETADATA (MAXSIZE -1) INBOX /private/x"),
    ]:
        _, t = r.cmd(tag, cmd)
        assert t.startswith(f"{tag} BAD ".encode()), (cmd, t)
    assert r.cmd("g1", 'SETMETADATA INBOX (/private "1")') == (
        [],
        b"g1 BAD Entries are set below /private or /shared, not on them\r\n",
    )
    # The session is still usable.
    ok(r.cmd("z", "NOOP"), "z")
    r.close()


def test_rename_keeps_and_delete_drops_annotations(server):
    r = login(server)
    ok(r.cmd("c1", "CREATE Proj/sub"), "c1")
    ok(r.cmd("s1", 'SETMETADATA Proj (/private/comment "parent")'), "s1")
    ok(r.cmd("s2", 'SETMETADATA Proj/sub (/shared/comment "child")'), "s2")
    ok(r.cmd("r1", "RENAME Proj Work"), "r1")
    assert answer(r, "g1", "GETMETADATA Work /private/comment")[0] == b'* METADATA "Work" (/private/comment "parent")\r\n'
    assert answer(r, "g2", "GETMETADATA Work/sub /shared/comment")[0] == b'* METADATA "Work/sub" (/shared/comment "child")\r\n'
    assert r.cmd("g3", "GETMETADATA Proj /private/comment") == ([], b"g3 NO [NONEXISTENT] No such mailbox\r\n")
    ok(r.cmd("d1", "DELETE Work/sub"), "d1")
    ok(r.cmd("c2", "CREATE Work/sub"), "c2")
    assert answer(r, "g4", "GETMETADATA Work/sub /shared/comment")[0] == b'* METADATA "Work/sub" (/shared/comment NIL)\r\n'
    # RENAME INBOX moves the messages; INBOX keeps its annotations.
    ok(r.cmd("i1", 'SETMETADATA INBOX (/private/comment "inbox")'), "i1")
    ok(r.cmd("i2", "RENAME INBOX Old"), "i2")
    assert answer(r, "i3", "GETMETADATA INBOX /private/comment")[0] == b'* METADATA "INBOX" (/private/comment "inbox")\r\n'
    assert answer(r, "i4", "GETMETADATA Old /private/comment")[0] == b'* METADATA "Old" (/private/comment NIL)\r\n'
    r.close()


def test_list_metadata(make_server):
    srv = make_server(extra=LIMITS)
    r = login(srv)
    ok(r.cmd("c1", "CREATE Lists"), "c1")
    ok(r.cmd("s1", 'SETMETADATA Lists (/private/comment "my lists" /shared/comment "a longer shared note")'), "s1")
    ok(r.cmd("s2", 'SETMETADATA INBOX (/shared/comment "in")'), "s2")
    lines, t = r.cmd("l1", 'LIST "" "*" RETURN (METADATA (/private/comment /shared/comment))')
    assert t == b"l1 OK LIST completed\r\n"
    assert lines[lines.index(b'* LIST (\\HasNoChildren) "/" "Lists"\r\n') + 1] == (
        b'* METADATA "Lists" (/private/comment "my lists" /shared/comment "a longer shared note")\r\n'
    )
    assert lines[lines.index(b'* LIST (\\HasNoChildren) "/" "INBOX"\r\n') + 1] == (
        b'* METADATA "INBOX" (/private/comment NIL /shared/comment "in")\r\n'
    )
    assert len([l for l in lines if l.startswith(b"* METADATA ")]) == 7, lines
    # With MAXSIZE, and beside STATUS.
    lines, t = r.cmd("l2", 'LIST "" "Lists" RETURN (STATUS (MESSAGES) METADATA (MAXSIZE 10 /private/comment /shared/comment))')
    assert (lines, t) == (
        [
            b'* LIST (\\HasNoChildren) "/" "Lists"\r\n',
            b'* STATUS "Lists" (MESSAGES 0)\r\n',
            b'* METADATA "Lists" (/private/comment "my lists")\r\n',
        ],
        b"l2 OK [METADATA LONGENTRIES 20] LIST completed\r\n",
    )
    r.close()


def test_annotations_survive_restart_and_compaction(make_server):
    srv = make_server(extra="[store]\nsegment_size = 32768\ncompact_dead_ratio = 1.0\n")
    r = login(srv)
    ok(r.cmd("s1", 'SETMETADATA "" (/shared/comment "server note")'), "s1")
    ok(r.cmd("s2", 'SETMETADATA INBOX (/private/comment "inbox note")'), "s2")
    r.close()
    srv.restart()
    r = login(srv)
    assert answer(r, "g1", 'GETMETADATA "" /shared/comment')[0] == b'* METADATA "" (/shared/comment "server note")\r\n'
    assert answer(r, "g2", "GETMETADATA INBOX /private/comment")[0] == b'* METADATA "INBOX" (/private/comment "inbox note")\r\n'
    # Fill and empty several segments so compaction rewrites the ones
    # holding the annotation records.
    body = ("Subject: filler\r\n\r\n" + "x" * 3000 + "\r\n").encode()
    for i in range(40):
        r.send(f"a{i} APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
        ok(r.until(f"a{i}"), f"a{i}")
    ok(r.cmd("sel", "SELECT INBOX"), "sel")
    ok(r.cmd("st", "STORE 1:* +FLAGS.SILENT (\\Deleted)"), "st")
    ok(r.cmd("x", "EXPUNGE"), "x")
    ok(r.cmd("s3", 'SETMETADATA INBOX (/shared/comment "after")'), "s3")
    r.close()
    srv.stop()
    out = srv.cli("compact", "alice")
    assert out.returncode == 0, out.stderr
    m = re.search(rb"(\d+) segment\(s\) rewritten", out.stdout)
    assert m and int(m.group(1)) >= 1, out.stdout
    out = srv.cli("check", "alice")
    assert out.returncode == 0 and b"ok:" in out.stdout, (out.stdout, out.stderr)
    srv.start()
    r = login(srv)
    assert answer(r, "g3", 'GETMETADATA "" /shared/comment')[0] == b'* METADATA "" (/shared/comment "server note")\r\n'
    assert answer(r, "g4", "GETMETADATA INBOX (/private/comment /shared/comment)")[0] == (
        b'* METADATA "INBOX" (/private/comment "inbox note" /shared/comment "after")\r\n'
    )
    r.close()


def test_metadata_disabled(make_server):
    srv = make_server(extra='[imap]\ndisable = ["METADATA"]\n')
    r = login(srv)
    c = caps(r)
    assert b"METADATA" not in c and b"LIST-METADATA" not in c and b"METADATA-SERVER" in c, c
    assert r.cmd("g1", "GETMETADATA INBOX /private/comment") == (
        [], b"g1 BAD METADATA (mailbox annotations) is not enabled on this server\r\n")
    assert r.cmd("s1", 'SETMETADATA INBOX (/private/comment "x")') == (
        [], b"s1 BAD METADATA (mailbox annotations) is not enabled on this server\r\n")
    assert r.cmd("l1", 'LIST "" "*" RETURN (METADATA (/private/comment))') == (
        [], b"l1 BAD LIST-METADATA is not enabled on this server\r\n")
    # Server annotations stay.
    ok(r.cmd("s2", 'SETMETADATA "" (/private/comment "x")'), "s2")
    assert answer(r, "g2", 'GETMETADATA "" /private/comment')[0] == b'* METADATA "" (/private/comment "x")\r\n'
    r.close()

    srv = make_server(extra='[imap]\ndisable = ["METADATA-SERVER"]\n')
    r = login(srv)
    c = caps(r)
    assert not any(x.startswith(b"METADATA") or x == b"LIST-METADATA" for x in c), c
    assert r.cmd("g1", 'GETMETADATA "" /shared/comment') == (
        [], b"g1 BAD METADATA-SERVER is not enabled on this server\r\n")
    assert r.cmd("g2", "GETMETADATA INBOX /shared/comment") == (
        [], b"g2 BAD METADATA (mailbox annotations) is not enabled on this server\r\n")
    r.close()

    srv = make_server(extra='[imap]\ndisable = ["LIST-METADATA"]\n')
    r = login(srv)
    c = caps(r)
    assert b"LIST-METADATA" not in c and b"METADATA" in c and b"METADATA-SERVER" in c, c
    assert r.cmd("l1", 'LIST "" "*" RETURN (METADATA (/private/comment))') == (
        [], b"l1 BAD LIST-METADATA is not enabled on this server\r\n")
    ok(r.cmd("g1", "GETMETADATA INBOX /private/comment"), "g1")
    r.close()
