"""`postcore import` and `postcore export`: Dovecot-style Maildir++ and mbox
sources imported offline, checked over IMAP (UIDVALIDITY, UIDs, UIDNEXT,
flags, keywords, internal dates, bodies byte for byte, folders and
subscriptions); round trips through export and import; resuming a killed
import; and the refusals (UIDVALIDITY conflict, missing source). Imports
into a running server: test_import_live.py."""

import datetime
import os
import pathlib
import re
import signal
import subprocess
import time

import pytest

from conftest import BIN, Server


def run(srv, *args, timeout=600):
    r = subprocess.run(
        [BIN, "--config", str(srv.config), *args], capture_output=True, timeout=timeout
    )
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def write_msg(path, raw, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    os.utime(path, (mtime, mtime))


def maildir_folder(path):
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def msg(subject, body, eol="\r\n"):
    return (
        f"From: a@example.org{eol}To: alice@example.org{eol}Subject: {subject}{eol}"
        f"Message-ID: <{subject}@example.org>{eol}{eol}{body}{eol}"
    ).encode()


def imap_date(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        '"%d-%b-%Y %H:%M:%S +0000"'
    )


def parse_date(s):
    return int(datetime.datetime.strptime(s, "%d-%b-%Y %H:%M:%S %z").timestamp())


def status(c, mailbox):
    typ, data = c.status(quote(mailbox), "(MESSAGES UIDNEXT UIDVALIDITY)")
    assert typ == "OK", data
    text = data[0].decode()
    return {k: int(v) for k, v in re.findall(r"(MESSAGES|UIDNEXT|UIDVALIDITY) (\d+)", text)}


def quote(mailbox):
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def messages(c, mailbox):
    """{uid: (flags without \\Recent, internal date, body)} of a mailbox."""
    typ, _ = c.select(quote(mailbox), readonly=True)
    assert typ == "OK", mailbox
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    assert typ == "OK", data
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        uid = int(re.search(r"UID (\d+)", head).group(1))
        flags = set(re.search(r"FLAGS \(([^)]*)\)", head).group(1).split()) - {"\\Recent"}
        date = parse_date(re.search(r'INTERNALDATE "([^"]+)"', head).group(1))
        out[uid] = (flags, date, item[1])
    return out


def list_names(c, cmd="LIST"):
    typ, data = (c.list if cmd == "LIST" else c.lsub)('""', "*")
    assert typ == "OK", data
    names = []
    for line in data:
        m = re.match(rb'\(([^)]*)\) (?:"."|NIL) (.*)$', line)
        assert m, line
        name = m.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1]
        names.append(name)
    return names


# ---------------------------------------------------------------------------
# 1. Dovecot Maildir++


def dovecot_maildir(root):
    maildir_folder(root)
    (root / "dovecot-uidlist").write_text(
        "3 V1700000123 N45 G0123456789abcdef0123456789abcdef\n"
        "3 W1300 S1280 :1699000001.M1P1.host,S=1280,W=1300\n"
        "7 :1699000002.M2P1.host\n"
        "40 W9 :1699000003.M3P1.host\n"
    )
    (root / "dovecot-keywords").write_text("0 $Label1\n1 work\n")
    inbox = {
        3: (msg("one", "first"), 1699000001, {"\\Flagged", "\\Seen"}),
        7: (msg("two", "second\r\n>From quoted stays"), 1699000002, {"\\Answered", "$Label1"}),
        40: (msg("three", "third"), 1699000003, {"work"}),
        45: (msg("four", "new delivery"), 1699000004, set()),
    }
    write_msg(root / "cur" / "1699000001.M1P1.host,S=1280,W=1300:2,FS", inbox[3][0], inbox[3][1])
    write_msg(root / "cur" / "1699000002.M2P1.host:2,Ra", inbox[7][0], inbox[7][1])
    write_msg(root / "cur" / "1699000003.M3P1.host:2,b", inbox[40][0], inbox[40][1])
    write_msg(root / "new" / "1699000004.M4P1.host", inbox[45][0], inbox[45][1])

    work = root / ".Work.Projects"
    maildir_folder(work)
    (work / "maildirfolder").write_text("")
    (work / "dovecot-uidlist").write_text("3 V1700000200 N9\n2 :p1\n5 :p2\n")
    projects = {
        2: (msg("p1", "project one"), 1698000000, {"\\Seen"}),
        5: (msg("p2", "project two"), 1698000100, {"\\Draft"}),
    }
    write_msg(work / "cur" / "p1:2,S", projects[2][0], projects[2][1])
    write_msg(work / "cur" / "p2:2,D", projects[5][0], projects[5][1])

    drafts = root / ".Entw&APw-rfe"
    maildir_folder(drafts)
    entw = {
        1: (msg("e1", "Entwurf eins", eol="\n"), 1697000000, set()),
        2: (msg("e2", "Entwurf zwei", eol="\n"), 1697000500, {"\\Seen"}),
    }
    write_msg(drafts / "cur" / "a-file:2,", entw[1][0], entw[1][1])
    write_msg(drafts / "cur" / "b-file:2,S", entw[2][0], entw[2][1])

    (root / "subscriptions").write_text("V\t2\n\nINBOX\nWork\tProjects\nEntw&APw-rfe\n")
    return inbox, projects, entw


def test_import_dovecot_maildir_keeps_uids_flags_dates_and_folders(tmp_path):
    srv = Server(tmp_path / "srv")
    src = tmp_path / "Maildir"
    inbox, projects, entw = dovecot_maildir(src)
    before = int(time.time())
    code, out, err = run(srv, "import", "--from", "maildir", "alice", str(src))
    assert code == 0, (out, err)
    assert re.search(r"INBOX +4 imported +0 skipped", out), out
    assert "alice: 8 imported, 0 skipped, 0 failed" in out, out

    srv.start()
    try:
        c = srv.login("alice")
        st = status(c, "INBOX")
        assert st["UIDVALIDITY"] == 1700000123 and st["MESSAGES"] == 4, st
        assert st["UIDNEXT"] == 46, st
        st = status(c, "Work/Projects")
        assert st["UIDVALIDITY"] == 1700000200 and st["UIDNEXT"] == 9, st
        st = status(c, "Entw&APw-rfe")
        assert before <= st["UIDVALIDITY"] <= int(time.time()) + 1, st
        assert st["UIDNEXT"] == 3, st

        for mailbox, want in (("INBOX", inbox), ("Work/Projects", projects), ("Entw&APw-rfe", entw)):
            got = messages(c, mailbox)
            assert sorted(got) == sorted(want), (mailbox, got.keys())
            for uid, (raw, date, flags) in want.items():
                gflags, gdate, graw = got[uid]
                assert gflags == flags, (mailbox, uid, gflags)
                assert gdate == date, (mailbox, uid, gdate)
                assert graw == raw, (mailbox, uid)

        names = list_names(c)
        for n in ("INBOX", "Work", "Work/Projects", "Entw&APw-rfe", "Sent", "Trash"):
            assert n in names, names
        subs = list_names(c, "LSUB")
        for n in ("INBOX", "Work/Projects", "Entw&APw-rfe"):
            assert n in subs, subs
        assert "Work" not in subs, subs
        c.logout()
    finally:
        srv.stop()

    # Running it again finds everything already there.
    code, out, err = run(srv, "import", "--from", "maildir", "alice", str(src))
    assert code == 0, (out, err)
    assert "alice: 0 imported, 8 skipped, 0 failed" in out, out


# ---------------------------------------------------------------------------
# 2. mbox


MBOX = (
    b"From sender@example.org Mon Nov 13 10:00:00 2023\n"
    b"From: a@example.org\nSubject: one\nMessage-ID: <1@example.org>\n\n"
    b"Hello\n"
    b">From the body, quoted once\n"
    b">>From the body, quoted twice\n"
    b"a line\n"
    b"From here, not after a blank line, so no separator\n"
    b"\n"
    b"From sender@example.org Tue Nov 14 11:30:00 2023\n"
    b"From: b@example.org\nSubject: two\nStatus: RO\nX-Status: A\nX-Keywords: $Label2\n\n"
    b"Second body\n"
    b"\n"
    b"From sender@example.org Wed Nov 15 12:45:30 2023\n"
    b"From: c@example.org\nSubject: three\n\n"
    b"\n"
    b"Third, after an empty line\n"
    b"\n"
)

MBOX_BODIES = [
    b"From: a@example.org\nSubject: one\nMessage-ID: <1@example.org>\n\n"
    b"Hello\nFrom the body, quoted once\n>From the body, quoted twice\na line\n"
    b"From here, not after a blank line, so no separator\n",
    b"From: b@example.org\nSubject: two\n\nSecond body\n",
    b"From: c@example.org\nSubject: three\n\n\nThird, after an empty line\n",
]


def test_import_mbox_with_tricky_from_lines(tmp_path):
    srv = Server(tmp_path / "srv")
    src = tmp_path / "old.mbox"
    src.write_bytes(MBOX)
    code, out, err = run(srv, "import", "--from", "mbox", "--mailbox", "Old/Mail", "alice", str(src))
    assert code == 0, (out, err)
    assert "3 imported" in out, out
    code, out, err = run(srv, "import", "--from", "mbox", "--mbox-variant", "mboxo", "--mailbox", "Classic", "alice", str(src))
    assert code == 0, (out, err)
    srv.start()
    try:
        c = srv.login("alice")
        st = status(c, "Old/Mail")
        assert st["MESSAGES"] == 3 and st["UIDNEXT"] == 4, st
        got = messages(c, "Old/Mail")
        assert [got[u][2] for u in (1, 2, 3)] == MBOX_BODIES
        assert got[2][0] == {"\\Seen", "\\Answered", "$Label2"}, got[2][0]
        assert got[1][1] == int(datetime.datetime(2023, 11, 13, 10, 0, tzinfo=datetime.timezone.utc).timestamp())
        # mboxo unquotes ">From " only: ">>From " stays as written.
        classic = messages(c, "Classic")
        assert classic[1][2] == MBOX_BODIES[0].replace(b"\n>From the body, quoted twice", b"\n>>From the body, quoted twice")
        assert [classic[u][2] for u in (2, 3)] == MBOX_BODIES[1:]
        c.logout()
    finally:
        srv.stop()


# ---------------------------------------------------------------------------
# 3. round trips


MAILBOXES = ["INBOX", "Work", "Work/Projects", "Entw&APw-rfe"]


def populate(srv):
    c = srv.login("alice")
    for m in MAILBOXES[1:]:
        typ, data = c.create(quote(m))
        assert typ == "OK", data
    c.subscribe(quote("Work/Projects"))
    t0 = 1690000000
    n = 0
    for box, count, flags in (
        ("INBOX", 8, "(\\Seen $Important)"),
        ("Work", 3, "(\\Deleted \\Flagged)"),
        ("Work/Projects", 4, "(\\Draft work $Label1)"),
        ("Entw&APw-rfe", 2, None),
    ):
        for i in range(count):
            n += 1
            body = f"body {n}\r\nFrom the middle\r\n>From quoted\r\n" + "y" * (n * 37)
            typ, data = c.append(quote(box), flags if i % 2 == 0 else None, imap_date(t0 + n * 3607), msg(f"s{n}", body))
            assert typ == "OK", data
    # Expunge the last and a middle INBOX message: UIDNEXT stays above.
    c.select("INBOX")
    c.uid("STORE", "8", "+FLAGS", "(\\Deleted)")
    c.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()


def snapshot(srv, user, skip_empty=False):
    c = srv.login(user)
    out = {}
    for m in MAILBOXES + ["Drafts", "Sent", "Trash", "Junk", "Archive"]:
        st = status(c, m)
        if skip_empty and st["MESSAGES"] == 0:
            continue
        out[m] = (st, messages(c, m))
    subs = set(list_names(c, "LSUB"))
    c.logout()
    return out, subs


def test_round_trip_maildir_and_mbox(tmp_path):
    srv = Server(tmp_path / "srv")
    srv.start()
    try:
        populate(srv)
        want, want_subs = snapshot(srv, "alice")
    finally:
        srv.stop()
    assert want["INBOX"][0]["UIDNEXT"] == 9 and want["INBOX"][0]["MESSAGES"] == 6

    exp = tmp_path / "exported-maildir"
    code, out, err = run(srv, "export", "--to", "maildir", "alice", str(exp))
    assert code == 0, (out, err)
    assert "alice: exported" in out, out
    assert (exp / ".Work.Projects" / "dovecot-uidlist").is_file()
    code, out, err = run(srv, "import", "--from", "maildir", "bob", str(exp))
    assert code == 0, (out, err)
    srv.start()
    try:
        got, got_subs = snapshot(srv, "bob")
    finally:
        srv.stop()
    assert got == want
    assert got_subs == want_subs

    mdir = tmp_path / "exported-mbox"
    code, out, err = run(srv, "export", "--to", "mbox", "alice", str(mdir))
    assert code == 0, (out, err)
    assert (mdir / "Work.sbd" / "Projects").is_file() and (mdir / "Work").is_file()
    other = Server(tmp_path / "other")
    for wire in MAILBOXES:
        # Files and --mailbox use postcore's (UTF-8) names, not IMAP's mUTF-7.
        box = wire.replace("&APw-", "\u00fc")
        file = mdir.joinpath(*[p + ".sbd" for p in box.split("/")[:-1]], box.split("/")[-1])
        code, out, err = run(other, "import", "--from", "mbox", "--mailbox", box, "alice", str(file))
        assert code == 0, (box, out, err)
    other.start()
    try:
        got, _ = snapshot(other, "alice", skip_empty=True)
    finally:
        other.stop()
    assert got == {k: v for k, v in want.items() if v[0]["MESSAGES"] > 0}


# ---------------------------------------------------------------------------
# 4. resume after a kill


def big_maildir(root, listed=2000, unlisted=1000, plain=500):
    """INBOX: `listed` messages in the uidlist (uids 2, 4, ...) and
    `unlisted` new ones; .Plain: `plain` messages without any uidlist."""
    maildir_folder(root)
    lines = ["3 V777 N5000"]
    expect = {}
    for i in range(listed):
        name = f"17000{i:05d}.M{i}P1.host"
        write_msg(root / "cur" / (name + ":2,S"), msg(f"big{i}", f"marker {i}"), 1700000000 + i)
        lines.append(f"{2 * (i + 1)} :{name}")
        expect[2 * (i + 1)] = f"big{i}"
    for j in range(unlisted):
        i = listed + j
        write_msg(root / "new" / f"18000{j:05d}.M{i}P1.host", msg(f"big{i}", f"marker {i}"), 1700000000 + i)
        expect[5000 + j] = f"big{i}"
    (root / "dovecot-uidlist").write_text("\n".join(lines) + "\n")
    plain_dir = root / ".Plain"
    maildir_folder(plain_dir)
    plain_expect = {}
    for k in range(plain):
        write_msg(plain_dir / "cur" / f"p{k:05d}:2,", msg(f"plain{k}", f"plain {k}"), 1600000000 + k)
        plain_expect[k + 1] = f"plain{k}"
    return expect, plain_expect


def subjects_by_uid(c, mailbox):
    typ, _ = c.select(quote(mailbox), readonly=True)
    assert typ == "OK"
    typ, data = c.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    out = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            out[uid] = re.search(rb"Subject: (\S+)", item[1]).group(1).decode()
    return out


def log_bytes(srv, user):
    return sum(f.stat().st_size for f in (srv.data / "users").glob(f"*/{user}/seg-*.log"))


def kill_midway(srv, user, args):
    """Runs the import and SIGKILLs it once some batches are in the log
    (polled: the store is locked, so no `postcore stats`). True when it
    was killed before finishing; a run too quick to catch is retried on a
    fresh store."""
    for _ in range(5):
        for d in (srv.data / "users").glob(f"*/{user}"):
            subprocess.run(["rm", "-rf", str(d)], check=True)
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while p.poll() is None:
            # A batch of 1,000 of these messages is ~0.95 MB of log; past
            # 1.3 MB the first one is wholly written (a record still being
            # written when killed is a torn tail, cut on the next open).
            if log_bytes(srv, user) > 1_300_000:
                p.send_signal(signal.SIGKILL)
                p.communicate()
                return True
            time.sleep(0.002)
        p.communicate()
    return False


def test_resume_after_kill(tmp_path):
    srv = Server(tmp_path / "srv")
    src = tmp_path / "Big"
    expect, plain_expect = big_maildir(src)
    args = [BIN, "--config", str(srv.config), "import", "--from", "maildir", "alice", str(src)]
    assert kill_midway(srv, "alice", args), "import finished before it could be killed"
    code, out, err = run(srv, "import", "--from", "maildir", "alice", str(src))
    assert code == 0, (out, err)
    m = re.search(r"alice: (\d+) imported, (\d+) skipped, 0 failed", out)
    assert m and int(m.group(1)) + int(m.group(2)) == 3500, out
    assert int(m.group(1)) > 0 and int(m.group(2)) > 0, out

    # A source with no UIDVALIDITY anywhere: resumed by count ("the first N
    # are in"), checked against the newest message already imported.
    plain_src = tmp_path / "Plain"
    maildir_folder(plain_src)
    for k in range(3000):
        write_msg(plain_src / "cur" / f"q{k:05d}:2,", msg(f"q{k}", f"plain {k}"), 1650000000 + k)
    args = [BIN, "--config", str(srv.config), "import", "--from", "maildir", "bob", str(plain_src)]
    assert kill_midway(srv, "bob", args), "import finished before it could be killed"
    code, out, err = run(srv, "import", "--from", "maildir", "bob", str(plain_src))
    assert code == 0, (out, err)
    m = re.search(r"bob: (\d+) imported, (\d+) skipped, 0 failed", out)
    assert m and int(m.group(1)) + int(m.group(2)) == 3000 and int(m.group(2)) > 0, out

    srv.start()
    try:
        c = srv.login("alice")
        st = status(c, "INBOX")
        assert st == {"MESSAGES": 3000, "UIDNEXT": 6000, "UIDVALIDITY": 777}, st
        assert subjects_by_uid(c, "INBOX") == expect
        st = status(c, "Plain")
        assert st["MESSAGES"] == 500 and st["UIDNEXT"] == 501, st
        assert subjects_by_uid(c, "Plain") == plain_expect
        c.logout()
        c = srv.login("bob")
        st = status(c, "INBOX")
        assert st["MESSAGES"] == 3000 and st["UIDNEXT"] == 3001, st
        assert subjects_by_uid(c, "INBOX") == {k + 1: f"q{k}" for k in range(3000)}
        c.logout()
    finally:
        srv.stop()


# ---------------------------------------------------------------------------
# 5. refusals


def test_import_refuses_conflicts_and_missing_source(tmp_path):
    srv = Server(tmp_path / "srv")
    src = tmp_path / "Maildir"
    dovecot_maildir(src)
    srv.start()
    try:
        c = srv.login("alice")
        typ, _ = c.append("INBOX", None, None, msg("mine", "already here"))
        assert typ == "OK"
        c.select("INBOX")
        c.logout()
    finally:
        srv.stop()

    code, out, err = run(srv, "import", "--from", "maildir", "alice", str(src))
    assert code != 0, out
    assert "import conflict" in out and "already holds messages under UIDVALIDITY" in out, out

    # Without a UIDVALIDITY in the source, a non-empty mailbox that is not
    # this source's is refused too.
    other = tmp_path / "other.mbox"
    other.write_bytes(MBOX)
    code, out, err = run(srv, "import", "--from", "mbox", "alice", str(other))
    assert code != 0 and "import conflict" in out, (out, err)

    code, out, err = run(srv, "import", "--from", "maildir", "alice", str(tmp_path / "nope"))
    assert code != 0 and "No such file or directory" in err and "nope" in err, (out, err)
    code, out, err = run(srv, "import", "--from", "maildir", "alice", str(tmp_path))
    assert code != 0 and "not a Maildir" in out + err, (out, err)


def test_import_users_dir_imports_every_user(tmp_path):
    srv = Server(tmp_path / "srv", shards=2)
    users = tmp_path / "users"
    dovecot_maildir(users / "alice")
    maildir_folder(users / "bob")
    for k in range(30):
        write_msg(users / "bob" / "cur" / f"b{k:03d}:2,S", msg(f"b{k}", "bob's"), 1660000000 + k)
    code, out, err = run(srv, "import", "--from", "maildir", "--users-dir", str(users))
    assert code == 0, (out, err)
    assert "alice: 8 imported" in out and "bob: 30 imported" in out, out
    assert "all 2 users: 38 messages imported" in out, out
    srv.start()
    try:
        c = srv.login("bob")
        st = status(c, "INBOX")
        assert st["MESSAGES"] == 30 and st["UIDNEXT"] == 31, st
        c.logout()
        c = srv.login("alice")
        assert status(c, "INBOX")["UIDVALIDITY"] == 1700000123
        c.logout()
    finally:
        srv.stop()
    code, out, err = run(srv, "import", "--from", "mbox", "--users-dir", str(users))
    assert code != 0 and "--from maildir" in err, (out, err)


def test_import_reports_failed_messages_and_exits_non_zero(tmp_path):
    srv = Server(tmp_path / "srv", extra="[limits]\nmax_literal_size = 2000\n")
    src = tmp_path / "Maildir"
    maildir_folder(src)
    write_msg(src / "cur" / "a:2,S", msg("small", "fits"), 1660000000)
    write_msg(src / "cur" / "b:2,", msg("big", "z" * 5000), 1660000001)
    write_msg(src / "cur" / "c:2,", msg("small2", "fits too"), 1660000002)
    code, out, err = run(srv, "import", "--from", "maildir", "alice", str(src))
    assert code != 0, (out, err)
    assert re.search(r"INBOX +2 imported +0 skipped \(already there\) +1 failed", out), out
    assert "uid 2:" in out and "over the size limit of 2000 bytes" in out, out
    srv.start()
    try:
        c = srv.login("alice")
        assert sorted(messages(c, "INBOX")) == [1, 3]
        assert status(c, "INBOX")["UIDNEXT"] == 4
        c.logout()
    finally:
        srv.stop()
