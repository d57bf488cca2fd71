"""APOP (off by default; needs clear-text passwords) and the configurable
UIDL format that keeps migrated maildrops' UIDLs."""

import hashlib
import poplib
import re

import pytest

from conftest import free_port


def pop3_server(make_server, extra=""):
    port = free_port()
    srv = make_server(
        extra=extra
        + f'\n[[listener]]\naddress = "127.0.0.1:{port}"\nprotocol = "pop3"\ntls = "none"\n'
    )
    srv.pop3_port = port
    return srv


def test_apop_off_by_default(make_server):
    srv = pop3_server(make_server, "[auth]\nfailure_delay_ms = 10\n")
    import socket

    s = socket.create_connection(("127.0.0.1", srv.pop3_port), timeout=10)
    f = s.makefile("rb")
    assert b"<" not in f.readline(), "no APOP timestamp in the greeting"
    # poplib refuses APOP itself without a timestamp: speak it directly.
    s.sendall(b"APOP alice 0123456789abcdef0123456789abcdef\r\n")
    assert f.readline() == b"-ERR APOP is not enabled\r\n"
    s.close()


def test_apop_with_a_plain_password(make_server):
    srv = pop3_server(
        make_server,
        "[auth]\nfailure_delay_ms = 10\nallow_plain_scheme = true\n[pop3]\napop = true\n",
    )
    # APOP needs the password in clear text: a {PLAIN} entry.
    db = srv.config.parent / "data" / "passwd"
    db.write_text(db.read_text() + "carol:{PLAIN}carol pw\n")
    import time

    time.sleep(1.5)  # the server reloads the passwd-file within a second
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=10)
    stamp = re.search(rb"<[^>]+>", p.getwelcome()).group(0)
    assert p.apop("carol", "carol pw").startswith(b"+OK")
    p.quit()
    q = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=10)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        q.apop("carol", "wrong")
    # alice has an Argon2 hash: APOP cannot work for her.
    r = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=10)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        r.apop("alice", "alice-secret")
    # The digest is MD5(timestamp + password) of *this* connection's stamp.
    assert hashlib.md5(stamp + b"carol pw").hexdigest() != hashlib.md5(b"x").hexdigest()


def test_uidl_format(make_server):
    srv = pop3_server(make_server, '[pop3]\nuidl_format = "%v.%u"\n')
    c = srv.login("alice")
    c.append("INBOX", None, None, b"Subject: a\r\n\r\nbody\r\n")
    typ, data = c.status("INBOX", "(UIDVALIDITY)")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    c.logout()
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=10)
    p.user("alice")
    p.pass_("alice-secret")
    assert p.uidl(1) == f"+OK 1 {uidvalidity}.1".encode()
    p.quit()


def test_bad_uidl_format_is_refused(tmp_path):
    import subprocess

    from conftest import BIN

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'data_dir = "{tmp_path}/d"\n[pop3]\nuidl_format = "%v"\n')
    r = subprocess.run([BIN, "--config", str(cfg), "user", "list"], capture_output=True, timeout=30)
    assert r.returncode != 0 and b"uidl_format" in r.stderr
