"""A whole mailbox copied from a real Dovecot into postcore and on into a
second, empty Dovecot user with Debian-packaged IMAP-to-IMAP sync tools:
mbsync (isync; both stores IMAPStore) and offlineimap (both repositories
of type IMAP). imapsync, which the issue named, is not packaged in Debian;
these two play its role.

The source holds ~200 messages of varied shapes (MIME with attachments,
nested multiparts, raw 8-bit headers and bodies, long lines, folded
headers, a message without a final CRLF, an empty body) in nested folders,
non-ASCII (modified UTF-7) folders and the special-use ones, with system
flags, keywords and explicit internal dates. After each leg the test
compares everything the server exposes: the folder set, and per folder the
multiset of (message bytes, flags, internal date). Where a tool changes or
drops something, the expectation models exactly that change, so anything
else (postcore losing a byte, a flag or a date) fails the test."""

import base64
import datetime
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

import pytest

from conftest import USERS
from dovecot_instance import Dovecot, available

CI = os.environ.get("CI") == "true"


def need(tool, package):
    path = shutil.which(tool)
    if path:
        return path
    if CI:
        pytest.fail(f"{tool} is missing on CI (.ci/run installs the {package} package)")
    pytest.skip(f"{tool} not installed: apt-get install {package}")


@pytest.fixture(scope="module")
def dovecot():
    why = available()
    if why:
        if CI:
            pytest.fail(f"Dovecot is required in CI: {why}")
        pytest.skip(why)
    # Dovecot's mail processes run as `mail` and must reach their homes
    # (pytest's tmp_path sits under a 0700 directory).
    base = tempfile.mkdtemp(prefix="postcore-roundtrip-")
    os.chmod(base, 0o755)
    d = Dovecot(os.path.join(base, "dovecot"))
    try:
        d.start()
        yield d
    finally:
        d.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- the source mailbox ----------------------------------------------------------


def mutf7(name):
    """RFC 3501 5.1.3 modified UTF-7, written here so that the test does
    not trust either server's encoder."""
    out, run = [], []

    def flush():
        if run:
            b64 = base64.b64encode("".join(run).encode("utf-16-be")).decode()
            out.append("&" + b64.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


assert mutf7("Société") == "Soci&AOk-t&AOk-"
assert mutf7("日本語") == "&ZeVnLIqe-"

# (folder as the user sees it, number of messages). Parents are created
# before their children, so every folder is a real, selectable mailbox on
# both servers. The five special-use names are the ones postcore creates
# for every new user: a source without them would get them (empty) back
# from postcore through "Create Both", and the folder sets would differ.
FOLDERS = [
    ("INBOX", 70),
    ("Sent", 25),
    ("Drafts", 6),
    ("Trash", 8),
    ("Junk", 5),
    ("Archive", 20),
    ("Archive/2024", 14),
    ("Lists", 4),
    ("Lists/rust", 12),
    ("Lists/rust/announce", 6),
    ("Project X", 10),
    ("Société", 8),
    ("日本語", 3),
    ("日本語/Übersicht", 5),
    ("Empty", 0),
]

SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Draft"]
KEYWORDS = ["$Forwarded", "$Junk", "$NotJunk", "$MDNSent", "Project-X", "todo"]

ZONES = [0, 60, 120, -300, 330, -480]  # minutes east of UTC


def crlf(text):
    return text.replace("\n", "\r\n")


def make_message(i, rnd):
    """Message number `i`: bytes, each a valid RFC 5322 message with CRLF
    line ends (lines at most 998 octets)."""
    kind = i % 10
    day = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    sent = day + datetime.timedelta(hours=7 * i, minutes=i % 60, seconds=i % 59)
    head = (
        f"Return-Path: <s{i}@example.org>\r\n"
        f"From: Sender {i} <s{i}@example.org>\r\n"
        "To: Alice <alice@example.net>\r\n"
        f"Date: {sent.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        f"Message-ID: <roundtrip.{i}@example.org>\r\n"
    )
    if kind == 0:
        return (head + f"Subject: plain {i}\r\n\r\nHello number {i}.\r\n").encode()
    if kind == 1:
        blob = rnd.randbytes(2000 + 97 * i)
        b64 = crlf(base64.encodebytes(blob).decode())
        return (
            head + f"Subject: report {i} attached\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="=_b{i}"\r\n\r\n'
            "This is a multi-part message in MIME format.\r\n"
            f"--=_b{i}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            "The report is attached.\r\n\r\n"
            f"--=_b{i}\r\nContent-Type: application/pdf; name=\"r{i}.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="r{i}.pdf"\r\n\r\n'
            f"{b64}\r\n--=_b{i}--\r\n"
        ).encode()
    if kind == 2:
        # Raw UTF-8 in headers and body (RFC 6532), as many MUAs send today.
        return (
            head + f"Subject: Grüße aus Köln — {i} ✓\r\n"
            "Cc: Jürgen Müller <jm@example.de>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            f"Ärger über Öl, naïve café, 日本語 {i}.\r\n"
        ).encode()
    if kind == 3:
        # 990-octet body lines and a long (unfolded, < 998) header.
        line = "".join(chr(0x61 + (j * 7 + i) % 26) for j in range(990))
        return (
            head + f"Subject: long lines {i}\r\n"
            + "X-Long-Header: " + "token " * 160 + "\r\n\r\n"
            + f"{line}\r\n{line[::-1]}\r\n"
        ).encode()
    if kind == 4:
        # RFC 5322 does not require a final CRLF: the last line ends at the
        # end of the message.
        return (
            head + f"Subject: no final newline {i}\r\n\r\n"
            f"first line\r\nlast line without CRLF {i}"
        ).encode()
    if kind == 5:
        # multipart/mixed around multipart/alternative, quoted-printable and
        # an attached message/rfc822.
        return crlf(
            head + f"Subject: nested {i}\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/mixed; boundary="outer{i}"\n\n'
            f"--outer{i}\n"
            f'Content-Type: multipart/alternative; boundary="alt{i}"\n\n'
            f"--alt{i}\nContent-Type: text/plain; charset=iso-8859-1\n"
            "Content-Transfer-Encoding: quoted-printable\n\n"
            "Caf=E9 au lait, a soft =\nbreak.\n"
            f"--alt{i}\nContent-Type: text/html; charset=utf-8\n\n"
            "<p>Caf&eacute; au lait</p>\n"
            f"--alt{i}--\n"
            f"--outer{i}\nContent-Type: message/rfc822\n\n"
            f"From: inner@example.org\nSubject: forwarded {i}\n\ninner body\n"
            f"--outer{i}--\n"
        ).encode()
    if kind == 6:
        # Folded headers, encoded words, an empty body.
        return (
            head + f"Subject: =?utf-8?q?caf=C3=A9?= =?iso-8859-1?q?_=E0_midi?= {i}\r\n"
            "References: <a1@example.org>\r\n <a2@example.org>\r\n\t<a3@example.org>\r\n"
            "X-Folded: one\r\n  two\r\n   three\r\n\r\n"
        ).encode()
    if kind == 7:
        # An 8-bit ISO-8859-1 body: bytes that are not UTF-8.
        return (
            head.encode()
            + f"Subject: latin-1 {i}\r\nMIME-Version: 1.0\r\n".encode()
            + b"Content-Type: text/plain; charset=iso-8859-1\r\n"
            + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
            + "Déjà vu à Zürich, señor.\r\n".encode("iso-8859-1")
        )
    if kind == 8:
        body = "".join(f"> quoted line {j} of {i}\r\n" for j in range(rnd.randrange(1, 300)))
        return (
            head
            + f"Subject: Re: thread {i // 10}\r\n"
            + f"In-Reply-To: <roundtrip.{i - 1}@example.org>\r\n\r\n"
            + body
        ).encode()
    # kind 9: a bigger binary attachment (~200 KB) in base64.
    blob = rnd.randbytes(150_000 + i)
    b64 = crlf(base64.encodebytes(blob).decode())
    return (
        head + f"Subject: photo {i}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="p{i}"\r\n\r\n'
        f"--p{i}\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{b64}--p{i}--\r\n"
    ).encode()


def make_flags(i, folder, rnd):
    flags = {f for f in SYSTEM_FLAGS if rnd.random() < 0.35}
    flags |= {k for k in KEYWORDS if rnd.random() < 0.2}
    if folder == "Drafts":
        flags.add("\\Draft")
    if folder == "Sent":
        flags.add("\\Seen")
    if folder == "Junk":
        flags.add("$Junk")
    return flags


def make_date(i):
    zone = datetime.timezone(datetime.timedelta(minutes=ZONES[i % len(ZONES)]))
    when = datetime.datetime(2023, 3, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)
    when += datetime.timedelta(days=i * 2, hours=i % 24, minutes=(i * 13) % 60, seconds=i % 60)
    return when.astimezone(zone)


def imap_date(d):
    return '"' + d.strftime("%d-%b-%Y %H:%M:%S %z") + '"'


def quote(mailbox):
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fill_source(client):
    """Creates FOLDERS and appends their messages; returns the number of
    messages."""
    rnd = random.Random(20261204)
    n = 0
    for folder, count in FOLDERS:
        name = mutf7(folder)
        if folder != "INBOX":
            typ, data = client.create(quote(name))
            assert typ == "OK", (folder, data)
        for _ in range(count):
            flags = make_flags(n, folder, rnd)
            typ, data = client.append(
                quote(name),
                "(" + " ".join(sorted(flags)) + ")",
                imap_date(make_date(n)),
                make_message(n, rnd),
            )
            assert typ == "OK", (folder, n, data)
            n += 1
    return n


# --- reading a whole account back --------------------------------------------------

LIST_RE = re.compile(rb'\(([^)]*)\) (?:"(?:[^"\\]|\\.)"|NIL) (.+)$')
FETCH_RE = re.compile(rb"^\d+ \((.*)BODY\[\] \{\d+\}$")


def unquote(raw):
    if raw.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", raw[1:-1])
    return raw


def epoch(internaldate):
    """An INTERNALDATE as an instant. Only the instant is compared: Dovecot's
    Maildir keeps the internal date as the file's mtime and reports it in its
    own time zone, so the zone given to APPEND is not part of the source."""
    return int(
        datetime.datetime.strptime(internaldate.decode(), "%d-%b-%Y %H:%M:%S %z").timestamp()
    )


class Account:
    """What one IMAP account holds: folder (modified UTF-7) -> {uid: (bytes,
    flags, internal date as seconds since the epoch)}, and per folder
    (UIDVALIDITY, UIDNEXT)."""

    def __init__(self, folders, status):
        self.folders = folders
        self.status = status

    def contents(self, transform=lambda m: m):
        """folder -> Counter of transform((bytes, flags, date))."""
        return {
            f: None if msgs is None else Counter(transform(m) for m in msgs.values())
            for f, msgs in self.folders.items()
        }

    def count(self):
        return sum(len(m) for m in self.folders.values() if m)


def read_account(client):
    typ, data = client.list('""', "*")
    assert typ == "OK", data
    names, unselectable = [], []
    for line in data:
        if isinstance(line, tuple):  # a name sent as a literal
            attrs = re.match(rb"\(([^)]*)\)", line[0]).group(1)
            name = line[1]
        elif line == b")":
            continue
        else:
            m = LIST_RE.match(line)
            assert m, line
            attrs, name = m.group(1), unquote(m.group(2))
        name = name.decode("ascii")
        if b"\\noselect" in attrs.lower() or b"\\nonexistent" in attrs.lower():
            unselectable.append(name)
        else:
            names.append(name)
    # A \Noselect name is still part of the folder set (as None), so that a
    # parent that is a real folder on one side and a mere name on the other
    # shows up as a difference.
    folders, status = dict.fromkeys(unselectable), {}
    for name in names:
        typ, data = client.status(quote(name), "(UIDVALIDITY UIDNEXT)")
        assert typ == "OK", (name, data)
        m = re.search(rb"UIDVALIDITY (\d+)", data[0]), re.search(rb"UIDNEXT (\d+)", data[0])
        status[name] = (int(m[0].group(1)), int(m[1].group(1)))
        typ, data = client.select(quote(name), readonly=True)
        assert typ == "OK", (name, data)
        exists = int(data[0])
        msgs = {}
        if exists > 0:
            typ, data = client.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
            assert typ == "OK", (name, data)
            for item in data:
                if not isinstance(item, tuple):
                    continue
                head = item[0]
                uid = int(re.search(rb"UID (\d+)", head).group(1))
                flags = frozenset(
                    re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split()
                ) - {"\\Recent"}
                date = epoch(re.search(rb'INTERNALDATE "([^"]+)"', head).group(1))
                msgs[uid] = (item[1], flags, date)
        assert len(msgs) == exists, (name, exists, sorted(msgs))
        typ, _ = client.close()
        folders[name] = msgs
    return Account(folders, status)


def read_dovecot(dovecot, user):
    c = dovecot.imap(user)
    try:
        return read_account(c)
    finally:
        c.logout()


def read_postcore(server, user):
    c = server.login(user)
    try:
        return read_account(c)
    finally:
        c.logout()


def assert_same(got, want, what):
    """Folder set and per-folder multisets equal; on a difference, says
    which folder and what is missing or extra (shortened)."""
    assert sorted(got) == sorted(want), (
        f"{what}: folders differ: missing {sorted(set(want) - set(got))}, "
        f"extra {sorted(set(got) - set(want))}"
    )
    for folder in want:
        if got[folder] is None or want[folder] is None:
            assert got[folder] == want[folder], f"{what}: {folder!r} selectable on one side only"
        elif got[folder] != want[folder]:
            missing = want[folder] - got[folder]
            extra = got[folder] - want[folder]

            def show(c):
                return [(m[0][:200], sorted(m[1]), m[2]) for m in list(c)[:3]]

            pytest.fail(
                f"{what}: folder {folder!r} differs: {sum(missing.values())} missing, "
                f"{sum(extra.values())} extra\nmissing: {show(missing)}\nextra: {show(extra)}"
            )


# --- mbsync -------------------------------------------------------------------------

# The flags isync 1.4 (Debian bookworm) carries over IMAP: the four system
# flags below, \Deleted, and $Forwarded (its Maildir "P", new in 1.4; see
# /usr/share/doc/isync/NEWS.gz). Other keywords ($Junk, custom ones) are not
# propagated by the tool at all, so they are expected to be absent on the
# copy; \Deleted is never set on the source.
MBSYNC_FLAGS = {"\\Seen", "\\Answered", "\\Flagged", "\\Draft", "$Forwarded"}

TUID_RE = re.compile(rb"X-TUID: [A-Za-z0-9+/]{12}\r\n\Z")


def without_tuid(data):
    """mbsync inserts one `X-TUID: <12 chars>` line at the end of the
    header of every message it APPENDs (to find the message again should
    APPENDUID be lost; it replaces an existing one). That line is the only
    change it makes to the bytes; this checks it is there exactly once and
    removes it, so the rest must be the source's bytes."""
    end = data.index(b"\r\n\r\n") + 2
    head = data[:end]
    m = TUID_RE.search(head)
    assert m and head.count(b"\nX-TUID:") == 1, head[-300:]
    return head[: m.start()] + data[end:]


def via_mbsync(m):
    data, flags, date = m
    # CopyArrivalDate yes: the internal date arrives to the second.
    return (data, flags & MBSYNC_FLAGS, date)


def copied_by_mbsync(m):
    data, flags, date = m
    return (without_tuid(data), flags, date)


def mbsync_version(exe):
    out = subprocess.run([exe, "--version"], capture_output=True, timeout=10).stdout.decode()
    m = re.search(r"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 4)


def mbsync_rc(path, far, near, state, tls_key):
    """`far` and `near`: dicts with host, port, user, password, tls, cafile."""

    def account(name, s):
        lines = [
            f"IMAPAccount {name}",
            f"Host {s['host']}",
            f"Port {s['port']}",
            f"User {s['user']}",
            f'Pass "{s["password"]}"',
            f"{tls_key} {s['tls']}",
        ]
        if s.get("cafile"):
            lines.append(f"CertificateFile {s['cafile']}")
        return "\n".join(lines) + f"\n\nIMAPStore {name}\nAccount {name}\n\n"

    path.write_text(
        account("far", far)
        + account("near", near)
        + "Channel ch\nFar :far:\nNear :near:\nPatterns *\nSync All\nCreate Both\n"
        "Expunge Both\nCopyArrivalDate yes\n"
        f"SyncState {state}/\n"
    )


def run_mbsync(exe, rc):
    r = subprocess.run([exe, "-c", str(rc), "-a"], capture_output=True, timeout=120)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, f"mbsync exit {r.returncode}\n{out}"
    bad = [
        line
        for line in out.splitlines()
        if re.search(r"error|fatal|unexpected|bad|warning|fail", line, re.I)
    ]
    assert not bad, out
    return out


def dovecot_store(dovecot, user):
    return {
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "user": user,
        "password": dovecot.password,
        "tls": "None",
    }


def postcore_store(server, user):
    return {
        "host": "localhost",
        "port": server.imap_port,
        "user": user,
        "password": USERS[user],
        "tls": "STARTTLS",
        "cafile": server.cert_path(),
    }


def test_mbsync_dovecot_to_postcore_and_back(dovecot, server, tmp_path):
    exe = need("mbsync", "isync")
    tls_key = "TLSType" if mbsync_version(exe) >= (1, 5) else "SSLType"
    t_start = time.monotonic()
    c = dovecot.imap("mb-src")
    total = fill_source(c)
    c.logout()
    source = read_dovecot(dovecot, "mb-src")
    assert source.count() == total == sum(n for _, n in FOLDERS)
    assert sorted(source.folders) == sorted(mutf7(f) for f, _ in FOLDERS)

    # Leg 1: Dovecot (far) -> postcore (near).
    (tmp_path / "state1").mkdir()
    rc1 = tmp_path / "mbsyncrc.1"
    mbsync_rc(
        rc1, dovecot_store(dovecot, "mb-src"), postcore_store(server, "alice"),
        tmp_path / "state1", tls_key,
    )
    t0 = time.monotonic()
    run_mbsync(exe, rc1)
    leg1 = time.monotonic() - t0
    middle = read_postcore(server, "alice")
    assert_same(
        middle.contents(copied_by_mbsync), source.contents(via_mbsync), "postcore after mbsync"
    )
    # Nothing came back to the source: "Create Both" found every folder
    # there already, and mbsync changed no flag on the far side.
    assert_same(read_dovecot(dovecot, "mb-src").contents(), source.contents(), "source")

    # Leg 2: postcore (far) -> an empty Dovecot user (near).
    (tmp_path / "state2").mkdir()
    rc2 = tmp_path / "mbsyncrc.2"
    mbsync_rc(
        rc2, postcore_store(server, "alice"), dovecot_store(dovecot, "mb-dst"),
        tmp_path / "state2", tls_key,
    )
    t0 = time.monotonic()
    run_mbsync(exe, rc2)
    leg2 = time.monotonic() - t0
    final = read_dovecot(dovecot, "mb-dst")
    # Flags that mbsync carries survive both legs unchanged, so the final
    # copy equals the source through one mbsync filter.
    assert_same(final.contents(copied_by_mbsync), source.contents(via_mbsync), "final Dovecot")
    assert_same(
        read_postcore(server, "alice").contents(), middle.contents(), "postcore after leg 2"
    )

    # A second run of each leg has nothing to do: the same UIDs with the
    # same bytes, flags and dates on every side, and no UID used up.
    before = [read_dovecot(dovecot, "mb-src"), read_postcore(server, "alice"), final]
    run_mbsync(exe, rc1)
    run_mbsync(exe, rc2)
    after = [read_dovecot(dovecot, "mb-src"), read_postcore(server, "alice"),
             read_dovecot(dovecot, "mb-dst")]
    for b, a, what in zip(before, after, ["source", "postcore", "final"]):
        assert a.folders == b.folders, f"{what} changed on a second mbsync run"
        assert a.status == b.status, f"{what}: UIDVALIDITY/UIDNEXT moved on a second run"

    # Changes on the source: flags set and cleared (including $Forwarded
    # and a keyword mbsync ignores), and messages expunged in three folders.
    c = dovecot.imap("mb-src")
    for folder, uids_flag, uids_unflag, uids_gone in [
        ("INBOX", "1:10", "11:20", "21:25"),
        (mutf7("Lists/rust"), "1:3", "4", "5,7"),
        (mutf7("日本語/Übersicht"), "1", "", "2"),
    ]:
        assert c.select(quote(folder))[0] == "OK"
        typ, _ = c.uid("STORE", uids_flag, "+FLAGS", r"(\Flagged \Answered $Forwarded todo)")
        assert typ == "OK"
        if uids_unflag:
            assert c.uid("STORE", uids_unflag, "-FLAGS", r"(\Seen \Flagged $Forwarded)")[0] == "OK"
        assert c.uid("STORE", uids_gone, "+FLAGS", r"(\Deleted)")[0] == "OK"
        assert c.expunge()[0] == "OK"
        c.close()
    c.logout()
    changed = read_dovecot(dovecot, "mb-src")
    assert changed.count() == total - 8
    run_mbsync(exe, rc1)
    assert_same(
        read_postcore(server, "alice").contents(copied_by_mbsync),
        changed.contents(via_mbsync),
        "postcore after the source changed",
    )
    run_mbsync(exe, rc2)
    assert_same(
        read_dovecot(dovecot, "mb-dst").contents(copied_by_mbsync),
        changed.contents(via_mbsync),
        "final Dovecot after the source changed",
    )
    print(
        f"mbsync: {total} messages; leg 1 {leg1:.1f} s, leg 2 {leg2:.1f} s, "
        f"whole test {time.monotonic() - t_start:.1f} s"
    )


# --- offlineimap ----------------------------------------------------------------------

# offlineimap (8.0.0 on bookworm) maps IMAP flags to Maildir letters on the
# way through (offlineimap/imaputil.py flagmap): \Seen \Answered \Flagged
# \Draft (and \Deleted) survive; every keyword, $Forwarded included, is
# dropped between two IMAP repositories.
OFFLINEIMAP_FLAGS = {"\\Seen", "\\Answered", "\\Flagged", "\\Draft"}

# offlineimap does not copy bytes: it parses each fetched message with
# Python's email package and APPENDs what the generator writes back, both
# with the policy in REWRITE (offlineimap/folder/Base.py, policy['8bit-RFC']).
# The generator is not the identity on every message (for a multipart nested
# in a multipart it writes an empty line after the inner close-delimiter), so
# the expected bytes are the source bytes through that same parse/generate,
# run by the Python that runs offlineimap (its #! line), whose email package
# is the one that matters; test_offlineimap_rewrites_only_nested_multiparts
# pins how rarely that differs from the source.
REWRITE = r"""
import email.parser, email.policy, pickle, sys
policy = email.policy.default.clone(
    cte_type="8bit", utf8=True, refold_source="none", linesep="\r\n"
)
out = [
    email.parser.BytesParser(policy=policy).parsebytes(m).as_bytes(policy=policy)
    for m in pickle.load(sys.stdin.buffer)
]
pickle.dump(out, sys.stdout.buffer)
"""

_rewritten = {}


def offlineimap_python(exe):
    with open(exe, "rb") as f:
        first = f.readline()
    if first.startswith(b"#!"):
        return first[2:].split()[0].decode()
    return sys.executable


def offlineimap_rewrite(messages):
    """bytes -> what offlineimap APPENDs for them, for every message."""
    todo = sorted({m for m in messages if m not in _rewritten})
    if todo:
        exe = need("offlineimap", "offlineimap")
        r = subprocess.run(
            [offlineimap_python(exe), "-c", REWRITE],
            input=pickle.dumps(todo),
            capture_output=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        _rewritten.update(zip(todo, pickle.loads(r.stdout)))
    return [_rewritten[m] for m in messages]


def via_offlineimap(account):
    """What `account` becomes through offlineimap: folder -> Counter."""
    offlineimap_rewrite(
        [m[0] for msgs in account.folders.values() if msgs for m in msgs.values()]
    )

    def one(m):
        data, flags, date = m
        # The internal date is read from the source's INTERNALDATE and given
        # to APPEND in the local time zone: the same instant.
        return (_rewritten[data], flags & OFFLINEIMAP_FLAGS, date)

    return account.contents(one)


def test_offlineimap_rewrites_only_nested_multiparts():
    """What the offlineimap expectation above changes: only the messages
    with a multipart inside a multipart (kind 5), and a second pass is the
    identity, so both legs of the round trip expect the same bytes."""
    rnd = random.Random(1)
    messages = [make_message(i, rnd) for i in range(40)]
    once = offlineimap_rewrite(messages)
    twice = offlineimap_rewrite(once)
    for i, (m, o, t) in enumerate(zip(messages, once, twice)):
        assert (o == m) == (i % 10 != 5), i
        assert t == o, i


def offlineimap_postcore(server, user):
    """postcore as offlineimap sees it: over implicit TLS, not STARTTLS.
    offlineimap's imaplib2 runs a reader and a writer thread on one
    ssl.SSLSocket. After STARTTLS its reader wakes up for the TLS 1.3
    NewSessionTicket records (which TLS 1.3 servers send right after the
    handshake) and sits in SSL_read while the writer sends CAPABILITY; now
    and then (about one run in four here, with postcore before and after
    the TLS fix alike) that write returns but its record never reaches the
    socket: the kernel's counters show that postcore received and read
    every byte the client sent, the last being the client's Finished, and
    both sides then wait until the login timeout. With implicit TLS the
    tickets arrive before the greeting the reader waits for anyway."""
    s = postcore_store(server, user)
    s.update(port=server.imaps_port, tls="IMAPS")
    return s


def offlineimap_rc(path, remote, local, metadata):
    def repo(name, s):
        lines = [
            f"[Repository {name}]",
            "type = IMAP",
            f"remotehost = {s['host']}",
            f"remoteport = {s['port']}",
            f"remoteuser = {s['user']}",
            f"remotepass = {s['password']}",
            f"ssl = {'yes' if s['tls'] == 'IMAPS' else 'no'}",
            f"starttls = {'yes' if s['tls'] == 'STARTTLS' else 'no'}",
        ]
        if s.get("cafile"):
            lines.append(f"sslcacertfile = {s['cafile']}")
        return "\n".join(lines) + "\n\n"

    path.write_text(
        f"[general]\naccounts = rt\nmetadata = {metadata}\n\n"
        "[Account rt]\nlocalrepository = local\nremoterepository = remote\n\n"
        + repo("remote", remote)
        + repo("local", local)
    )


def run_offlineimap(exe, rc):
    r = subprocess.run(
        [exe, "-c", str(rc), "-o", "-u", "basic"], capture_output=True, timeout=120
    )
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, f"offlineimap exit {r.returncode}\n{out}"
    bad = [l for l in out.splitlines() if re.search(r"error|warn|traceback|fail", l, re.I)]
    assert not bad, out
    return out


def test_offlineimap_dovecot_to_postcore_and_back(dovecot, server, tmp_path):
    exe = need("offlineimap", "offlineimap")
    t_start = time.monotonic()
    c = dovecot.imap("oi-src")
    total = fill_source(c)
    c.logout()
    source = read_dovecot(dovecot, "oi-src")
    assert source.count() == total

    # Leg 1: Dovecot (remote) -> postcore (local).
    rc1 = tmp_path / "offlineimaprc.1"
    (tmp_path / "meta1").mkdir()
    offlineimap_rc(
        rc1, dovecot_store(dovecot, "oi-src"), offlineimap_postcore(server, "bob"),
        tmp_path / "meta1",
    )
    t0 = time.monotonic()
    run_offlineimap(exe, rc1)
    leg1 = time.monotonic() - t0
    middle = read_postcore(server, "bob")
    assert_same(middle.contents(), via_offlineimap(source), "postcore after offlineimap")
    assert_same(read_dovecot(dovecot, "oi-src").contents(), source.contents(), "source")

    # Leg 2: postcore (remote) -> an empty Dovecot user (local).
    rc2 = tmp_path / "offlineimaprc.2"
    (tmp_path / "meta2").mkdir()
    offlineimap_rc(
        rc2, offlineimap_postcore(server, "bob"), dovecot_store(dovecot, "oi-dst"),
        tmp_path / "meta2",
    )
    t0 = time.monotonic()
    run_offlineimap(exe, rc2)
    leg2 = time.monotonic() - t0
    final = read_dovecot(dovecot, "oi-dst")
    assert_same(final.contents(), via_offlineimap(source), "final Dovecot")
    assert_same(read_postcore(server, "bob").contents(), middle.contents(), "postcore after leg 2")

    # Second runs: nothing to do.
    before = [read_dovecot(dovecot, "oi-src"), read_postcore(server, "bob"), final]
    for rc in (rc1, rc2):
        out = run_offlineimap(exe, rc)
        assert "Copy message" not in out, out
    after = [read_dovecot(dovecot, "oi-src"), read_postcore(server, "bob"),
             read_dovecot(dovecot, "oi-dst")]
    for b, a, what in zip(before, after, ["source", "postcore", "final"]):
        assert a.folders == b.folders, f"{what} changed on a second offlineimap run"
        assert a.status == b.status, f"{what}: UIDVALIDITY/UIDNEXT moved on a second run"

    # Flag changes and expunges on the source follow into postcore.
    c = dovecot.imap("oi-src")
    for folder, uids_flag, uids_unflag, uids_gone in [
        ("INBOX", "1:10", "11:20", "21:25"),
        (mutf7("Société"), "1:2", "3", "4"),
    ]:
        assert c.select(quote(folder))[0] == "OK"
        assert c.uid("STORE", uids_flag, "+FLAGS", r"(\Flagged \Answered)")[0] == "OK"
        assert c.uid("STORE", uids_unflag, "-FLAGS", r"(\Seen \Flagged)")[0] == "OK"
        assert c.uid("STORE", uids_gone, "+FLAGS", r"(\Deleted)")[0] == "OK"
        assert c.expunge()[0] == "OK"
        c.close()
    c.logout()
    changed = read_dovecot(dovecot, "oi-src")
    assert changed.count() == total - 6
    run_offlineimap(exe, rc1)
    assert_same(
        read_postcore(server, "bob").contents(),
        via_offlineimap(changed),
        "postcore after the source changed",
    )
    run_offlineimap(exe, rc2)
    assert_same(
        read_dovecot(dovecot, "oi-dst").contents(),
        via_offlineimap(changed),
        "final Dovecot after the source changed",
    )
    print(
        f"offlineimap: {total} messages; leg 1 {leg1:.1f} s, leg 2 {leg2:.1f} s, "
        f"whole test {time.monotonic() - t_start:.1f} s"
    )
