"""fetchmail, a POP3 client no one here wrote, downloads a 1,000-message
maildrop over POP3S and over STLS: first leaving the messages on the server
and remembering their UIDLs (a second run must fetch only what arrived
since), then deleting them (the UPDATE state must remove them all)."""

import os
import re
import shutil
import stat
import subprocess

import pytest

from conftest import USERS
from test_pop3 import append, imap_count, pop3_server, uidl_map, login  # noqa: F401

COUNT = 1000


def need_fetchmail():
    path = shutil.which("fetchmail")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("fetchmail is missing on CI (.ci/run installs the fetchmail package)")
    pytest.skip("fetchmail not installed: apt-get install fetchmail")


def message(n):
    # Some lines start with dots (stuffed on the wire), some with "From "
    # (which an mbox would have to quote; the MDA here gets the raw lines).
    body = "".join(
        (". " if i % 5 == 0 else "") + f"line {i} of message {n}\n" for i in range(n % 7 + 1)
    )
    return (
        (
            f"From: Bob <bob@example.org>\nTo: Alice <alice@example.org>\n"
            f"Subject: fetch {n}\nMessage-ID: <fetch{n}@example.org>\n"
            f"Date: Sun, 22 Nov 2026 05:00:00 +0000\n\n{body}..dots\n.\nend\n"
        )
        .replace("\n", "\r\n")
        .encode()
    )


def run_fetchmail(exe, tmp, rc_text):
    rc = tmp / "fetchmailrc"
    rc.write_text(rc_text)
    rc.chmod(stat.S_IRUSR | stat.S_IWUSR)  # fetchmail refuses a readable rc file
    env = dict(os.environ, HOME=str(tmp), FETCHMAILHOME=str(tmp))
    r = subprocess.run(
        [
            exe,
            "-f",
            str(rc),
            # Own lock and UID files: as root the lock is otherwise global,
            # and another test run may be polling at the same time.
            "--pidfile",
            str(tmp / "fetchmail.pid"),
            "--idfile",
            str(tmp / "fetchids"),
            "--nodetach",
            "--nosyslog",
            "--verbose",
        ],
        capture_output=True,
        timeout=120,
        env=env,
    )
    return r


def delivered(outdir):
    """Message-ID number -> message as the MDA received it."""
    got = {}
    for f in outdir.iterdir():
        data = f.read_bytes()
        m = re.search(rb"Message-ID: <fetch(\d+)@example.org>", data)
        assert m, f"delivered file without our Message-ID: {data[:300]!r}"
        n = int(m.group(1))
        assert n not in got, f"message {n} delivered twice"
        got[n] = data
    return got


def strip_received(data):
    """fetchmail prepends its own Received: trace header (with folded
    continuation lines) before handing the message to the MDA."""
    lines = data.split(b"\n")
    assert lines[0].startswith(b"Received: "), lines[:3]
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


def test_fetchmail_keep_by_uidl_then_delete_1000(pop3_server, tmp_path):
    exe = need_fetchmail()
    s = pop3_server()
    messages = [message(n) for n in range(COUNT)]
    append(s, "INBOX", messages)
    p = login(s)
    assert p.stat()[0] == COUNT
    uidls = uidl_map(p)
    p.quit()

    outdir = tmp_path / "delivered"
    outdir.mkdir()
    mda = tmp_path / "mda.sh"
    mda.write_text(f'#!/bin/sh\nexec cat > "$(mktemp {outdir}/msg.XXXXXXXX)"\n')
    mda.chmod(0o755)

    def rc(keep, tls, which):
        if tls == "implicit":
            where = f"poll localhost port {s.pop3s_port} protocol POP3"
            security = f'ssl sslcertck sslcertfile "{s.cert_path()}"'
        else:
            # The plain port: fetchmail upgrades with STLS when CAPA offers it.
            where = f"poll localhost port {s.pop3_port} protocol POP3"
            security = f'sslcertck sslcertfile "{s.cert_path()}"'
        return (
            f"set no bouncemail\n{where} {which}\n"
            f'  user "alice" there with password "{USERS["alice"]}" is "alice" here\n'
            f"  {security}\n"
            f"  {'keep' if keep else 'nokeep fetchall'}\n"
            f'  mda "{mda}"\n'
        )

    def fetch(keep, tls, which=""):
        for f in outdir.iterdir():
            f.unlink()
        r = run_fetchmail(exe, tmp_path, rc(keep, tls, which))
        out = r.stdout + r.stderr
        assert r.returncode == 0, out.decode(errors="replace")
        if tls == "implicit":
            assert b"SSL/TLS: using protocol" in out
        else:
            assert b"upgrade to TLS succeeded" in out, "fetchmail did not use STLS"
        return delivered(outdir)

    # Keep, remembering UIDLs (fetchmail's own .fetchids): everything is new.
    got = fetch(keep=True, tls="implicit", which="uidl")
    assert sorted(got) == list(range(COUNT))
    for n in (0, 1, 2, 3, 4, 5, 6, 499, 998, 999):
        assert strip_received(got[n]) == messages[n].replace(b"\r\n", b"\n"), n
    # Kept on the server, unchanged.
    assert imap_count(s) == COUNT
    p = login(s)
    assert uidl_map(p) == uidls
    p.quit()

    # Five more arrive: by UIDL, only they are new to fetchmail.
    more = [message(n) for n in range(COUNT, COUNT + 5)]
    append(s, "INBOX", more)
    got = fetch(keep=True, tls="stls", which="uidl")
    assert sorted(got) == list(range(COUNT, COUNT + 5))
    assert strip_received(got[COUNT + 4]) == more[4].replace(b"\r\n", b"\n")

    # Fetch everything and delete it on the server.
    got = fetch(keep=False, tls="stls")
    assert sorted(got) == list(range(COUNT + 5))
    assert strip_received(got[123]) == messages[123].replace(b"\r\n", b"\n")
    assert imap_count(s) == 0
    p = login(s)
    assert p.stat() == (0, 0)
    p.quit()
