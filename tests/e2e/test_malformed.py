"""Robustness: thousands of random and mutated command lines, on one
connection and on many at once, before and after login. Every line must be
answered (tagged OK/NO/BAD, untagged BAD, or BYE and a close), the server
must stay up without a panic, and another user's session must keep working
throughout."""

import random
import re
import socket
import ssl
import threading
import time

import pytest

from conftest import USERS, Raw

TIMEOUT = 20  # seconds any single answer may take before we call it a hang

VALID = [
    "NOOP",
    "CAPABILITY",
    'ID ("name" "fuzzer" "version" "1")',
    "ENABLE IMAP4rev2 UTF8=ACCEPT",
    "NAMESPACE",
    "SELECT INBOX",
    "EXAMINE INBOX",
    'SELECT "Fuzz/sub" (CONDSTORE)',
    "UNSELECT",
    "CLOSE",
    "CREATE Fuzz/sub",
    'CREATE "Fuzz/&AOk-t&AOk-"',
    "RENAME Fuzz/sub Fuzz/other",
    "DELETE Fuzz/other",
    "SUBSCRIBE Fuzz",
    "UNSUBSCRIBE Fuzz",
    'LIST "" "*"',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "Fu%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN SIZE))',
    'LSUB "" "*"',
    "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)",
    "FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)",
    "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[1]<0.10>)",
    "FETCH 1:2 (ENVELOPE BODYSTRUCTURE BINARY.PEEK[1] BINARY.SIZE[1])",
    "FETCH 2,1,3:4 FAST",
    "UID FETCH 1:* (BODY.PEEK[TEXT]<5.100> FLAGS)",
    "STORE 1 +FLAGS (\\Seen $Label1)",
    "STORE 1:* -FLAGS.SILENT (\\Flagged)",
    "UID STORE 1:2 FLAGS (\\Answered)",
    'SEARCH OR FROM bob SUBJECT "hello" NOT DELETED',
    'SEARCH CHARSET UTF-8 TEXT "h\u00e9llo"',
    "UID SEARCH RETURN (MIN MAX COUNT SAVE) SINCE 1-Jan-2020 LARGER 10",
    "SEARCH $",
    'SEARCH (OR (SEEN) (UNSEEN)) UID 1:* HEADER "X-Thing" "v"',
    "COPY 1 Fuzz",
    "UID COPY 1:* INBOX",
    "MOVE 1 Fuzz",
    "UID MOVE 1 INBOX",
    "EXPUNGE",
    "UID EXPUNGE 1:2",
    "CHECK",
    "GETQUOTAROOT INBOX",
    "XYZZY",
]
NEVER = re.compile(rb"^\S*\s+(UID\s+)?(LOGIN|AUTHENTICATE|STARTTLS|IDLE)\b", re.I)
HUGE = [
    b"4294967295",
    b"4294967296",
    b"18446744073709551616",
    b"99999999999999999999999999",
    b"0",
    b"-1",
    b"*",
    b"1:*:2",
]
INSERTS = [
    b"(",
    b")",
    b"{",
    b"}",
    b'"',
    b"\\",
    b"[",
    b"]",
    b"<",
    b">",
    b"*",
    b"%",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"\x7f",
    b"\t",
    b" ",
    b"~{3}",
    b"{0}",
    b"NIL",
]


def strip_crlf(b):
    return b.replace(b"\r", b"").replace(b"\n", b"")


def message(rng):
    n = rng.randrange(200)
    return (
        b"From: fuzz@example.org\r\nSubject: fuzz "
        + str(n).encode()
        + b"\r\nContent-Type: text/plain\r\n\r\n"
        + b"body\r\n" * n
    )


def mutate(rng, line):
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(8)
        pos = rng.randrange(len(line) + 1)
        if op == 0:
            line = line[:pos]
        elif op == 1 and line:
            end = min(len(line), pos + rng.randint(1, 5))
            line = line[:pos] + line[end:]
        elif op == 2:
            line = line[:pos] + rng.choice(INSERTS) + line[pos:]
        elif op == 3:
            line = line[:pos] + bytes([rng.randrange(256)]) + line[pos:]
        elif op == 4:
            line = re.sub(
                rb"\d+", lambda m: rng.choice(HUGE), line, count=rng.randint(1, 3)
            )
        elif op == 5:
            line = line[:pos] + b"(" * rng.randint(1, 300) + line[pos:]
        elif op == 6:
            line = line[:pos] + b")" * rng.randint(1, 5) + line[pos:]
        else:
            line = (
                line[:pos] + line[pos:].upper() if rng.random() < 0.5 else line.lower()
            )
    return strip_crlf(line)


def junk_line(rng):
    """A line that is neither DONE nor valid base64 (so no login attempt)."""
    body = strip_crlf(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60))))
    return body + b"!\r\n"


def generate(rng, tag):
    """One fuzz case: (bytes to send, bytes to send on a `+` continuation or
    None when the server must not ask for more)."""
    t = tag.encode()
    special = rng.random()
    if special < 0.02:
        # IDLE ended by a line that is not DONE: tagged BAD (or OK if the
        # junk happens to spell DONE).
        return t + b" IDLE\r\n", junk_line(rng)
    if special < 0.04:
        mech = rng.choice([b"PLAIN", b"LOGIN", b"SCRAM-SHA-256"])
        answer = rng.choice([b"*\r\n", junk_line(rng)])
        return t + b" AUTHENTICATE " + mech + b"\r\n", answer
    if special < 0.045:
        arg = rng.choice([b"FOO", b"PLAIN !!!", b"PLAIN {5}", b""])
        # The grammar has no literal there, but a server may read any
        # literal header generically before parsing: then it gets 5 bytes.
        return t + b" AUTHENTICATE " + arg + b"\r\n", (
            b"xxxxx\r\n" if b"{" in arg else None
        )
    data, literal = generate_line(rng, tag)
    if literal is None or literal > 1 << 20:
        return data, None
    return data, b"x" * literal + b"\r\n"


def generate_line(rng, tag):
    """(bytes to send, size of the synchronising literal it ends with)."""
    t = tag.encode()
    kind = rng.random()
    if kind < 0.15:
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        line = strip_crlf(body) + b"\r\n"
        return line, None
    if kind < 0.20:
        body = bytes(rng.randrange(32, 256) for _ in range(rng.randrange(1, 100)))
        return t + b" " + strip_crlf(body) + b"\r\n", None
    if kind < 0.205:
        n = rng.choice([70_000, 150_000, 400_000])
        filler = rng.choice([b"x", b"1,", b"(", b"\xff"])
        return t + b" FETCH " + filler * (n // len(filler)) + b"\r\n", None
    if kind < 0.23:
        line = (
            t
            + b" "
            + rng.choice(
                [
                    b"APPEND INBOX {999999999999}",
                    b"APPEND INBOX {999999999999+}",
                    b"APPEND INBOX (\\Seen) {18446744073709551616}",
                    b"APPEND INBOX {-1}",
                    b"APPEND INBOX {1x}",
                    b"APPEND INBOX {}",
                    b"LOGOUT {99999999999999}",
                    b"SELECT {4294967296}",
                    b"FETCH 1 (BODY[]<0.4294967296>)",
                    b"FETCH 1:" + b"9" * 40 + b" FLAGS",
                    b"SEARCH " + b"NOT " * 5000 + b"ALL",
                    b"SEARCH " + b"(" * 2000 + b"ALL" + b")" * 2000,
                    b"FETCH "
                    + b",".join(str(i).encode() for i in range(1, 9000))
                    + b" FLAGS",
                    b"STORE 1 +FLAGS ("
                    + b" ".join(b"k%d" % i for i in range(3000))
                    + b")",
                ]
            )
        )
        return line + b"\r\n", (
            int(m.group(1)) if (m := re.search(rb"\{(\d+)\}$", line)) else None
        )
    if kind < 0.30:
        # A well-formed APPEND whose command part is mutated.
        data = message(rng)
        head = mutate(rng, t + b' APPEND INBOX (\\Seen) "22-Nov-2026 05:00:00 +0000"')
        if NEVER.match(head):
            head = t + b" NOOP"
        if rng.random() < 0.5:
            return head + b" {%d+}\r\n" % len(data) + data + b"\r\n", None
        return head + b" {%d}\r\n" % len(data), len(data)
    base = (t + b" " + rng.choice(VALID).encode()) if rng.random() < 0.9 else b""
    line = mutate(rng, base) if rng.random() < 0.65 else base
    if NEVER.match(line):
        line = t + b" NOOP"
    m = re.search(rb"\{(\d+)(\+?)\}$", line)
    if m and m.group(2) == b"+" and int(m.group(1)) <= 100_000:
        # A complete non-synchronising literal, then the end of the command.
        return line + b"\r\n" + b"x" * int(m.group(1)) + b"\r\n", None
    if m and not m.group(2):
        return line + b"\r\n", int(m.group(1))
    return line + b"\r\n", None


class Closed(Exception):
    pass


class Fuzzer:
    """One connection driven by the fuzz cases; reconnects after a BYE."""

    def __init__(self, server, rng, user=None, name="f", tls=False):
        self.server, self.rng, self.user, self.name = server, rng, user, name
        self.tls = tls
        self.closes = 0
        self.answers = {"OK": 0, "NO": 0, "BAD": 0, "BYE": 0}
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock:
            self.sock.close()
        port = self.server.imaps_port if self.tls else self.server.imap_port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if self.tls:
            self.sock = self.server.tls_context().wrap_socket(
                self.sock, server_hostname="localhost"
            )
        self.f = self.sock.makefile("rb")
        greeting = self.f.readline()
        assert greeting.startswith(b"* OK"), greeting
        if self.user:
            self.sock.sendall(f'L LOGIN {self.user} "{USERS[self.user]}"\r\n'.encode())
            while True:
                line = self.readline(b"(login)")
                if line.startswith(b"L "):
                    assert line.startswith(b"L OK"), line
                    break

    def readline(self, sent):
        try:
            line = self.f.readline(1 << 20)
        except socket.timeout:
            raise AssertionError(
                f"{self.name}: no answer within {TIMEOUT} s to {sent[:300]!r}"
            ) from None
        except (ConnectionError, ssl.SSLError):
            line = b""
        if not line:
            raise Closed()
        # A response line may carry literals ({n} then n bytes); the
        # response goes on after each.
        while m := re.search(rb"\{(\d+)\}\r\n$", line):
            n = int(m.group(1))
            assert n <= 1 << 24, f"{self.name}: {n}-byte literal in a response"
            try:
                data = self.f.read(n)
                rest = self.f.readline(1 << 20)
            except socket.timeout:
                raise AssertionError(
                    f"{self.name}: response literal cut short"
                ) from None
            if len(data) < n or not rest:
                raise Closed()
            line = line + data + rest
        return line

    def answer(self, sent, cont):
        """Reads until the final answer to `sent`; returns its status. On a
        `+` continuation, sends `cont` (at most once)."""
        continued = False
        while True:
            line = self.readline(sent)
            if line.startswith(b"+"):
                assert (
                    cont is not None and not continued
                ), f"{self.name}: unexpected continuation {line!r} after {sent[:300]!r}"
                continued = True
                self.sock.sendall(cont)
                continue
            if line.startswith(b"* BYE"):
                # The server must close after BYE.
                try:
                    while self.readline(sent):
                        pass
                except Closed:
                    pass
                return "BYE"
            if line.startswith(b"* BAD"):
                return "BAD"
            if line.startswith(b"* "):
                continue
            m = re.match(rb"\S+ (OK|NO|BAD)( |\r\n)", line)
            assert m, f"{self.name}: malformed answer {line!r} to {sent[:300]!r}"
            return m.group(1).decode()

    def one(self, i):
        data, cont = generate(self.rng, f"{self.name}{i}")
        try:
            self.sock.sendall(data)
            status = self.answer(data, cont)
        except (Closed, ConnectionError, ssl.SSLError):
            # Closed without BYE is acceptable only after a line the server
            # had to drop the connection for; count it like a BYE.
            status = "BYE"
        if b"\x00" in data.split(b"\r\n")[0]:
            assert status != "OK", f"{self.name}: NUL accepted in {data[:300]!r}"
        self.answers[status] += 1
        if status == "BYE":
            self.closes += 1
            self.connect()
        elif i % 25 == 0:
            self.sync(i)

    def sync(self, i):
        """A NOOP that must come back OK: the parser is in step again."""
        tag = f"z{self.name}{i}".encode()
        self.sock.sendall(tag + b" NOOP\r\n")
        while True:
            try:
                line = self.readline(b"NOOP after fuzzing")
            except Closed:
                self.closes += 1
                self.connect()
                return
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), line
                return

    def run(self, n):
        for i in range(n):
            self.one(i)
        self.sock.close()


class Watcher(threading.Thread):
    """Another user's ordinary session, which must never fail."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.rounds = 0
        self.error = None

    def run(self):
        try:
            c = self.server.login("alice")
            c.append("INBOX", None, None, b"Subject: keep\r\n\r\nwatched\r\n")
            while not self.stop.is_set():
                typ, data = c.select("INBOX")
                assert (typ, data) == ("OK", [b"1"]), (typ, data)
                typ, data = c.fetch("1", "(BODY.PEEK[TEXT])")
                assert typ == "OK" and data[0][1] == b"watched\r\n", data
                typ, data = c.noop()
                assert typ == "OK", data
                self.rounds += 1
            c.logout()
        except Exception as e:  # reported by the test thread
            self.error = repr(e)


@pytest.fixture
def fuzz_server(make_server):
    server = make_server(extra="[limits]\nmax_literal_size = 1048576\n")
    c = server.login("bob")
    for i in range(4):
        c.append("INBOX", None, None, message(random.Random(i)))
    c.create("Fuzz")
    c.logout()
    watcher = Watcher(server)
    watcher.start()
    yield server
    watcher.stop.set()
    watcher.join(timeout=TIMEOUT)
    assert watcher.error is None, f"the other user's session failed: {watcher.error}"
    assert watcher.rounds > 0, "the other user's session made no progress"
    check_alive(server)


def check_alive(server):
    assert server.proc.poll() is None, f"server exited\n{server.log()[-5000:]}"
    assert "panicked" not in server.log(), server.log()[-5000:]


def test_one_connection_before_and_after_login(fuzz_server):
    before = Fuzzer(fuzz_server, random.Random(1), name="p")
    before.run(2000)
    after = Fuzzer(fuzz_server, random.Random(2), user="bob", name="a")
    after.run(3000)
    check_alive(fuzz_server)
    for f in (before, after):
        assert sum(f.answers.values()) == (2000 if f is before else 3000)
        # Most lines are junk: the server must have refused plenty of them.
        assert f.answers["BAD"] > 200, f.answers
    print("closes", before.closes, after.closes, before.answers, after.answers)


def test_many_connections_in_parallel(fuzz_server):
    errors = []
    fuzzers = []

    def work(k):
        try:
            # Every fourth connection runs over TLS (the other read path).
            f = Fuzzer(
                fuzz_server,
                random.Random(100 + k),
                user="bob" if k % 2 else None,
                name=f"c{k}_",
                tls=k % 4 == 0,
            )
            fuzzers.append(f)
            f.run(250)
        except BaseException as e:
            errors.append(f"connection {k}: {e!r}")

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(20)]
    for t in threads:
        t.start()
    deadline = time.time() + 120
    for t in threads:
        t.join(timeout=max(0, deadline - time.time()))
    assert not any(t.is_alive() for t in threads), "a fuzzing connection hung"
    assert not errors, "\n".join(errors)
    assert len(fuzzers) == 20
    assert sum(sum(f.answers.values()) for f in fuzzers) == 20 * 250
    check_alive(fuzz_server)


def rss_kb(server):
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_literals_before_login_are_bounded(make_server):
    """Before login nobody may make the server hold a big literal: a
    synchronising one is refused without a continuation, a
    non-synchronising one ends the connection (RFC 7888 §4)."""
    server = make_server()
    base = rss_kb(server)
    for i in range(4):
        r = Raw(server.imap_port, timeout=TIMEOUT)
        r.send(f"a{i} LOGIN {{60000000}}\r\n")
        line = r.line()
        assert line.startswith(f"a{i} NO [TOOBIG]".encode()), line
        r.close()
    r = Raw(server.imap_port, timeout=TIMEOUT)
    r.send(b"b LOGIN {60000000+}\r\n")
    sent = 0
    try:
        for _ in range(60):
            r.send(b"x" * 1_000_000)
            sent += 1
    except OSError:
        pass
    assert sent < 60, "the server took 60 MB of a literal before login"
    r.close()
    check_alive(server)
    assert rss_kb(server) - base < 20_000, (base, rss_kb(server))


def test_multiappend_argument_count_is_bounded(make_server):
    server = make_server()
    r = Raw(server.imap_port, timeout=TIMEOUT)
    _, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK")
    m = b"Subject: m\r\n\r\nx\r\n"
    data = b"a APPEND INBOX" + b"".join(
        b" {%d+}\r\n" % len(m) + m for _ in range(50_000)
    )
    try:
        r.send(data + b"\r\n")
        line = r.line()
    except (OSError, EOFError):
        line = b""
    assert re.match(rb"(\* BYE|a (NO|BAD)) \[(LIMIT|TOOBIG)\]", line), line
    check_alive(server)
    c = server.login("alice")
    # All or nothing: MULTIAPPEND is atomic (RFC 3502).
    assert c.select("INBOX") == ("OK", [b"0"])
    c.logout()
