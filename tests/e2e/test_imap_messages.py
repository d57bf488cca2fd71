"""Message commands: APPEND (+ MULTIAPPEND, APPENDUID, APPENDLIMIT), STORE,
COPY, MOVE, EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT, CHECK, NOOP, IDLE, ID,
wrong-state and bad-sequence errors, pipelining (RFC 9051 §6, RFC 4315,
RFC 6851, RFC 3502, RFC 7889, RFC 2177, RFC 2971)."""

import datetime
import re

import pytest

from conftest import Server
from test_imap_util import append_raw, lists, login_raw, msg, ok, status_items

LIMIT = 100000


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(
        tmp_path_factory.mktemp("imap-messages"),
        extra=f"[auth]\nfailure_delay_ms = 10\n[limits]\nmax_literal_size = {LIMIT}\n",
    )
    s.start()
    yield s
    s.stop()


def fresh(r, name, n=0, tag="fx"):
    """Creates mailbox `name` holding n messages (subjects m1..mn) and selects it."""
    ok(r.cmd(f"{tag}c", f"CREATE {name}")[1], f"{tag}c")
    for i in range(1, n + 1):
        ok(append_raw(r, f"{tag}a{i}", name, msg(f"m{i}"))[1], f"{tag}a{i}")
    untagged, tagged = r.cmd(f"{tag}s", f"SELECT {name}")
    ok(tagged, f"{tag}s")
    assert f"* {n} EXISTS\r\n".encode() in untagged, untagged
    return untagged


def uidvalidity(r, name, tag="uv"):
    untagged, tagged = r.cmd(tag, f"STATUS {name} (UIDVALIDITY)")
    ok(tagged, tag)
    return status_items(untagged[0])[1]["UIDVALIDITY"]


def instant(date_time):
    """An IMAP date-time as a timezone-aware datetime (compares instants)."""
    return datetime.datetime.strptime(date_time.strip(), "%d-%b-%Y %H:%M:%S %z")


def after_expunges(before, untagged):
    """Applies `* n EXPUNGE` lines in order to the list of UIDs `before`."""
    left = list(before)
    for u in untagged:
        m = re.fullmatch(rb"\* (\d+) EXPUNGE\r\n", u)
        assert m, u
        n = int(m.group(1))
        assert 1 <= n <= len(left), (n, left, untagged)
        del left[n - 1]
    return left


def subjects(r, tag="sj"):
    """Subjects of the selected mailbox's messages, in sequence order."""
    untagged, tagged = r.cmd(tag, "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    ok(tagged, tag)
    return re.findall(rb"Subject: (\S+)", b"".join(untagged))


# --- simple commands ----------------------------------------------------------------------


def test_noop_and_check(srv, raw):
    r = login_raw(raw, srv)
    untagged, tagged = r.cmd("n", "NOOP")
    assert untagged == [] and tagged.startswith(b"n OK"), (untagged, tagged)
    fresh(r, "chk", 1)
    untagged, tagged = r.cmd("c", "CHECK")
    assert untagged == [] and tagged.startswith(b"c OK"), (untagged, tagged)
    # CHECK needs a selected mailbox.
    ok(r.cmd("u", "UNSELECT")[1], "u")
    _, tagged = r.cmd("c2", "CHECK")
    assert tagged.startswith(b"c2 BAD"), tagged


def test_id(srv, raw):
    r = raw(srv.imap_port)
    untagged, tagged = r.cmd("i", 'ID ("name" "pytest" "version" "1")')
    ok(tagged, "i")
    assert len(untagged) == 1 and untagged[0].startswith(b"* ID ("), untagged
    assert b'"name"' in untagged[0].lower() or b"name" in untagged[0].lower()
    untagged, tagged = r.cmd("i2", "ID NIL")
    ok(tagged, "i2")
    assert len(untagged) == 1 and (untagged[0].startswith(b"* ID (") or untagged[0] == b"* ID NIL\r\n")


def test_logout_imaplib(srv):
    c = srv.login("alice")
    typ, data = c.logout()
    assert typ == "BYE", (typ, data)


# --- APPEND ---------------------------------------------------------------------------------


def test_append_flags_date_appenduid(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ap1")[1], "c")
    uv = uidvalidity(r, "ap1")
    m = msg("dated")
    untagged, tagged = append_raw(r, "a", "ap1", m, flags="\\Seen \\Flagged $Work", date="14-Jul-2021 02:44:25 +0200")
    assert tagged.startswith(f"a OK [APPENDUID {uv} 1]".encode()), tagged
    untagged, tagged = append_raw(r, "a2", "ap1", msg("second"))
    assert tagged.startswith(f"a2 OK [APPENDUID {uv} 2]".encode()), tagged
    ok(r.cmd("s", "EXAMINE ap1")[1], "s")
    untagged, tagged = r.cmd("f", "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)")
    ok(tagged, "f")
    line = untagged[0].decode()
    flags = set(re.search(r"FLAGS \(([^)]*)\)", line).group(1).split())
    assert flags == {"\\Seen", "\\Flagged", "$Work"}, line
    # The same instant; the server may present it in another zone (RFC 9051 §2.3.3).
    date = re.search(r'INTERNALDATE "([^"]+)"', line).group(1)
    assert instant(date) == instant("14-Jul-2021 02:44:25 +0200"), line
    assert f"RFC822.SIZE {len(m)}" in line and "UID 1" in line, line
    untagged, tagged = r.cmd("f2", "FETCH 2 FLAGS")
    assert re.search(rb"FLAGS \(\)", untagged[0]) or b"\\Recent" in untagged[0], untagged


def test_append_with_sync_literal(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ap-sync")[1], "c")
    m = msg("sync")
    r.send(f"a APPEND ap-sync {{{len(m)}}}\r\n")
    assert r.line().startswith(b"+"), "no continuation request"
    r.send(m + b"\r\n")
    _, tagged = r.until("a")
    assert tagged.startswith(b"a OK [APPENDUID "), tagged


def test_append_imaplib(srv):
    c = srv.login("alice")
    c.create("ap-lib")
    typ, data = c.append("ap-lib", "(\\Draft)", '"01-Jan-2020 00:00:00 +0000"', msg("lib"))
    assert typ == "OK" and data[0].startswith(b"[APPENDUID "), data
    typ, data = c.status("ap-lib", "(MESSAGES)")
    assert data == [b"ap-lib (MESSAGES 1)"] or data == [b'"ap-lib" (MESSAGES 1)'], data
    c.logout()


def test_multiappend(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE multi")[1], "c")
    uv = uidvalidity(r, "multi")
    a, b = msg("first"), msg("second")
    r.send(
        b"m APPEND multi (\\Seen) {%d+}\r\n" % len(a)
        + a
        + b' (\\Flagged) "02-Mar-2022 10:00:00 +0000" {%d+}\r\n' % len(b)
        + b
        + b"\r\n"
    )
    _, tagged = r.until("m")
    # RFC 4315: one APPENDUID with the UID set of all messages.
    assert tagged.startswith(f"m OK [APPENDUID {uv} 1:2]".encode()), tagged
    ok(r.cmd("s", "EXAMINE multi")[1], "s")
    untagged, tagged = r.cmd("f", "FETCH 1:2 (FLAGS INTERNALDATE)")
    ok(tagged, "f")
    assert b"\\Seen" in untagged[0] and b"\\Flagged" not in untagged[0]
    assert b"\\Flagged" in untagged[1] and b'"02-Mar-2022 10:00:00 +0000"' in untagged[1], untagged
    assert subjects(r) == [b"first", b"second"]


def test_multiappend_is_atomic(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE multi-bad")[1], "c")
    a = msg("ok-one")
    big = LIMIT + 1
    # The second message is refused: RFC 3502 says none of them is appended.
    r.send(b"m APPEND multi-bad {%d+}\r\n" % len(a) + a + b" {%d}\r\n" % big)
    line = r.line()
    while not line.startswith(b"m "):
        assert not line.startswith(b"+"), "server asked for an oversized literal"
        line = r.line()
    assert line.startswith(b"m NO") or line.startswith(b"m BAD"), line
    untagged, tagged = r.cmd("st", "STATUS multi-bad (MESSAGES)")
    ok(tagged, "st")
    assert status_items(untagged[0])[1] == {"MESSAGES": 0}, untagged


def test_append_to_nonexistent_is_trycreate(srv, raw):
    r = login_raw(raw, srv)
    _, tagged = append_raw(r, "a", "no-such-box", msg())
    assert tagged.startswith(b"a NO [TRYCREATE]"), tagged


def test_append_too_big(srv, raw):
    r = login_raw(raw, srv)
    untagged, tagged = r.cmd("c", "CAPABILITY")
    assert f"APPENDLIMIT={LIMIT}".encode() in untagged[0], untagged
    ok(r.cmd("c2", "CREATE ap-big")[1], "c2")
    # Synchronizing literal: refused before the data is sent (RFC 7889 §4).
    r.send(f"a APPEND ap-big {{{LIMIT + 1}}}\r\n")
    line = r.line()
    assert line.startswith(b"a NO [TOOBIG]"), line
    # The session is still in sync.
    _, tagged = r.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK"), tagged
    # Exactly at the limit is accepted.
    m = msg("limit", body="")
    m = m + b"x" * (LIMIT - len(m))
    assert len(m) == LIMIT
    _, tagged = append_raw(r, "a2", "ap-big", m)
    assert tagged.startswith(b"a2 OK"), tagged


def test_append_too_big_nonsync(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ap-big2")[1], "c")
    data = b"y" * (LIMIT + 1)
    r.send(b"a APPEND ap-big2 {%d+}\r\n" % len(data) + data + b"\r\n")
    line = r.line()
    # RFC 7888 §4: LITERAL+ beyond the limit: a tagged NO [TOOBIG] after
    # discarding the data, or BYE [TOOBIG] and close.
    if line.startswith(b"* BYE"):
        assert line.startswith(b"* BYE [TOOBIG]"), line
        with pytest.raises(EOFError):
            r.line()
    else:
        assert line.startswith(b"a NO [TOOBIG]"), line
    r2 = login_raw(raw, srv)
    untagged, tagged = r2.cmd("st", "STATUS ap-big2 (MESSAGES)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 0}


def test_append_to_selected_mailbox_reports_exists(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "ap-sel", 1)
    untagged, tagged = append_raw(r, "a", "ap-sel", msg("new"))
    ok(tagged, "a")
    # RFC 9051 §6.3.12: the server SHOULD notify the client via EXISTS.
    untagged2, _ = r.cmd("n", "NOOP")
    assert b"* 2 EXISTS\r\n" in untagged + untagged2, (untagged, untagged2)


# --- STORE ----------------------------------------------------------------------------------------


def test_store(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "st1", 3)
    untagged, tagged = r.cmd("s", "STORE 1 +FLAGS (\\Flagged $Label1)")
    ok(tagged, "s")
    assert len(untagged) == 1 and re.match(rb"\* 1 FETCH \(FLAGS \(([^)]*)\)\)\r\n", untagged[0]), untagged
    assert set(re.search(rb"FLAGS \(([^)]*)\)", untagged[0]).group(1).split()) - {b"\\Recent"} == {
        b"\\Flagged",
        b"$Label1",
    }
    untagged, tagged = r.cmd("s2", "STORE 1 -FLAGS (\\Flagged)")
    ok(tagged, "s2")
    assert set(re.search(rb"FLAGS \(([^)]*)\)", untagged[0]).group(1).split()) - {b"\\Recent"} == {b"$Label1"}
    untagged, tagged = r.cmd("s3", "STORE 2:3 FLAGS (\\Seen \\Answered)")
    ok(tagged, "s3")
    assert len(untagged) == 2, untagged
    for u in untagged:
        assert set(re.search(rb"FLAGS \(([^)]*)\)", u).group(1).split()) - {b"\\Recent"} == {
            b"\\Seen",
            b"\\Answered",
        }
    # .SILENT: no FETCH for our own change.
    untagged, tagged = r.cmd("s4", "STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    ok(tagged, "s4")
    assert untagged == [], untagged
    untagged, tagged = r.cmd("f", "FETCH 1:3 FLAGS")
    ok(tagged, "f")
    assert all(b"\\Deleted" in u for u in untagged) and len(untagged) == 3
    # Keywords become part of FLAGS / PERMANENTFLAGS.
    untagged, tagged = r.cmd("s5", "SELECT st1")
    text = b"".join(untagged)
    assert b"$Label1" in re.search(rb"\* FLAGS \(([^)]*)\)", text).group(1), text


def test_uid_store(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "st2", 3)
    untagged, tagged = r.cmd("s", "UID STORE 2 +FLAGS (\\Seen)")
    ok(tagged, "s")
    # UID STORE responses carry the UID (RFC 9051 §6.4.9).
    assert len(untagged) == 1 and untagged[0].startswith(b"* 2 FETCH ("), untagged
    assert b"UID 2" in untagged[0] and b"\\Seen" in untagged[0], untagged
    untagged, tagged = r.cmd("s2", "UID STORE 99 +FLAGS (\\Seen)")
    # A UID set naming nothing is not an error.
    ok(tagged, "s2")
    assert untagged == [], untagged


def test_store_errors(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "st3", 2)
    _, tagged = r.cmd("s", "STORE 5 +FLAGS (\\Seen)")
    assert tagged.startswith(b"s BAD"), tagged
    _, tagged = r.cmd("s2", "STORE 1 +FLAGS (\\Recent)")
    assert tagged.startswith(b"s2 BAD") or tagged.startswith(b"s2 NO"), tagged
    # An unknown system flag cannot be stored; Dovecot answers BAD rather than
    # dropping it and reporting success.
    _, tagged = r.cmd("s2b", "STORE 1 +FLAGS (\\Bogus)")
    assert tagged.startswith(b"s2b BAD") or tagged.startswith(b"s2b NO"), tagged
    _, tagged = r.cmd("s3", "STORE 1 XFLAGS (\\Seen)")
    assert tagged.startswith(b"s3 BAD"), tagged
    _, tagged = r.cmd("s4", "STORE 0 +FLAGS (\\Seen)")
    assert tagged.startswith(b"s4 BAD"), tagged


# --- EXPUNGE / CLOSE / UNSELECT -----------------------------------------------------------


def test_expunge_renumbers(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "exp1", 6)
    ok(r.cmd("s", "STORE 2,4:5 +FLAGS.SILENT (\\Deleted)")[1], "s")
    untagged, tagged = r.cmd("e", "EXPUNGE")
    ok(tagged, "e")
    # Each EXPUNGE counts after the previous one took effect: 2, then 4->3, 5->3.
    assert after_expunges(range(1, 7), untagged) == [1, 3, 6], untagged
    assert subjects(r) == [b"m1", b"m3", b"m6"]
    untagged, tagged = r.cmd("f", "FETCH 1:* UID")
    ok(tagged, "f")
    assert untagged == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n", b"* 3 FETCH (UID 6)\r\n"], untagged
    _, tagged = r.cmd("f2", "FETCH 4 UID")
    assert tagged.startswith(b"f2 BAD"), tagged


def test_uid_expunge(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "exp2", 4)
    ok(r.cmd("s", "STORE 1:4 +FLAGS.SILENT (\\Deleted)")[1], "s")
    untagged, tagged = r.cmd("e", "UID EXPUNGE 2:3")
    ok(tagged, "e")
    assert after_expunges(range(1, 5), untagged) == [1, 4], untagged
    untagged, tagged = r.cmd("f", "FETCH 1:* UID")
    assert untagged == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 4)\r\n"], untagged


def test_expunge_in_examine_is_refused(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "exp3", 1)
    ok(r.cmd("s", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1], "s")
    ok(r.cmd("x", "EXAMINE exp3")[1], "x")
    _, tagged = r.cmd("e", "EXPUNGE")
    assert tagged.startswith(b"e NO"), tagged
    untagged, _ = r.cmd("st", "STATUS exp3 (MESSAGES)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 1}


def test_close_expunges_silently(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "cls", 3)
    ok(r.cmd("s", "STORE 1,3 +FLAGS.SILENT (\\Deleted)")[1], "s")
    untagged, tagged = r.cmd("c", "CLOSE")
    ok(tagged, "c")
    assert untagged == [], untagged
    untagged, tagged = r.cmd("st", "STATUS cls (MESSAGES)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 1}
    # Back in authenticated state.
    _, tagged = r.cmd("f", "FETCH 1 FLAGS")
    assert tagged.startswith(b"f BAD"), tagged


def test_close_on_examine_does_not_expunge(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "cls2", 2)
    ok(r.cmd("s", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1], "s")
    ok(r.cmd("x", "EXAMINE cls2")[1], "x")
    untagged, tagged = r.cmd("c", "CLOSE")
    ok(tagged, "c")
    untagged, tagged = r.cmd("st", "STATUS cls2 (MESSAGES)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 2}


def test_unselect_does_not_expunge(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "uns", 2)
    ok(r.cmd("s", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1], "s")
    untagged, tagged = r.cmd("u", "UNSELECT")
    ok(tagged, "u")
    assert untagged == []
    untagged, _ = r.cmd("st", "STATUS uns (MESSAGES DELETED)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 2, "DELETED": 1}
    _, tagged = r.cmd("u2", "UNSELECT")
    assert tagged.startswith(b"u2 BAD"), tagged


def test_expunge_seen_by_other_session(srv, raw):
    a = login_raw(raw, srv)
    fresh(a, "exp-other", 3)
    b = login_raw(raw, srv)
    ok(b.cmd("s", "SELECT exp-other")[1], "s")
    ok(a.cmd("d", "STORE 2 +FLAGS.SILENT (\\Deleted)")[1], "d")
    ok(a.cmd("e", "EXPUNGE")[1], "e")
    untagged, tagged = b.cmd("n", "NOOP")
    ok(tagged, "n")
    assert b"* 2 EXPUNGE\r\n" in untagged, untagged
    untagged, _ = b.cmd("f", "FETCH 1:* UID")
    assert untagged == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n"], untagged


# --- COPY / MOVE ------------------------------------------------------------------------------


def test_copy_copyuid(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE cp-dst")[1], "c")
    uv_dst = uidvalidity(r, "cp-dst")
    fresh(r, "cp-src", 3)
    ok(r.cmd("s", "STORE 2 +FLAGS.SILENT (\\Flagged)")[1], "s")
    untagged, tagged = r.cmd("cp", "COPY 2:3 cp-dst")
    assert tagged.startswith(f"cp OK [COPYUID {uv_dst} 2:3 1:2]".encode()), tagged
    untagged, tagged = r.cmd("cp2", "UID COPY 1 cp-dst")
    assert tagged.startswith(f"cp2 OK [COPYUID {uv_dst} 1 3]".encode()), tagged
    ok(r.cmd("x", "EXAMINE cp-dst")[1], "x")
    assert subjects(r) == [b"m2", b"m3", b"m1"]
    untagged, _ = r.cmd("f", "FETCH 1 FLAGS")
    assert b"\\Flagged" in untagged[0], untagged
    untagged, _ = r.cmd("st", "STATUS cp-src (MESSAGES)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 3}


def test_copy_errors(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "cp-e", 1)
    _, tagged = r.cmd("c", "COPY 1 no-such-dest")
    assert tagged.startswith(b"c NO [TRYCREATE]"), tagged
    _, tagged = r.cmd("c2", "COPY 7 INBOX")
    assert tagged.startswith(b"c2 BAD"), tagged


def test_move(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE mv-dst")[1], "c")
    uv_dst = uidvalidity(r, "mv-dst")
    fresh(r, "mv-src", 4)
    untagged, tagged = r.cmd("m", "MOVE 2:3 mv-dst")
    ok(tagged, "m")
    # RFC 6851 §4.3: untagged OK [COPYUID], then the EXPUNGEs, then tagged OK.
    assert untagged[0].startswith(f"* OK [COPYUID {uv_dst} 2:3 1:2]".encode()), untagged
    assert after_expunges(range(1, 5), untagged[1:]) == [1, 4], untagged
    assert subjects(r) == [b"m1", b"m4"]
    untagged, tagged = r.cmd("um", "UID MOVE 4 mv-dst")
    ok(tagged, "um")
    assert len(untagged) == 2 and untagged[1] == b"* 2 EXPUNGE\r\n", untagged
    assert untagged[0].startswith(f"* OK [COPYUID {uv_dst} 4 3]".encode()), untagged
    ok(r.cmd("x", "EXAMINE mv-dst")[1], "x")
    assert subjects(r) == [b"m2", b"m3", b"m4"]


def test_move_to_nonexistent(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "mv-e", 1)
    untagged, tagged = r.cmd("m", "MOVE 1 no-such-dest")
    assert tagged.startswith(b"m NO [TRYCREATE]"), tagged
    assert not any(b"EXPUNGE" in u for u in untagged), untagged
    untagged, _ = r.cmd("f", "FETCH 1 UID")
    assert untagged == [b"* 1 FETCH (UID 1)\r\n"], untagged


def test_imaplib_copy_and_move(srv):
    c = srv.login("alice")
    c.create("lib-a")
    c.create("lib-b")
    c.append("lib-a", None, None, msg("x"))
    c.select("lib-a")
    typ, data = c.copy("1", "lib-b")
    assert typ == "OK" and data[0].startswith(b"[COPYUID "), data
    typ, data = c.uid("MOVE", "1", "lib-b")
    assert typ == "OK", data
    assert c.response("EXPUNGE")[1] == [b"1"], c.untagged_responses
    typ, data = c.status("lib-b", "(MESSAGES)")
    assert b"MESSAGES 2" in data[0]
    c.logout()


# --- IDLE ---------------------------------------------------------------------------------------


def test_idle_done(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "idl", 1)
    r.send("i IDLE\r\n")
    assert r.line().startswith(b"+ "), "no continuation for IDLE"
    other = login_raw(raw, srv, "alice")
    ok(append_raw(other, "a", "idl", msg("pushed"))[1], "a")
    # The new message is pushed while idling, without any command from us.
    line = r.line()
    while line != b"* 2 EXISTS\r\n":
        assert line.startswith(b"* "), line
        line = r.line()
    ok(other.cmd("s0", "SELECT idl")[1], "s0")
    ok(other.cmd("s", "STORE 1 +FLAGS (\\Flagged)")[1], "s")
    line = r.line()
    while not line.startswith(b"* 1 FETCH"):
        assert line.startswith(b"* "), line
        line = r.line()
    assert b"\\Flagged" in line, line
    ok(other.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1], "d")
    ok(other.cmd("e", "EXPUNGE")[1], "e")
    # EXPUNGE may be sent while idling (RFC 2177).
    line = r.line()
    while line != b"* 1 EXPUNGE\r\n":
        assert line.startswith(b"* "), line
        line = r.line()
    r.send("DONE\r\n")
    _, tagged = r.until("i")
    assert tagged.startswith(b"i OK"), tagged
    _, tagged = r.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK"), tagged


def test_idle_bad_continuation(srv, raw):
    r = login_raw(raw, srv)
    r.send("i IDLE\r\n")
    assert r.line().startswith(b"+ ")
    r.send("NOTDONE\r\n")
    _, tagged = r.until("i")
    assert tagged.startswith(b"i BAD"), tagged
    _, tagged = r.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK"), tagged


def test_idle_before_login_is_bad(srv, raw):
    r = raw(srv.imap_port)
    _, tagged = r.cmd("i", "IDLE")
    assert tagged.startswith(b"i BAD"), tagged


# --- state errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    ["SELECT INBOX", "EXAMINE INBOX", "CREATE x", "DELETE x", "LIST \"\" *", "STATUS INBOX (MESSAGES)", "APPEND INBOX {1+}\r\nx", "NAMESPACE", "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "EXPUNGE", "CLOSE", "UNSELECT", "SEARCH ALL", "COPY 1 INBOX", "MOVE 1 INBOX"],
)
def test_not_authenticated_state_is_bad(srv, raw, command):
    r = raw(srv.imap_port)
    _, tagged = r.cmd("x", command)
    assert tagged.startswith(b"x BAD"), tagged
    _, tagged = r.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK"), tagged


@pytest.mark.parametrize(
    "command",
    ["FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "EXPUNGE", "UID EXPUNGE 1", "CLOSE", "SEARCH ALL", "UID FETCH 1 FLAGS", "COPY 1 INBOX", "MOVE 1 INBOX", "CHECK"],
)
def test_selected_state_commands_without_mailbox_are_bad(srv, raw, command):
    r = login_raw(raw, srv)
    _, tagged = r.cmd("x", command)
    assert tagged.startswith(b"x BAD"), tagged


def test_bad_sequence_numbers(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "badseq", 2)
    for i, seq in enumerate(["3", "0", "1:3", "2,5", "-1", "a", "1:"]):
        _, tagged = r.cmd(f"b{i}", f"FETCH {seq} FLAGS")
        assert tagged.startswith(f"b{i} BAD".encode()), (seq, tagged)
    # `*` in an empty mailbox names nothing.
    fresh(r, "badseq-empty", 0, tag="fe")
    _, tagged = r.cmd("e", "FETCH * FLAGS")
    assert tagged.startswith(b"e BAD") or tagged.startswith(b"e OK"), tagged
    # UID ranges naming nothing are fine.
    untagged, tagged = r.cmd("u", "UID FETCH 100:200 FLAGS")
    assert tagged.startswith(b"u OK") and untagged == [], (untagged, tagged)


def test_unknown_command_is_bad(srv, raw):
    r = raw(srv.imap_port)
    _, tagged = r.cmd("x", "FROBNICATE")
    assert tagged.startswith(b"x BAD"), tagged
    _, tagged = r.cmd("y", "UID FROBNICATE 1")
    assert tagged.startswith(b"y BAD"), tagged


# --- pipelining ----------------------------------------------------------------------------


def test_pipelined_commands_answered_in_order(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE pipe")[1], "c")
    m = msg("piped")
    batch = (
        b"p1 NOOP\r\n"
        + b"p2 APPEND pipe {%d+}\r\n" % len(m)
        + m
        + b"\r\n"
        + b"p3 SELECT pipe\r\n"
        + b"p4 FETCH 1 (UID RFC822.SIZE)\r\n"
        + b"p5 STORE 1 +FLAGS (\\Seen)\r\n"
        + b"p6 BOGUS\r\n"
        + b"p7 SEARCH SEEN\r\n"
        + b"p8 LOGOUT\r\n"
    )
    r.send(batch)
    lines = []
    while True:
        try:
            lines.append(r.line())
        except EOFError:
            break
    tagged = [l for l in lines if not l.startswith(b"* ") and not l.startswith(b"+")]
    assert [t.split(b" ")[0] for t in tagged] == [b"p%d" % i for i in range(1, 9)], lines
    assert [t.split(b" ")[1] for t in tagged] == [b"OK"] * 5 + [b"BAD", b"OK", b"OK"], tagged
    text = b"".join(lines)
    assert b"* 1 FETCH (UID 1 RFC822.SIZE %d)\r\n" % len(m) in text, text
    assert b"* SEARCH 1\r\n" in text
    # The untagged data of each command comes before its own tagged line.
    assert text.index(b"* 1 EXISTS") < text.index(b"p3 OK")
    assert text.index(b"* SEARCH 1") > text.index(b"p6 BAD") and text.index(b"* SEARCH 1") < text.index(b"p7 OK")
    assert text.index(b"* BYE") < text.index(b"p8 OK")


def test_pipelined_fetches_imaplib_style(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "pipe2", 3)
    r.send("".join(f"f{i} FETCH {i} (UID)\r\n" for i in range(1, 4)) + "n NOOP\r\n")
    for i in range(1, 4):
        untagged, tagged = r.until(f"f{i}")
        assert untagged == [f"* {i} FETCH (UID {i})\r\n".encode()], untagged
        assert tagged.startswith(f"f{i} OK".encode()), tagged
    _, tagged = r.until("n")
    assert tagged.startswith(b"n OK")


def test_pipelined_login_and_commands_cross_shard(srv, raw):
    # Commands that arrive in the same write as LOGIN must survive the hand-off
    # of the connection to the user's home shard, for every user.
    for user, pw in (("alice", "alice-secret"), ("bob", "bob secret with spaces")):
        r = raw(srv.imap_port)
        r.send(
            f'l LOGIN {user} "{pw}"\r\n'
            "c CREATE pipe-login\r\n"
            "s SELECT pipe-login\r\n"
            "n NOOP\r\n"
            "o LOGOUT\r\n"
        )
        lines = []
        while True:
            try:
                lines.append(r.line())
            except EOFError:
                break
        tagged = [l for l in lines if not l.startswith(b"* ")]
        assert [t.split(b" ")[:2] for t in tagged] == [
            [b"l", b"OK"],
            [b"c", b"OK"],
            [b"s", b"OK"],
            [b"n", b"OK"],
            [b"o", b"OK"],
        ], (user, lines)


def test_pipelined_login_over_implicit_tls(srv):
    c = srv.connect(tls="implicit")
    c.send(b'l LOGIN bob "bob secret with spaces"\r\nn NOOP\r\nx LIST "" INBOX\r\n')
    got = []
    while not got or not got[-1].startswith(b"x "):
        got.append(c.readline())
    tagged = [l for l in got if not l.startswith(b"* ")]
    assert [t.split(b" ")[:2] for t in tagged] == [[b"l", b"OK"], [b"n", b"OK"], [b"x", b"OK"]], got
    assert any(l.startswith(b"* LIST ") and b"INBOX" in l for l in got), got


def test_many_messages_sequence_and_uids(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE many")[1], "c")
    n = 200
    batch = b"".join(
        b"a%d APPEND many {%d+}\r\n" % (i, len(msg(f"n{i}"))) + msg(f"n{i}") + b"\r\n" for i in range(1, n + 1)
    )
    r.send(batch)
    for i in range(1, n + 1):
        _, tagged = r.until(f"a{i}")
        assert tagged.startswith(f"a{i} OK [APPENDUID ".encode()) and tagged.split(b"]")[0].endswith(
            f" {i}".encode()
        ), tagged
    ok(r.cmd("s", "SELECT many")[1], "s")
    # Expunge every third message and check numbering and UIDs line up.
    doomed = ",".join(str(u) for u in range(3, n + 1, 3))
    ok(r.cmd("st", f"UID STORE {doomed} +FLAGS.SILENT (\\Deleted)")[1], "st")
    untagged, tagged = r.cmd("e", "EXPUNGE")
    ok(tagged, "e")
    left = after_expunges(range(1, n + 1), untagged)
    assert left == [u for u in range(1, n + 1) if u % 3], "EXPUNGE responses do not match the deleted UIDs"
    untagged, tagged = r.cmd("f", "FETCH 1:* UID")
    ok(tagged, "f")
    assert untagged == [b"* %d FETCH (UID %d)\r\n" % (i, u) for i, u in enumerate(left, start=1)]
    assert subjects(r) == [b"n%d" % u for u in left]


def test_other_session_sees_flag_changes_and_new_mail(srv, raw):
    a = login_raw(raw, srv)
    fresh(a, "watch", 2)
    b = login_raw(raw, srv)
    ok(b.cmd("s", "SELECT watch")[1], "s")
    ok(a.cmd("st", "STORE 2 +FLAGS.SILENT (\\Answered)")[1], "st")
    ok(append_raw(a, "ap", "watch", msg("third"))[1], "ap")
    untagged, tagged = b.cmd("n", "NOOP")
    ok(tagged, "n")
    text = b"".join(untagged)
    assert b"* 3 EXISTS\r\n" in text, untagged
    fetches = [u for u in untagged if re.match(rb"\* 2 FETCH ", u)]
    assert fetches and b"\\Answered" in fetches[-1], untagged
    # Nothing is reported twice.
    untagged, _ = b.cmd("n2", "NOOP")
    assert untagged == [], untagged


def test_copy_and_move_keep_internaldate_and_keywords(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE keep-dst")[1], "c")
    ok(r.cmd("c2", "CREATE keep-src")[1], "c2")
    ok(append_raw(r, "a", "keep-src", msg("kd"), flags="$Important \\Seen", date="03-Feb-2015 04:05:06 +0000")[1], "a")
    ok(append_raw(r, "a2", "keep-src", msg("kd2"), flags="$Other", date="04-Feb-2015 04:05:06 +0000")[1], "a2")
    ok(r.cmd("s", "SELECT keep-src")[1], "s")
    ok(r.cmd("cp", "COPY 1 keep-dst")[1], "cp")
    ok(r.cmd("mv", "MOVE 2 keep-dst")[1], "mv")
    ok(r.cmd("x", "EXAMINE keep-dst")[1], "x")
    untagged, _ = r.cmd("f", "FETCH 1:2 (FLAGS INTERNALDATE)")
    assert len(untagged) == 2, untagged
    first, second = (u.decode() for u in untagged)
    assert set(re.search(r"FLAGS \(([^)]*)\)", first).group(1).split()) - {"\\Recent"} == {"$Important", "\\Seen"}
    assert set(re.search(r"FLAGS \(([^)]*)\)", second).group(1).split()) - {"\\Recent"} == {"$Other"}
    assert instant(re.search(r'INTERNALDATE "([^"]+)"', first).group(1)) == instant("03-Feb-2015 04:05:06 +0000")
    assert instant(re.search(r'INTERNALDATE "([^"]+)"', second).group(1)) == instant("04-Feb-2015 04:05:06 +0000")


def test_move_saved_result(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE res-dst")[1], "c")
    fresh(r, "res-src", 4)
    ok(r.cmd("st", "STORE 1,3 +FLAGS.SILENT (\\Flagged)")[1], "st")
    untagged, tagged = r.cmd("q", "SEARCH RETURN (SAVE) FLAGGED")
    ok(tagged, "q")
    untagged, tagged = r.cmd("m", "MOVE $ res-dst")
    ok(tagged, "m")
    assert after_expunges(range(1, 5), untagged[1:]) == [2, 4], untagged
    assert subjects(r) == [b"m2", b"m4"]


# --- what was acknowledged survives a restart ------------------------------------------


def state_after_restart(server, raw, crash):
    r = login_raw(raw, server)
    ok(r.cmd("c", "CREATE durable/kid")[1], "c")
    ok(r.cmd("sub", "SUBSCRIBE durable/kid")[1], "sub")
    uv = uidvalidity(r, "durable")
    for i in range(1, 5):
        ok(append_raw(r, f"a{i}", "durable", msg(f"d{i}"), flags="$Kept" if i == 2 else "")[1], f"a{i}")
    ok(r.cmd("s", "SELECT durable")[1], "s")
    ok(r.cmd("st", "STORE 1 +FLAGS (\\Answered)")[1], "st")
    ok(r.cmd("d", "STORE 4 +FLAGS.SILENT (\\Deleted)")[1], "d")
    ok(r.cmd("e", "EXPUNGE")[1], "e")
    r.close()
    if crash:
        server.proc.kill()
        server.proc.wait()
        server.proc.stdout.close()
        server.log_file.close()
        server.proc = None
        server.start()
    else:
        server.restart()
    r = login_raw(raw, server)
    untagged, tagged = r.cmd("st", "STATUS durable (MESSAGES UIDNEXT UIDVALIDITY)")
    ok(tagged, "st")
    # UIDs are never reused (RFC 9051 §2.3.1.1): UIDNEXT stays past the expunged UID 4.
    assert status_items(untagged[0])[1] == {"MESSAGES": 3, "UIDNEXT": 5, "UIDVALIDITY": uv}, untagged
    ok(r.cmd("s", "SELECT durable")[1], "s")
    untagged, tagged = r.cmd("f", "FETCH 1:* (UID FLAGS)")
    ok(tagged, "f")
    got = [(int(re.search(rb"UID (\d+)", u).group(1)), set(re.search(rb"FLAGS \(([^)]*)\)", u).group(1).split()) - {b"\\Recent"}) for u in untagged]
    assert got == [(1, {b"\\Answered"}), (2, {b"$Kept"}), (3, set())], got
    assert subjects(r) == [b"d1", b"d2", b"d3"]
    _, tagged = append_raw(r, "a5", "durable", msg("d5"))
    assert tagged.startswith(f"a5 OK [APPENDUID {uv} 5]".encode()), tagged
    untagged, _ = r.cmd("l", 'LSUB "" "durable/*"')
    assert set(lists(untagged, "LSUB")) == {"durable/kid"}, untagged


def test_state_survives_restart(server, raw):
    state_after_restart(server, raw, crash=False)


def test_state_survives_kill(server, raw):
    state_after_restart(server, raw, crash=True)


def test_logout_does_not_expunge(srv, raw):
    r = login_raw(raw, srv)
    fresh(r, "lo-keep", 2)
    ok(r.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1], "d")
    untagged, tagged = r.cmd("o", "LOGOUT")
    assert untagged[0].startswith(b"* BYE") and tagged.startswith(b"o OK"), (untagged, tagged)
    r2 = login_raw(raw, srv)
    untagged, _ = r2.cmd("st", "STATUS lo-keep (MESSAGES DELETED)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 2, "DELETED": 1}


def test_append_bad_arguments(srv, raw):
    # Impossible dates, and (as Dovecot does) an unknown system flag, are refused
    # rather than silently changed.
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ap-bad")[1], "c")
    for i, (flags, date) in enumerate([("", "32-Jan-2020 00:00:00 +0000"), ("", "01-Foo-2020 00:00:00 +0000"), ("\\Bogus", "")]):
        _, tagged = append_raw(r, f"a{i}", "ap-bad", msg(), flags=flags, date=date)
        assert tagged.startswith(f"a{i} BAD".encode()) or tagged.startswith(f"a{i} NO".encode()), (flags, date, tagged)
    untagged, _ = r.cmd("st", "STATUS ap-bad (MESSAGES)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 0}


def test_append_binary_literal8(srv, raw):
    # RFC 3516 §4.4: with BINARY, APPEND takes a literal8 (~{n}) that may hold NULs.
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ap-bin")[1], "c")
    payload = b"raw\x00bytes\x01\x02\xff\r\nend"
    m = (
        b"Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + payload
    )
    r.send(b"a APPEND ap-bin ~{%d+}\r\n" % len(m) + m + b"\r\n")
    _, tagged = r.until("a")
    assert tagged.startswith(b"a OK [APPENDUID "), tagged
    ok(r.cmd("s", "EXAMINE ap-bin")[1], "s")
    r.send("f FETCH 1 (BINARY.PEEK[1] RFC822.SIZE)\r\n")
    head = r.line()
    assert head.startswith(b"* 1 FETCH (") and head.endswith(b"~{%d}\r\n" % len(payload)), head
    data = r.f.read(len(payload))
    assert data == payload
    rest = r.line()
    assert b"RFC822.SIZE %d" % len(m) in head + rest, (head, rest)
    _, tagged = r.until("f")
    ok(tagged, "f")


def test_no_expunge_during_fetch_store_search(srv, raw):
    # RFC 9051 §7.5.1: no EXPUNGE response while answering FETCH, STORE or
    # SEARCH (sequence numbers would shift under the client); it waits for NOOP.
    a = login_raw(raw, srv)
    fresh(a, "noexp", 3)
    b = login_raw(raw, srv)
    ok(b.cmd("s", "SELECT noexp")[1], "s")
    ok(b.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1], "d")
    ok(b.cmd("e", "EXPUNGE")[1], "e")
    for tag, command in (("f", "FETCH 2:3 UID"), ("st", "STORE 3 +FLAGS (\\Seen)"), ("q", "SEARCH ALL")):
        untagged, tagged = a.cmd(tag, command)
        ok(tagged, tag)
        assert not any(u.endswith(b" EXPUNGE\r\n") for u in untagged), (command, untagged)
    untagged, tagged = a.cmd("f2", "FETCH 2:3 UID")
    assert untagged == [b"* 2 FETCH (UID 2)\r\n", b"* 3 FETCH (UID 3)\r\n"], untagged
    untagged, tagged = a.cmd("n", "NOOP")
    ok(tagged, "n")
    assert b"* 1 EXPUNGE\r\n" in untagged, untagged
    untagged, _ = a.cmd("f3", "FETCH 1:* UID")
    assert untagged == [b"* 1 FETCH (UID 2)\r\n", b"* 2 FETCH (UID 3)\r\n"], untagged


def test_recent_rev1(srv, raw):
    # RFC 3501 §2.3.2: \Recent goes to the first session told about a message.
    a = login_raw(raw, srv)
    fresh(a, "recent", 0)
    b = login_raw(raw, srv)
    ok(append_raw(b, "ap", "recent", msg("new"))[1], "ap")
    untagged, tagged = a.cmd("n", "NOOP")
    ok(tagged, "n")
    assert b"* 1 EXISTS\r\n" in untagged and b"* 1 RECENT\r\n" in untagged, untagged
    untagged, _ = a.cmd("f", "FETCH 1 FLAGS")
    assert b"\\Recent" in untagged[0], untagged
    assert a.cmd("q", "SEARCH RECENT")[0] == [b"* SEARCH 1\r\n"]
    untagged, tagged = b.cmd("s", "SELECT recent")
    ok(tagged, "s")
    assert b"* 0 RECENT\r\n" in untagged, untagged
    assert b.cmd("q", "SEARCH RECENT")[0] == [b"* SEARCH\r\n"]


def test_commands_are_case_insensitive(srv, raw):
    r = raw(srv.imap_port)
    ok(r.cmd("l", 'login alice "alice-secret"')[1], "l")
    fresh(r, "lower", 2)
    untagged, tagged = r.cmd("s", "select lower")
    ok(tagged, "s")
    untagged, tagged = r.cmd("f", "uid fetch 1:* (flags uid)")
    ok(tagged, "f")
    assert len(untagged) == 2 and all(b"UID" in u for u in untagged), untagged
    untagged, tagged = r.cmd("q", "uid search all")
    assert untagged == [b"* SEARCH 1 2\r\n"], untagged
    untagged, tagged = r.cmd("st", "store 1 +flags.silent (\\seen)")
    ok(tagged, "st")
    untagged, _ = r.cmd("f2", "fetch 1 flags")
    # System flags are case-insensitive too and come back in their canonical form.
    assert untagged == [b"* 1 FETCH (FLAGS (\\Seen))\r\n"], untagged


def test_move_seen_by_sessions_on_both_mailboxes(srv, raw):
    a = login_raw(raw, srv)
    ok(a.cmd("c", "CREATE mvw-dst")[1], "c")
    fresh(a, "mvw-src", 2)
    src = login_raw(raw, srv)
    ok(src.cmd("s", "SELECT mvw-src")[1], "s")
    dst = login_raw(raw, srv, "alice")
    ok(dst.cmd("s", "SELECT mvw-dst")[1], "s")
    ok(a.cmd("m", "MOVE 1 mvw-dst")[1], "m")
    untagged, _ = src.cmd("n", "NOOP")
    assert untagged == [b"* 1 EXPUNGE\r\n"], untagged
    untagged, _ = dst.cmd("n", "NOOP")
    assert b"* 1 EXISTS\r\n" in untagged, untagged
    assert subjects(dst) == [b"m1"]
    assert subjects(src) == [b"m2"]
