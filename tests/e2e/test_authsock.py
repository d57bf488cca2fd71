"""The Dovecot-protocol auth socket (what Postfix uses with
smtpd_sasl_type = dovecot), driven here line by line as Postfix does."""

import base64
import os
import socket
import stat

import pytest


@pytest.fixture
def authsrv(make_server, tmp_path):
    path = tmp_path / "auth.sock"
    srv = make_server(extra=f'[auth]\nsocket = "{path}"\nsocket_mode = "0666"\nfailure_delay_ms = 10\n')
    srv.auth_socket = path
    return srv


class AuthClient:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(str(path))
        self.f = self.s.makefile("rb")
        self.s.sendall(b"VERSION\t1\t2\nCPID\t4242\n")
        self.handshake = []
        while True:
            line = self.f.readline().rstrip(b"\n").decode()
            self.handshake.append(line)
            if line == "DONE":
                break

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")
        return self.f.readline().rstrip(b"\n").decode()


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def test_handshake_and_permissions(authsrv):
    mode = stat.S_IMODE(os.stat(authsrv.auth_socket).st_mode)
    assert mode == 0o666
    c = AuthClient(authsrv.auth_socket)
    assert c.handshake[0] == "VERSION\t1\t2"
    mechs = [l.split("\t")[1] for l in c.handshake if l.startswith("MECH\t")]
    assert mechs == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    assert any(l.startswith("SPID\t") for l in c.handshake)
    assert any(l.startswith("CUID\t") for l in c.handshake)
    cookie = [l for l in c.handshake if l.startswith("COOKIE\t")][0].split("\t")[1]
    assert len(cookie) == 32 and int(cookie, 16) >= 0


def test_plain_ok_and_fail(authsrv):
    c = AuthClient(authsrv.auth_socket)
    ok = c.send(f"AUTH\t1\tPLAIN\tservice=smtp\tsecured\trip=127.0.0.1\tresp={plain('alice', 'alice-secret')}")
    assert ok == "OK\t1\tuser=alice"
    bad = c.send(f"AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp={plain('alice', 'wrong')}")
    assert bad == "FAIL\t2\tuser=alice"
    # Unknown users fail the same way.
    assert c.send(f"AUTH\t3\tPLAIN\tservice=smtp\tsecured\tresp={plain('nobody', 'x')}") == "FAIL\t3\tuser=nobody"
    # Case-folded user names.
    assert c.send(f"AUTH\t4\tPLAIN\tservice=smtp\tsecured\tresp={plain('Alice', 'alice-secret')}") == "OK\t4\tuser=alice"


def test_login_mechanism_exchange(authsrv):
    c = AuthClient(authsrv.auth_socket)
    r = c.send("AUTH\t7\tLOGIN\tservice=smtp\tsecured")
    assert r.startswith("CONT\t7\t") and base64.b64decode(r.split("\t")[2]) == b"Username:"
    r = c.send("CONT\t7\t" + base64.b64encode(b"bob").decode())
    assert r.startswith("CONT\t7\t") and base64.b64decode(r.split("\t")[2]) == b"Password:"
    r = c.send("CONT\t7\t" + base64.b64encode(b"bob secret with spaces").decode())
    assert r == "OK\t7\tuser=bob"


def test_plaintext_refused_when_not_secured_and_not_loopback(authsrv):
    c = AuthClient(authsrv.auth_socket)
    r = c.send(f"AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.7\tresp={plain('alice', 'alice-secret')}")
    assert r.startswith("FAIL\t1\treason=Plaintext authentication disallowed")
    # From loopback the default policy allows it.
    r = c.send(f"AUTH\t2\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp={plain('alice', 'alice-secret')}")
    assert r == "OK\t2\tuser=alice"


def test_bad_input(authsrv):
    c = AuthClient(authsrv.auth_socket)
    assert c.send("AUTH\t1\tGSSAPI\tservice=smtp\tsecured") == "FAIL\t1\treason=Unsupported mechanism"
    assert c.send("AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp=!!!") == "FAIL\t2\treason=Invalid base64 data"
    assert c.send("CONT\t99\tAAAA") == "FAIL\t99\treason=Unknown request"
    # A wrong major version ends the connection.
    c2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c2.settimeout(10)
    c2.connect(str(authsrv.auth_socket))
    c2.sendall(b"VERSION\t2\t0\n")
    data = b""
    while True:
        chunk = c2.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.endswith(b"DONE\n")
