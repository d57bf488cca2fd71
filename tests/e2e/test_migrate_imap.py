"""`postcore import --from imap`: a pull from a real Dovecot (a private
instance on loopback, see dovecot_instance.py) into a postcore store,
checked over IMAP against what Dovecot itself shows: UIDVALIDITY, UIDs
(with an expunged gap), UIDNEXT, flags and keywords, internal dates, bytes,
folders with a '.' separator, a nested and a non-ASCII one, special use and
subscriptions. Then: TLS (implicit and STARTTLS, a private CA), resuming
after SIGKILL, a re-run that changes nothing, a wrong password, a folder
whose UIDVALIDITY changed on the source, and a pull into a running server
with the user logged in."""

import base64
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, Server
from dovecot_instance import Dovecot, available
from test_migrate import list_names, messages, quote, status


class DotDovecot(Dovecot):
    """The fixture's Dovecot with '.' as the hierarchy separator (the
    classic Maildir++ one, so names really are converted) and, with a
    certificate, TLS on its IMAP port (STARTTLS) and an imaps port."""

    def __init__(self, base, tls_dir=None):
        super().__init__(base)
        self.tls_dir = tls_dir
        self.imaps_port = None
        if tls_dir:
            from conftest import free_port

            self.imaps_port = free_port()

    def _write_conf(self):
        super()._write_conf()
        text = self.conf.read_text().replace("separator = /", "separator = .")
        # A special use the name alone would not give away.
        text = text.replace(
            "  mailbox Trash {",
            "  mailbox Werbung {\n    special_use = \\Junk\n  }\n  mailbox Trash {",
        )
        if self.tls_dir:
            text = text.replace(
                "ssl = no",
                f"ssl = yes\nssl_cert = <{self.tls_dir}/cert.pem\nssl_key = <{self.tls_dir}/key.pem",
            )
            # The first `port = 0` is imap-login's imaps listener.
            text = text.replace(
                "inet_listener imaps {\n    port = 0",
                f"inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.imaps_port}",
                1,
            )
        self.conf.write_text(text)


def mutf7(name):
    """RFC 3501 modified UTF-7, to create non-ASCII folders with imaplib."""
    out, run = [], []

    def flush():
        if run:
            b = base64.b64encode("".join(run).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def need_dovecot():
    why = available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Dovecot is required in CI: {why}")
        pytest.skip(f"{why}; to run: apt-get install dovecot-core dovecot-imapd (as root)")


def make_certificates(d):
    """A private CA (ca.pem) and the server's certificate for 127.0.0.1 and
    localhost signed by it (cert.pem, key.pem)."""

    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=postcore test CA", "-keyout", "ca.key", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "key.pem", "-out", "server.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "cert.pem")


@pytest.fixture(scope="module")
def dovecot():
    need_dovecot()
    # Dovecot's mail processes run as `mail` and must reach their homes,
    # and pytest's tmp_path sits under a 0700 directory.
    base = tempfile.mkdtemp(prefix="postcore-dovecot-")
    os.chmod(base, 0o755)
    tls = os.path.join(base, "tls")
    os.mkdir(tls)
    make_certificates(tls)
    dv = DotDovecot(os.path.join(base, "dovecot"), tls_dir=tls)
    try:
        dv.start()
    except RuntimeError as e:
        shutil.rmtree(base, ignore_errors=True)
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Dovecot could not start here: {e}")
    try:
        yield dv
    finally:
        dv.stop()
        shutil.rmtree(base, ignore_errors=True)


def pull(srv, dv, user, remote_user, *extra, tls="none", port=None, password=None, timeout=600):
    pw = srv.base / f"pw-{remote_user}"
    pw.write_text((password or dv.password) + "\n")
    args = [BIN, "--config", str(srv.config), "import", "--from", "imap",
            "--host", "127.0.0.1", "--port", str(port or dv.imap_port), "--tls", tls,
            "--remote-user", remote_user, "--password-file", str(pw), *extra, user]
    r = subprocess.run(args, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def ok(c, r):
    typ, data = r
    assert typ == "OK", data
    return data


WORK = "Work"
PROJECTS = "Work.Projects"
ENTW = mutf7("Entwürfe")
ARCHIVE = "Archive"


def fill_source(dv, user):
    """Folders, flags, keywords, dates and a gap; returns what the folders
    hold as Dovecot shows them."""
    c = dv.imap(user)
    for box in ("Sent", "Drafts", "Trash", "Werbung", WORK, PROJECTS, ENTW, ARCHIVE):
        ok(c, c.create(quote(box)))
    for box in ("INBOX", PROJECTS, ENTW, "Sent"):
        ok(c, c.subscribe(quote(box)))
    # A subscription to a name that is no longer a folder is kept too.
    ok(c, c.create(quote("Old.Gone")))
    ok(c, c.subscribe(quote("Old.Gone")))
    ok(c, c.delete(quote("Old.Gone")))
    assert any(b"Old.Gone" in line for line in ok(c, c.lsub('""', "*")))

    def append(box, i, flags, when):
        body = (
            f"From: a{i}@example.org\r\nTo: {user}@example.org\r\n"
            f"Subject: m{i} in {box}\r\nMessage-ID: <{box}.{i}@example.org>\r\n\r\n"
            f"Body {i}\r\n{'x' * (i * 37 % 500)}\r\n"
        ).encode()
        ok(c, c.append(quote(box), flags, f'"{when}"', body))

    for i in range(1, 8):
        flags = ["(\\Seen)", "(\\Seen \\Flagged)", "(\\Answered $Label1)", "(work $Forwarded)",
                 "()", "(\\Seen \\Answered \\Flagged \\Draft)", "(\\Deleted)"][i - 1]
        append("INBOX", i, flags, f"{i:02d}-Mar-2023 10:{i:02d}:00 +0100")
    # UIDs 2 and 3 and the newest, 7, go: a gap, and UIDNEXT past the last.
    ok(c, c.select("INBOX"))
    ok(c, c.uid("STORE", "2:3,7", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c, c.expunge())
    for i in range(1, 4):
        append(PROJECTS, 100 + i, "(\\Seen)", f"1{i}-Dec-2022 23:59:5{i} -0800")
    for i in range(1, 3):
        append(ENTW, 200 + i, "(\\Draft)", f" {i}-Jan-2024 08:00:00 +0000")
    append("Sent", 300, "(\\Seen)", "15-Jun-2021 12:00:00 +0200")
    c.logout()
    return snapshot(dv.imap(user), [("INBOX", "INBOX"), (PROJECTS, "Work/Projects"),
                                    (ENTW, "Entw&APw-rfe"), ("Sent", "Sent"),
                                    (WORK, "Work"), (ARCHIVE, "Archive")])


def snapshot(c, boxes):
    """{postcore name: (status, messages)} read through `c`."""
    out = {}
    for remote, local in boxes:
        out[local] = (status(c, remote), messages(c, remote))
    c.logout()
    return out


def list_attrs(c):
    typ, data = c.list('""', "*")
    assert typ == "OK", data
    out = {}
    for line in data:
        m = re.match(rb'\(([^)]*)\) (?:"."|NIL) (.*)$', line)
        name = m.group(2).decode().strip('"')
        out[name] = set(m.group(1).decode().split())
    return out


def test_pull_keeps_uids_flags_dates_bytes_folders_and_subscriptions(dovecot):
    want = fill_source(dovecot, "src1")
    # The gap is real: Dovecot's INBOX has UIDs 1, 4, 5, 6 and UIDNEXT 8.
    assert sorted(want["INBOX"][1]) == [1, 4, 5, 6], want["INBOX"][1].keys()
    assert want["INBOX"][0]["UIDNEXT"] == 8

    base = pathlib_tmp()
    srv = Server(base / "srv")
    code, out, err = pull(srv, dovecot, "alice", "src1")
    assert code == 0, (out, err)
    assert "alice: 10 imported, 0 skipped, 0 failed" in out, out
    assert re.search(r"INBOX +4 imported", out), out
    state = list((srv.data / "users").glob("*/alice/import-imap-*.state"))
    assert len(state) == 1, state
    assert f"uidvalidity {want['INBOX'][0]['UIDVALIDITY']} uidnext 8" in out, out

    srv.start()
    try:
        c = srv.login("alice")
        for local, (wst, wmsgs) in want.items():
            st = status(c, local)
            assert st == wst, (local, st, wst)
            got = messages(c, local)
            assert got == wmsgs, local
        names = list_names(c)
        for n in ("INBOX", "Work", "Work/Projects", "Entw&APw-rfe", "Sent", "Archive"):
            assert n in names, names
        subs = set(list_names(c, "LSUB"))
        assert {"INBOX", "Work/Projects", "Entw&APw-rfe", "Sent", "Old/Gone"} <= subs, subs
        assert "Work" not in subs and "Drafts" not in subs, subs
        attrs = list_attrs(c)
        assert "\\Sent" in attrs["Sent"] and "\\Trash" in attrs["Trash"], attrs
        assert "\\Junk" in attrs["Werbung"], attrs
        c.logout()
    finally:
        srv.stop()

    # Again: everything is there already, nothing changes.
    code, out, err = pull(srv, dovecot, "alice", "src1")
    assert code == 0, (out, err)
    assert "alice: 0 imported, 10 skipped, 0 failed" in out, out

    # New mail on the source since: only that comes over, under its UID.
    c = dovecot.imap("src1")
    ok(c, c.append("INBOX", "(\\Flagged)", '"01-Apr-2023 09:00:00 +0000"',
                   b"Subject: later\r\n\r\nlater\r\n"))
    c.logout()
    code, out, err = pull(srv, dovecot, "alice", "src1")
    assert code == 0, (out, err)
    assert "alice: 1 imported, 10 skipped, 0 failed" in out, out
    srv.start()
    try:
        c = srv.login("alice")
        got = messages(c, "INBOX")
        assert sorted(got) == [1, 4, 5, 6, 8], got.keys()
        assert got[8][0] == {"\\Flagged"} and got[8][2] == b"Subject: later\r\n\r\nlater\r\n"
        c.logout()
    finally:
        srv.stop()
    shutil.rmtree(base, ignore_errors=True)


def pathlib_tmp():
    import pathlib

    return pathlib.Path(tempfile.mkdtemp(prefix="postcore-pull-"))


def test_pull_over_tls(dovecot):
    c = dovecot.imap("tlsuser")
    ok(c, c.append("INBOX", "(\\Seen)", '"05-May-2022 05:05:05 +0000"', b"Subject: tls\r\n\r\nsecret\r\n"))
    c.logout()
    base = pathlib_tmp()
    srv = Server(base / "srv")
    try:
        # Signed by a CA the system does not trust: refused unless told.
        code, out, err = pull(srv, dovecot, "alice", "tlsuser", tls="imaps",
                              port=dovecot.imaps_port)
        assert code != 0 and "invalid peer certificate" in out, (out, err)
        assert not list((srv.data / "users").glob("*/alice")), "no store for a failed login"
        code, out, err = pull(srv, dovecot, "alice", "tlsuser", "--insecure", tls="imaps",
                              port=dovecot.imaps_port)
        assert code == 0 and "alice: 1 imported" in out, (out, err)
        # Trusting that CA verifies the certificate and its name (127.0.0.1).
        code, out, err = pull(srv, dovecot, "bob", "tlsuser", "--ca-file",
                              f"{dovecot.tls_dir}/ca.pem", tls="starttls")
        assert code == 0 and "bob: 1 imported" in out, (out, err)
        code, out, err = pull(srv, dovecot, "bob", "tlsuser", "--insecure", tls="starttls")
        assert code == 0 and "bob: 0 imported, 1 skipped" in out, (out, err)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_wrong_password_is_a_clear_error(dovecot):
    base = pathlib_tmp()
    srv = Server(base / "srv")
    try:
        code, out, err = pull(srv, dovecot, "bob", "src1", password="not the password")
        assert code != 0, (out, err)
        assert "refused the login" in out and "src1" in out, (out, err)
        assert not list((srv.data / "users").glob("*/bob")), "no store for a failed login"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def bulk_maildir(dv, user, n, size=1000):
    """`n` messages straight into the source's Maildir (APPEND one by one
    would take minutes); Dovecot gives them UIDs on first access."""
    root = dv.maildir(user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(root / sub, exist_ok=True)
    pad = "y" * max(0, size - 120)
    for i in range(n):
        body = f"Subject: bulk {i}\nMessage-ID: <bulk{i}@example.org>\n\n{i}\n{pad}\n"
        p = root / "cur" / f"{1600000000 + i}.M{i}P1.host:2,S"
        p.write_text(body)
        os.utime(p, (1600000000 + i, 1600000000 + i))
    mail = pwd.getpwnam("mail")
    for dirpath, dirs, files in os.walk(dv.base / "mail" / user):
        os.chown(dirpath, mail.pw_uid, mail.pw_gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), mail.pw_uid, mail.pw_gid)


def log_bytes(srv, user):
    return sum(f.stat().st_size for f in (srv.data / "users").glob(f"*/{user}/seg-*.log"))


def test_resume_after_kill_and_uidvalidity_conflict(dovecot):
    n = 4000
    bulk_maildir(dovecot, "bulk", n)
    c = dovecot.imap("bulk")
    ok(c, c.create("Other"))
    ok(c, c.append("Other", "()", '"01-Jan-2020 00:00:00 +0000"', b"Subject: o\r\n\r\no\r\n"))
    want_inbox = status(c, "INBOX")
    c.logout()
    assert want_inbox["MESSAGES"] == n

    base = pathlib_tmp()
    srv = Server(base / "srv")
    try:
        killed = False
        for _ in range(5):
            for d in (srv.data / "users").glob("*/alice"):
                shutil.rmtree(d)
            pw = srv.base / "pw"
            pw.write_text(dovecot.password)
            p = subprocess.Popen(
                [BIN, "--config", str(srv.config), "import", "--from", "imap", "--host", "127.0.0.1",
                 "--port", str(dovecot.imap_port), "--tls", "none", "--remote-user", "bulk",
                 "--password-file", str(pw), "--batch-size", "100", "alice"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            while p.poll() is None:
                # A few batches of 100 ~1 KB messages (plus their facts) in.
                if log_bytes(srv, "alice") > 700_000:
                    p.send_signal(signal.SIGKILL)
                    p.communicate()
                    killed = True
                    break
                time.sleep(0.002)
            if killed:
                break
            p.communicate()
        assert killed, "the import finished before it could be killed"

        code, out, err = pull(srv, dovecot, "alice", "bulk")
        assert code == 0, (out, err)
        m = re.search(r"alice: (\d+) imported, (\d+) skipped, 0 failed", out)
        assert m and int(m.group(1)) + int(m.group(2)) == n + 1, out
        assert int(m.group(1)) > 0 and int(m.group(2)) > 0, out

        # "Other" is deleted and made anew on the source: a new UIDVALIDITY,
        # UIDs from 1 again. Reported, not imported over the old one.
        c = dovecot.imap("bulk")
        old = status(c, "Other")["UIDVALIDITY"]
        ok(c, c.delete("Other"))
        time.sleep(1.1)
        ok(c, c.create("Other"))
        ok(c, c.append("Other", "()", '"02-Jan-2020 00:00:00 +0000"', b"Subject: new\r\n\r\nnew\r\n"))
        new = status(c, "Other")["UIDVALIDITY"]
        c.logout()
        assert new != old
        code, out, err = pull(srv, dovecot, "alice", "bulk")
        assert code != 0, (out, err)
        assert "conflict" in out and f"UIDVALIDITY is now {new}, it was {old}" in out, out
        assert re.search(r"INBOX +0 imported +%d skipped" % n, out), out

        srv.start()
        try:
            c = srv.login("alice")
            st = status(c, "INBOX")
            assert st == want_inbox, (st, want_inbox)
            typ, data = c.select("INBOX", readonly=True)
            typ, data = c.uid("SEARCH", "ALL")
            assert len(data[0].split()) == n
            got = messages(c, "Other")
            assert [g[2] for g in got.values()] == [b"Subject: o\r\n\r\no\r\n"]
            c.logout()
        finally:
            srv.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_pull_into_a_running_server(dovecot):
    c = dovecot.imap("livesrc")
    ok(c, c.create("Later"))
    # Under a prefix (Courier's and Cyrus's `INBOX.`), removed by --remote-prefix.
    ok(c, c.create("Old.Stuff"))
    ok(c, c.append("Old.Stuff", "(\\Flagged)", '"09-Sep-2019 09:09:09 +0900"', b"Subject: old\r\n\r\nold\r\n"))
    for i in range(1, 4):
        ok(c, c.append("INBOX", "(\\Seen)", f'"0{i}-Feb-2021 10:00:00 +0000"',
                       f"Subject: live {i}\r\n\r\nlive {i}\r\n".encode()))
    ok(c, c.select("INBOX"))
    ok(c, c.uid("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c, c.expunge())
    c.logout()
    want = snapshot(dovecot.imap("livesrc"),
                    [("INBOX", "INBOX"), ("Later", "Later"), ("Old.Stuff", "Stuff")])
    base = pathlib_tmp()
    srv = Server(base / "srv")
    srv.start()
    try:
        # The user stays logged in: the pull goes through the server.
        watcher = srv.login("alice")
        assert watcher.select("INBOX")[0] == "OK"
        code, out, err = pull(srv, dovecot, "alice", "livesrc", "--remote-prefix", "Old.")
        assert code == 0, (out, err)
        assert "(into the running server)" in out and "alice: 3 imported" in out, out
        c = srv.login("alice")
        for local, (wst, wmsgs) in want.items():
            assert status(c, local) == wst, local
            assert messages(c, local) == wmsgs, local
        c.logout()
        watcher.logout()
    finally:
        srv.stop()
        shutil.rmtree(base, ignore_errors=True)
