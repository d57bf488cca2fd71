"""App passwords: `postcore user app-password add|list|revoke` against a
running server, which picks up the change without a restart."""

import imaplib
import time

import pytest


def try_login(server, user, password):
    c = server.connect("starttls")
    try:
        c.login(user, password)
        c.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def wait_until(pred, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def srv(make_server):
    return make_server(extra="[auth]\nfailure_delay_ms = 10\n")


def test_add_use_list_revoke(srv):
    r = srv.cli("user", "app-password", "add", "alice", "phone")
    assert r.returncode == 0, r.stderr
    pw = r.stdout.decode().strip()
    assert len(pw) == 24 and pw.count("-") == 4, pw
    wait_until(lambda: try_login(srv, "alice", pw), "the app password to work")
    # The main password keeps working, and the app password is not bob's.
    assert try_login(srv, "alice", "alice-secret")
    assert not try_login(srv, "bob", pw)

    r = srv.cli("user", "app-password", "add", "alice", "laptop")
    assert r.returncode == 0, r.stderr
    listed = srv.cli("user", "app-password", "list", "alice").stdout.decode().split()
    assert listed == ["phone", "laptop"]

    dup = srv.cli("user", "app-password", "add", "alice", "phone")
    assert dup.returncode != 0 and b"exists" in dup.stderr

    r = srv.cli("user", "app-password", "revoke", "alice", "phone")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: not try_login(srv, "alice", pw), "the revoked app password to stop working")
    assert srv.cli("user", "app-password", "list", "alice").stdout.decode().split() == ["laptop"]
    assert try_login(srv, "alice", "alice-secret")


def test_errors(srv):
    r = srv.cli("user", "app-password", "add", "nobody", "x")
    assert r.returncode != 0 and b"no user" in r.stderr
    r = srv.cli("user", "app-password", "add", "alice", "bad name")
    assert r.returncode != 0
    r = srv.cli("user", "app-password", "revoke", "alice", "never-made")
    assert r.returncode != 0 and b"no app password" in r.stderr
