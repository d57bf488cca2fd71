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
