"""`postcore user disable|enable [--imap] [--pop3]`: per-user protocol
access, applied by a running server to the next login (the passwd-file is
re-read on change), with the refusal only after a correct password."""

import poplib
import time

import pytest

from conftest import USERS
from test_pop3 import pop, pop3_extra


@pytest.fixture
def srv(make_server):
    extra, plain, implicit = pop3_extra()
    s = make_server(extra=extra)
    s.pop3_port, s.pop3s_port = plain, implicit
    return s


def imap_login(srv, user="alice", password=None):
    c = srv.connect()
    try:
        c.login(user, password or USERS[user])
        c.logout()
        return "OK"
    except c.error as e:
        return str(e)


def pop_login(srv, user="alice"):
    p = pop(srv)
    p.user(user)
    try:
        p.pass_(USERS[user])
        p.quit()
        return "OK"
    except poplib.error_proto as e:
        return e.args[0].decode()


def eventually(f, want, timeout=10):
    deadline = time.time() + timeout
    got = f()
    while not want(got) and time.time() < deadline:
        time.sleep(0.2)
        got = f()
    return got


def test_disable_and_enable_each_protocol_on_a_running_server(srv):
    assert imap_login(srv) == "OK" and pop_login(srv) == "OK"

    r = srv.cli("user", "disable", "alice", "--imap")
    assert r.returncode == 0, r.stderr
    assert b"disabled now: imap" in r.stdout, r.stdout
    got = eventually(lambda: imap_login(srv), lambda g: g != "OK")
    assert "AUTHORIZATIONFAILED" in got and "IMAP access is disabled" in got, got
    # A wrong password still fails as a wrong password: the account state is
    # only told to someone who knows it.
    wrong = imap_login(srv, password="nope")
    assert "AUTHENTICATIONFAILED" in wrong, wrong
    assert pop_login(srv) == "OK", "POP3 unaffected"
    assert imap_login(srv, "bob") == "OK", "other users unaffected"

    r = srv.cli("user", "disable", "alice", "--pop3")
    assert b"disabled now: imap, pop3" in r.stdout, r.stdout
    got = eventually(lambda: pop_login(srv), lambda g: g != "OK")
    assert got.startswith("-ERR [AUTH] POP3 access is disabled"), got
    r = srv.cli("user", "list")
    assert b"alice (disabled: imap,pop3)" in r.stdout, r.stdout

    r = srv.cli("user", "enable", "alice")
    assert r.returncode == 0 and b"disabled now: none" in r.stdout, r.stdout
    assert eventually(lambda: imap_login(srv), lambda g: g == "OK") == "OK"
    assert eventually(lambda: pop_login(srv), lambda g: g == "OK") == "OK"
    r = srv.cli("user", "list")
    assert b"disabled" not in r.stdout, r.stdout


def test_disable_of_an_unknown_user_fails(srv):
    r = srv.cli("user", "disable", "nobody")
    assert r.returncode != 0 and b"no user nobody" in r.stderr, r.stderr


def test_kick_ends_every_session_of_the_user_and_only_those(srv):
    """`user kick`: "log out on all devices" while the server runs."""
    a1 = srv.login("alice")
    a1.select("INBOX")
    a2 = srv.login("alice")
    # One session waits in IDLE, the other between commands.
    a2.select("INBOX")
    tag = a2._new_tag().decode()
    a2.send(f"{tag} IDLE\r\n".encode())
    assert a2.readline().startswith(b"+"), "IDLE accepted"
    b = srv.login("bob")
    p = pop(srv)
    p.user("alice")
    p.pass_(USERS["alice"])
    time.sleep(0.1)

    r = srv.cli("user", "kick", "alice")
    assert r.returncode == 0 and b"kicked alice" in r.stdout, r.stderr

    def bye(sock_reader):
        deadline = time.time() + 10
        while time.time() < deadline:
            line = sock_reader()
            if not line:
                return b"EOF"
            if line.startswith((b"* BYE", b"-ERR")):
                return line
        return b"timeout"

    assert b"Logged out by the administrator" in bye(a1.readline)
    assert b"Logged out by the administrator" in bye(a2.readline)
    assert b"Logged out by the administrator" in bye(p.file.readline)
    # Other users stay; the kicked user can log in again at once.
    assert b.noop()[0] == "OK"
    again = srv.login("alice")
    assert again.noop()[0] == "OK"
    time.sleep(1.5)  # past the next database poll: the new session stays
    assert again.noop()[0] == "OK"
    again.logout()
    b.logout()
    r = srv.cli("user", "kick", "nobody")
    assert r.returncode != 0 and b"no user nobody" in r.stderr
