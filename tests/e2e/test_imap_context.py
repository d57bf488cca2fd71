"""CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): SEARCH and SORT with
RETURN (UPDATE) keep the client's result up to date with `* ESEARCH (TAG
"t") [UID] ADDTO/REMOVEFROM (position set)` as mail arrives, flags change
and messages are expunged (REMOVEFROM before the EXPUNGE), at NOOP, after
any command and during IDLE; CANCELUPDATE stops them; limits give
`NO [NOUPDATE "t"]`."""

from conftest import raw_login as login, raw_append as append, untagged_of_ok as ok


def bad(reply, tag):
    untagged, t = reply
    assert t.startswith(f"{tag} BAD".encode()), t
    return untagged, t


def selected(srv, subjects):
    """A session (IMAP4rev2, so no RECENT) with INBOX holding `subjects`
    as UIDs 1..n, and a second session on the same INBOX."""
    r = login(srv)
    for i, s in enumerate(subjects):
        append(r, f"a{i}", s)
    ok(r.cmd("e", "ENABLE IMAP4rev2"), "e")
    ok(r.cmd("s", "SELECT INBOX"), "s")
    o = login(srv)
    ok(o.cmd("os", "SELECT INBOX"), "os")
    return r, o


def test_capabilities(server):
    r = login(server)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" CONTEXT=SEARCH " in caps[0] and b" CONTEXT=SORT " in caps[0], caps
    r.close()


def test_search_update_follows_append_store_and_expunge(server):
    r, o = selected(server, ["one", "two", "three"])
    lines = ok(r.cmd("u1", "UID SEARCH RETURN (UPDATE) UNDELETED"), "u1")
    assert lines == [b'* ESEARCH (TAG "u1") UID ALL 1:3\r\n'], lines
    # Message numbers, and a count only: the context still follows the set.
    lines = ok(r.cmd("n1", "SEARCH RETURN (UPDATE COUNT) ALL"), "n1")
    assert lines == [b'* ESEARCH (TAG "n1") COUNT 3\r\n'], lines
    # New mail from another session: ADDTO after EXISTS, at NOOP.
    append(o, "o1", "four")
    lines = ok(r.cmd("p1", "NOOP"), "p1")
    assert lines == [
        b"* 4 EXISTS\r\n",
        b'* ESEARCH (TAG "u1") UID ADDTO (0 4)\r\n',
        b'* ESEARCH (TAG "n1") ADDTO (0 4)\r\n',
    ], lines
    # This session's STORE makes UID 2 stop matching UNDELETED.
    lines = ok(r.cmd("st", "UID STORE 2 +FLAGS (\\Deleted)"), "st")
    assert lines == [
        b"* 2 FETCH (UID 2 FLAGS (\\Deleted))\r\n",
        b'* ESEARCH (TAG "u1") UID REMOVEFROM (0 2)\r\n',
    ], lines
    # Another session's flag change makes it match again.
    ok(o.cmd("o2", "UID STORE 2 -FLAGS.SILENT (\\Deleted)"), "o2")
    lines = ok(r.cmd("p2", "NOOP"), "p2")
    assert lines == [
        b"* 2 FETCH (UID 2 FLAGS ())\r\n",
        b'* ESEARCH (TAG "u1") UID ADDTO (0 2)\r\n',
    ], lines
    # Expunged by another session: REMOVEFROM first, numbers still valid.
    ok(o.cmd("o3", "UID STORE 3 +FLAGS.SILENT (\\Deleted)"), "o3")
    ok(o.cmd("o4", "EXPUNGE"), "o4")
    lines = ok(r.cmd("p3", "NOOP"), "p3")
    assert lines == [
        b'* ESEARCH (TAG "u1") UID REMOVEFROM (0 3)\r\n',
        b'* ESEARCH (TAG "n1") REMOVEFROM (0 3)\r\n',
        b"* 3 EXPUNGE\r\n",
    ], lines
    # Expunged by this session: the same, before its own EXPUNGE.
    # (UNDELETED already lost it at the STORE; ALL loses it now.)
    lines = ok(r.cmd("st2", "UID STORE 1 +FLAGS.SILENT (\\Deleted)"), "st2")
    assert lines == [b'* ESEARCH (TAG "u1") UID REMOVEFROM (0 1)\r\n'], lines
    lines = ok(r.cmd("x", "EXPUNGE"), "x")
    assert lines == [
        b'* ESEARCH (TAG "n1") REMOVEFROM (0 1)\r\n',
        b"* 1 EXPUNGE\r\n",
    ], lines
    # The result is what a new search says.
    lines = ok(r.cmd("chk", "UID SEARCH RETURN (ALL) UNDELETED"), "chk")
    assert lines == [b'* ESEARCH (TAG "chk") UID ALL 2,4\r\n'], lines
    # A change that does not move a message in or out says nothing.
    lines = ok(r.cmd("st3", "UID STORE 4 +FLAGS.SILENT (\\Flagged)"), "st3")
    assert lines == [], lines
    r.close()
    o.close()


def test_updates_during_idle(server):
    r, o = selected(server, ["one"])
    ok(r.cmd("u", "UID SEARCH RETURN (UPDATE) UNSEEN"), "u")
    r.send("i IDLE\r\n")
    assert r.line() == b"+ idling\r\n"
    append(o, "o1", "two")
    assert r.line() == b"* 2 EXISTS\r\n"
    assert r.line() == b'* ESEARCH (TAG "u") UID ADDTO (0 2)\r\n'
    ok(o.cmd("o2", "UID STORE 1 +FLAGS.SILENT (\\Seen)"), "o2")
    assert r.line() == b"* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n"
    assert r.line() == b'* ESEARCH (TAG "u") UID REMOVEFROM (0 1)\r\n'
    r.send("DONE\r\n")
    assert r.until("i") == ([], b"i OK IDLE terminated\r\n")
    r.close()
    o.close()


def test_sort_update_positions(server):
    r, o = selected(server, ["b", "d", "f"])
    lines = ok(r.cmd("s1", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL"), "s1")
    assert lines == [b'* ESEARCH (TAG "s1") UID ALL 1:3\r\n'], lines
    # a goes first, e between d and f: two pairs, each at its position
    # once the pairs before it are applied.
    append(o, "o1", "a")
    append(o, "o2", "e")
    lines = ok(r.cmd("p1", "NOOP"), "p1")
    assert lines == [b"* 5 EXISTS\r\n", b'* ESEARCH (TAG "s1") UID ADDTO (1 4 4 5)\r\n'], lines
    # Reverse order, message numbers: f e d b a.
    lines = ok(r.cmd("s2", "SORT RETURN (UPDATE COUNT) (REVERSE SUBJECT) UTF-8 UNDELETED"), "s2")
    assert lines == [b'* ESEARCH (TAG "s2") COUNT 5\r\n'], lines
    # d leaves s2 at position 3 (message 2); s1 (ALL) keeps it.
    lines = ok(r.cmd("d", "UID STORE 2 +FLAGS.SILENT (\\Deleted)"), "d")
    assert lines == [b'* ESEARCH (TAG "s2") REMOVEFROM (3 2)\r\n'], lines
    assert ok(r.cmd("p2", "NOOP"), "p2") == []
    append(o, "o3", "c")
    append(o, "o4", "cc")
    lines = ok(r.cmd("p3", "NOOP"), "p3")
    assert lines == [
        b"* 7 EXISTS\r\n",
        b'* ESEARCH (TAG "s1") UID ADDTO (3 6:7)\r\n',
        b'* ESEARCH (TAG "s2") ADDTO (3 7,6)\r\n',
    ], lines
    # Removals: each run at its position, the last run first. The
    # EXPUNGE also takes d (UID 2, \\Deleted above).
    ok(o.cmd("o5", "UID STORE 1,7,4 +FLAGS.SILENT (\\Deleted)"), "o5")
    ok(o.cmd("o6", "EXPUNGE"), "o6")
    lines = ok(r.cmd("p4", "NOOP"), "p4")
    # s1: a b c cc d e f loses a b (1:2) and cc d (4:5). s2: f e cc c b a
    # loses cc (3) and b a (5:6), as message numbers before the EXPUNGEs.
    assert lines == [
        b'* ESEARCH (TAG "s1") UID REMOVEFROM (4 7,2 1 4,1)\r\n',
        b'* ESEARCH (TAG "s2") REMOVEFROM (5 1,4 3 7)\r\n',
        b"* 1 EXPUNGE\r\n",
        b"* 1 EXPUNGE\r\n",
        b"* 2 EXPUNGE\r\n",
        b"* 4 EXPUNGE\r\n",
    ], lines
    lines = ok(r.cmd("chk", "UID SORT RETURN () (SUBJECT) UTF-8 ALL"), "chk")
    assert lines == [b'* ESEARCH (TAG "chk") UID ALL 6,5,3\r\n'], lines
    r.close()
    o.close()


def test_cancelupdate_and_tags(server):
    r, o = selected(server, ["one"])
    ok(r.cmd("u1", "UID SEARCH RETURN (UPDATE) ALL"), "u1")
    ok(r.cmd("u2", "UID SEARCH RETURN (UPDATE) ALL"), "u2")
    # RFC 5267 §4.3: UPDATE under a tag already in use is BAD.
    _, t = bad(r.cmd("u1", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL"), "u1")
    assert t == b"u1 BAD Tag reuse: an UPDATE search already has this tag\r\n", t
    assert ok(r.cmd("c1", 'CANCELUPDATE "u1"'), "c1") == []
    append(o, "o1", "two")
    lines = ok(r.cmd("p", "NOOP"), "p")
    assert lines == [b"* 2 EXISTS\r\n", b'* ESEARCH (TAG "u2") UID ADDTO (0 2)\r\n'], lines
    # Unknown (or already cancelled) tags: NO, and nothing is cancelled.
    _, t = r.cmd("c2", 'CANCELUPDATE "u2" "u1"')
    assert t == b"c2 NO No update context has tag u1\r\n", t
    assert ok(r.cmd("c3", 'CANCELUPDATE "u2"'), "c3") == []
    append(o, "o2", "three")
    assert ok(r.cmd("p2", "NOOP"), "p2") == [b"* 3 EXISTS\r\n"]
    # The tag is free again once cancelled.
    ok(r.cmd("u1", "UID SEARCH RETURN (UPDATE) ALL"), "u1")
    for tag, cmd in [
        ("b1", "CANCELUPDATE"),
        ("b2", "CANCELUPDATE u1"),
        ("b3", 'CANCELUPDATE "u1" u2'),
        ("b4", "UID SEARCH RETURN (UPDATE BOGUS) ALL"),
        ("b5", "UID SEARCH RETURN (UPDATE ALL PARTIAL 1:2) ALL"),
        ("b6", "UID SORT RETURN (UPDATE SAVE) (SUBJECT) UTF-8 ALL"),
    ]:
        lines, t = bad(r.cmd(tag, cmd), tag)
        assert lines == [], (cmd, lines)
    # Leaving the mailbox ends its contexts, saying so before [CLOSED].
    lines = ok(r.cmd("s", "SELECT Trash"), "s")
    assert lines[:2] == [
        b'* NO [NOUPDATE "u1"] Mailbox closed, no more updates\r\n',
        b"* OK [CLOSED] Previous mailbox closed\r\n",
    ], lines
    _, t = r.cmd("c4", 'CANCELUPDATE "u1"')
    assert t == b"c4 NO No update context has tag u1\r\n", t
    ok(r.cmd("cl", "CLOSE"), "cl")
    _, t = bad(r.cmd("c5", 'CANCELUPDATE "u1"'), "c5")
    assert t == b"c5 BAD No mailbox selected\r\n", t
    r.close()
    o.close()


def test_context_hint_and_partial(server):
    r, o = selected(server, ["one", "two", "three"])
    lines = ok(r.cmd("h", "SEARCH RETURN (CONTEXT COUNT) ALL"), "h")
    assert lines == [b'* ESEARCH (TAG "h") COUNT 3\r\n'], lines
    lines = ok(r.cmd("h2", "UID SORT RETURN (CONTEXT) (SUBJECT) UTF-8 ALL"), "h2")
    assert lines == [b'* ESEARCH (TAG "h2") UID ALL 1,3,2\r\n'], lines
    # CONTEXT alone makes no context.
    _, t = r.cmd("c", 'CANCELUPDATE "h"')
    assert t == b"c NO No update context has tag h\r\n", t
    # UPDATE with PARTIAL: updates concern the whole result (RFC 5267 §4.4).
    lines = ok(r.cmd("w", "UID SEARCH RETURN (UPDATE PARTIAL 1:1) ALL"), "w")
    assert lines == [b'* ESEARCH (TAG "w") UID PARTIAL (1:1 1)\r\n'], lines
    append(o, "o1", "four")
    lines = ok(r.cmd("p", "NOOP"), "p")
    assert lines == [b"* 4 EXISTS\r\n", b'* ESEARCH (TAG "w") UID ADDTO (0 4)\r\n'], lines
    r.close()
    o.close()


def test_limits_give_noupdate(make_server):
    srv = make_server(extra="[imap]\ncontext_max_updates = 2\ncontext_max_changes = 3\n")
    r, o = selected(srv, ["one", "two", "three", "four"])
    ok(r.cmd("t1", "UID SEARCH RETURN (UPDATE) UNFLAGGED"), "t1")
    ok(r.cmd("t2", "UID SEARCH RETURN (UPDATE) FLAGGED"), "t2")
    # One over the limit: the answer still comes, without updates.
    lines = ok(r.cmd("t3", "UID SEARCH RETURN (UPDATE MIN) ALL"), "t3")
    assert lines == [
        b'* ESEARCH (TAG "t3") UID MIN 1\r\n',
        b'* NO [NOUPDATE "t3"] Too many update contexts\r\n',
    ], lines
    # Message numbers, $ and the clock cannot be followed.
    ok(r.cmd("c", 'CANCELUPDATE "t2"'), "c")
    lines = ok(r.cmd("t4", "SEARCH RETURN (UPDATE) 1:2"), "t4")
    assert lines == [
        b'* ESEARCH (TAG "t4") ALL 1:2\r\n',
        b'* NO [NOUPDATE "t4"] Updates need search keys without message numbers, $, OLDER or YOUNGER\r\n',
    ], lines
    lines = ok(r.cmd("t5", "UID SEARCH RETURN (UPDATE) YOUNGER 3600"), "t5")
    assert lines[1] == b'* NO [NOUPDATE "t5"] Updates need search keys without message numbers, $, OLDER or YOUNGER\r\n', lines
    # Within the work bound a change is followed...
    ok(o.cmd("o1", "UID STORE 1:3 +FLAGS.SILENT (\\Flagged)"), "o1")
    lines = ok(r.cmd("p1", "NOOP"), "p1")
    assert lines[-1] == b'* ESEARCH (TAG "t1") UID REMOVEFROM (0 1:3)\r\n', lines
    # ... beyond it the context ends.
    ok(o.cmd("o2", "UID STORE 1:4 +FLAGS.SILENT (\\Seen)"), "o2")
    lines = ok(r.cmd("p2", "NOOP"), "p2")
    assert lines[-1] == b'* NO [NOUPDATE "t1"] Too many changes at once, no more updates\r\n', lines
    _, t = r.cmd("c2", 'CANCELUPDATE "t1"')
    assert t.startswith(b"c2 NO "), t
    r.close()
    o.close()


def test_context_disabled(make_server):
    srv = make_server(extra='[imap]\ndisable = ["CONTEXT"]\n')
    r, _o = selected(srv, ["one"])
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"CONTEXT=" not in caps[0], caps
    for tag, cmd, text in [
        ("b1", "UID SEARCH RETURN (UPDATE) ALL", b"CONTEXT=SEARCH is not enabled on this server (no UPDATE or CONTEXT)"),
        ("b2", "SEARCH RETURN (CONTEXT COUNT) ALL", b"CONTEXT=SEARCH is not enabled on this server (no UPDATE or CONTEXT)"),
        ("b3", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL", b"CONTEXT=SORT is not enabled on this server (no UPDATE or CONTEXT)"),
        ("b4", 'CANCELUPDATE "b1"', b"CANCELUPDATE is not enabled on this server"),
    ]:
        lines, t = r.cmd(tag, cmd)
        assert t == f"{tag} BAD ".encode() + text + b"\r\n", t
        assert lines == [], lines
    # Plain ESEARCH is unaffected.
    assert ok(r.cmd("e", "SEARCH RETURN (COUNT) ALL"), "e") == [b'* ESEARCH (TAG "e") COUNT 1\r\n']
    r.close()


def test_context_sort_disabled_alone(make_server):
    srv = make_server(extra='[imap]\ndisable = ["CONTEXT=SORT"]\n')
    r, _o = selected(srv, ["one"])
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" CONTEXT=SEARCH" in caps[0] and b"CONTEXT=SORT" not in caps[0], caps
    _, t = r.cmd("b", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
    assert t == b"b BAD CONTEXT=SORT is not enabled on this server (no UPDATE or CONTEXT)\r\n", t
    ok(r.cmd("u", "UID SEARCH RETURN (UPDATE) ALL"), "u")
    assert ok(r.cmd("x", 'CANCELUPDATE "u"'), "x") == []
    r.close()


def test_deleted_mailbox_ends_its_contexts(server):
    r = login(server)
    ok(r.cmd("c", "CREATE Box"), "c")
    append(r, "a", "one", mailbox="Box")
    ok(r.cmd("s", "SELECT Box"), "s")
    ok(r.cmd("u", "UID SEARCH RETURN (UPDATE) ALL"), "u")
    o = login(server)
    ok(o.cmd("d", "DELETE Box"), "d")
    lines = ok(r.cmd("p", "NOOP"), "p")
    assert lines == [b'* NO [NOUPDATE "u"] Mailbox closed, no more updates\r\n'], lines
    _, t = bad(r.cmd("x", 'CANCELUPDATE "u"'), "x")
    assert t == b"x BAD No mailbox selected\r\n", t
    r.close()
    o.close()


def test_result_size_limit(make_server):
    srv = make_server(extra="[imap]\ncontext_max_results = 2\n")
    r, o = selected(srv, ["one", "two", "three"])
    lines = ok(r.cmd("a", "UID SEARCH RETURN (UPDATE COUNT) ALL"), "a")
    assert lines == [
        b'* ESEARCH (TAG "a") UID COUNT 3\r\n',
        b'* NO [NOUPDATE "a"] Result too large to follow\r\n',
    ], lines
    lines = ok(r.cmd("s", "UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 ALL"), "s")
    assert lines[1] == b'* NO [NOUPDATE "s"] Result too large to follow\r\n', lines
    assert ok(r.cmd("f", "UID SEARCH RETURN (UPDATE) FLAGGED"), "f") == [b'* ESEARCH (TAG "f") UID\r\n']
    # Growing past the limit: the change is told, then the context ends.
    ok(o.cmd("o1", "UID STORE 1:3 +FLAGS.SILENT (\\Flagged)"), "o1")
    lines = ok(r.cmd("p", "NOOP"), "p")
    assert lines[-2:] == [
        b'* ESEARCH (TAG "f") UID ADDTO (0 1:3)\r\n',
        b'* NO [NOUPDATE "f"] Result too large to follow, no more updates\r\n',
    ], lines
    ok(o.cmd("o2", "UID STORE 1 -FLAGS.SILENT (\\Flagged)"), "o2")
    lines = ok(r.cmd("p2", "NOOP"), "p2")
    assert lines == [b"* 1 FETCH (UID 1 FLAGS ())\r\n"], lines
    r.close()
    o.close()


def test_context_search_disabled_alone(make_server):
    srv = make_server(extra='[imap]\ndisable = ["CONTEXT=SEARCH"]\n')
    r, _o = selected(srv, ["one"])
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"CONTEXT=SEARCH" not in caps[0] and b" CONTEXT=SORT" in caps[0], caps
    _, t = r.cmd("b", "UID SEARCH RETURN (UPDATE) ALL")
    assert t == b"b BAD CONTEXT=SEARCH is not enabled on this server (no UPDATE or CONTEXT)\r\n", t
    ok(r.cmd("u", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL"), "u")
    assert ok(r.cmd("x", 'CANCELUPDATE "u"'), "x") == []
    r.close()


def test_imap4rev1_session_gets_updates_after_recent(server):
    r = login(server)
    append(r, "a", "one")
    ok(r.cmd("s", "SELECT INBOX"), "s")
    lines = ok(r.cmd("u", "SEARCH RETURN (UPDATE) UNSEEN"), "u")
    assert lines == [b'* ESEARCH (TAG "u") ALL 1\r\n'], lines
    o = login(server)
    append(o, "o1", "two")
    lines = ok(r.cmd("p", "NOOP"), "p")
    assert lines == [b"* 2 EXISTS\r\n", b"* 1 RECENT\r\n", b'* ESEARCH (TAG "u") ADDTO (0 2)\r\n'], lines
    # FETCH sets \\Seen: the FETCH says so, then the context.
    lines = ok(r.cmd("f", "FETCH 2 BODY[TEXT]"), "f")
    assert lines[-1] == b'* ESEARCH (TAG "u") REMOVEFROM (0 2)\r\n', lines
    r.close()
    o.close()
