"""WITHIN (RFC 5032): SEARCH OLDER/YOUNGER by the age of the internal date
in seconds, in SEARCH, ESEARCH and SORT; bad intervals; `[imap] disable`."""

import time

from test_imap_util import append_raw, assert_not_enabled, login_raw, ok


def mail(mid):
    return f"From: bob@example.org\r\nSubject: {mid}\r\nMessage-ID: <{mid}>\r\n\r\nbody\r\n".encode()


def imap_time(t, zone="+0000"):
    """An IMAP date-time for unix time `t`, written in `zone` (+HHMM)."""
    sign = 1 if zone[0] == "+" else -1
    offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    return time.strftime("%d-%b-%Y %H:%M:%S ", time.gmtime(t + offset)) + zone


def test_older_and_younger_by_internal_date(server, raw):
    r = login_raw(raw, server)
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"WITHIN" in caps[0].split(), caps
    now = time.time()
    dates = [
        imap_time(now - 3 * 86400),  # three days old
        imap_time(now - 3600, "-0500"),  # an hour old, written in another zone
        "",  # appended now: the internal date is the arrival
    ]
    for i, d in enumerate(dates):
        ok(append_raw(r, f"a{i}", "INBOX", mail(f"w{i}@x"), date=d)[1], f"a{i}")
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    expect = {
        "SEARCH YOUNGER 7200": [b"* SEARCH 2 3\r\n"],
        "SEARCH OLDER 7200": [b"* SEARCH 1\r\n"],
        "SEARCH YOUNGER 604800": [b"* SEARCH 1 2 3\r\n"],
        "SEARCH OLDER 604800": [b"* SEARCH\r\n"],
        "SEARCH OLDER 600 YOUNGER 86400": [b"* SEARCH 2\r\n"],
        "SEARCH NOT YOUNGER 600": [b"* SEARCH 1 2\r\n"],
        "UID SEARCH RETURN (COUNT) YOUNGER 7200": [b'* ESEARCH (TAG "q6") UID COUNT 2\r\n'],
        "SORT (REVERSE ARRIVAL) UTF-8 OLDER 600": [b"* SORT 2 1\r\n"],
    }
    for i, (cmd, want) in enumerate(expect.items()):
        lines, t = r.cmd(f"q{i}", cmd)
        ok(t, f"q{i}")
        assert lines == want, (cmd, lines)
    for i, bad in enumerate(
        ["OLDER 0", "YOUNGER -5", "OLDER ten", "YOUNGER", "OLDER 4294967296", "YOUNGER 1.5"]
    ):
        lines, t = r.cmd(f"b{i}", f"SEARCH {bad}")
        assert t.startswith(f"b{i} BAD".encode()), (bad, t)
        assert lines == [], lines


def test_disabled_within_is_gone_and_bad(make_server, raw):
    srv = make_server('[imap]\ndisable = ["within"]\n')
    r = login_raw(raw, srv)
    caps, _ = r.cmd("c", "CAPABILITY")
    words = caps[0].split()
    assert b"WITHIN" not in words and b"SAVEDATE" in words, caps
    ok(append_raw(r, "a", "INBOX", mail("x@x"))[1], "a")
    ok(r.cmd("s", "SELECT INBOX")[1], "s")
    assert_not_enabled(
        r,
        "WITHIN",
        [
            ("q1", "SEARCH OLDER 10"),
            ("q2", "UID SEARCH OR SEEN YOUNGER 10"),
            ("q3", "SORT (DATE) UTF-8 NOT OLDER 10"),
        ],
    )
    lines, t = r.cmd("ok", "SEARCH SINCE 1-Jan-2000")
    ok(t, "ok")
    assert lines == [b"* SEARCH 1\r\n"], lines
