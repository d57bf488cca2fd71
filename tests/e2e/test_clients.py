"""Real IMAP clients that no one here wrote: curl and mbsync (isync)."""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import USERS, Raw


def need(tool, package):
    path = shutil.which(tool)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is missing on CI (.ci/run installs the {package} package)")
    pytest.skip(f"{tool} not installed: apt-get install {package}")


def msg(n, size=1):
    body = "".join(f"line {i} of message {n}\r\n" for i in range(size))
    return (
        f"From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"
        f"Subject: message {n}\r\nMessage-ID: <m{n}@example.org>\r\n"
        f"Date: Sun, 22 Nov 2026 05:00:00 +0000\r\n\r\n{body}"
    ).encode()


def populate(server, mailbox, messages):
    """Appends `messages` with pipelined LITERAL+ APPENDs, in batches."""
    r = Raw(server.imap_port, timeout=60)
    _, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK"), tagged
    batch = 100
    for start in range(0, len(messages), batch):
        chunk = messages[start : start + batch]
        r.send(
            b"".join(
                f"a{start + i} APPEND {mailbox} {{{len(m)}+}}\r\n".encode()
                + m
                + b"\r\n"
                for i, m in enumerate(chunk)
            )
        )
        for i in range(len(chunk)):
            _, tagged = r.until(f"a{start + i}")
            assert tagged.startswith(f"a{start + i} OK".encode()), tagged
    r.cmd("x", "LOGOUT")
    r.close()


def curl(*args):
    exe = need("curl", "curl")
    return subprocess.run(
        [exe, "-sS", "--max-time", "30", *args], capture_output=True, timeout=60
    )


AUTH = ["--user", f"alice:{USERS['alice']}"]


def test_curl_lists_mailboxes_and_fetches_by_uid(server):
    need("curl", "curl")
    c = server.login("alice")
    c.create("Projects")
    c.create("Projects/postcore")
    body = msg(1, size=50)
    c.append("INBOX", None, None, body)
    c.append("INBOX", None, None, msg(2))
    c.logout()

    r = curl(*AUTH, f"imap://127.0.0.1:{server.imap_port}/")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    names = set()
    for line in lines:
        m = re.fullmatch(r'\* LIST \(([^)]*)\) "/" (.+)', line.strip())
        assert m, f"not a LIST line: {line!r}"
        names.add(m.group(2).strip('"'))
    assert {"INBOX", "Projects", "Projects/postcore"} <= names, lines

    r = curl(*AUTH, f"imap://127.0.0.1:{server.imap_port}/INBOX;UID=1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == body
    r = curl(*AUTH, f"imap://127.0.0.1:{server.imap_port}/INBOX;UID=2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == msg(2)

    # URL search (RFC 5092 "?" search): curl sends SEARCH.
    r = curl(
        *AUTH, f"imap://127.0.0.1:{server.imap_port}/INBOX?SUBJECT%20%22message%202%22"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"* SEARCH 2\r\n", r.stdout

    # A wrong password is a login failure (curl exit 67), not a crash.
    r = curl("--user", "alice:wrong", f"imap://127.0.0.1:{server.imap_port}/")
    assert r.returncode == 67, (r.returncode, r.stderr)


def test_curl_implicit_tls(server):
    need("curl", "curl")
    c = server.login("alice")
    c.append("INBOX", None, None, msg(7, size=10))
    c.logout()
    url = f"imaps://localhost:{server.imaps_port}/INBOX;UID=1"
    r = curl(*AUTH, "--cacert", str(server.cert_path()), url)
    assert r.returncode == 0, r.stderr
    assert r.stdout == msg(7, size=10)
    r = curl(*AUTH, "--insecure", f"imaps://127.0.0.1:{server.imaps_port}/")
    assert r.returncode == 0, r.stderr
    assert b"* LIST (" in r.stdout and b"INBOX" in r.stdout, r.stdout
    # Without the CA the certificate is (rightly) not trusted.
    r = curl(*AUTH, url)
    assert r.returncode == 60, (r.returncode, r.stderr)


def test_curl_starttls_required(server):
    need("curl", "curl")
    c = server.login("alice")
    c.append("INBOX", None, None, msg(3))
    c.logout()
    r = curl(
        *AUTH,
        "--ssl-reqd",
        "--cacert",
        str(server.cert_path()),
        "-v",
        f"imap://localhost:{server.imap_port}/INBOX;UID=1",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == msg(3)
    log = r.stderr.decode(errors="replace")
    assert "STARTTLS" in log, log
    assert re.search(r"SSL connection using TLSv1\.[23]", log), log


def test_curl_uploads_a_message(server, tmp_path):
    need("curl", "curl")
    c = server.login("alice")
    c.create("Uploads")
    c.logout()
    body = msg(11, size=30)
    f = tmp_path / "m.eml"
    f.write_bytes(body)
    r = curl(*AUTH, "-T", str(f), f"imap://127.0.0.1:{server.imap_port}/Uploads")
    assert r.returncode == 0, r.stderr
    c = server.login("alice")
    assert c.select("Uploads") == ("OK", [b"1"])
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == body
    c.logout()
    # And curl reads it back, with a custom command too.
    r = curl(*AUTH, f"imap://127.0.0.1:{server.imap_port}/Uploads;UID=1")
    assert r.stdout == body, r.stderr
    r = curl(
        *AUTH,
        "-X",
        "STATUS Uploads (MESSAGES UIDNEXT)",
        f"imap://127.0.0.1:{server.imap_port}/",
    )
    assert r.returncode == 0, r.stderr
    assert re.search(
        rb'\* STATUS "?Uploads"? \((MESSAGES 1 UIDNEXT 2|UIDNEXT 2 MESSAGES 1)\)',
        r.stdout,
    ), r.stdout


def test_curl_plaintext_refused_when_configured(make_server):
    need("curl", "curl")
    server = make_server(extra='[auth]\nplaintext_auth = "never"\n')
    # Without TLS the server offers LOGINDISABLED: curl cannot log in.
    r = curl(*AUTH, f"imap://127.0.0.1:{server.imap_port}/")
    assert r.returncode != 0, r.stdout
    r = curl(
        *AUTH,
        "--ssl-reqd",
        "--cacert",
        str(server.cert_path()),
        f"imap://localhost:{server.imap_port}/",
    )
    assert r.returncode == 0, r.stderr
    assert b"INBOX" in r.stdout


# --- mbsync ---------------------------------------------------------------------


def mbsync_version(exe):
    out = subprocess.run(
        [exe, "--version"], capture_output=True, timeout=10
    ).stdout.decode()
    m = re.search(r"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 4)


def write_rc(path, server, maildir, tls, tls_key):
    port = server.imap_port if tls == "STARTTLS" else server.imaps_port
    path.write_text(
        "IMAPAccount acc\n"
        "Host localhost\n"
        f"Port {port}\n"
        "User alice\n"
        f'Pass "{USERS["alice"]}"\n'
        f"{tls_key} {tls}\n"
        f"CertificateFile {server.cert_path()}\n"
        "\n"
        "IMAPStore far\n"
        "Account acc\n"
        "\n"
        "MaildirStore near\n"
        f"Path {maildir}/\n"
        f"Inbox {maildir}/INBOX\n"
        "SubFolders Verbatim\n"
        "\n"
        "Channel ch\n"
        "Far :far:\n"
        "Near :near:\n"
        "Patterns *\n"
        "Create Both\n"
        "Expunge Both\n"
        "SyncState *\n"
    )


def run_mbsync(exe, rc):
    r = subprocess.run([exe, "-c", str(rc), "-a"], capture_output=True, timeout=120)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, f"mbsync exit {r.returncode}\n{err}"
    bad = [
        l
        for l in err.splitlines()
        if re.search(r"error|fatal|unexpected|bad|warning|fail", l, re.I)
    ]
    assert not bad, err
    return r


def maildir_files(folder):
    return [
        p for sub in ("cur", "new") for p in (folder / sub).iterdir() if p.is_file()
    ]


def as_maildir(data):
    """How mbsync stores a message in a Maildir: LF line ends."""
    return data.replace(b"\r\n", b"\n")


def strip_tuid(data):
    return re.sub(rb"^X-TUID: [^\n]*\n", b"", data, flags=re.M)


def test_mbsync_pull_then_push_flags_and_new_message(server, tmp_path):
    exe = need("mbsync", "isync")
    tls_key = "TLSType" if mbsync_version(exe) >= (1, 5) else "SSLType"
    n = 1000
    messages = [msg(i, size=1 + i % 7) for i in range(n)]
    populate(server, "INBOX", messages)
    c = server.login("alice")
    c.create("Lists")
    c.append("Lists", r"(\Seen)", None, msg(5000))
    c.logout()

    maildir = tmp_path / "mail"
    maildir.mkdir()
    rc = tmp_path / "mbsyncrc"
    write_rc(rc, server, maildir, "STARTTLS", tls_key)
    t0 = time.time()
    run_mbsync(exe, rc)
    pull_secs = time.time() - t0

    inbox = maildir / "INBOX"
    files = maildir_files(inbox)
    assert len(files) == n, len(files)
    expected = {
        f"<m{i}@example.org>".encode(): as_maildir(m) for i, m in enumerate(messages)
    }
    by_uid = {}
    for f in files:
        data = strip_tuid(f.read_bytes())
        mid = re.search(rb"^Message-ID: (\S+)$", data, re.M).group(1)
        assert data == expected.pop(mid), f.name
        uid = int(re.search(r",U=(\d+)", f.name).group(1))
        by_uid[uid] = f
    assert not expected
    lists = maildir_files(maildir / "Lists")
    assert len(lists) == 1 and lists[0].name.endswith(":2,S"), lists
    assert strip_tuid(lists[0].read_bytes()) == as_maildir(msg(5000))

    # Local changes: flags by renaming (Maildir "info" ":2,<flags>", flags
    # in ASCII order) and a new message delivered to new/.
    seen_uids = sorted(by_uid)[:10]
    flagged_uids = sorted(by_uid)[5:15]
    for uid in set(seen_uids) | set(flagged_uids):
        f = by_uid[uid]
        base = f.name.split(":2,")[0]
        flags = ("F" if uid in flagged_uids else "") + ("S" if uid in seen_uids else "")
        f.rename(inbox / "cur" / f"{base}:2,{flags}")
    # One local message is trashed (T): with Expunge Both it must go from
    # the server too.
    doomed_uid = sorted(by_uid)[-1]
    f = by_uid.pop(doomed_uid)
    f.rename(inbox / "cur" / (f.name.split(":2,")[0] + ":2,T"))
    # And a change on the server side must come down.
    c = server.login("alice")
    c.select("INBOX")
    answered_uid = sorted(by_uid)[20]
    typ, _ = c.uid("STORE", str(answered_uid), "+FLAGS", r"(\Answered)")
    assert typ == "OK"
    c.logout()
    new_msg = msg(4242, size=3)
    (inbox / "new" / f"{int(time.time())}.P{os.getpid()}.e2etest").write_bytes(
        as_maildir(new_msg)
    )

    # Second run over implicit TLS: same far store, other port.
    write_rc(rc, server, maildir, "IMAPS", tls_key)
    t0 = time.time()
    run_mbsync(exe, rc)
    push_secs = time.time() - t0

    c = server.login("alice")
    typ, data = c.select("INBOX", readonly=True)
    assert data == [str(n).encode()], data  # one uploaded, one expunged
    typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
    flags = {}
    for line in data:
        m = re.search(rb"UID (\d+).*FLAGS \(([^)]*)\)", line) or re.search(
            rb"FLAGS \(([^)]*)\).*UID (\d+)", line
        )
        assert m, line
        if m.re.pattern.startswith(rb"UID"):
            flags[int(m.group(1))] = set(m.group(2).split())
        else:
            flags[int(m.group(2))] = set(m.group(1).split())
    for uid in by_uid:
        want = set()
        if uid in seen_uids:
            want.add(b"\\Seen")
        if uid in flagged_uids:
            want.add(b"\\Flagged")
        if uid == answered_uid:
            want.add(b"\\Answered")
        assert flags[uid] == want, (uid, flags[uid], want)
    typ, data = c.uid("SEARCH", None, "HEADER", "Message-ID", "<m4242@example.org>")
    uids = data[0].split()
    assert len(uids) == 1, data
    typ, data = c.uid("FETCH", uids[0].decode(), "(BODY.PEEK[])")
    uploaded = data[0][1]
    assert strip_tuid(uploaded.replace(b"\r\n", b"\n")) == as_maildir(new_msg)
    assert uploaded.count(b"\n") == uploaded.count(b"\r\n"), "bare LF stored over IMAP"
    c.logout()
    assert doomed_uid not in flags, "the trashed message was not expunged on the server"
    # A third run has nothing to do and still succeeds.
    run_mbsync(exe, rc)
    files = maildir_files(inbox)
    assert len(files) == n
    answered = [f for f in files if re.search(rf",U={answered_uid}:2,", f.name)]
    assert len(answered) == 1 and answered[0].name.endswith(":2,R"), answered
    print(
        f"mbsync pull of {n} messages: {pull_secs:.1f} s; push run: {push_secs:.1f} s"
    )


def test_mbsync_creates_folders_both_ways(server, tmp_path):
    exe = need("mbsync", "isync")
    tls_key = "TLSType" if mbsync_version(exe) >= (1, 5) else "SSLType"
    c = server.login("alice")
    for name in ("Work", "Work/Reports", "Work/Reports/2026"):
        assert c.create(name)[0] == "OK"
    assert c.append("Work/Reports/2026", None, None, msg(1))[0] == "OK"
    c.logout()
    maildir = tmp_path / "mail"
    local = maildir / "Local" / "Sub"
    for sub in ("cur", "new", "tmp"):
        (local / sub).mkdir(parents=True)
    (local / "new" / "1.P1.e2etest").write_bytes(as_maildir(msg(2)))
    rc = tmp_path / "mbsyncrc"
    write_rc(rc, server, maildir, "STARTTLS", tls_key)
    run_mbsync(exe, rc)

    got = maildir_files(maildir / "Work" / "Reports" / "2026")
    assert len(got) == 1 and strip_tuid(got[0].read_bytes()) == as_maildir(msg(1))
    c = server.login("alice")
    typ, data = c.list()
    names = {line.decode().split(' "/" ')[1].strip('"') for line in data}
    assert {"Local", "Local/Sub", "Work/Reports/2026"} <= names, names
    assert c.select("Local/Sub") == ("OK", [b"1"])
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert strip_tuid(data[0][1].replace(b"\r\n", b"\n")) == as_maildir(msg(2))
    c.logout()
