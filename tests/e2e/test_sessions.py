"""Concurrency, shards and durability: several sessions of one user, home
shards, restarts (clean and kill -9), SIGTERM with open sessions, and the
connection/line/time limits of [limits]."""

import re
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import USERS, Raw

WAIT = 10  # seconds a notification may take before the test fails


def msg(n, size=0):
    body = f"Message number {n}\r\n" + ("x" * 70 + "\r\n") * size
    return (
        f"From: Bob <bob@example.org>\r\nTo: alice@example.org\r\n"
        f"Subject: test {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\n{body}"
    ).encode()


class TlsRaw(Raw):
    """Raw over implicit TLS (the IMAPS port)."""

    def __init__(self, server, timeout=WAIT):
        plain = socket.create_connection(
            ("127.0.0.1", server.imaps_port), timeout=timeout
        )
        self.sock = server.tls_context().wrap_socket(plain, server_hostname="localhost")
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline()


def login_raw(server, user="alice", port=None, tls=False):
    r = TlsRaw(server) if tls else Raw(port or server.imap_port, timeout=WAIT)
    _, tagged = r.cmd("l", f'LOGIN {user} "{USERS[user]}"')
    assert tagged.startswith(b"l OK"), tagged
    return r


def wait_for(r, pred, what):
    """Reads lines from `r` until one satisfies `pred`; returns all read."""
    seen = []
    deadline = time.time() + WAIT
    while time.time() < deadline:
        try:
            line = r.line()
        except socket.timeout:
            break
        seen.append(line)
        if pred(line):
            return seen
    raise AssertionError(f"no {what} within {WAIT} s; got {seen!r}")


def append_raw(r, tag, mailbox, data, flags=""):
    """APPEND with a LITERAL+ literal; returns the tagged line."""
    fl = f"({flags}) " if flags else ""
    r.send(f"{tag} APPEND {mailbox} {fl}{{{len(data)}+}}\r\n".encode() + data + b"\r\n")
    return r.until(tag)[1]


def fetch_all(c, mailbox):
    """{uid: (flags set, body bytes)} of every message in `mailbox` (imaplib)."""
    typ, _ = c.select(mailbox, readonly=True)
    assert typ == "OK"
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        uid = int(re.search(r"UID (\d+)", head).group(1))
        flags = set(re.search(r"FLAGS \(([^)]*)\)", head).group(1).split())
        out[uid] = (flags, item[1])
    return out


def status(c, mailbox):
    typ, data = c.status(f'"{mailbox}"', "(MESSAGES UIDNEXT UIDVALIDITY)")
    assert typ == "OK", data
    line = data[0].decode()
    return {
        k: int(v) for k, v in re.findall(r"(MESSAGES|UIDNEXT|UIDVALIDITY) (\d+)", line)
    }


# --- two sessions of one user ------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "imaps"])
def test_idle_sees_append_flags_and_expunge(server, tls):
    a = login_raw(server, tls=tls)
    untagged, tagged = a.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s OK [READ-WRITE]"), tagged
    assert b"* 0 EXISTS\r\n" in untagged
    a.send("i IDLE\r\n")
    assert a.line() == b"+ idling\r\n"

    b = server.login("alice")
    typ, data = b.append("INBOX", None, None, msg(1))
    assert typ == "OK"
    wait_for(a, lambda l: l == b"* 1 EXISTS\r\n", "* 1 EXISTS in IDLE")

    b.select("INBOX")
    typ, _ = b.store("1", "+FLAGS", r"(\Flagged)")
    assert typ == "OK"
    seen = wait_for(a, lambda l: l.startswith(b"* 1 FETCH"), "FETCH in IDLE")
    assert re.match(rb"\* 1 FETCH \(.*FLAGS \(\\Flagged\).*\)\r\n$", seen[-1]), seen

    typ, _ = b.store("1", "+FLAGS", r"(\Deleted)")
    assert typ == "OK"
    typ, data = b.expunge()
    assert (typ, data) == ("OK", [b"1"])
    seen = wait_for(a, lambda l: l.endswith(b" EXPUNGE\r\n"), "EXPUNGE in IDLE")
    assert seen[-1] == b"* 1 EXPUNGE\r\n"

    a.send("DONE\r\n")
    rest = wait_for(a, lambda l: l.startswith(b"i "), "tagged IDLE reply")
    assert rest[-1].startswith(b"i OK"), rest
    # The session goes on normally after IDLE.
    untagged, tagged = a.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK"), tagged
    b.logout()


def test_many_idlers_all_see_one_append(server):
    """20 sessions of one user IDLE (accepted on both shards, all served by
    the home shard); one APPEND reaches every one of them."""
    idlers = []
    for i in range(20):
        r = login_raw(server, tls=i % 5 == 0)
        _, tagged = r.cmd("s", "SELECT INBOX")
        assert tagged.startswith(b"s OK"), tagged
        r.send("i IDLE\r\n")
        assert r.line() == b"+ idling\r\n"
        idlers.append(r)
    a = server.login("alice")
    assert a.append("INBOX", None, None, msg(1))[0] == "OK"
    for r in idlers:
        wait_for(r, lambda l: l == b"* 1 EXISTS\r\n", "EXISTS in every IDLE")
        r.send("DONE\r\n")
    for r in idlers:
        assert wait_for(r, lambda l: l.startswith(b"i "), "IDLE end")[-1].startswith(
            b"i OK"
        )
        r.close()
    a.logout()


def test_noop_reports_changes_without_idle(server):
    a = login_raw(server)
    a.cmd("s", "SELECT INBOX")
    b = server.login("alice")
    b.append("INBOX", None, None, msg(1))
    b.append("INBOX", None, None, msg(2))
    untagged, tagged = a.cmd("n1", "NOOP")
    assert tagged.startswith(b"n1 OK"), tagged
    assert b"* 2 EXISTS\r\n" in untagged, untagged

    b.select("INBOX")
    b.store("2", "+FLAGS", r"(\Answered)")
    untagged, tagged = a.cmd("n2", "NOOP")
    assert tagged.startswith(b"n2 OK")
    fetches = [l for l in untagged if l.startswith(b"* 2 FETCH")]
    assert len(fetches) == 1 and b"FLAGS (\\Answered)" in fetches[0], untagged

    b.store("1", "+FLAGS", r"(\Deleted)")
    b.expunge()
    untagged, tagged = a.cmd("n3", "NOOP")
    assert tagged.startswith(b"n3 OK")
    assert b"* 1 EXPUNGE\r\n" in untagged, untagged
    # Nothing new: NOOP says nothing but OK.
    untagged, tagged = a.cmd("n4", "NOOP")
    assert untagged == [] and tagged.startswith(b"n4 OK"), (untagged, tagged)
    b.logout()


def test_expunge_held_back_during_fetch_store_search(server):
    """RFC 9051 §7.5.1: no EXPUNGE while answering FETCH, STORE or SEARCH
    (sequence numbers must not shift under the client); NOOP and UID
    commands may and do report it."""
    a = login_raw(server)
    b = server.login("alice")
    for n in (1, 2, 3):
        b.append("INBOX", None, None, msg(n))
    a.cmd("s", "SELECT INBOX")
    b.select("INBOX")
    b.store("1", "+FLAGS", r"(\Deleted)")
    assert b.expunge()[0] == "OK"

    untagged, tagged = a.cmd("f", "FETCH 2 (UID)")
    assert tagged.startswith(b"f OK"), tagged
    assert not any(l.endswith(b"EXPUNGE\r\n") for l in untagged), untagged
    assert b"* 2 FETCH (UID 2)\r\n" in untagged, untagged

    untagged, tagged = a.cmd("st", r"STORE 3 +FLAGS (\Seen)")
    assert tagged.startswith(b"st OK"), tagged
    assert not any(l.endswith(b"EXPUNGE\r\n") for l in untagged), untagged
    assert any(
        l.startswith(b"* 3 FETCH") and b"\\Seen" in l for l in untagged
    ), untagged

    untagged, tagged = a.cmd("se", "SEARCH UID 3")
    assert tagged.startswith(b"se OK"), tagged
    assert not any(l.endswith(b"EXPUNGE\r\n") for l in untagged), untagged
    assert b"* SEARCH 3\r\n" in untagged, untagged

    untagged, tagged = a.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK")
    assert b"* 1 EXPUNGE\r\n" in untagged, untagged

    # A UID command may announce it.
    b.store("1", "+FLAGS", r"(\Deleted)")  # UID 2 is now sequence 1
    assert b.expunge()[0] == "OK"
    untagged, tagged = a.cmd("u", "UID FETCH 3 (FLAGS)")
    assert tagged.startswith(b"u OK"), tagged
    assert b"* 1 EXPUNGE\r\n" in untagged, untagged
    # UID 3 is sequence 2 before the EXPUNGE and 1 after it: the FETCH must
    # use the number that is right where it stands in the response.
    at = untagged.index(b"* 1 EXPUNGE\r\n")
    fetches = [(i, l) for i, l in enumerate(untagged) if b" FETCH " in l]
    assert len(fetches) == 1 and b"UID 3" in fetches[0][1], untagged
    i, line = fetches[0]
    assert line.startswith(b"* 1 FETCH" if i > at else b"* 2 FETCH"), untagged
    b.logout()


# --- home shards --------------------------------------------------------------

LOGIN_RE = re.compile(r"session=(\d+).*?shard=(\d+).*?logged in")


def logins(server, user):
    """(session id, shard) of every 'logged in' line of `user`, in order."""
    out = []
    for line in server.log().splitlines():
        if "logged in" in line and re.search(
            rf"user=\"?{re.escape(user)}\"?(\s|}}|$)", line
        ):
            m = LOGIN_RE.search(line)
            assert m, f"unparsable login line: {line}"
            out.append((int(m.group(1)), int(m.group(2))))
    return out


def test_sessions_of_one_user_share_the_home_shard(server):
    conns = {}
    for _ in range(40):
        before = len(logins(server, "alice"))
        r = login_raw(server)
        after = logins(server, "alice")
        assert len(after) == before + 1, server.log()
        sid, shard = after[-1]
        accepted_on = sid % 2
        if accepted_on not in conns:
            conns[accepted_on] = (r, shard)
        else:
            r.close()
        if len(conns) == 2:
            break
    assert len(conns) == 2, "40 connections were all accepted on one shard"
    (r0, home0), (r1, home1) = conns[0], conns[1]
    assert home0 == home1, f"alice served on shards {home0} and {home1}"

    # A change made through one is seen by the other's IDLE.
    r0.cmd("s", "SELECT INBOX")
    r1.cmd("s", "SELECT INBOX")
    r0.send("i IDLE\r\n")
    assert r0.line() == b"+ idling\r\n"
    tagged = append_raw(r1, "a", "INBOX", msg(1))
    assert tagged.startswith(b"a OK"), tagged
    wait_for(r0, lambda l: l == b"* 1 EXISTS\r\n", "EXISTS on the other session")
    r0.send("DONE\r\n")
    assert wait_for(r0, lambda l: l.startswith(b"i "), "IDLE end")[-1].startswith(
        b"i OK"
    )


def test_users_are_spread_over_home_shards(server):
    homes = {}
    for i in range(12):
        name = f"user{i}"
        USERS[name] = f"pw-{i}"
        server.add_user(name, USERS[name])
    # The server polls the user database file; wait for it to see all 14.
    deadline = time.time() + WAIT
    while not any(
        "user database reloaded" in l and re.search(r"\busers=14\b", l)
        for l in server.log().splitlines()
    ):
        assert time.time() < deadline, (
            "user database not reloaded:\n" + server.log()[-3000:]
        )
        time.sleep(0.1)
    try:
        for i in range(12):
            name = f"user{i}"
            r = login_raw(server, name)
            r.cmd("x", "LOGOUT")
            r.close()
            got = logins(server, name)
            assert len(got) == 1, got
            homes[name] = got[0][1]
            # Every session of this user lands on the same shard.
            r = login_raw(server, name)
            r.close()
            assert {s for _, s in logins(server, name)} == {homes[name]}
    finally:
        for i in range(12):
            USERS.pop(f"user{i}", None)
    assert set(homes.values()) == {0, 1}, homes


def starttls_raw(server):
    r = Raw(server.imap_port, timeout=WAIT)
    _, tagged = r.cmd("st", "STARTTLS")
    assert tagged.startswith(b"st OK"), tagged
    r.sock = server.tls_context().wrap_socket(r.sock, server_hostname="localhost")
    r.f = r.sock.makefile("rb")
    return r


@pytest.mark.parametrize("tls", ["plain", "imaps", "starttls"])
def test_commands_pipelined_behind_login_survive_the_handoff(server, tls):
    """Bytes the client sent behind LOGIN/AUTHENTICATE travel with the
    connection to the home shard: every pipelined command is answered, in
    order, whichever shard accepted the connection."""
    import base64

    accepted = set()
    for attempt in range(40):
        if tls == "imaps":
            r = TlsRaw(server)
        elif tls == "starttls":
            r = starttls_raw(server)
        else:
            r = Raw(server.imap_port, timeout=WAIT)
        if attempt % 2:
            login = f'l LOGIN alice "{USERS["alice"]}"'
        else:
            ir = base64.b64encode(f"\0alice\0{USERS['alice']}".encode()).decode()
            login = f"l AUTHENTICATE PLAIN {ir}"
        r.send(
            f"{login}\r\nn NOOP\r\ns SELECT INBOX\r\n"
            f"a APPEND INBOX {{{len(msg(attempt))}+}}\r\n".encode()
            + msg(attempt)
            + b"\r\nf FETCH * (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nx LOGOUT\r\n"
        )
        lines = []
        try:
            while True:
                lines.append(r.line())
        except (EOFError, ConnectionError):
            pass
        tags = [
            l.split(b" ")[0] + b" " + l.split(b" ")[1]
            for l in lines
            if not l.startswith(b"*")
            and not l.startswith(b"Subject")
            and l != b")\r\n"
            and l != b"\r\n"
        ]
        assert tags == [b"l OK", b"n OK", b"s OK", b"a OK", b"f OK", b"x OK"], lines
        assert f"Subject: test {attempt}".encode() in b"".join(lines), lines
        sid = logins(server, "alice")[-1][0]
        accepted.add(sid % 2)
        r.close()
        if accepted == {0, 1} and attempt >= 3:
            break
    assert accepted == {0, 1}, "connections were never accepted on both shards"


def test_concurrent_appends_from_many_sessions(server):
    """Eight sessions of one user append at once: every APPEND gets its own
    UID, UIDs are dense, and every message is intact."""
    import threading

    per = 40
    results = {}
    errors = []

    def work(k):
        try:
            r = login_raw(server)
            r.sock.settimeout(60)
            payload = b"".join(
                f"a{i} APPEND INBOX {{{len(msg(k * 1000 + i, 5))}+}}\r\n".encode()
                + msg(k * 1000 + i, 5)
                + b"\r\n"
                for i in range(per)
            )
            r.send(payload)
            for i in range(per):
                _, tagged = r.until(f"a{i}")
                m = re.match(rb"a\d+ OK \[APPENDUID \d+ (\d+)\]", tagged)
                assert m, tagged
                results[k * 1000 + i] = int(m.group(1))
            r.close()
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    uids = sorted(results.values())
    assert uids == list(range(1, 8 * per + 1)), "UIDs not unique and dense"
    c = server.login("alice")
    got = fetch_all(c, "INBOX")
    assert len(got) == 8 * per
    for n, uid in results.items():
        assert got[uid][1] == msg(n, 5), (n, uid)
    c.logout()


def test_total_connection_limit(make_server):
    server = make_server(extra="[limits]\nmax_connections = 2\n")
    held = [Raw(server.imap_port, timeout=WAIT) for _ in range(2)]
    assert all(h.greeting.startswith(b"* OK") for h in held)
    third = Raw(server.imap_port, timeout=WAIT)
    assert third.greeting.startswith(b"* BYE [UNAVAILABLE]"), third.greeting
    for r in held + [third]:
        r.close()


# --- restarts -------------------------------------------------------------------


def test_restart_keeps_everything(server):
    c = server.login("alice")
    assert c.create("Work")[0] == "OK"
    assert c.create("Work/2026")[0] == "OK"
    assert c.create("Projects")[0] == "OK"
    for n in range(1, 6):
        assert c.append("INBOX", None, None, msg(n, size=n * 3))[0] == "OK"
    for n in range(6, 9):
        assert c.append("Work/2026", r"(\Seen $Important)", None, msg(n))[0] == "OK"
    assert c.append("Projects", None, None, msg(9, size=2000))[0] == "OK"
    c.select("INBOX")
    c.store("2", "+FLAGS", r"(\Flagged \Answered)")
    c.store("4", "+FLAGS", r"(\Deleted)")
    assert c.expunge()[0] == "OK"
    c.store("3", "+FLAGS", "(custom-keyword)")

    boxes = ["INBOX", "Work", "Work/2026", "Projects", "Archive", "Trash"]
    before = {b: (status(c, b), fetch_all(c, b)) for b in boxes}
    typ, listed_before = c.list()
    c.logout()
    assert set(before["INBOX"][1]) == {1, 2, 3, 5}

    server.restart()

    c = server.login("alice")
    typ, listed_after = c.list()
    assert sorted(listed_after) == sorted(listed_before)
    for b in boxes:
        st, msgs = status(c, b), fetch_all(c, b)
        assert st == before[b][0], (b, st, before[b][0])
        assert msgs.keys() == before[b][1].keys(), b
        for uid, (flags, body) in msgs.items():
            bflags, bbody = before[b][1][uid]
            assert body == bbody, (b, uid)
            assert flags == bflags, (b, uid, flags, bflags)
    # A new message gets the next UID, not one that was used before.
    typ, data = c.append("INBOX", None, None, msg(10))
    uidvalidity = before["INBOX"][0]["UIDVALIDITY"]
    uidnext = before["INBOX"][0]["UIDNEXT"]
    assert data[0].startswith(f"[APPENDUID {uidvalidity} {uidnext}]".encode()), data
    c.logout()


def test_kill_9_keeps_every_acknowledged_append(server):
    """Pipelined APPENDs; the server is killed mid-stream. Every APPEND that
    was answered OK must be there, byte for byte, after the restart."""
    r = login_raw(server)
    _, tagged = r.cmd("c", "CREATE Kept/Sub")
    assert tagged.startswith(b"c OK"), tagged
    # Flag changes acknowledged before the kill must survive it too
    # (sync_flag_changes defaults to true).
    for i in range(3):
        assert append_raw(r, f"p{i}", "INBOX", msg(1000 + i)).startswith(
            f"p{i} OK".encode()
        )
    r.cmd("s", "SELECT INBOX")
    _, tagged = r.cmd("f", r"STORE 1:3 +FLAGS (\Answered $Kept)")
    assert tagged.startswith(b"f OK"), tagged
    _, tagged = r.cmd("f2", r"STORE 2 -FLAGS (\Answered)")
    assert tagged.startswith(b"f2 OK"), tagged
    total = 300
    out = b"".join(
        f"a{i} APPEND INBOX {{{len(msg(i, 20))}+}}\r\n".encode() + msg(i, 20) + b"\r\n"
        for i in range(total)
    )
    r.sock.settimeout(30)
    r.send(out[: len(out) // 2])  # half now, to be sure some are in flight
    acked = {}
    killed = False
    sent_rest = False
    while len(acked) < total:
        try:
            line = r.line()
        except (EOFError, ConnectionError, OSError):
            break
        m = re.match(rb"a(\d+) OK \[APPENDUID \d+ (\d+)\]", line)
        if m:
            acked[int(m.group(1))] = int(m.group(2))
        elif line.startswith(b"a"):
            raise AssertionError(f"APPEND refused: {line!r}")
        if len(acked) == 40 and not sent_rest:
            try:
                r.send(out[len(out) // 2 :])
            except OSError:
                pass
            sent_rest = True
        if len(acked) >= 60 and not killed:
            server.proc.kill()
            killed = True
    assert killed, f"only {len(acked)} APPENDs were answered"
    server.proc.wait()
    server.proc.stdout.close()
    server.log_file.close()
    server.proc = None
    r.close()
    server.start()

    c = server.login("alice")
    assert status(c, "Kept/Sub")["MESSAGES"] == 0
    got = fetch_all(c, "INBOX")
    assert got[1] == ({"\\Answered", "$Kept"}, msg(1000)), got[1]
    assert got[2] == ({"$Kept"}, msg(1001)), got[2]
    assert got[3] == ({"\\Answered", "$Kept"}, msg(1002)), got[3]
    for i, uid in acked.items():
        assert uid in got, f"APPEND a{i} was acknowledged as UID {uid} but is lost"
        assert got[uid][1] == msg(i, 20), f"UID {uid} differs from APPEND a{i}"
    # What survived is whole messages only, with UIDs in order, and the next
    # APPEND gets a fresh UID.
    for uid, (_, body) in got.items():
        assert re.search(rb"Subject: test \d+", body), uid
    print(
        f"kill -9: {len(acked)} APPENDs acknowledged, {len(got) - 3} present after restart"
    )
    typ, data = c.append("INBOX", None, None, msg(999))
    new_uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
    assert new_uid > max(got), (new_uid, max(got))
    c.logout()


def test_sigterm_says_bye_and_exits_0(server):
    idle = login_raw(server)
    idle.cmd("s", "SELECT INBOX")
    idle.send("i IDLE\r\n")
    assert idle.line() == b"+ idling\r\n"
    busy = login_raw(server)
    busy.cmd("s", "SELECT INBOX")
    fresh = Raw(server.imap_port, timeout=WAIT)  # not logged in
    assert fresh.greeting.startswith(b"* OK")
    midway = login_raw(server)  # in the middle of sending a literal
    midway.send("a APPEND INBOX {100}\r\n")
    assert midway.line().startswith(b"+")
    midway.send("Subject: half")

    server.stop()  # asserts exit code 0 and no panic

    for r in (idle, busy, fresh, midway):
        lines = []
        try:
            while True:
                lines.append(r.line())
        except (EOFError, ConnectionError):
            pass
        assert any(l.startswith(b"* BYE") for l in lines), lines
    # The half-sent APPEND was never acknowledged and must not appear.
    server.start()
    c = server.login("alice")
    assert c.select("INBOX") == ("OK", [b"0"])
    c.logout()


def test_sigterm_repeatedly_with_work_on_every_shard(server):
    """Shutdown with background work in flight on both shards (a store
    lingering after its last session, a batched flag sync pending, sessions
    handed off across shards and idling) exits 0 every time. A shard that
    left while its peers could still wake its tasks crashed the process at
    exit, rarely; repeating makes that visible."""
    for round in range(12):
        c = server.login("bob")
        assert c.append("INBOX", None, None, msg(round))[0] == "OK"
        c.logout()  # bob's store now lingers
        sessions = []
        for user in ("alice", "bob", "bob"):
            r = login_raw(server, user)
            r.cmd("s", "SELECT INBOX")
            sessions.append(r)
        r = sessions[1]
        _, done = r.cmd("f", "STORE 1:* +FLAGS (\\Seen)")
        assert done.startswith(b"f OK"), done
        sessions[0].send("i IDLE\r\n")
        assert sessions[0].line() == b"+ idling\r\n"
        server.stop()  # asserts exit code 0 and no panic
        assert server.log().count("postcore stopped") == round + 1
        for r in sessions:
            r.f.close()
            r.close()
        server.start()


def stall(server, idle_timeout=None):
    """A logged-in session that asks for ~60 MB and reads none of it."""
    c = server.login("alice")
    big = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 1000
    for _ in range(2):
        assert c.append("INBOX", None, None, big)[0] == "OK"
    c.logout()
    r = login_raw(server)
    r.cmd("s", "SELECT INBOX")
    r.send(b"".join(b"f%d FETCH 1:* BODY.PEEK[]\r\n" % i for i in range(30)))
    return r


def test_sigterm_with_a_client_that_does_not_read(server):
    """Shutdown must not wait for a client that stopped reading."""
    r = stall(server)
    time.sleep(1)  # let the server fill the socket buffers
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        r.f.close()
        r.close()
        code = server.proc.wait(timeout=30)
        raise AssertionError(
            "server did not exit within 10 s of SIGTERM while a client was not "
            f"reading (exited {code} once the client closed)"
        )
    finally:
        r.f.close()
        r.close()
    assert code == 0
    server.proc.stdout.close()
    server.log_file.close()
    server.proc = None
    assert "panicked" not in server.log()


def test_client_that_does_not_read_is_dropped(make_server):
    """A session whose output has been stuck for longer than the idle
    timeout is closed, so a client cannot pin a session (its store and up to
    max_output_buffer bytes) forever."""
    server = make_server(extra="[limits]\nidle_timeout_secs = 2\n")
    r = stall(server)
    ended = lambda: server.log().count("session ended")
    before = ended()
    deadline = time.time() + 10
    while ended() == before and time.time() < deadline:
        time.sleep(0.2)
    try:
        assert ended() > before, "a client that reads nothing kept its session for 10 s"
        # Others are unaffected meanwhile.
        c = server.login("alice")
        assert c.noop()[0] == "OK"
        c.logout()
    finally:
        r.f.close()
        r.close()


# --- limits ---------------------------------------------------------------------


def test_connections_per_ip_limit(make_server):
    server = make_server(extra="[limits]\nmax_connections_per_ip = 3\n")
    held = [Raw(server.imap_port, timeout=WAIT) for _ in range(3)]
    for h in held:
        assert h.greeting.startswith(b"* OK"), h.greeting
    fourth = Raw(server.imap_port, timeout=WAIT)
    assert fourth.greeting.startswith(b"* BYE [UNAVAILABLE]"), fourth.greeting
    try:
        extra = fourth.f.readline()
    except ConnectionError:
        extra = b""
    assert extra == b"", "the refused connection was not closed"
    fourth.close()
    # Freeing a slot lets the next connection in (the release is asynchronous).
    held.pop().cmd("x", "LOGOUT")
    deadline = time.time() + WAIT
    while True:
        r = Raw(server.imap_port, timeout=WAIT)
        if r.greeting.startswith(b"* OK"):
            break
        r.close()
        assert time.time() < deadline, "slot not freed after LOGOUT"
        time.sleep(0.05)
    for h in held:
        h.close()


def test_connection_limit_on_the_tls_port_answers_in_tls(make_server):
    """On the implicit-TLS port every byte is TLS (RFC 8314 §3.2): the
    refusal must come as `* BYE [UNAVAILABLE]` inside TLS, not as plain
    text a TLS client reads as a broken handshake."""
    server = make_server(extra="[limits]\nmax_connections_per_ip = 1\n")
    held = Raw(server.imap_port, timeout=WAIT)
    assert held.greeting.startswith(b"* OK")
    r = TlsRaw(server)
    assert r.greeting.startswith(b"* BYE [UNAVAILABLE]"), r.greeting
    r.close()
    held.close()


def test_connections_per_user_limit(make_server):
    server = make_server(extra="[limits]\nmax_connections_per_user = 2\n")
    a1 = login_raw(server)
    a2 = login_raw(server)
    a3 = Raw(server.imap_port, timeout=WAIT)
    _, tagged = a3.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l NO [LIMIT]"), tagged
    # Another user is not affected.
    b1 = login_raw(server, "bob")
    _, tagged = b1.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK")
    # After one of alice's sessions leaves, she may log in again.
    a1.cmd("x", "LOGOUT")
    deadline = time.time() + WAIT
    while True:
        _, tagged = a3.cmd("l2", f'LOGIN alice "{USERS["alice"]}"')
        if tagged.startswith(b"l2 OK"):
            break
        assert tagged.startswith(b"l2 NO [LIMIT]"), tagged
        assert time.time() < deadline, "alice's slot not freed after LOGOUT"
        time.sleep(0.05)
    for r in (a1, a2, a3, b1):
        r.close()


def test_login_timeout_closes_idle_connection(make_server):
    server = make_server(extra="[limits]\nlogin_timeout_secs = 2\n")
    r = Raw(server.imap_port, timeout=WAIT)
    assert r.greeting.startswith(b"* OK")
    start = time.time()
    line = r.line()
    assert line.startswith(b"* BYE"), line
    assert time.time() - start < 6, "closed too late"
    try:
        rest = r.f.readline()
    except ConnectionError:
        rest = b""
    assert rest == b"", rest
    # A logged-in session is not subject to the login timeout.
    a = login_raw(server)
    readable, _, _ = select.select([a.sock], [], [], 3.5)
    assert not readable, f"logged-in session got {a.sock.recv(200)!r} while idle"
    _, tagged = a.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK")


def test_login_timeout_covers_tls(make_server):
    """A client that never finishes the TLS handshake is dropped; one that
    finished it (implicit TLS or STARTTLS) but does not log in gets BYE."""
    server = make_server(extra="[limits]\nlogin_timeout_secs = 2\n")
    stalled = socket.create_connection(("127.0.0.1", server.imaps_port), timeout=WAIT)
    implicit = TlsRaw(server)
    assert implicit.greeting.startswith(b"* OK")
    starttls = Raw(server.imap_port, timeout=WAIT)
    _, tagged = starttls.cmd("s", "STARTTLS")
    assert tagged.startswith(b"s OK"), tagged
    ctx = server.tls_context()
    starttls.sock = ctx.wrap_socket(starttls.sock, server_hostname="localhost")
    starttls.f = starttls.sock.makefile("rb")
    start = time.time()
    assert stalled.recv(100) == b"", "stalled handshake got bytes"
    for what, r in (("implicit TLS", implicit), ("STARTTLS", starttls)):
        lines = []
        try:
            while True:
                lines.append(r.line())
        except (EOFError, ConnectionError):
            pass
        assert lines and lines[0].startswith(b"* BYE"), f"{what}: {lines}"
    assert time.time() - start < 8, "closed too late"
    stalled.close()


def test_line_length_limit(make_server):
    server = make_server(extra="[limits]\nmax_line_length = 1024\n")
    r = login_raw(server)
    r.send(b"t1 NOOP " + b"x" * 4000 + b"\r\n")
    line = r.line()
    if line.startswith(b"* BYE"):
        try:
            rest = r.f.readline()
        except ConnectionError:
            rest = b""
        assert rest == b"", "connection not closed after BYE"
    else:
        assert re.match(rb"(t1|\*) BAD ", line), line
        # The parser resynchronised: the next command works.
        _, tagged = r.cmd("t2", "NOOP")
        assert tagged.startswith(b"t2 OK"), tagged
    # Literals do not count toward the line length.
    r = login_raw(server)
    big = msg(1, size=100)
    assert len(big) > 4000
    tagged = append_raw(r, "ap", "INBOX", big)
    assert tagged.startswith(b"ap OK"), tagged


def test_idle_timeout_says_bye(make_server):
    """An authenticated session silent past idle_timeout_secs is logged out
    with an untagged BYE (RFC 9051 §7.1.5, autologout), in IDLE as well."""
    server = make_server(extra="[limits]\nidle_timeout_secs = 2\n")
    quiet = login_raw(server)
    quiet.cmd("s", "SELECT INBOX")
    idling = login_raw(server)
    idling.cmd("s", "SELECT INBOX")
    idling.send("i IDLE\r\n")
    assert idling.line() == b"+ idling\r\n"
    start = time.time()
    for what, r in (("selected session", quiet), ("IDLE session", idling)):
        lines = []
        try:
            while True:
                lines.append(r.line())
        except (EOFError, ConnectionError):
            pass
        assert any(
            l.startswith(b"* BYE") for l in lines
        ), f"{what} closed without BYE: {lines}"
    assert time.time() - start < 8, "idle sessions closed too late"


def test_literal_size_limit(make_server):
    server = make_server(extra="[limits]\nmax_literal_size = 1000\n")
    r = login_raw(server)
    # RFC 7889: the limit is announced.
    untagged, _ = r.cmd("c", "CAPABILITY")
    caps = b" ".join(untagged)
    assert b" APPENDLIMIT=1000" in caps, caps
    # A synchronising literal over the limit is refused before the client
    # sends it: no continuation, a tagged NO [TOOBIG] (RFC 9051 §7.1).
    r.send("a1 APPEND INBOX {2000}\r\n")
    line = r.line()
    assert line.startswith(b"a1 NO [TOOBIG]"), line
    _, tagged = r.cmd("n1", "NOOP")
    assert tagged.startswith(b"n1 OK"), tagged
    # Exactly at the limit is accepted.
    data = b"Subject: x\r\n\r\n"
    data += b"y" * (1000 - len(data))
    assert len(data) == 1000
    r.send("a2 APPEND INBOX {1000}\r\n")
    assert r.line().startswith(b"+"), "no continuation for a literal within the limit"
    r.send(data + b"\r\n")
    _, tagged = r.until("a2")
    assert tagged.startswith(b"a2 OK [APPENDUID "), tagged
    # A non-synchronising literal over the limit (RFC 7888 §4): the server
    # cannot refuse before the bytes arrive; it answers BAD/NO [TOOBIG] and
    # either skips the literal or closes with BYE.
    r.send(b"a3 APPEND INBOX {2000+}\r\n" + b"z" * 2000 + b"\r\n")
    line = r.line()
    if line.startswith(b"* BYE"):
        with pytest.raises((EOFError, ConnectionError)):
            while True:
                r.line()
    else:
        assert re.match(rb"a3 (NO|BAD) \[TOOBIG\]", line), line
        _, tagged = r.cmd("n2", "NOOP")
        assert tagged.startswith(b"n2 OK"), tagged
    c = server.login("alice")
    assert c.select("INBOX") == ("OK", [b"1"])
    c.logout()
