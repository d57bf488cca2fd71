"""Mailbox commands: CREATE, DELETE, RENAME, SUBSCRIBE, LIST (+ LIST-EXTENDED,
LIST-STATUS, SPECIAL-USE), LSUB, NAMESPACE, STATUS, SELECT/EXAMINE, ENABLE
(RFC 9051 §6.3, RFC 3501, RFC 5258, RFC 5819, RFC 6154, RFC 5161)."""

import re

import pytest

from conftest import Server
from test_imap_util import append_raw, lists, login_raw, msg, ok, parse_list, status_items

DEFAULTS = {
    "Drafts": "\\Drafts",
    "Sent": "\\Sent",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """One server for the tests that only touch their own mailbox names."""
    s = Server(tmp_path_factory.mktemp("imap-mailboxes"), extra="[auth]\nfailure_delay_ms = 10\n")
    s.start()
    yield s
    s.stop()


def names(r, tag, ref, pattern):
    untagged, tagged = r.cmd(tag, f'LIST "{ref}" "{pattern}"')
    ok(tagged, tag)
    return lists(untagged)


# --- defaults and INBOX ----------------------------------------------------------


def test_new_user_has_special_use_mailboxes(server, raw):
    r = login_raw(raw, server, "bob")
    got = names(r, "a", "", "*")
    assert set(got) == {"INBOX", *DEFAULTS}, got
    untagged, tagged = r.cmd("b", 'LIST "" "*" RETURN (SPECIAL-USE)')
    ok(tagged, "b")
    got = lists(untagged)
    for name, use in DEFAULTS.items():
        assert use in got[name], (name, got[name])
    assert not any(a in got["INBOX"] for a in DEFAULTS.values()), got["INBOX"]
    # Selection option SPECIAL-USE lists only the special-use mailboxes.
    untagged, tagged = r.cmd("c", 'LIST (SPECIAL-USE) "" "*"')
    ok(tagged, "c")
    got = lists(untagged)
    assert set(got) == set(DEFAULTS), got
    for name, use in DEFAULTS.items():
        assert use in got[name]
    # The defaults are subscribed.
    untagged, tagged = r.cmd("d", 'LSUB "" "*"')
    ok(tagged, "d")
    assert set(DEFAULTS) <= set(lists(untagged, "LSUB")), untagged


def test_inbox_is_case_insensitive(srv, raw):
    r = login_raw(raw, srv)
    for i, spelling in enumerate(["inbox", "Inbox", "iNbOx"]):
        untagged, tagged = r.cmd(f"s{i}", f"SELECT {spelling}")
        ok(tagged, f"s{i}")
    untagged, tagged = r.cmd("st", "STATUS inbox (MESSAGES)")
    ok(tagged, "st")
    name, _ = status_items(untagged[0])
    assert name == "INBOX", untagged
    ok(r.cmd("c", "CREATE Inbox/child-ci")[1], "c")
    got = names(r, "l", "", "INBOX/*")
    assert "INBOX/child-ci" in got, got
    got = names(r, "l2", "", "inbox/%")
    assert "INBOX/child-ci" in got, got
    untagged, tagged = r.cmd("c2", "CREATE INBOX")
    assert tagged.startswith(b"c2 NO [ALREADYEXISTS]"), tagged
    untagged, tagged = r.cmd("c3", "CREATE inbox")
    assert tagged.startswith(b"c3 NO [ALREADYEXISTS]"), tagged


def test_imaplib_select_lowercase_inbox(srv):
    c = srv.login("alice")
    typ, data = c.select("inbox")
    assert typ == "OK"
    c.logout()


# --- CREATE ---------------------------------------------------------------------------


def test_create_and_list(srv, raw):
    r = login_raw(raw, srv)
    untagged, tagged = r.cmd("c", "CREATE cr-plain")
    assert untagged == [] and tagged.startswith(b"c OK"), (untagged, tagged)
    got = names(r, "l", "", "cr-plain")
    assert list(got) == ["cr-plain"]
    assert "\\HasNoChildren" in got["cr-plain"], got
    # A new mailbox is empty and selectable.
    untagged, tagged = r.cmd("s", "SELECT cr-plain")
    ok(tagged, "s")
    assert b"* 0 EXISTS\r\n" in untagged


def test_create_hierarchy_creates_parents(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE crh/b/c")[1], "c")
    got = names(r, "l", "", "crh*")
    assert set(got) == {"crh", "crh/b", "crh/b/c"}, got
    assert "\\HasChildren" in got["crh"] and "\\HasChildren" in got["crh/b"]
    assert "\\HasNoChildren" in got["crh/b/c"]


def test_create_trailing_separator(srv, raw):
    r = login_raw(raw, srv)
    # RFC 9051 §6.3.4: a trailing separator declares intent to create
    # inferiors; the name created is the one without it.
    ok(r.cmd("c", "CREATE trail/")[1], "c")
    got = names(r, "l", "", "trail*")
    assert set(got) == {"trail"}, got
    ok(r.cmd("s", "SELECT trail")[1], "s")


def test_create_existing_is_alreadyexists(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE dup")[1], "c")
    _, tagged = r.cmd("c2", "CREATE dup")
    assert tagged.startswith(b"c2 NO [ALREADYEXISTS]"), tagged
    _, tagged = r.cmd("c3", "CREATE Drafts")
    assert tagged.startswith(b"c3 NO [ALREADYEXISTS]"), tagged


def test_create_special_use(srv, raw):
    r = login_raw(raw, srv)
    _, tagged = r.cmd("c", "CREATE cru-arch (USE (\\Archive))")
    if tagged.startswith(b"c NO"):
        # RFC 6154 §3: a server may allow one mailbox per use; then the code is USEATTR.
        assert tagged.startswith(b"c NO [USEATTR]"), tagged
    else:
        ok(tagged, "c")
        untagged, tagged = r.cmd("l", 'LIST "" "cru-arch" RETURN (SPECIAL-USE)')
        ok(tagged, "l")
        assert "\\Archive" in lists(untagged)["cru-arch"], untagged
    _, tagged = r.cmd("c2", "CREATE cru-bogus (USE (\\Bogus))")
    assert tagged.startswith(b"c2 NO [USEATTR]"), tagged
    got = names(r, "l2", "", "cru-bogus")
    assert got == {}, "refused CREATE must not create the mailbox"


def test_create_special_use_after_delete(server, raw):
    # Once the old \Trash is gone, a new mailbox may take that use.
    r = login_raw(raw, server)
    ok(r.cmd("d", "DELETE Trash")[1], "d")
    ok(r.cmd("c", "CREATE Bin (USE (\\Trash))")[1], "c")
    untagged, tagged = r.cmd("l", 'LIST (SPECIAL-USE) "" "*"')
    ok(tagged, "l")
    got = lists(untagged)
    assert "\\Trash" in got["Bin"] and "Trash" not in got, got


def test_create_bad_names(srv, raw):
    r = login_raw(raw, srv)
    for i, name in enumerate(['""', '"a//b"', '"/lead"']):
        _, tagged = r.cmd(f"c{i}", f"CREATE {name}")
        assert tagged.startswith(f"c{i} NO".encode()) or tagged.startswith(f"c{i} BAD".encode()), (
            name,
            tagged,
        )


# --- DELETE ------------------------------------------------------------------------------


def test_delete(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE del-me")[1], "c")
    append_raw(r, "a", "del-me", msg())
    ok(r.cmd("d", "DELETE del-me")[1], "d")
    assert names(r, "l", "", "del-me") == {}
    _, tagged = r.cmd("s", "SELECT del-me")
    assert tagged.startswith(b"s NO"), tagged
    # Recreated, it is a new, empty mailbox.
    ok(r.cmd("c2", "CREATE del-me")[1], "c2")
    untagged, tagged = r.cmd("s2", "SELECT del-me")
    ok(tagged, "s2")
    assert b"* 0 EXISTS\r\n" in untagged


def test_delete_nonexistent(srv, raw):
    r = login_raw(raw, srv)
    _, tagged = r.cmd("d", "DELETE no-such-box")
    assert tagged.startswith(b"d NO [NONEXISTENT]"), tagged


def test_delete_inbox_refused(srv, raw):
    r = login_raw(raw, srv)
    for i, spelling in enumerate(["INBOX", "inbox"]):
        _, tagged = r.cmd(f"d{i}", f"DELETE {spelling}")
        assert tagged.startswith(f"d{i} NO".encode()), tagged
    ok(r.cmd("s", "SELECT INBOX")[1], "s")


def test_delete_with_children(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE delp/kid")[1], "c")
    _, tagged = r.cmd("d", "DELETE delp")
    assert tagged.startswith(b"d NO [HASCHILDREN]"), tagged
    ok(r.cmd("d2", "DELETE delp/kid")[1], "d2")
    ok(r.cmd("d3", "DELETE delp")[1], "d3")
    assert names(r, "l", "", "delp*") == {}


def test_delete_selected_mailbox(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE del-sel")[1], "c")
    ok(r.cmd("s", "SELECT del-sel")[1], "s")
    _, tagged = r.cmd("d", "DELETE del-sel")
    # Either refused or allowed; if allowed the mailbox must be gone.
    if tagged.startswith(b"d OK"):
        assert names(r, "l", "", "del-sel") == {}
    else:
        assert tagged.startswith(b"d NO"), tagged


# --- RENAME ------------------------------------------------------------------------------


def test_rename_moves_children(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ren-a/x/y")[1], "c")
    append_raw(r, "ap", "ren-a/x", msg("kid"))
    _, tagged = r.cmd("r", "RENAME ren-a ren-b")
    ok(tagged, "r")
    assert names(r, "l", "", "ren-a*") == {}
    assert set(names(r, "l2", "", "ren-b*")) == {"ren-b", "ren-b/x", "ren-b/x/y"}
    untagged, tagged = r.cmd("st", "STATUS ren-b/x (MESSAGES)")
    ok(tagged, "st")
    assert status_items(untagged[0]) == ("ren-b/x", {"MESSAGES": 1})


def test_rename_errors(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ren-e1")[1], "c")
    ok(r.cmd("c2", "CREATE ren-e2")[1], "c2")
    _, tagged = r.cmd("r", "RENAME ren-e1 ren-e2")
    assert tagged.startswith(b"r NO [ALREADYEXISTS]"), tagged
    _, tagged = r.cmd("r2", "RENAME ren-nothere ren-e3")
    assert tagged.startswith(b"r2 NO [NONEXISTENT]"), tagged
    assert names(r, "l", "", "ren-e3") == {}


def test_rename_keeps_uidvalidity_rule(srv, raw):
    # RFC 9051 §6.3.6: the renamed mailbox keeps its messages; a new mailbox with the
    # old name must not reuse the old UIDVALIDITY with different messages.
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ren-u1")[1], "c")
    untagged, _ = r.cmd("st", "STATUS ren-u1 (UIDVALIDITY)")
    v1 = status_items(untagged[0])[1]["UIDVALIDITY"]
    append_raw(r, "a", "ren-u1", msg())
    ok(r.cmd("r", "RENAME ren-u1 ren-u2")[1], "r")
    ok(r.cmd("c2", "CREATE ren-u1")[1], "c2")
    untagged, _ = r.cmd("st2", "STATUS ren-u1 (UIDVALIDITY MESSAGES UIDNEXT)")
    _, st = status_items(untagged[0])
    assert st["MESSAGES"] == 0
    assert st["UIDVALIDITY"] != v1 or st["UIDNEXT"] > 1, st


def test_rename_inbox(server, raw):
    r = login_raw(raw, server)
    for i in range(3):
        append_raw(r, f"a{i}", "INBOX", msg(f"m{i}"))
    ok(r.cmd("r", "RENAME INBOX Old-Inbox")[1], "r")
    untagged, tagged = r.cmd("st", "STATUS Old-Inbox (MESSAGES)")
    ok(tagged, "st")
    assert status_items(untagged[0])[1] == {"MESSAGES": 3}
    untagged, tagged = r.cmd("st2", "STATUS INBOX (MESSAGES UIDNEXT)")
    ok(tagged, "st2")
    st = status_items(untagged[0])[1]
    assert st["MESSAGES"] == 0, st
    untagged, tagged = r.cmd("s", "SELECT INBOX")
    ok(tagged, "s")
    assert b"* 0 EXISTS\r\n" in untagged
    # New mail still arrives in INBOX.
    untagged, tagged = append_raw(r, "a9", "INBOX", msg("after"))
    ok(tagged, "a9")
    untagged2, tagged = r.cmd("n", "NOOP")
    assert b"* 1 EXISTS\r\n" in untagged + untagged2, (untagged, untagged2)


# --- SUBSCRIBE / LSUB / LIST-EXTENDED -------------------------------------------------------


def test_subscribe_unsubscribe_lsub(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE sub-a")[1], "c")
    ok(r.cmd("c2", "CREATE sub-b")[1], "c2")
    ok(r.cmd("s", "SUBSCRIBE sub-a")[1], "s")
    untagged, tagged = r.cmd("l", 'LSUB "" "sub-*"')
    ok(tagged, "l")
    assert set(lists(untagged, "LSUB")) == {"sub-a"}, untagged
    untagged, tagged = r.cmd("l2", 'LIST (SUBSCRIBED) "" "sub-*"')
    ok(tagged, "l2")
    got = lists(untagged)
    assert set(got) == {"sub-a"} and "\\Subscribed" in got["sub-a"], got
    untagged, tagged = r.cmd("l3", 'LIST "" "sub-*" RETURN (SUBSCRIBED)')
    ok(tagged, "l3")
    got = lists(untagged)
    assert "\\Subscribed" in got["sub-a"] and "\\Subscribed" not in got["sub-b"], got
    ok(r.cmd("u", "UNSUBSCRIBE sub-a")[1], "u")
    untagged, tagged = r.cmd("l4", 'LSUB "" "sub-*"')
    ok(tagged, "l4")
    assert lists(untagged, "LSUB") == {}, untagged


def test_subscribed_deleted_mailbox_is_nonexistent(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE subdel")[1], "c")
    ok(r.cmd("s", "SUBSCRIBE subdel")[1], "s")
    ok(r.cmd("d", "DELETE subdel")[1], "d")
    untagged, tagged = r.cmd("l", 'LIST (SUBSCRIBED) "" "subdel"')
    ok(tagged, "l")
    got = lists(untagged)
    # DELETE does not unsubscribe (RFC 9051 §6.3.9), and LIST (SUBSCRIBED) shows
    # a subscribed name that does not exist as \NonExistent (RFC 5258 §3.1).
    assert got == {"subdel": {"\\Subscribed", "\\NonExistent"}}, got
    untagged, tagged = r.cmd("l2", 'LSUB "" "subdel"')
    ok(tagged, "l2")
    assert set(lists(untagged, "LSUB")) == {"subdel"}, untagged


# --- LIST patterns -------------------------------------------------------------------------------


def test_list_patterns(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE pat/one/deep")[1], "c")
    ok(r.cmd("c2", "CREATE pat/two")[1], "c2")
    assert set(names(r, "a", "", "pat/*")) == {"pat/one", "pat/one/deep", "pat/two"}
    assert set(names(r, "b", "", "pat/%")) == {"pat/one", "pat/two"}
    assert set(names(r, "c3", "pat/", "%")) == {"pat/one", "pat/two"}
    assert set(names(r, "d", "pat/", "*")) == {"pat/one", "pat/one/deep", "pat/two"}
    assert set(names(r, "e", "", "pat/%/%")) == {"pat/one/deep"}
    assert set(names(r, "f", "", "p%t")) == {"pat"}
    top = names(r, "g", "", "%")
    assert "pat" in top and "INBOX" in top and "pat/one" not in top
    everything = names(r, "h", "", "*")
    assert {"INBOX", "pat", "pat/one", "pat/one/deep", "pat/two"} <= set(everything)
    assert names(r, "i", "", "nomatch*") == {}


def test_list_empty_pattern_gives_delimiter(srv, raw):
    r = login_raw(raw, srv)
    untagged, tagged = r.cmd("l", 'LIST "" ""')
    ok(tagged, "l")
    assert untagged == [b'* LIST (\\Noselect) "/" ""\r\n'], untagged


def test_list_children_return_option(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE kids/a")[1], "c")
    ok(r.cmd("c2", "CREATE nokids")[1], "c2")
    untagged, tagged = r.cmd("l", 'LIST "" "%" RETURN (CHILDREN)')
    ok(tagged, "l")
    got = lists(untagged)
    assert "\\HasChildren" in got["kids"], got
    assert "\\HasNoChildren" in got["nokids"], got


def test_list_status(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE ls-box")[1], "c")
    m1, m2 = msg("one"), msg("two", body="x" * 100 + "\r\n")
    append_raw(r, "a1", "ls-box", m1, flags="\\Seen")
    append_raw(r, "a2", "ls-box", m2)
    untagged, tagged = r.cmd(
        "l", 'LIST "" "ls-box" RETURN (CHILDREN SUBSCRIBED STATUS (MESSAGES UNSEEN SIZE))'
    )
    ok(tagged, "l")
    assert len(untagged) == 2, untagged
    assert untagged[0].startswith(b"* LIST "), untagged
    attrs, _, name, _ = parse_list(untagged[0])
    assert name == "ls-box" and "\\HasNoChildren" in attrs
    # RFC 5819: the STATUS follows its LIST line.
    assert status_items(untagged[1]) == (
        "ls-box",
        {"MESSAGES": 2, "UNSEEN": 1, "SIZE": len(m1) + len(m2)},
    )


def test_namespace(srv, raw):
    r = login_raw(raw, srv)
    untagged, tagged = r.cmd("n", "NAMESPACE")
    ok(tagged, "n")
    assert untagged == [b'* NAMESPACE (("" "/")) NIL NIL\r\n'], untagged


# --- STATUS ---------------------------------------------------------------------------------


def test_status(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE stat-box")[1], "c")
    untagged, tagged = r.cmd("s0", "STATUS stat-box (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)")
    ok(tagged, "s0")
    name, st = status_items(untagged[0])
    assert name == "stat-box"
    assert st["MESSAGES"] == 0 and st["UNSEEN"] == 0 and st["DELETED"] == 0 and st["SIZE"] == 0
    assert st["UIDNEXT"] >= 1 and st["UIDVALIDITY"] > 0
    msgs = [msg("a"), msg("b", body="bb\r\n"), msg("c", body="ccc\r\n")]
    append_raw(r, "a1", "stat-box", msgs[0], flags="\\Seen")
    append_raw(r, "a2", "stat-box", msgs[1], flags="\\Deleted")
    append_raw(r, "a3", "stat-box", msgs[2])
    untagged, tagged = r.cmd("s1", "STATUS stat-box (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)")
    ok(tagged, "s1")
    assert len(untagged) == 1, untagged
    _, st2 = status_items(untagged[0])
    assert st2 == {
        "MESSAGES": 3,
        "UIDNEXT": st["UIDNEXT"] + 3,
        "UIDVALIDITY": st["UIDVALIDITY"],
        "UNSEEN": 2,
        "DELETED": 1,
        "SIZE": sum(map(len, msgs)),
    }
    # Only the items asked for come back (in any order).
    untagged, tagged = r.cmd("s2", "STATUS stat-box (UNSEEN MESSAGES)")
    ok(tagged, "s2")
    assert status_items(untagged[0]) == ("stat-box", {"UNSEEN": 2, "MESSAGES": 3}), untagged


def test_status_errors(srv, raw):
    r = login_raw(raw, srv)
    _, tagged = r.cmd("s", "STATUS no-such (MESSAGES)")
    assert tagged.startswith(b"s NO [NONEXISTENT]") or tagged.startswith(b"s NO"), tagged
    _, tagged = r.cmd("s2", "STATUS INBOX (BOGUS)")
    assert tagged.startswith(b"s2 BAD"), tagged
    _, tagged = r.cmd("s3", "STATUS INBOX ()")
    assert tagged.startswith(b"s3 BAD"), tagged


# --- SELECT / EXAMINE / ENABLE ------------------------------------------------------------


def select_box(r, tag, cmd):
    untagged, tagged = r.cmd(tag, cmd)
    ok(tagged, tag)
    return untagged, tagged


def test_select_rev1(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE sel1")[1], "c")
    append_raw(r, "a1", "sel1", msg("x"), flags="\\Seen")
    append_raw(r, "a2", "sel1", msg("y"))
    append_raw(r, "a3", "sel1", msg("z"))
    untagged, _ = r.cmd("st", "STATUS sel1 (UIDVALIDITY UIDNEXT)")
    st = status_items(untagged[0])[1]
    untagged, tagged = select_box(r, "s", "SELECT sel1")
    assert tagged.startswith(b"s OK [READ-WRITE]"), tagged
    text = b"".join(untagged).decode()
    assert re.search(r"^\* FLAGS \(([^)]*)\)\r$", text, re.M), text
    flags = set(re.search(r"^\* FLAGS \(([^)]*)\)", text, re.M).group(1).split())
    assert {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"} <= flags
    perm = re.search(r"^\* OK \[PERMANENTFLAGS \(([^)]*)\)\]", text, re.M)
    assert perm, text
    assert "\\*" in perm.group(1).split() and "\\Seen" in perm.group(1).split()
    assert "* 3 EXISTS\r\n" in text
    # RFC 3501: RECENT is sent to IMAP4rev1 clients; UNSEEN gives the first unseen.
    assert re.search(r"^\* \d+ RECENT\r$", text, re.M), text
    assert "* OK [UNSEEN 2]" in text, text
    assert f"* OK [UIDVALIDITY {st['UIDVALIDITY']}]" in text
    assert f"* OK [UIDNEXT {st['UIDNEXT']}]" in text
    assert "* LIST" not in text


def test_examine_is_read_only(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE exa")[1], "c")
    append_raw(r, "a", "exa", msg())
    untagged, tagged = select_box(r, "e", "EXAMINE exa")
    assert tagged.startswith(b"e OK [READ-ONLY]"), tagged
    text = b"".join(untagged).decode()
    assert "* 1 EXISTS\r\n" in text
    # A read-only session may not change flags (RFC 9051 §6.3.3).
    perm = re.search(r"\[PERMANENTFLAGS \(([^)]*)\)\]", text)
    assert perm is None or perm.group(1).strip() == "", text
    _, tagged = r.cmd("st", "STORE 1 +FLAGS (\\Flagged)")
    assert tagged.startswith(b"st NO"), tagged
    # EXAMINE does not set \Seen on fetch of the body.
    r.cmd("f", "FETCH 1 BODY[]")
    untagged, _ = r.cmd("f2", "FETCH 1 FLAGS")
    assert b"\\Seen" not in b"".join(untagged), untagged


def test_select_nonexistent(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE sel-ok")[1], "c")
    ok(r.cmd("s", "SELECT sel-ok")[1], "s")
    _, tagged = r.cmd("s2", "SELECT no-such-mailbox")
    assert tagged.startswith(b"s2 NO"), tagged
    # A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
    _, tagged = r.cmd("f", "FETCH 1 FLAGS")
    assert tagged.startswith(b"f BAD"), tagged


def test_reselect_sends_closed(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    untagged, tagged = select_box(r, "s2", "SELECT Drafts")
    # RFC 9051 §6.3.2 (and QRESYNC): an untagged OK [CLOSED] precedes the new mailbox's data
    # when a mailbox was selected. Dovecot sends it to all clients.
    assert untagged[0].startswith(b"* OK [CLOSED]"), untagged


def test_enable(srv, raw):
    r = login_raw(raw, srv)
    untagged, tagged = r.cmd("e", "ENABLE IMAP4rev2")
    ok(tagged, "e")
    assert untagged == [b"* ENABLED IMAP4rev2\r\n"], untagged
    untagged, tagged = r.cmd("e2", "ENABLE UTF8=ACCEPT X-UNKNOWN")
    ok(tagged, "e2")
    assert untagged == [b"* ENABLED UTF8=ACCEPT\r\n"], untagged
    untagged, tagged = r.cmd("e3", "ENABLE X-UNKNOWN")
    ok(tagged, "e3")
    # Nothing newly enabled: an empty ENABLED response or none at all.
    assert untagged in ([], [b"* ENABLED\r\n"]), untagged


def test_enable_before_login_is_bad(srv, raw):
    r = raw(srv.imap_port)
    _, tagged = r.cmd("e", "ENABLE IMAP4rev2")
    assert tagged.startswith(b"e BAD"), tagged


def test_select_rev2(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE sel2/kid")[1], "c")
    append_raw(r, "a", "sel2", msg(), flags="\\Seen")
    append_raw(r, "a2", "sel2", msg("b"))
    ok(r.cmd("e", "ENABLE IMAP4rev2")[1], "e")
    untagged, tagged = select_box(r, "s", "SELECT sel2")
    assert tagged.startswith(b"s OK [READ-WRITE]"), tagged
    text = b"".join(untagged).decode()
    assert "* 2 EXISTS\r\n" in text
    # RFC 9051 §6.3.2: no RECENT, no UNSEEN code; a LIST response for the mailbox instead.
    assert not re.search(r"^\* \d+ RECENT", text, re.M), text
    assert "[UNSEEN " not in text, text
    lst = [u for u in untagged if u.startswith(b"* LIST ")]
    assert len(lst) == 1, untagged
    attrs, delim, name, _ = parse_list(lst[0])
    assert name == "sel2" and delim == "/"
    assert "* OK [UIDVALIDITY " in text and "* OK [UIDNEXT 3]" in text, text


def test_utf8_mailbox_names(srv, raw):
    r = login_raw(raw, srv)
    # Without UTF8=ACCEPT, names are modified UTF-7 (RFC 3501 §5.1.3).
    ok(r.cmd("c", "CREATE Entw&APw-rfe")[1], "c")
    assert "Entw&APw-rfe" in names(r, "l", "", "Entw*")
    ok(r.cmd("e", "ENABLE UTF8=ACCEPT")[1], "e")
    untagged, tagged = r.cmd("l2", 'LIST "" "Entw*"')
    ok(tagged, "l2")
    assert lists(untagged) != {}, untagged
    assert "Entwürfe" in lists([u.decode().encode() for u in untagged]) or "Entwürfe" in b"".join(
        untagged
    ).decode("utf-8"), untagged


def test_list_multiple_patterns(srv, raw):
    r = login_raw(raw, srv)
    untagged, tagged = r.cmd("l", 'LIST "" ("INBOX" "Drafts" "Sent")')
    ok(tagged, "l")
    assert set(lists(untagged)) == {"INBOX", "Drafts", "Sent"}, untagged


def test_names_with_spaces_and_literals(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", 'CREATE "My Folder"')[1], "c")
    r.send(b"c2 CREATE {8}\r\n")
    assert r.line().startswith(b"+"), "no continuation for a literal mailbox name"
    r.send(b"lit\"name\r\n")
    ok(r.until("c2")[1], "c2")
    got = names(r, "l", "", "*")
    assert "My Folder" in got and 'lit"name' in got, got
    untagged, tagged = r.cmd("s", 'SELECT "My Folder"')
    ok(tagged, "s")
    ok(r.cmd("r", 'RENAME "My Folder" "Your Folder"')[1], "r")
    got = names(r, "l2", "", "*Folder")
    assert set(got) == {"Your Folder"}, got


def test_rename_to_inbox_refused(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE not-inbox")[1], "c")
    _, tagged = r.cmd("r", "RENAME not-inbox INBOX")
    assert tagged.startswith(b"r NO"), tagged
    assert "not-inbox" in names(r, "l", "", "not-inbox")


def test_status_of_selected_mailbox(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE stsel")[1], "c")
    append_raw(r, "a", "stsel", msg())
    ok(r.cmd("s", "SELECT stsel")[1], "s")
    untagged, tagged = r.cmd("st", "STATUS stsel (MESSAGES UIDNEXT)")
    ok(tagged, "st")
    assert status_items([u for u in untagged if u.startswith(b"* STATUS")][0])[1] == {"MESSAGES": 1, "UIDNEXT": 2}


def test_rev2_search_answers_esearch(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE rev2s")[1], "c")
    append_raw(r, "a1", "rev2s", msg("a"), flags="\\Seen")
    append_raw(r, "a2", "rev2s", msg("b"))
    append_raw(r, "a3", "rev2s", msg("c"), flags="\\Seen")
    ok(r.cmd("e", "ENABLE IMAP4rev2")[1], "e")
    ok(r.cmd("s", "SELECT rev2s")[1], "s")
    # RFC 9051 §6.4.4 / §7.3.4: IMAP4rev2 has no SEARCH response; a SEARCH
    # without RETURN is answered by ESEARCH with ALL.
    untagged, tagged = r.cmd("q", "SEARCH SEEN")
    ok(tagged, "q")
    assert untagged == [b'* ESEARCH (TAG "q") ALL 1,3\r\n'], untagged
    untagged, tagged = r.cmd("q2", "UID SEARCH SEEN")
    ok(tagged, "q2")
    assert untagged == [b'* ESEARCH (TAG "q2") UID ALL 1,3\r\n'], untagged
    untagged, tagged = r.cmd("q3", "SEARCH DRAFT")
    ok(tagged, "q3")
    assert untagged == [b'* ESEARCH (TAG "q3")\r\n'], untagged


def test_rev2_no_recent_in_responses(srv, raw):
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE rev2r")[1], "c")
    ok(r.cmd("e", "ENABLE IMAP4rev2")[1], "e")
    ok(r.cmd("s", "SELECT rev2r")[1], "s")
    untagged, tagged = append_raw(r, "a", "rev2r", msg())
    ok(tagged, "a")
    untagged2, _ = r.cmd("n", "NOOP")
    text = b"".join(untagged + untagged2)
    assert b"* 1 EXISTS\r\n" in text, text
    assert b"RECENT" not in text, text


def test_inbox_children_attribute(server, raw):
    r = login_raw(raw, server)
    assert "\\HasNoChildren" in names(r, "l", "", "INBOX")["INBOX"]
    ok(r.cmd("c", "CREATE INBOX/sub")[1], "c")
    assert "\\HasChildren" in names(r, "l2", "", "INBOX")["INBOX"]
    assert set(names(r, "l3", "", "INBOX*")) == {"INBOX", "INBOX/sub"}


def test_rename_creates_superiors(srv, raw):
    # RFC 9051 §6.3.6: superior names of the new name are created as needed.
    r = login_raw(raw, srv)
    ok(r.cmd("c", "CREATE rsup")[1], "c")
    append_raw(r, "a", "rsup", msg())
    ok(r.cmd("r", "RENAME rsup rnew/level/leaf")[1], "r")
    got = names(r, "l", "", "rnew*")
    assert set(got) == {"rnew", "rnew/level", "rnew/level/leaf"}, got
    untagged, _ = r.cmd("st", "STATUS rnew/level/leaf (MESSAGES)")
    assert status_items(untagged[0])[1] == {"MESSAGES": 1}
