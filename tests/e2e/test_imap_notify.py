"""NOTIFY (RFC 5465): one connection follows every mailbox of its user.

Changes made by other sessions of the same user and by LMTP deliveries are
sent as `* STATUS` for mailboxes other than the selected one, as `* LIST`
for mailbox and subscription changes, and as EXISTS/FETCH/EXPUNGE (or
VANISHED) for the selected one, both during IDLE and between commands
without one. Waiting for a pushed line has a 5 s deadline; a line that must
not come is checked with a NOOP after the change is complete (the NOOP
would carry it), never with a sleep."""

import smtplib
import socket
import time

import pytest

from conftest import USERS, Raw, free_port

PW = USERS["alice"]
WAIT = 5.0
BASE = b"MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"
SUPPORTED = b"[BADEVENT (" + BASE + b" MailboxMetadataChange ServerMetadataChange)]"


@pytest.fixture
def srv(make_server):
    lmtp = free_port()
    s = make_server(
        extra=f'[[listener]]\naddress = "127.0.0.1:{lmtp}"\nprotocol = "lmtp"\ntls = "none"\n'
    )
    s.lmtp_port = lmtp
    return s


def login(srv):
    r = Raw(srv.imap_port)
    _, t = r.cmd("l", f'LOGIN alice "{PW}"')
    assert t.startswith(b"l OK"), t
    return r


def ok(reply, tag):
    untagged, t = reply
    assert t.startswith(f"{tag} OK".encode()), t
    return untagged


def pushed(r, expected):
    """Reads, without sending anything, until the line `expected` arrives
    (at most WAIT seconds); returns the lines that came before it."""
    before = []
    deadline = time.monotonic() + WAIT
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {expected!r} within {WAIT}s; got {before!r}")
            r.sock.settimeout(left)
            line = r.line()
            if line == expected:
                return before
            before.append(line)
    except socket.timeout:
        raise AssertionError(f"no {expected!r} within {WAIT}s; got {before!r}") from None
    finally:
        r.sock.settimeout(30)


def quiet(r, tag="q"):
    """Nothing is waiting for this session: a NOOP brings no untagged line."""
    assert ok(r.cmd(tag, "NOOP"), tag) == []


def append(r, tag, mailbox, subject="hi"):
    body = f"Subject: {subject}\r\n\r\nbody\r\n".encode()
    r.send(f"{tag} APPEND {mailbox} {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    _, t = r.until(tag)
    assert t.startswith(f"{tag} OK".encode()), t


def deliver(srv, subject="lmtp"):
    with smtplib.LMTP("127.0.0.1", srv.lmtp_port) as l:
        l.ehlo()
        l.mail("sender@example.org")
        code, _ = l.rcpt("alice@example.org")
        assert code == 250
        l.putcmd("data")
        assert l.getreply()[0] == 354
        l.send(f"Subject: {subject}\r\n\r\nhello\r\n.\r\n".encode())
        assert l.getreply()[0] == 250


def test_personal_reports_other_sessions_and_lmtp(srv):
    r = login(srv)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" NOTIFY" in caps[0], caps
    o = login(srv)
    ok(o.cmd("c1", "CREATE Work"), "c1")
    assert ok(r.cmd("n", "NOTIFY SET (personal (MessageNew MessageExpunge))"), "n") == []
    # Between commands, without IDLE.
    append(o, "a1", "Work")
    assert pushed(r, b'* STATUS "Work" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    deliver(srv)
    assert pushed(r, b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    # FlagChange was not asked for: nothing for a flag change.
    ok(o.cmd("s1", "SELECT Work"), "s1")
    ok(o.cmd("f1", "STORE 1 +FLAGS.SILENT (\\Seen)"), "f1")
    quiet(r)
    # An expunge is; the STATUS shows the flag change too.
    append(o, "a2", "Work")
    assert pushed(r, b'* STATUS "Work" (MESSAGES 2 UIDNEXT 3 UNSEEN 1)\r\n') == []
    ok(o.cmd("f2", "STORE 1 +FLAGS.SILENT (\\Deleted)"), "f2")
    ok(o.cmd("x", "EXPUNGE"), "x")
    assert pushed(r, b'* STATUS "Work" (MESSAGES 1 UIDNEXT 3 UNSEEN 1)\r\n') == []
    # This session's own APPEND is not reported back to it.
    append(r, "a3", "Work")
    quiet(r)
    # During IDLE as well.
    r.send(b"i IDLE\r\n")
    assert r.line() == b"+ idling\r\n"
    deliver(srv)
    assert pushed(r, b'* STATUS "INBOX" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n') == []
    r.send(b"DONE\r\n")
    assert r.until("i") == ([], b"i OK IDLE terminated\r\n")
    # CONDSTORE adds HIGHESTMODSEQ.
    ok(r.cmd("e", "ENABLE CONDSTORE"), "e")
    ok(o.cmd("f3", "STORE 1 +FLAGS.SILENT (\\Deleted)"), "f3")
    ok(o.cmd("x2", "EXPUNGE"), "x2")
    line = pushed_any(r)
    assert line.startswith(b'* STATUS "Work" (MESSAGES 1 UIDNEXT 4 UNSEEN 1 HIGHESTMODSEQ '), line
    o.close()
    r.close()


def pushed_any(r):
    r.sock.settimeout(WAIT)
    try:
        return r.line()
    finally:
        r.sock.settimeout(30)


def test_inboxes_is_inbox_only(srv):
    r = login(srv)
    o = login(srv)
    ok(o.cmd("c", "CREATE Work"), "c")
    ok(r.cmd("n", "NOTIFY SET (inboxes (MessageNew MessageExpunge))"), "n")
    append(o, "a1", "Work")
    append(o, "a2", "INBOX")
    # Work's change came first; had it been reported it would be first.
    assert pushed(r, b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    quiet(r)
    o.close()
    r.close()


def test_subtree_and_mailboxes(srv):
    r = login(srv)
    o = login(srv)
    for i, name in enumerate(["Lists", "Lists/a", "Lists/a/deep", "Listsx", "Other"]):
        ok(o.cmd(f"c{i}", f"CREATE {name}"), f"c{i}")
    ok(r.cmd("n", "NOTIFY SET (subtree Lists (MessageNew MessageExpunge))"), "n")
    for i, name in enumerate(["Other", "Listsx", "Lists/a/deep", "Lists"]):
        append(o, f"a{i}", name)
    assert pushed(r, b'* STATUS "Lists/a/deep" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    assert pushed(r, b'* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    quiet(r)
    # The first filter that matches decides: NONE silences Lists/a.
    ok(
        r.cmd(
            "n2",
            "NOTIFY SET (mailboxes (Lists/a Other) NONE) (subtree (Lists) (MessageNew MessageExpunge))"
            " (mailboxes Other (MessageNew MessageExpunge))",
        ),
        "n2",
    )
    append(o, "b1", "Lists/a")
    append(o, "b2", "Other")
    append(o, "b3", "Lists/a/deep")
    assert pushed(r, b'* STATUS "Lists/a/deep" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n') == []
    quiet(r)
    o.close()
    r.close()


def test_selected_message_events(srv):
    r = login(srv)
    o = login(srv)
    ok(r.cmd("s", "SELECT INBOX"), "s")
    ok(
        r.cmd(
            "n",
            "NOTIFY SET (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge FlagChange))"
            " (personal (MessageNew MessageExpunge))",
        ),
        "n",
    )
    deliver(srv, "first")
    # No STATUS for the selected mailbox: EXISTS and the FETCH asked for.
    assert pushed(r, b"* 1 EXISTS\r\n") == []
    assert r.line() == b"* 1 RECENT\r\n"
    assert r.line() == b"* 1 FETCH (UID 1 FLAGS (\\Recent) BODY[HEADER.FIELDS (Subject)] {18}\r\n"
    assert r.line() == b"Subject: first\r\n"
    assert r.line() == b"\r\n"
    assert r.line() == b")\r\n"
    append(o, "a", "INBOX", "second")
    assert pushed(r, b"* 2 EXISTS\r\n") == []
    assert r.line() == b"* 2 RECENT\r\n"
    assert r.line() == b"* 2 FETCH (UID 2 FLAGS (\\Recent) BODY[HEADER.FIELDS (Subject)] {19}\r\n"
    assert r.line() == b"Subject: second\r\n"
    assert r.line() == b"\r\n"
    assert r.line() == b")\r\n"
    # FlagChange. (Selected after the appends: \Recent stays with `r`.)
    ok(o.cmd("s", "SELECT INBOX"), "s")
    ok(o.cmd("f", "STORE 1 +FLAGS.SILENT (\\Flagged)"), "f")
    assert pushed(r, b"* 1 FETCH (UID 1 FLAGS (\\Flagged))\r\n") == []
    # MessageExpunge with `selected`: at once, between commands.
    ok(o.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)"), "d")
    assert pushed(r, b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted))\r\n") == []
    ok(o.cmd("x", "EXPUNGE"), "x")
    assert pushed(r, b"* 1 EXPUNGE\r\n") == []
    assert r.line() == b"* 1 RECENT\r\n"
    quiet(r)
    # A mailbox not selected still gets STATUS.
    append(o, "t", "Trash")
    assert pushed(r, b'* STATUS "Trash" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    o.close()
    r.close()


def test_selected_delayed_and_qresync(srv):
    r = login(srv)
    o = login(srv)
    append(o, "a1", "INBOX")
    append(o, "a2", "INBOX")
    ok(r.cmd("e", "ENABLE IMAP4rev2 QRESYNC"), "e")
    ok(r.cmd("s", "SELECT INBOX"), "s")
    ok(o.cmd("s", "SELECT INBOX"), "s")
    ok(r.cmd("n", "NOTIFY SET (selected (MessageNew MessageExpunge))"), "n")
    ok(o.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)"), "d")
    ok(o.cmd("x", "EXPUNGE"), "x")
    assert pushed(r, b"* VANISHED 1\r\n") == []
    # selected-delayed: the expunge waits for a command that allows it.
    ok(r.cmd("n2", "NOTIFY SET (selected-delayed (MessageNew MessageExpunge))"), "n2")
    ok(o.cmd("d2", "UID STORE 2 +FLAGS.SILENT (\\Deleted)"), "d2")
    ok(o.cmd("x2", "EXPUNGE"), "x2")
    append(o, "a3", "INBOX")
    assert pushed(r, b"* 2 EXISTS\r\n") == []
    lines = ok(r.cmd("f", "FETCH 1:2 (UID)"), "f")
    assert [l.split(b" MODSEQ")[0] for l in lines] == [b"* 1 FETCH (UID 2", b"* 2 FETCH (UID 3"], lines
    assert ok(r.cmd("no", "NOOP"), "no") == [b"* VANISHED 2\r\n"]
    o.close()
    r.close()


def test_mailbox_name_and_subscription_change(srv):
    r = login(srv)
    o = login(srv)
    ok(r.cmd("n", "NOTIFY SET (personal (MailboxName SubscriptionChange))"), "n")
    ok(o.cmd("c", "CREATE Foo"), "c")
    assert pushed(r, b'* LIST () "/" "Foo"\r\n') == []
    ok(o.cmd("rn", "RENAME Foo Bar"), "rn")
    assert pushed(r, b'* LIST () "/" "Bar" ("OLDNAME" ("Foo"))\r\n') == []
    ok(o.cmd("sb", "SUBSCRIBE Bar"), "sb")
    assert pushed(r, b'* LIST (\\Subscribed) "/" "Bar"\r\n') == []
    ok(o.cmd("us", "UNSUBSCRIBE Bar"), "us")
    assert pushed(r, b'* LIST () "/" "Bar"\r\n') == []
    ok(o.cmd("dl", "DELETE Bar"), "dl")
    assert pushed(r, b'* LIST (\\NonExistent) "/" "Bar"\r\n') == []
    # Message events were not asked for.
    append(o, "a", "INBOX")
    quiet(r)
    # NOTIFY NONE stops everything.
    ok(r.cmd("nn", "NOTIFY NONE"), "nn")
    ok(o.cmd("c2", "CREATE Baz"), "c2")
    append(o, "a2", "INBOX")
    quiet(r)
    o.close()
    r.close()


def test_notify_none_stops_status(srv):
    r = login(srv)
    ok(r.cmd("n", "NOTIFY SET (personal (MessageNew MessageExpunge FlagChange))"), "n")
    deliver(srv)
    assert pushed(r, b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    assert ok(r.cmd("nn", "NOTIFY NONE"), "nn") == []
    deliver(srv)
    quiet(r)
    r.close()


def test_status_sends_initial_state(srv):
    r = login(srv)
    o = login(srv)
    ok(o.cmd("c", "CREATE Work"), "c")
    append(o, "a1", "Work")
    append(o, "a2", "INBOX")
    lines = ok(r.cmd("l", 'LIST "" "*"'), "l")
    names = [l.rsplit(b" ", 1)[1].strip().strip(b'"') for l in lines]
    lines = ok(r.cmd("n", "NOTIFY SET STATUS (personal (MessageNew MessageExpunge))"), "n")
    expected = []
    for name in names:
        n = {b"INBOX": 1, b"Work": 1}.get(name, 0)
        expected.append(b"* STATUS \"%s\" (MESSAGES %d UIDNEXT %d UNSEEN %d)\r\n" % (name, n, n + 1, n))
    assert lines == expected, lines
    # Not for the selected mailbox, nor for filters without message events.
    ok(r.cmd("s", "SELECT INBOX"), "s")
    lines = ok(
        r.cmd("n2", "NOTIFY SET STATUS (mailboxes INBOX (MessageNew MessageExpunge)) (subtree Work (MailboxName))"),
        "n2",
    )
    assert lines == [], lines
    o.close()
    r.close()


def test_badevent_and_bad_arguments(srv):
    r = login(srv)
    for tag, cmd in [
        ("b1", "NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))"),
        ("b2", "NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (Whatever))"),
        ("b3", "NOTIFY SET (personal (MessageNew MessageExpunge)) (inboxes (AnnotationChange))"),
    ]:
        lines, t = r.cmd(tag, cmd)
        assert lines == [] and t == f"{tag} NO ".encode() + SUPPORTED + b" Unsupported NOTIFY event\r\n", (cmd, t)
    for tag, cmd, text in [
        ("c1", "NOTIFY SET (personal (MessageNew))", b"MessageNew and MessageExpunge go together"),
        ("c2", "NOTIFY SET (personal (MessageExpunge))", b"MessageNew and MessageExpunge go together"),
        ("c3", "NOTIFY SET (personal (FlagChange))", b"FlagChange needs MessageNew and MessageExpunge"),
        ("c4", "NOTIFY SET (selected (MailboxName))", b"Only message events for the selected mailbox"),
        (
            "c5",
            "NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
            b"Only one selected or selected-delayed filter",
        ),
        (
            "c6",
            "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
            b"FETCH attributes are only for the selected mailbox",
        ),
    ]:
        lines, t = r.cmd(tag, cmd)
        assert lines == [] and t == f"{tag} BAD ".encode() + text + b"\r\n", (cmd, t)
    for tag, cmd in [
        ("d1", "NOTIFY"),
        ("d2", "NOTIFY SET"),
        ("d3", "NOTIFY FOO"),
        ("d4", "NOTIFY SET (nowhere (MessageNew MessageExpunge))"),
        ("d5", "NOTIFY SET (personal ())"),
        ("d6", "NOTIFY SET (personal (MessageNew MessageExpunge)"),
        ("d7", "NOTIFY SET (subtree (MessageNew MessageExpunge))"),
        ("d8", "NOTIFY SET (selected (MessageNew (NOSUCHATT) MessageExpunge))"),
        ("d9", "NOTIFY NONE extra"),
    ]:
        lines, t = r.cmd(tag, cmd)
        assert lines == [] and t.startswith(f"{tag} BAD ".encode()), (cmd, t)
    # A refused NOTIFY SET leaves the one in force.
    ok(r.cmd("n", "NOTIFY SET (personal (MessageNew MessageExpunge))"), "n")
    _, t = r.cmd("b", "NOTIFY SET (personal (FlagChange))")
    assert t.startswith(b"b BAD"), t
    deliver(srv)
    assert pushed(r, b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    r.close()
    # Not before login.
    r = Raw(srv.imap_port)
    lines, t = r.cmd("p", "NOTIFY NONE")
    assert lines == [] and t.startswith(b"p BAD "), t
    r.close()


def test_limits_and_overflow(make_server):
    srv = make_server(extra="[imap]\nnotify_queue = 2\nnotify_max_names = 2\n")
    r = login(srv)
    o = login(srv)
    lines, t = r.cmd("m", "NOTIFY SET (mailboxes (a b) (MessageNew MessageExpunge)) (subtree c NONE)")
    assert lines == [] and t == b"m NO [NOTIFICATIONOVERFLOW] At most 2 mailbox names in NOTIFY SET\r\n", t
    ok(r.cmd("n", "NOTIFY SET (personal (MailboxName))"), "n")
    for i, name in enumerate(["P", "P/a", "P/b"]):
        ok(o.cmd(f"c{i}", f"CREATE {name}"), f"c{i}")
        assert pushed(r, b'* LIST () "/" "%s"\r\n' % name.encode()) == []
    # One RENAME renames three mailboxes: three changes, over the queue of 2.
    ok(o.cmd("rn", "RENAME P Q"), "rn")
    assert pushed(r, b"* OK [NOTIFICATIONOVERFLOW] Too many changes at once; NOTIFY is off, set it again\r\n") == []
    # NOTIFY is off now.
    ok(o.cmd("c9", "CREATE Z"), "c9")
    quiet(r)
    ok(r.cmd("n2", "NOTIFY SET (personal (MailboxName))"), "n2")
    ok(o.cmd("c10", "CREATE Y"), "c10")
    assert pushed(r, b'* LIST () "/" "Y"\r\n') == []
    o.close()
    r.close()


def test_notify_disabled(make_server):
    srv = make_server(extra='[imap]\ndisable = ["NOTIFY"]\n')
    r = login(srv)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"NOTIFY" not in caps[0], caps
    lines, t = r.cmd("n", "NOTIFY SET (personal (MessageNew MessageExpunge))")
    assert lines == [] and t == b"n BAD NOTIFY is not enabled on this server\r\n", t
    lines, t = r.cmd("n2", "NOTIFY NONE")
    assert lines == [] and t == b"n2 BAD NOTIFY is not enabled on this server\r\n", t
    r.close()


def test_metadata_changes(srv):
    r = login(srv)
    o = login(srv)
    ok(o.cmd("c", "CREATE Work"), "c")
    ok(o.cmd("c2", "CREATE Other"), "c2")
    ok(r.cmd("n", "NOTIFY SET (mailboxes Other NONE) (personal (MailboxMetadataChange ServerMetadataChange))"), "n")
    ok(o.cmd("m1", 'SETMETADATA Work (/private/comment "x" /shared/comment "y")'), "m1")
    assert pushed(r, b'* METADATA "Work" /private/comment /shared/comment\r\n') == []
    ok(o.cmd("m2", 'SETMETADATA "" (/private/vendor/a "1")'), "m2")
    assert pushed(r, b'* METADATA "" /private/vendor/a\r\n') == []
    ok(o.cmd("m3", "SETMETADATA Work (/private/comment NIL)"), "m3")
    assert pushed(r, b'* METADATA "Work" /private/comment\r\n') == []
    # Other is silenced; a NIL for an entry that does not exist changes nothing.
    ok(o.cmd("m4", 'SETMETADATA Other (/private/comment "z")'), "m4")
    ok(o.cmd("m5", "SETMETADATA Work (/private/nothing NIL)"), "m5")
    quiet(r)
    # Without the event, nothing.
    ok(r.cmd("n2", "NOTIFY SET (personal (MailboxName))"), "n2")
    ok(o.cmd("m6", 'SETMETADATA "" (/private/vendor/a "2")'), "m6")
    ok(o.cmd("m7", 'SETMETADATA Work (/private/comment "again")'), "m7")
    quiet(r)
    o.close()
    r.close()


@pytest.mark.parametrize(
    "off,known",
    [
        ("METADATA", BASE + b" ServerMetadataChange"),
        ("METADATA-SERVER", BASE),
    ],
)
def test_metadata_events_need_metadata(make_server, off, known):
    srv = make_server(extra=f'[imap]\ndisable = ["{off}"]\n')
    r = login(srv)
    for tag, event in [("a", "MailboxMetadataChange"), ("b", "ServerMetadataChange")]:
        lines, t = r.cmd(tag, f"NOTIFY SET (personal ({event}))")
        if event.encode() in known:
            assert t == f"{tag} OK NOTIFY completed\r\n".encode(), t
        else:
            assert t == f"{tag} NO [BADEVENT (".encode() + known + b")] Unsupported NOTIFY event\r\n", t
    r.close()


def test_subscribed_filter(srv):
    r = login(srv)
    o = login(srv)
    ok(o.cmd("c", "CREATE Work"), "c")
    ok(o.cmd("c2", "CREATE Other"), "c2")
    ok(r.cmd("n", "NOTIFY SET (subscribed (MessageNew MessageExpunge SubscriptionChange))"), "n")
    ok(o.cmd("s", "SUBSCRIBE Work"), "s")
    assert pushed(r, b'* LIST (\\Subscribed) "/" "Work"\r\n') == []
    append(o, "a1", "Other")
    append(o, "a2", "Work")
    assert pushed(r, b'* STATUS "Work" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n') == []
    # Leaving the filter is reported too; after that, nothing.
    ok(o.cmd("u", "UNSUBSCRIBE Work"), "u")
    assert pushed(r, b'* LIST () "/" "Work"\r\n') == []
    append(o, "a3", "Work")
    quiet(r)
    o.close()
    r.close()


def test_uidonly_message_new(srv):
    r = login(srv)
    o = login(srv)
    ok(r.cmd("e", "ENABLE IMAP4rev2 UIDONLY"), "e")
    ok(r.cmd("s", "SELECT INBOX"), "s")
    ok(r.cmd("n", "NOTIFY SET (selected (MessageNew (FLAGS RFC822.SIZE) MessageExpunge))"), "n")
    append(o, "a", "INBOX")
    assert pushed(r, b"* 1 EXISTS\r\n") == []
    assert r.line() == b"* 1 UIDFETCH (FLAGS () RFC822.SIZE 21)\r\n"
    ok(o.cmd("s", "SELECT INBOX"), "s")
    ok(o.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)"), "d")
    ok(o.cmd("x", "EXPUNGE"), "x")
    assert pushed(r, b"* VANISHED 1\r\n") == []
    o.close()
    r.close()


def test_pushed_changes_do_not_keep_a_silent_session(make_server):
    """Autologout counts from the client's last command: changes pushed to
    it (here a new mailbox every half second) do not restart the clock."""
    srv = make_server(extra="[limits]\nidle_timeout_secs = 2\n")
    r = login(srv)
    o = login(srv)
    ok(r.cmd("n", "NOTIFY SET (personal (MailboxName))"), "n")
    # Raw reads: a timed-out read would break the line reader.
    data = b""
    start = time.monotonic()
    for i in range(20):
        # Pacing, not a measurement: a change every half second, for up to
        # ten seconds (the limit is two).
        tick = start + i * 0.5
        ok(o.cmd(f"c{i}", f"CREATE M{i}"), f"c{i}")
        closed = False
        while not closed and time.monotonic() < tick + 0.5:
            r.sock.settimeout(max(0.01, tick + 0.5 - time.monotonic()))
            try:
                chunk = r.sock.recv(4096)
            except socket.timeout:
                continue
            closed = not chunk
            data += chunk
        if closed:
            break
    else:
        raise AssertionError(f"still connected after 20 changes: {data!r}")
    assert data.startswith(b'* LIST () "/" "M0"\r\n'), data
    assert data.endswith(b"* BYE Autologout; idle for too long\r\n"), data
    o.close()


def test_context_updates_ride_with_pushed_changes(srv):
    """CONTEXT=SEARCH updates go out with what NOTIFY pushes between
    commands: after EXISTS and the MessageNew FETCH."""
    r = login(srv)
    o = login(srv)
    ok(r.cmd("e", "ENABLE IMAP4rev2"), "e")
    ok(r.cmd("s", "SELECT INBOX"), "s")
    lines = ok(r.cmd("u", "UID SEARCH RETURN (UPDATE) UNDELETED"), "u")
    assert lines == [b'* ESEARCH (TAG "u") UID\r\n'], lines
    ok(r.cmd("n", "NOTIFY SET (selected (MessageNew (UID) MessageExpunge))"), "n")
    append(o, "a", "INBOX")
    assert pushed(r, b"* 1 EXISTS\r\n") == []
    assert r.line() == b"* 1 FETCH (UID 1)\r\n"
    assert r.line() == b'* ESEARCH (TAG "u") UID ADDTO (0 1)\r\n'
    o.close()
    r.close()
