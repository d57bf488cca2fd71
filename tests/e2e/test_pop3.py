"""POP3 against a real server: every command of RFC 1939 with CAPA and
response codes (RFC 2449, RFC 3206), STLS (RFC 2595), AUTH with PLAIN, LOGIN
and SCRAM-SHA-256 (RFC 5034, RFC 5802, RFC 7677), the deletion policies of
the [pop3] settings, and UIDLs that survive restarts, deletions and
compaction. Python's poplib is the client where it can express the test; a
raw socket where exact bytes or pipelining matter."""

import base64
import hashlib
import hmac
import os
import poplib
import re
import socket
import ssl
import time

import pytest

from conftest import USERS, Raw, free_port

# --- server with POP3 listeners --------------------------------------------------


def pop3_extra(pop3="", auth="", store="", tables=""):
    """Config lines adding a POP3 (+STLS) and a POP3S listener on free ports,
    with fast failed logins. `tables`: more whole tables ("[limits]\n...").
    Returns (extra, plain port, implicit port)."""
    plain, implicit = free_port(), free_port()
    text = "[auth]\nfailure_delay_ms = 10\n" + auth + "\n" + tables + "\n"
    if pop3:
        text += "[pop3]\n" + pop3 + "\n"
    if store:
        text += "[store]\n" + store + "\n"
    text += (
        f'[[listener]]\naddress = "127.0.0.1:{plain}"\nprotocol = "pop3"\ntls = "starttls"\n\n'
        f'[[listener]]\naddress = "127.0.0.1:{implicit}"\nprotocol = "pop3"\ntls = "implicit"\n'
    )
    return text, plain, implicit


@pytest.fixture
def pop3_server(make_server):
    """Factory: pop3_server(pop3="[pop3] lines", auth="[auth] lines",
    store="[store] lines") -> started Server with pop3_port, pop3s_port."""

    def make(pop3="", auth="", store="", tables="", shards=2):
        extra, plain, implicit = pop3_extra(pop3, auth, store, tables)
        s = make_server(extra=extra, shards=shards)
        s.pop3_port, s.pop3s_port = plain, implicit
        return s

    return make


@pytest.fixture
def srv(pop3_server):
    return pop3_server()


# --- clients ---------------------------------------------------------------------


def pop(server, tls="none"):
    """A poplib client, not logged in. tls: "none", "stls", "implicit"."""
    if tls == "implicit":
        return poplib.POP3_SSL(
            "localhost", server.pop3s_port, context=server.tls_context(), timeout=30
        )
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    if tls == "stls":
        ctx = server.tls_context()
        ctx.check_hostname = False
        p.stls(ctx)
    return p


def login(server, user="alice", tls="none"):
    p = pop(server, tls)
    assert p.user(user).startswith(b"+OK")
    resp = p.pass_(USERS[user])
    assert resp.startswith(b"+OK"), resp
    return p


class RawPop:
    """A line-level POP3 connection for exact bytes and pipelining."""

    def __init__(self, port, tls_context=None, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        line = self.f.readline()
        if not line:
            raise EOFError("server closed the connection")
        return line

    def cmd(self, text):
        """Sends one command line and returns the status line."""
        self.send(text + "\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line response up to (not with) the final dot."""
        lines = []
        while True:
            line = self.line()
            if line == b".\r\n":
                return lines
            lines.append(line)

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")

    def login(self, user="alice"):
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        resp = self.cmd(f"PASS {USERS[user]}")
        assert resp.startswith(b"+OK"), resp

    def closed_by_server(self):
        try:
            return self.f.readline() == b""
        except OSError:
            return True

    def close(self):
        """Drops the connection (no QUIT)."""
        try:
            self.f.close()
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def rawpop():
    opened = []

    def open_raw(port, tls_context=None):
        r = RawPop(port, tls_context)
        opened.append(r)
        return r

    yield open_raw
    for r in opened:
        r.close()


def stls_context(server):
    ctx = server.tls_context()
    ctx.check_hostname = False
    return ctx


# --- messages over IMAP ----------------------------------------------------------


def msg(n, body_lines=3):
    body = "".join(f"body line {i} of message {n}\r\n" for i in range(1, body_lines + 1))
    return (
        f"From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"
        f"Subject: message {n}\r\nMessage-ID: <m{n}@example.org>\r\n"
        f"Date: Sun, 22 Nov 2026 05:00:00 +0000\r\n\r\n{body}"
    ).encode()


# Lines a POP3 server must dot-stuff (RFC 1939 §3), 8-bit text, a line that
# is only a dot (the terminator, if it were not stuffed).
DOTS = (
    b"From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: dots\r\n"
    b"Message-ID: <dots@example.org>\r\n\r\n"
    b".starts with a dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n. \r\n...\r\n"
    + "Grüße aus Köln, 8-bit\r\n".encode()
    + b"last line\r\n"
)

# Over the server's 256 KiB flush threshold, with dots at line starts.
BIG = b"Subject: big\r\nFrom: bob@example.org\r\n\r\n" + b"".join(
    (b"." if i % 7 == 0 else b"") + f"line {i:06d} ".encode() + b"x" * 60 + b"\r\n"
    for i in range(5000)
)


def append(server, mailbox, messages, date=None):
    """Appends with pipelined LITERAL+ APPENDs over one IMAP connection."""
    r = Raw(server.imap_port, timeout=60)
    try:
        _, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
        assert tagged.startswith(b"l OK"), tagged
        when = f' "{date}"' if date else ""
        batch = 100
        for start in range(0, len(messages), batch):
            chunk = messages[start : start + batch]
            r.send(
                b"".join(
                    f"a{start + i} APPEND {mailbox}{when} {{{len(m)}+}}\r\n".encode() + m + b"\r\n"
                    for i, m in enumerate(chunk)
                )
            )
            for i in range(len(chunk)):
                _, tagged = r.until(f"a{start + i}")
                assert tagged.startswith(f"a{start + i} OK".encode()), tagged
        r.cmd("x", "LOGOUT")
    finally:
        r.close()


def imap_state(server, mailbox="INBOX"):
    """(uidvalidity, [uids], {uid: flags}) of a mailbox, seen over IMAP."""
    c = server.login("alice")
    try:
        typ, _ = c.select(mailbox, readonly=True)
        assert typ == "OK"
        uidvalidity = int(c.response("UIDVALIDITY")[1][0])
        typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        assert typ == "OK"
        flags = {}
        for item in data:
            if item is None:
                continue
            m = re.search(rb"UID (\d+)", item)
            f = re.search(rb"FLAGS \(([^)]*)\)", item)
            assert m and f, item
            flags[int(m.group(1))] = set(f.group(1).split())
        return uidvalidity, sorted(flags), flags
    finally:
        c.logout()


def imap_count(server, mailbox="INBOX"):
    c = server.login("alice")
    try:
        typ, data = c.status(mailbox, "(MESSAGES)")
        assert typ == "OK"
        m = re.search(rb"MESSAGES (\d+)", data[0])
        assert m, data
        return int(m.group(1))
    finally:
        c.logout()


def retr_bytes(p, n):
    resp, lines, octets = p.retr(n)
    assert resp.startswith(b"+OK"), resp
    return b"".join(line + b"\r\n" for line in lines), octets


def uidl_map(p):
    resp, lines, _ = p.uidl()
    assert resp.startswith(b"+OK"), resp
    out = {}
    for line in lines:
        n, uid = line.split(b" ")
        out[int(n)] = uid.decode()
    return out


def login_when_free(server, user="alice", timeout=10):
    """Logs in, retrying while an ended session's maildrop lock is being
    released (the server notices a dropped connection asynchronously)."""
    deadline = time.time() + timeout
    while True:
        p = pop(server)
        p.user(user)
        try:
            p.pass_(USERS[user])
            return p
        except poplib.error_proto as e:
            p.close()
            if not e.args[0].startswith(b"-ERR [IN-USE]") or time.time() > deadline:
                raise


# --- CAPA, STLS, implicit TLS ----------------------------------------------------

CAPA_BEFORE = [
    b"TOP",
    b"UIDL",
    b"RESP-CODES",
    b"AUTH-RESP-CODE",
    b"PIPELINING",
    b"EXPIRE NEVER",
    b"USER",
    b"SASL PLAIN LOGIN SCRAM-SHA-256",
    b"STLS",
    b"IMPLEMENTATION postcore",
]
CAPA_AFTER = [
    b"TOP",
    b"UIDL",
    b"RESP-CODES",
    b"AUTH-RESP-CODE",
    b"PIPELINING",
    b"EXPIRE NEVER",
    b"IMPLEMENTATION postcore",
]


def capa(r):
    status = r.cmd("CAPA")
    assert status.startswith(b"+OK"), status
    return [line.rstrip(b"\r\n") for line in r.multi()]


def test_capa_before_and_after_login(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.greeting.startswith(b"+OK"), r.greeting
    assert capa(r) == CAPA_BEFORE
    r.login("alice")
    assert capa(r) == CAPA_AFTER
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.closed_by_server()


def test_stls_then_capa_has_no_stls_and_user_pass_over_tls(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.cmd("STLS").startswith(b"+OK")
    r.starttls(stls_context(srv))
    assert capa(r) == [c for c in CAPA_BEFORE if c != b"STLS"]
    # RFC 2595 §4: STLS only once, and only before authentication.
    assert r.cmd("STLS").startswith(b"-ERR")
    r.login("bob")
    assert r.cmd("STAT") == b"+OK 0 0\r\n"
    assert r.cmd("QUIT").startswith(b"+OK")

    p = login(srv, "alice", tls="stls")
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")


def test_stls_not_allowed_after_login(srv, rawpop):
    r = rawpop(srv.pop3_port)
    r.login("alice")
    assert r.cmd("STLS").startswith(b"-ERR")
    assert r.cmd("NOOP") == b"+OK\r\n"


def test_implicit_tls_port(srv, rawpop):
    p = poplib.POP3_SSL("localhost", srv.pop3s_port, context=srv.tls_context(), timeout=30)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps, caps
    p.user("bob")
    assert p.pass_(USERS["bob"]).startswith(b"+OK")
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")

    r = rawpop(srv.pop3s_port, tls_context=srv.tls_context())
    assert capa(r) == [c for c in CAPA_BEFORE if c != b"STLS"]
    assert r.cmd("STLS").startswith(b"-ERR")


def test_plaintext_never_hides_user_and_plain_until_tls(pop3_server, rawpop):
    s = pop3_server(auth='plaintext_auth = "never"')
    r = rawpop(s.pop3_port)
    assert capa(r) == [
        b"TOP",
        b"UIDL",
        b"RESP-CODES",
        b"AUTH-RESP-CODE",
        b"PIPELINING",
        b"EXPIRE NEVER",
        b"SASL SCRAM-SHA-256",
        b"STLS",
        b"IMPLEMENTATION postcore",
    ]
    assert r.cmd("USER alice").startswith(b"-ERR [AUTH]")
    plain = base64.b64encode(f"\0alice\0{USERS['alice']}".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {plain}").startswith(b"-ERR [AUTH]")
    assert r.cmd("AUTH") == b"+OK\r\n"
    assert r.multi() == [b"SCRAM-SHA-256\r\n"]
    # SCRAM never sends the password, so it is fine without TLS.
    scram_login(r, "bob", USERS["bob"])
    assert r.cmd("STAT") == b"+OK 0 0\r\n"

    r2 = rawpop(s.pop3_port)
    assert r2.cmd("STLS").startswith(b"+OK")
    r2.starttls(stls_context(s))
    assert capa(r2) == [c for c in CAPA_BEFORE if c != b"STLS"]
    r2.login("alice")
    assert r2.cmd("STAT") == b"+OK 0 0\r\n"


def test_capa_announces_expire_days(pop3_server, rawpop):
    s = pop3_server(pop3="delete_after_days = 7")
    r = rawpop(s.pop3_port)
    assert capa(r) == [b"EXPIRE 7" if c == b"EXPIRE NEVER" else c for c in CAPA_BEFORE]
    r.login("alice")
    assert capa(r) == [b"EXPIRE 7" if c == b"EXPIRE NEVER" else c for c in CAPA_AFTER]


# --- USER/PASS, APOP, errors before login ---------------------------------------


def test_user_pass_with_spaces_in_password(srv):
    p = pop(srv)
    assert p.user("bob").startswith(b"+OK")
    assert p.pass_("bob secret with spaces").startswith(b"+OK")
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")


def test_wrong_password_and_unknown_user(srv, rawpop):
    r = rawpop(srv.pop3_port)
    # Existence of a user is not revealed by USER (RFC 1939 §13).
    assert r.cmd("USER nosuchuser").startswith(b"+OK")
    assert r.cmd("PASS whatever").startswith(b"-ERR [AUTH]")
    assert r.cmd("USER alice").startswith(b"+OK")
    assert r.cmd("PASS wrong-password").startswith(b"-ERR [AUTH]")
    # PASS needs a USER first, also after a failed PASS.
    assert r.cmd(f"PASS {USERS['alice']}").startswith(b"-ERR")
    # The connection is still usable after failures.
    r.login("alice")
    assert r.cmd("STAT") == b"+OK 0 0\r\n"

    p = pop(srv)
    p.user("alice")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("alice-secretX")
    assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value


def test_apop_is_not_enabled(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.cmd("APOP alice c4c9334bac560ecc979e58001b3e22fb").startswith(b"-ERR")
    r.login("alice")
    assert r.cmd("STAT") == b"+OK 0 0\r\n"


def test_commands_before_login_are_refused(srv, rawpop):
    append(srv, "INBOX", [msg(1)])
    r = rawpop(srv.pop3_port)
    for cmd in ["STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "UIDL", "UIDL 1", "TOP 1 0", "RSET"]:
        resp = r.cmd(cmd)
        assert resp.startswith(b"-ERR"), (cmd, resp)
    # Missing arguments and unknown commands before login, too.
    for cmd in ["USER", "PASS", "FOO", "RETR"]:
        resp = r.cmd(cmd)
        assert resp.startswith(b"-ERR"), (cmd, resp)
    r.login("alice")
    assert r.cmd("STAT") == f"+OK 1 {len(msg(1))}\r\n".encode()
    # Nothing before login touched the maildrop.
    assert r.cmd("QUIT").startswith(b"+OK")
    assert imap_count(srv) == 1


def test_quit_before_login(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.closed_by_server()


def test_overlong_line_is_refused_and_session_goes_on(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.cmd("USER " + "a" * 5000).startswith(b"-ERR")
    r.login("alice")
    assert r.cmd("NOOP") == b"+OK\r\n"


# --- AUTH (RFC 5034) ---------------------------------------------------------------


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def test_auth_without_argument_lists_mechanisms(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.cmd("AUTH") == b"+OK\r\n"
    assert r.multi() == [b"PLAIN\r\n", b"LOGIN\r\n", b"SCRAM-SHA-256\r\n"]


def test_auth_plain(srv, rawpop):
    r = rawpop(srv.pop3_port)
    # Initial response on the command line.
    assert r.cmd("AUTH PLAIN " + b64(f"\0bob\0{USERS['bob']}")).startswith(b"+OK")
    assert r.cmd("STAT") == b"+OK 0 0\r\n"
    assert r.cmd("QUIT").startswith(b"+OK")

    # No initial response: an empty challenge, then the response.
    r = rawpop(srv.pop3_port)
    assert r.cmd("AUTH PLAIN") == b"+ \r\n"
    assert r.cmd(b64(f"\0alice\0{USERS['alice']}")).startswith(b"+OK")
    assert r.cmd("STAT") == b"+OK 0 0\r\n"


def test_auth_plain_failures(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.cmd("AUTH PLAIN " + b64("\0alice\0wrong")).startswith(b"-ERR [AUTH]")
    assert r.cmd("AUTH PLAIN " + b64("\0nosuchuser\0wrong")).startswith(b"-ERR [AUTH]")
    # A client may cancel with "*" (RFC 5034 §4).
    assert r.cmd("AUTH PLAIN") == b"+ \r\n"
    assert r.cmd("*").startswith(b"-ERR")
    assert r.cmd("AUTH PLAIN") == b"+ \r\n"
    assert r.cmd("!!not base64!!").startswith(b"-ERR")
    assert r.cmd("AUTH X-UNKNOWN").startswith(b"-ERR")
    # Authorization identity other than the user: refused.
    assert r.cmd("AUTH PLAIN " + b64(f"bob\0alice\0{USERS['alice']}")).startswith(b"-ERR")
    # Still usable afterwards.
    assert r.cmd("AUTH PLAIN " + b64(f"\0alice\0{USERS['alice']}")).startswith(b"+OK")
    assert r.cmd("NOOP") == b"+OK\r\n"


def test_auth_login(srv, rawpop):
    r = rawpop(srv.pop3_port)
    c1 = r.cmd("AUTH LOGIN")
    assert c1.startswith(b"+ "), c1
    assert base64.b64decode(c1[2:].strip()).lower().startswith(b"user"), c1
    c2 = r.cmd(b64("bob"))
    assert c2.startswith(b"+ "), c2
    assert base64.b64decode(c2[2:].strip()).lower().startswith(b"pass"), c2
    assert r.cmd(b64(USERS["bob"])).startswith(b"+OK")
    assert r.cmd("STAT") == b"+OK 0 0\r\n"

    r = rawpop(srv.pop3_port)
    assert r.cmd("AUTH LOGIN").startswith(b"+ ")
    assert r.cmd(b64("alice")).startswith(b"+ ")
    assert r.cmd(b64("wrong")).startswith(b"-ERR [AUTH]")


# SCRAM-SHA-256 client written from RFC 5802 §3 / RFC 7677, independent of
# the server's implementation.


def _hmac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def scram_login(r, user, password, expect_ok=True):
    """Runs SCRAM-SHA-256 over AUTH on RawPop `r`; checks the server's
    signature when the login succeeds. Returns the final status line."""
    cnonce = b64(os.urandom(18))
    bare = f"n={user},r={cnonce}"
    first = r.cmd("AUTH SCRAM-SHA-256 " + b64("n,," + bare))
    assert first.startswith(b"+ "), first
    server_first = base64.b64decode(first[2:].strip()).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(cnonce) and len(attrs["r"]) > len(cnonce), server_first
    salt = base64.b64decode(attrs["s"])
    iterations = int(attrs["i"])
    assert iterations >= 4096, server_first  # RFC 7677 §4
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = f"c={b64('n,,')},r={attrs['r']}"
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    signature = _hmac(stored_key, auth_message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    final = r.cmd(b64(f"{without_proof},p={b64(proof)}"))
    if not expect_ok:
        return final
    # RFC 5034 §4: additional data with success comes as a challenge that
    # the client answers with an empty line.
    assert final.startswith(b"+ "), final
    server_final = base64.b64decode(final[2:].strip()).decode()
    server_key = _hmac(salted, b"Server Key")
    expected = b64(_hmac(server_key, auth_message))
    assert server_final == f"v={expected}", server_final
    done = r.cmd("")
    assert done.startswith(b"+OK"), done
    return done


def test_auth_scram_sha_256(srv, rawpop):
    r = rawpop(srv.pop3_port)
    scram_login(r, "bob", USERS["bob"])
    assert r.cmd("STAT") == b"+OK 0 0\r\n"
    assert r.cmd("QUIT").startswith(b"+OK")

    r = rawpop(srv.pop3_port)
    final = scram_login(r, "alice", "not the password", expect_ok=False)
    assert final.startswith(b"-ERR [AUTH]"), final
    # The same connection can still log in.
    scram_login(r, "alice", USERS["alice"])
    assert r.cmd("NOOP") == b"+OK\r\n"


# --- TRANSACTION commands ----------------------------------------------------------


def test_stat_list_retr_top_uidl_noop(srv):
    messages = [msg(1, body_lines=5), DOTS, BIG]
    append(srv, "INBOX", messages)
    uidvalidity, uids, flags = imap_state(srv)
    assert len(uids) == 3

    p = login(srv)
    sizes = [len(m) for m in messages]
    assert p.stat() == (3, sum(sizes))
    resp, lines, _ = p.list()
    assert resp.startswith(b"+OK")
    assert lines == [f"{i} {s}".encode() for i, s in enumerate(sizes, 1)]
    assert p.list(2) == f"+OK 2 {sizes[1]}".encode()

    for i, m in enumerate(messages, 1):
        body, octets = retr_bytes(p, i)
        assert body == m, f"message {i} differs"
        assert octets == len(m)

    # TOP n 0: the header and the blank line; TOP n 2: two body lines more.
    header, _, rest = messages[0].partition(b"\r\n\r\n")
    resp, lines, _ = p.top(1, 0)
    assert resp.startswith(b"+OK")
    assert b"".join(line + b"\r\n" for line in lines) == header + b"\r\n\r\n"
    resp, lines, _ = p.top(1, 2)
    body_lines = rest.split(b"\r\n")
    assert b"".join(line + b"\r\n" for line in lines) == (
        header + b"\r\n\r\n" + body_lines[0] + b"\r\n" + body_lines[1] + b"\r\n"
    )
    # More lines than the body has: the whole message.
    resp, lines, _ = p.top(1, 100)
    assert b"".join(line + b"\r\n" for line in lines) == messages[0]
    # Dot-stuffed body lines in TOP are unstuffed by the client.
    resp, lines, _ = p.top(2, 3)
    assert lines[-3:] == [b".starts with a dot", b"..two dots", b"."]

    # UIDL: Dovecot's default format %08Xu%08Xv, so UIDLs follow IMAP UIDs.
    u = uidl_map(p)
    assert u == {i: f"{uid:08X}{uidvalidity:08X}" for i, uid in enumerate(uids, 1)}
    assert p.uidl(3) == f"+OK 3 {u[3]}".encode()
    assert p.noop() == b"+OK"
    assert p.quit().startswith(b"+OK")

    # RETR without mark_seen_on_retr leaves \Seen alone; nothing is deleted.
    _, uids_after, flags = imap_state(srv)
    assert uids_after == uids
    assert all(b"\\Seen" not in f for f in flags.values()), flags


def test_retr_exact_on_the_wire(srv, rawpop):
    """The raw bytes: status line, stuffed dots, the terminator."""
    append(srv, "INBOX", [DOTS])
    r = rawpop(srv.pop3_port)
    r.login("alice")
    assert r.cmd("RETR 1").startswith(b"+OK")
    body = b"".join(r.multi())
    expected = DOTS.replace(b"\r\n.", b"\r\n..")
    assert body == expected
    assert r.cmd("LIST 1") == f"+OK 1 {len(DOTS)}\r\n".encode()
    assert r.cmd("TOP 1 0").startswith(b"+OK")
    assert b"".join(r.multi()) == DOTS.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"


def test_message_without_final_newline_and_bare_lf(srv, rawpop):
    """RFC 1939 §3: a multi-line response ends with CRLF.CRLF, and lines end
    in CRLF; LIST gives the size the client will receive."""
    no_eol = b"Subject: no newline\r\n\r\nlast line without CRLF"
    bare_lf = b"Subject: bare lf\n\nline one\nline two\n"
    append(srv, "INBOX", [no_eol, bare_lf])
    r = rawpop(srv.pop3_port)
    r.login("alice")
    assert r.cmd("RETR 1").startswith(b"+OK")
    assert b"".join(r.multi()) == no_eol + b"\r\n"
    assert r.cmd("RETR 2").startswith(b"+OK")
    sent = b"".join(r.multi())
    assert sent == bare_lf.replace(b"\n", b"\r\n")
    size = int(r.cmd("LIST 2").split()[2])
    assert size == len(sent), f"LIST says {size} octets, RETR sent {len(sent)}"


def test_bad_message_numbers(srv, rawpop):
    append(srv, "INBOX", [msg(1), msg(2)])
    r = rawpop(srv.pop3_port)
    r.login("alice")
    for cmd in [
        "RETR 3",
        "RETR 0",
        "RETR -1",
        "RETR abc",
        "RETR 4294967297",
        "RETR 99999999999999999999",
        "RETR",
        "RETR 1 2",
        "LIST 3",
        "LIST 0",
        "UIDL 3",
        "TOP 3 0",
        "TOP 1",
        "TOP 1 -1",
        "TOP 1 x",
        "DELE 3",
        "DELE 0",
        "STAT 1",
        "XYZZY",
    ]:
        resp = r.cmd(cmd)
        assert resp.startswith(b"-ERR"), (cmd, resp)
    # Nothing was marked by the failures.
    assert r.cmd("STAT") == f"+OK 2 {len(msg(1)) + len(msg(2))}\r\n".encode()

    # A message marked deleted is gone for every command until RSET.
    assert r.cmd("DELE 1").startswith(b"+OK")
    for cmd in ["RETR 1", "LIST 1", "UIDL 1", "TOP 1 0", "DELE 1"]:
        resp = r.cmd(cmd)
        assert resp.startswith(b"-ERR"), (cmd, resp)
    assert r.cmd("STAT") == f"+OK 1 {len(msg(2))}\r\n".encode()
    assert r.cmd("LIST").startswith(b"+OK")
    assert r.multi() == [f"2 {len(msg(2))}\r\n".encode()]
    assert r.cmd("UIDL").startswith(b"+OK")
    assert [line.split()[0] for line in r.multi()] == [b"2"]
    assert r.cmd("RSET").startswith(b"+OK")
    assert r.cmd("LIST 1") == f"+OK 1 {len(msg(1))}\r\n".encode()
    assert r.cmd("QUIT").startswith(b"+OK")
    assert imap_count(srv) == 2


def test_pipelining(srv, rawpop):
    m1, m2 = msg(1), DOTS
    append(srv, "INBOX", [m1, m2])
    uidvalidity, uids, _ = imap_state(srv)
    r = rawpop(srv.pop3_port)
    r.login("alice")
    r.send("STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nQUIT\r\n")
    assert r.line() == f"+OK 2 {len(m1) + len(m2)}\r\n".encode()
    assert r.line().startswith(b"+OK")
    assert r.multi() == [f"1 {len(m1)}\r\n".encode(), f"2 {len(m2)}\r\n".encode()]
    assert r.line().startswith(b"+OK")
    assert r.multi() == [
        f"{i} {uid:08X}{uidvalidity:08X}\r\n".encode() for i, uid in enumerate(uids, 1)
    ]
    assert r.line().startswith(b"+OK")
    assert b"".join(r.multi()) == m1
    assert r.line().startswith(b"+OK")
    assert r.closed_by_server()


def test_pipelined_login_is_handed_off_intact(srv, rawpop):
    """USER, PASS and the commands behind them in one write: the session
    moves to the user's home shard with the unread commands (several
    connections, so both accepting shards are exercised)."""
    m1 = DOTS
    append(srv, "INBOX", [m1])
    for user in ["alice", "bob"] * 3:
        r = rawpop(srv.pop3_port)
        r.send(f"CAPA\r\nUSER {user}\r\nPASS {USERS[user]}\r\nSTAT\r\nRETR 1\r\nNOOP\r\nQUIT\r\n")
        assert r.line().startswith(b"+OK")
        assert [x.rstrip(b"\r\n") for x in r.multi()] == CAPA_BEFORE
        assert r.line().startswith(b"+OK")
        assert r.line().startswith(b"+OK"), user
        if user == "alice":
            assert r.line() == f"+OK 1 {len(m1)}\r\n".encode()
            assert r.line().startswith(b"+OK")
            assert b"".join(r.multi()) == m1.replace(b"\r\n.", b"\r\n..")
        else:
            assert r.line() == b"+OK 0 0\r\n"
            assert r.line().startswith(b"-ERR")
        assert r.line() == b"+OK\r\n"
        assert r.line().startswith(b"+OK")
        assert r.closed_by_server()
    log = srv.log()
    shards = set(re.findall(r"pop3\{session=\d+ [^}]*shard=(\d)", log))
    assert shards == {"0", "1"}, "sessions should have run on both shards"


# --- IN-USE and deletion semantics -------------------------------------------------


def test_second_session_gets_in_use(srv, rawpop):
    append(srv, "INBOX", [msg(1)])
    a = rawpop(srv.pop3_port)
    a.login("alice")
    b = rawpop(srv.pop3_port)
    assert b.cmd("USER alice").startswith(b"+OK")
    assert b.cmd(f"PASS {USERS['alice']}").startswith(b"-ERR [IN-USE]")
    # Over implicit TLS and with AUTH, the same.
    c = rawpop(srv.pop3s_port, tls_context=srv.tls_context())
    resp = c.cmd("AUTH PLAIN " + b64(f"\0alice\0{USERS['alice']}"))
    assert resp.startswith(b"-ERR [IN-USE]"), resp
    # Another user is not affected.
    d = rawpop(srv.pop3_port)
    d.login("bob")
    # The refused session stays in AUTHORIZATION and may try again.
    assert b.cmd("STAT").startswith(b"-ERR")
    assert a.cmd("STAT") == f"+OK 1 {len(msg(1))}\r\n".encode()
    assert a.cmd("QUIT").startswith(b"+OK")
    assert a.closed_by_server()
    b.login("alice")
    assert b.cmd("STAT") == f"+OK 1 {len(msg(1))}\r\n".encode()
    # A dropped connection releases the maildrop too.
    b.close()
    p = login_when_free(srv)
    assert p.stat()[0] == 1
    p.quit()


def test_dele_takes_effect_at_quit_and_imap_sees_it_then(srv, raw):
    messages = [msg(1), msg(2), msg(3)]
    append(srv, "INBOX", messages)
    _, uids, _ = imap_state(srv)
    im = raw(srv.imap_port)
    _, tagged = im.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK")
    untagged, tagged = im.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s OK") and b"* 3 EXISTS\r\n" in untagged

    p = login(srv)
    u = uidl_map(p)
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(3).startswith(b"+OK")
    assert p.stat() == (1, len(messages[1]))
    untagged, tagged = im.cmd("n1", "NOOP")
    assert tagged.startswith(b"n1 OK")
    assert not [x for x in untagged if b"EXPUNGE" in x], untagged
    assert p.quit().startswith(b"+OK")
    untagged, tagged = im.cmd("n2", "NOOP")
    assert tagged.startswith(b"n2 OK")
    # Lowest first, each number as it is after the previous expunges.
    assert [x for x in untagged if b"EXPUNGE" in x] == [b"* 1 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]
    _, tagged = im.cmd("x", "LOGOUT")

    _, left, _ = imap_state(srv)
    assert left == [uids[1]]
    p = login(srv)
    assert p.stat() == (1, len(messages[1]))
    assert retr_bytes(p, 1)[0] == messages[1]
    assert uidl_map(p) == {1: u[2]}
    p.quit()


def test_dropped_connection_deletes_nothing(srv):
    append(srv, "INBOX", [msg(1), msg(2)])
    p = login(srv)
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(2).startswith(b"+OK")
    p.close()  # drops the connection: no QUIT
    p = login_when_free(srv)
    assert p.stat() == (2, len(msg(1)) + len(msg(2)))
    p.quit()
    assert imap_count(srv) == 2


def test_rset_then_quit_deletes_nothing(srv):
    append(srv, "INBOX", [msg(1), msg(2)])
    p = login(srv)
    p.dele(1)
    p.dele(2)
    assert p.stat() == (0, 0)
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (2, len(msg(1)) + len(msg(2)))
    assert p.quit().startswith(b"+OK")
    assert imap_count(srv) == 2


def test_delete_false_leaves_messages_on_server(pop3_server):
    s = pop3_server(pop3="delete = false")
    append(s, "INBOX", [msg(1), msg(2)])
    p = login(s)
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(2).startswith(b"+OK")
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")
    assert imap_count(s) == 2
    p = login(s)
    assert p.stat() == (2, len(msg(1)) + len(msg(2)))
    p.quit()


def test_mark_seen_on_retr(pop3_server):
    s = pop3_server(pop3="mark_seen_on_retr = true")
    append(s, "INBOX", [msg(1), msg(2), msg(3)])
    _, uids, _ = imap_state(s)
    p = login(s)
    retr_bytes(p, 1)
    p.top(2, 0)
    assert p.quit().startswith(b"+OK")
    _, _, flags = imap_state(s)
    assert b"\\Seen" in flags[uids[0]], flags
    # TOP is a preview, not a read; untouched messages stay unseen.
    assert b"\\Seen" not in flags[uids[1]], flags
    assert b"\\Seen" not in flags[uids[2]], flags


def test_delete_after_days_expires_old_messages_at_quit(pop3_server):
    s = pop3_server(pop3="delete_after_days = 1")
    old, new = msg(1), msg(2)
    append(s, "INBOX", [old], date="01-Jan-2020 00:00:00 +0000")
    append(s, "INBOX", [new])
    # Ended without QUIT: no UPDATE state, nothing expires.
    p = login(s)
    assert p.stat() == (2, len(old) + len(new))
    p.close()  # no QUIT
    p = login_when_free(s)
    assert p.stat() == (2, len(old) + len(new))
    assert p.quit().startswith(b"+OK")
    _, uids, _ = imap_state(s)
    assert len(uids) == 1
    p = login(s)
    assert p.stat() == (1, len(new))
    assert retr_bytes(p, 1)[0] == new
    p.quit()


def test_maildrop_of_two_mailboxes(pop3_server):
    s = pop3_server(pop3='maildrop = ["INBOX", "Other"]')
    c = s.login("alice")
    assert c.create("Other")[0] == "OK"
    c.logout()
    inbox = [msg(1), msg(2)]
    other = [msg(3), msg(4, body_lines=7)]
    # Other's messages arrive first, INBOX's still come first in the maildrop.
    append(s, "Other", other)
    append(s, "INBOX", inbox)
    p = login(s)
    both = inbox + other
    assert p.stat() == (4, sum(len(m) for m in both))
    for i, m in enumerate(both, 1):
        assert retr_bytes(p, i)[0] == m
    u = uidl_map(p)
    assert len(set(u.values())) == 4, f"UIDLs must be unique in the maildrop: {u}"
    p.dele(2)
    p.dele(3)
    assert p.quit().startswith(b"+OK")
    assert imap_count(s, "INBOX") == 1
    assert imap_count(s, "Other") == 1
    p = login(s)
    assert [retr_bytes(p, i)[0] for i in (1, 2)] == [inbox[0], other[1]]
    assert uidl_map(p) == {1: u[1], 2: u[4]}
    p.quit()


# --- UIDL stability ----------------------------------------------------------------


def test_uidl_stable_across_deletions_and_restart(srv):
    messages = [msg(i) for i in range(1, 6)]
    append(srv, "INBOX", messages)
    p = login(srv)
    before = uidl_map(p)
    assert len(set(before.values())) == 5
    p.dele(1)
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    p = login(srv)
    after = uidl_map(p)
    assert after == {1: before[3], 2: before[4], 3: before[5]}
    p.quit()

    srv.restart()
    p = login(srv)
    assert uidl_map(p) == after
    for i, m in enumerate(messages[2:], 1):
        assert retr_bytes(p, i)[0] == m
    p.quit()
    # A new message gets a UIDL never used before, also not a deleted one's.
    append(srv, "INBOX", [msg(6)])
    p = login(srv)
    now = uidl_map(p)
    assert {k: now[k] for k in (1, 2, 3)} == after
    assert now[4] not in before.values()
    p.quit()


def segments(server):
    return {
        f: f.stat().st_size for f in (server.data / "users").rglob("seg-*.log") if "alice" in str(f)
    }


def test_uidl_stable_after_compaction(pop3_server):
    """Small segments and a low dead ratio let background compaction
    rewrite segments once POP3 deletions leave them mostly dead."""
    s = pop3_server(store="segment_size = 65536\ncompact_dead_ratio = 0.2")
    messages = [msg(i, body_lines=60) for i in range(1, 81)]  # ~4 KB each, ~5 segments
    append(s, "INBOX", messages)
    before_sizes = segments(s)
    assert len(before_sizes) >= 3, before_sizes
    p = login(s)
    before = uidl_map(p)
    for n in range(1, 61):
        p.dele(n)
    assert p.quit().startswith(b"+OK")

    # Compaction runs in the background: wait (bounded) for a sealed
    # segment to shrink.
    deadline = time.time() + 20
    while True:
        now = segments(s)
        shrunk = [f for f, size in now.items() if f in before_sizes and size < before_sizes[f]]
        if shrunk:
            break
        assert time.time() < deadline, f"no segment was compacted: {before_sizes} -> {now}"
        # Any store operation gives the store a chance to start due work.
        imap_count(s)
        time.sleep(0.1)

    expected = {i: before[60 + i] for i in range(1, 21)}
    p = login(s)
    assert uidl_map(p) == expected
    for i in range(1, 21):
        assert retr_bytes(p, i)[0] == messages[59 + i]
    p.quit()
    s.restart()
    p = login(s)
    assert uidl_map(p) == expected
    assert retr_bytes(p, 20)[0] == messages[79]
    p.quit()


# --- the maildrop is fixed at login; other sessions meanwhile ------------------------


def test_new_mail_during_session_waits_for_the_next_one(srv):
    append(srv, "INBOX", [msg(1)])
    p = login(srv)
    append(srv, "INBOX", [msg(2)])
    # RFC 1939 §4: the maildrop is the one at login; numbering stays fixed.
    assert p.stat() == (1, len(msg(1)))
    assert p.dele(1).startswith(b"+OK")
    assert p.quit().startswith(b"+OK")
    # The message that arrived meanwhile was not touched by the QUIT.
    p = login(srv)
    assert p.stat() == (1, len(msg(2)))
    assert retr_bytes(p, 1)[0] == msg(2)
    p.quit()


def test_message_expunged_over_imap_during_session(srv, raw):
    append(srv, "INBOX", [msg(1), msg(2), msg(3)])
    p = login(srv)
    im = raw(srv.imap_port)
    _, tagged = im.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK")
    _, tagged = im.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s OK")
    _, tagged = im.cmd("e", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert tagged.startswith(b"e OK"), tagged
    _, tagged = im.cmd("x", "EXPUNGE")
    assert tagged.startswith(b"x OK"), tagged
    # The message is gone: reading it fails cleanly, the session goes on.
    with pytest.raises(poplib.error_proto) as e:
        p.retr(1)
    assert e.value.args[0].startswith(b"-ERR"), e.value
    assert retr_bytes(p, 2)[0] == msg(2)
    # Deleting it too, and another one: QUIT removes what is still there.
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(2).startswith(b"+OK")
    resp = p.quit()
    assert resp.startswith(b"+OK"), resp
    assert imap_count(srv) == 1
    p = login(srv)
    assert retr_bytes(p, 1)[0] == msg(3)
    p.quit()


def test_empty_maildrop_listings(srv, rawpop):
    r = rawpop(srv.pop3_port)
    r.login("bob")
    assert r.cmd("STAT") == b"+OK 0 0\r\n"
    assert r.cmd("LIST").startswith(b"+OK")
    assert r.multi() == []
    assert r.cmd("UIDL").startswith(b"+OK")
    assert r.multi() == []
    assert r.cmd("RETR 1").startswith(b"-ERR")
    assert r.cmd("QUIT").startswith(b"+OK")


def test_commands_are_case_insensitive(srv, rawpop):
    append(srv, "INBOX", [msg(1)])
    r = rawpop(srv.pop3_port)
    assert r.cmd("capa").startswith(b"+OK")
    assert [x.rstrip(b"\r\n") for x in r.multi()] == CAPA_BEFORE
    assert r.cmd("user alice").startswith(b"+OK")
    assert r.cmd(f"pAsS {USERS['alice']}").startswith(b"+OK")
    assert r.cmd("stat") == f"+OK 1 {len(msg(1))}\r\n".encode()
    assert r.cmd("list 1") == f"+OK 1 {len(msg(1))}\r\n".encode()
    assert r.cmd("Top 1 0").startswith(b"+OK")
    r.multi()
    assert r.cmd("noop") == b"+OK\r\n"
    assert r.cmd("quit").startswith(b"+OK")


# --- limits and shutdown -------------------------------------------------------------


def test_too_many_bad_commands_close_the_connection(srv, rawpop):
    r = rawpop(srv.pop3_port)
    for i in range(200):
        try:
            line = r.cmd(f"BOGUS{i}")
        except (EOFError, ConnectionError):
            break
        assert line.startswith(b"-ERR"), line
    else:
        pytest.fail("200 unknown commands in a row and the connection is still open")
    # Other connections are not affected.
    p = login(srv)
    assert p.stat() == (0, 0)
    p.quit()


def test_idle_connection_before_login_times_out(pop3_server, rawpop):
    s = pop3_server(tables="[limits]\nlogin_timeout_secs = 1\n")
    r = rawpop(s.pop3_port)
    # Answered within the socket timeout (30 s), not after it.
    line = r.line()
    assert line.startswith(b"-ERR"), line
    assert r.closed_by_server()


def test_shutdown_during_session_deletes_nothing(srv, rawpop):
    append(srv, "INBOX", [msg(1), msg(2)])
    r = rawpop(srv.pop3_port)
    r.login("alice")
    assert r.cmd("DELE 1").startswith(b"+OK")
    srv.stop()
    # The server says why it leaves (RFC 2449 SYS/TEMP), then closes.
    line = r.line()
    assert line.startswith(b"-ERR [SYS/TEMP]"), line
    assert r.closed_by_server()
    srv.start()
    p = login(srv)
    assert p.stat() == (2, len(msg(1)) + len(msg(2)))
    p.quit()


def test_overlong_lines_arriving_in_pieces(srv, rawpop):
    """A line far over the limit gets one -ERR, however it arrives, and the
    rest of it is not taken for commands."""
    r = rawpop(srv.pop3_port)
    chunk = b"x" * 16384
    r.send(b"USER ")
    for _ in range(13):
        r.send(chunk)
    r.send(b"\r\nNOOP\r\n")
    assert r.line().startswith(b"-ERR")
    assert r.line() == b"+OK\r\n"
    r.login("alice")
    r.send(b"LIST " + b"1" * 200_000 + b"\r\nNOOP\r\n")
    assert r.line().startswith(b"-ERR")
    assert r.line() == b"+OK\r\n"


def test_overlong_sasl_response(srv, rawpop):
    r = rawpop(srv.pop3_port)
    assert r.cmd("AUTH PLAIN") == b"+ \r\n"
    r.send(b"QUFB" * 50_000 + b"\r\nNOOP\r\n")
    assert r.line().startswith(b"-ERR")
    assert r.line() == b"+OK\r\n"
    r.login("alice")
    assert r.cmd("NOOP") == b"+OK\r\n"


def test_auth_plain_with_own_authorization_identity(srv, rawpop):
    r = rawpop(srv.pop3_port)
    resp = r.cmd("AUTH PLAIN " + b64(f"alice\0alice\0{USERS['alice']}"))
    assert resp.startswith(b"+OK"), resp


def test_user_name_case_reaches_the_same_maildrop(srv, rawpop):
    """However the name is spelled at login, it is one maildrop with one
    lock: never two sessions on one store."""
    append(srv, "INBOX", [msg(1)])
    a = rawpop(srv.pop3_port)
    a.login("alice")
    for name in ["ALICE", "Alice"]:
        b = rawpop(srv.pop3_port)
        assert b.cmd(f"USER {name}").startswith(b"+OK")
        resp = b.cmd(f"PASS {USERS['alice']}")
        # Either the spelling is refused, or it is alice and the lock holds.
        assert resp.startswith(b"-ERR [IN-USE]") or resp.startswith(b"-ERR [AUTH]"), (
            name,
            resp,
        )
    assert a.cmd("QUIT").startswith(b"+OK")
    assert a.closed_by_server()
    b = rawpop(srv.pop3_port)
    assert b.cmd("USER ALICE").startswith(b"+OK")
    resp = b.cmd(f"PASS {USERS['alice']}")
    if resp.startswith(b"+OK"):
        assert b.cmd("STAT") == f"+OK 1 {len(msg(1))}\r\n".encode()
    else:
        assert resp.startswith(b"-ERR [AUTH]"), resp


def test_pipelined_burst_of_retrs_and_deles(srv, rawpop):
    """200 RETRs and DELEs in one write: every answer in order, byte-exact,
    while the server's output (several MB) exceeds what it buffers at once."""
    big_lines = BIG.partition(b"\r\n\r\n")[2].splitlines(keepends=True)
    messages = [
        msg(i, body_lines=i % 50 + 1) + b"".join(big_lines[: 13 * (i % 30)]) for i in range(200)
    ]
    append(srv, "INBOX", messages)
    r = rawpop(srv.pop3_port)
    r.login("alice")
    r.send("".join(f"RETR {i}\r\nDELE {i}\r\n" for i in range(1, 201)) + "STAT\r\nQUIT\r\n")
    for i, m in enumerate(messages, 1):
        assert r.line() == f"+OK {len(m)} octets\r\n".encode()
        got = b"".join(r.multi())
        assert got == m.replace(b"\r\n.", b"\r\n.."), f"message {i} differs"
        assert r.line().startswith(b"+OK"), i
    assert r.line() == b"+OK 0 0\r\n"
    assert r.line().startswith(b"+OK")
    assert r.closed_by_server()
    assert imap_count(srv) == 0


def test_plaintext_pipelined_behind_stls_is_not_executed(srv):
    """Commands sent in plaintext after STLS, in the same write, must not
    be taken as if they came over TLS (the STARTTLS injection of
    CVE-2011-0411; RFC 2595 §4 asks the client to wait, so the server
    must discard them or close)."""
    sock = socket.create_connection(("127.0.0.1", srv.pop3_port), timeout=30)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"+OK")
    sock.sendall(b"STLS\r\nUSER alice\r\n")
    assert f.readline().startswith(b"+OK")
    try:
        tls = stls_context(srv).wrap_socket(sock, server_hostname="localhost")
    except (ssl.SSLError, OSError):
        return  # closing the connection is a safe answer
    tf = tls.makefile("rb")
    tls.sendall(f"PASS {USERS['alice']}\r\n".encode())
    line = tf.readline()
    assert line.startswith(b"-ERR"), f"injected USER was honoured: {line!r}"
    tls.close()


def test_per_user_connection_limit_counts_imap_and_pop3(pop3_server, rawpop):
    s = pop3_server(tables="[limits]\nmax_connections_per_user = 2\n")
    c1 = s.login("alice")
    c2 = s.login("alice")
    r = rawpop(s.pop3_port)
    assert r.cmd("USER alice").startswith(b"+OK")
    resp = r.cmd(f"PASS {USERS['alice']}")
    assert resp.startswith(b"-ERR [IN-USE]"), resp
    c1.logout()
    # The IMAP session's end is seen asynchronously: retry for a while.
    deadline = time.time() + 10
    while True:
        assert r.cmd("USER alice").startswith(b"+OK")
        resp = r.cmd(f"PASS {USERS['alice']}")
        if resp.startswith(b"+OK") or time.time() > deadline:
            break
        time.sleep(0.05)
    assert resp.startswith(b"+OK"), resp
    c2.logout()


def test_scram_for_unknown_user_fails_with_auth_code(srv, rawpop):
    r = rawpop(srv.pop3_port)
    cnonce = b64(os.urandom(18))
    first = r.cmd("AUTH SCRAM-SHA-256 " + b64(f"n,,n=nosuchuser,r={cnonce}"))
    if first.startswith(b"+ "):
        # A made-up challenge (RFC 5802 §9 suggests not revealing users):
        # answer it; the proof cannot match.
        attrs = dict(
            kv.split("=", 1) for kv in base64.b64decode(first[2:].strip()).decode().split(",")
        )
        final = r.cmd(b64(f"c={b64('n,,')},r={attrs['r']},p={b64(bytes(32))}"))
        assert final.startswith(b"-ERR [AUTH]"), final
    else:
        assert first.startswith(b"-ERR [AUTH]"), first
    r.login("alice")


def test_open_session_reads_messages_moved_by_compaction(pop3_server, raw):
    """A POP3 session lists the maildrop at login; IMAP expunges most of it
    and compaction rewrites the segments under the session, which still
    reads every remaining message byte-exact and deletes at QUIT."""
    s = pop3_server(store="segment_size = 65536\ncompact_dead_ratio = 0.2")
    messages = [msg(i, body_lines=60) for i in range(1, 81)]
    append(s, "INBOX", messages)
    before_sizes = segments(s)
    p = login(s)
    before = uidl_map(p)
    im = raw(s.imap_port)
    _, tagged = im.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK")
    _, tagged = im.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s OK")
    _, tagged = im.cmd("d", "STORE 1:60 +FLAGS.SILENT (\\Deleted)")
    assert tagged.startswith(b"d OK"), tagged
    _, tagged = im.cmd("x", "EXPUNGE")
    assert tagged.startswith(b"x OK"), tagged
    deadline = time.time() + 20
    while not [f for f, n in segments(s).items() if f in before_sizes and n < before_sizes[f]]:
        assert time.time() < deadline, "no segment was compacted"
        im.cmd("n", "NOOP")
        time.sleep(0.1)
    for i in range(61, 81):
        assert retr_bytes(p, i)[0] == messages[i - 1], i
    assert p.uidl(70) == f"+OK 70 {before[70]}".encode()
    assert p.dele(61).startswith(b"+OK")
    assert p.dele(1).startswith(b"+OK")  # already expunged over IMAP
    assert p.quit().startswith(b"+OK")
    untagged, _ = im.cmd("n2", "NOOP")
    assert [x for x in untagged if b"EXPUNGE" in x] == [b"* 1 EXPUNGE\r\n"]
    assert imap_count(s) == 19
