"""QUOTA (RFC 9208): limits from [quota] or per user (`postcore user
quota`), GETQUOTA/GETQUOTAROOT, SETQUOTA refused, APPEND/COPY/LMTP over
quota refused with nothing saved, MOVE allowed, STATUS DELETED and
DELETED-STORAGE, and the CLI."""

import re
import smtplib
import time

import pytest

from conftest import USERS, Raw, free_port

PW = USERS["alice"]


def login(srv, user="alice"):
    r = Raw(srv.imap_port)
    _, t = r.cmd("l", f'LOGIN {user} "{USERS[user]}"')
    assert t.startswith(b"l OK"), t
    return r


def caps(r):
    lines, _ = r.cmd("c", "CAPABILITY")
    return lines[0].split()


def quota_line(r, tag="q"):
    lines, t = r.cmd(tag, 'GETQUOTA ""')
    assert t.startswith(f"{tag} OK".encode()), t
    return lines


def append(r, tag, size, box="INBOX"):
    body = b"Subject: q\r\n\r\n" + b"x" * max(size - 16, 0) + b"\r\n"
    r.send(f"{tag} APPEND {box} {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    _, t = r.until(tag)
    return t


@pytest.fixture
def srv(make_server):
    lmtp = free_port()
    s = make_server(
        extra=f'[[listener]]\naddress = "127.0.0.1:{lmtp}"\nprotocol = "lmtp"\ntls = "none"\n'
    )
    s.lmtp_port = lmtp
    return s


def set_quota(srv, *args):
    r = srv.cli("user", "quota", "alice", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def wait_for_quota(srv, want):
    """The server reloads the passwd file within about a second."""
    deadline = time.monotonic() + 15
    while True:
        r = login(srv)
        has = b"QUOTA" in caps(r)
        if has == want or time.monotonic() > deadline:
            return r
        r.close()
        time.sleep(0.2)


def test_quota_per_user(srv):
    r = login(srv)
    assert b"QUOTA" not in caps(r)
    _, t = r.cmd("g", "GETQUOTAROOT INBOX")
    assert t.startswith(b"g BAD"), t
    r.close()

    out = set_quota(srv, "--storage", "20K", "--messages", "3")
    assert "storage 20 KiB (the user's), messages 3 (the user's)" in out, out
    r = wait_for_quota(srv, True)
    c = caps(r)
    assert b"QUOTA" in c and b"QUOTA=RES-STORAGE" in c and b"QUOTA=RES-MESSAGE" in c, c
    lines, t = r.cmd("g", "GETQUOTAROOT INBOX")
    assert t.startswith(b"g OK"), t
    assert lines == [b'* QUOTAROOT "INBOX" ""\r\n', b'* QUOTA "" (STORAGE 0 20 MESSAGE 0 3)\r\n'], lines

    assert append(r, "a1", 1000).startswith(b"a1 OK")
    assert append(r, "a2", 1000).startswith(b"a2 OK")
    assert quota_line(r) == [b'* QUOTA "" (STORAGE 2 20 MESSAGE 2 3)\r\n']
    # MULTIAPPEND of two would make 4 messages: refused whole.
    body = b"Subject: m\r\n\r\nbody\r\n"
    r.send(
        f"m APPEND INBOX {{{len(body)}+}}\r\n".encode() + body
        + f" {{{len(body)}+}}\r\n".encode() + body + b"\r\n"
    )
    _, t = r.until("m")
    assert t.startswith(b"m NO [OVERQUOTA]"), t
    assert quota_line(r) == [b'* QUOTA "" (STORAGE 2 20 MESSAGE 2 3)\r\n']
    # Storage: a 30 KiB message does not fit in 20 KiB.
    assert append(r, "big", 30 * 1024).startswith(b"big NO [OVERQUOTA]")
    r.cmd("s", "SELECT INBOX")
    _, t = r.cmd("cp", "COPY 1 Archive")
    assert t.startswith(b"cp OK"), t
    _, t = r.cmd("cp2", "COPY 1 Archive")
    assert t.startswith(b"cp2 NO [OVERQUOTA]"), t
    # MOVE within the account changes nothing: allowed at the limit.
    _, t = r.cmd("mv", "MOVE 2 Archive")
    assert t.startswith(b"mv OK"), t
    assert quota_line(r) == [b'* QUOTA "" (STORAGE 3 20 MESSAGE 3 3)\r\n']
    # LMTP: over quota is 552 5.2.2 (a bounce) by default.
    with smtplib.LMTP("127.0.0.1", srv.lmtp_port) as l:
        l.ehlo()
        l.mail("sender@example.org")
        code, msg = l.rcpt("alice@example.org")
        assert code == 250
        code, msg = l.rcpt("bob@example.org")
        assert code == 250
        l.putcmd("data")
        assert l.getreply()[0] == 354
        l.send(b"Subject: lmtp\r\n\r\nhello\r\n.\r\n")
        alice = l.getreply()
        bob = l.getreply()
    assert alice[0] == 552 and alice[1].startswith(b"5.2.2"), alice
    assert bob[0] == 250, bob
    # Refusals.
    _, t = r.cmd("x1", 'GETQUOTA "other"')
    assert t.startswith(b"x1 NO [NONEXISTENT]"), t
    _, t = r.cmd("x2", "GETQUOTAROOT Nope")
    assert t.startswith(b"x2 NO [NONEXISTENT]"), t
    _, t = r.cmd("x3", 'SETQUOTA "" (STORAGE 100)')
    assert t.startswith(b"x3 NO [NOPERM]"), t
    # STATUS DELETED and DELETED-STORAGE (KiB of the \Deleted messages).
    r.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines, _ = r.cmd("st", "STATUS Archive (DELETED DELETED-STORAGE MESSAGES)")
    assert b"(MESSAGES 2 DELETED 0 DELETED-STORAGE 0)" in lines[0], lines
    lines, _ = r.cmd("st2", "STATUS INBOX (DELETED DELETED-STORAGE)")
    assert re.search(rb"DELETED 1 DELETED-STORAGE 1\)", lines[0]), lines
    # Expunging frees the quota.
    r.cmd("e", "EXPUNGE")
    assert quota_line(r) == [b'* QUOTA "" (STORAGE 2 20 MESSAGE 2 3)\r\n']
    r.close()

    # Back to the default (no limit): QUOTA is no longer announced.
    out = set_quota(srv, "--storage", "default", "--messages", "default")
    assert "storage unlimited ([quota]), messages unlimited ([quota])" in out, out
    r = wait_for_quota(srv, False)
    assert b"QUOTA" not in caps(r)
    r.close()
    # Bad values are refused by the CLI.
    bad = srv.cli("user", "quota", "alice", "--storage", "3X")
    assert bad.returncode != 0 and b"unknown unit" in bad.stderr
    bad = srv.cli("user", "quota", "nobody", "--messages", "3")
    assert bad.returncode != 0 and b"no user" in bad.stderr


def test_global_quota_and_lmtp_tempfail(make_server):
    lmtp = free_port()
    srv = make_server(
        extra=(
            "[quota]\nmessages = 1\nlmtp_tempfail = true\n"
            f'[[listener]]\naddress = "127.0.0.1:{lmtp}"\nprotocol = "lmtp"\ntls = "none"\n'
        )
    )
    replies = []
    for i in range(2):
        with smtplib.LMTP("127.0.0.1", lmtp) as l:
            l.ehlo()
            l.mail("sender@example.org")
            l.rcpt("alice@example.org")
            l.putcmd("data")
            l.getreply()
            l.send(f"Subject: {i}\r\n\r\nhi\r\n.\r\n".encode())
            replies.append(l.getreply())
    assert replies[0][0] == 250, replies
    assert replies[1][0] == 452 and replies[1][1].startswith(b"4.2.2"), replies
    r = login(srv)
    assert b"QUOTA" in caps(r)
    assert quota_line(r) == [b'* QUOTA "" (MESSAGE 1 1)\r\n']
    r.close()
