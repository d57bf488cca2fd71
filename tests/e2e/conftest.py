"""Shared fixtures: a real postcore process with its own data directory,
config file and free loopback ports, and helpers to talk to it."""

import imaplib
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("POSTCORE_BIN") or str(ROOT / "target" / "debug" / "postcore")

USERS = {"alice": "alice-secret", "bob": "bob secret with spaces"}


_handed_out = set()


def free_port():
    # The kernel may offer a just-closed port again; one config asking for
    # the same port twice is refused ("two listeners on ..."), so never hand
    # out a port twice in one test run.
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class Server:
    """A postcore server in `base`. `extra` is appended to its config."""

    def __init__(self, base, extra="", shards=2, users=USERS):
        self.base = pathlib.Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.data = self.base / "data"
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.config = self.base / "postcore.toml"
        self.config.write_text(
            f'data_dir = "{self.data}"\n'
            f"shards = {shards}\n"
            'log = "info"\n'
            + extra
            + "\n[[listener]]\n"
            f'address = "127.0.0.1:{self.imap_port}"\nprotocol = "imap"\ntls = "starttls"\n'
            "\n[[listener]]\n"
            f'address = "127.0.0.1:{self.imaps_port}"\nprotocol = "imap"\ntls = "implicit"\n'
        )
        self.proc = None
        self.log_path = self.base / "server.log"
        for name, pw in users.items():
            self.add_user(name, pw)

    def cli(self, *args, input=None):
        return subprocess.run(
            [BIN, "--config", str(self.config), *args],
            input=input,
            capture_output=True,
            timeout=60,
        )

    def add_user(self, name, password):
        r = self.cli("user", "add", name, input=(password + "\n").encode())
        assert r.returncode == 0, r.stderr.decode()

    def start(self):
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "--config", str(self.config), "serve"],
            stdout=subprocess.PIPE,
            stderr=self.log_file,
        )
        deadline = time.time() + 60
        banner = b""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            banner += line
            if line.startswith(b"connect:"):
                self.banner = banner.decode()
                return self
        self.proc.kill()
        raise RuntimeError(f"server did not start: {banner!r}\n{self.log()}")

    def stop(self, expect_clean=True):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop within 30 s of SIGTERM")
        self.proc.stdout.close()
        self.log_file.close()
        self.proc = None
        log = self.log()
        if expect_clean:
            assert code == 0, f"exit code {code}\n{log}"
        assert "panicked" not in log, log

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def cert_path(self):
        return self.data / "tls" / "cert.pem"

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=str(self.cert_path()))
        return ctx

    def connect(self, tls="starttls"):
        """An IMAP client, not logged in. tls: "none", "starttls", "implicit"."""
        if tls == "implicit":
            return imaplib.IMAP4_SSL(
                "localhost", self.imaps_port, ssl_context=self.tls_context(), timeout=30
            )
        c = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        if tls == "starttls":
            ctx = self.tls_context()
            ctx.check_hostname = False
            c.starttls(ssl_context=ctx)
        return c

    def login(self, user="alice", password=None, tls="starttls"):
        c = self.connect(tls)
        typ, _ = c.login(user, password if password is not None else USERS[user])
        assert typ == "OK"
        return c


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(extra_config="", shards=2) -> started Server."""
    made = []

    def make(extra="", shards=2, users=USERS, name="srv"):
        s = Server(tmp_path / f"{name}{len(made)}", extra=extra, shards=shards, users=users)
        made.append(s)
        return s.start()

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


class Raw:
    """A line-level IMAP connection for what imaplib cannot express."""

    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        line = self.f.readline()
        if not line:
            raise EOFError("server closed the connection")
        return line

    def cmd(self, tag, text):
        """Sends `tag text` and returns (untagged lines, tagged line)."""
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        t = tag.encode() + b" "
        while True:
            line = self.line()
            if line.startswith(t):
                return untagged, line
            untagged.append(line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_login(srv, user="alice"):
    """A Raw connection to `srv`, logged in as `user`."""
    r = Raw(srv.imap_port)
    _, t = r.cmd("l", f'LOGIN {user} "{USERS[user]}"')
    assert t.startswith(b"l OK"), t
    return r


def raw_append(r, tag, subject, mailbox="INBOX"):
    """APPENDs a small message with `subject` over LITERAL+."""
    body = f"Subject: {subject}\r\n\r\nbody\r\n".encode()
    r.send(f"{tag} APPEND {mailbox} {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    _, t = r.until(tag)
    assert t.startswith(f"{tag} OK".encode()), t


def untagged_of_ok(reply, tag, text=None):
    """The untagged lines of a Raw.cmd reply whose tagged line is OK (and,
    given `text`, exactly `tag OK text`)."""
    untagged, t = reply
    assert t.startswith(f"{tag} OK".encode()), t
    if text is not None:
        assert t == f"{tag} OK {text}\r\n".encode(), t
    return untagged


@pytest.fixture
def raw():
    opened = []

    def open_raw(port):
        r = Raw(port)
        opened.append(r)
        return r

    yield open_raw
    for r in opened:
        r.close()
