"""PARTIAL (RFC 9394): paged SEARCH and SORT results, from the start or
the end, combined with SAVE, and the refusals."""

from conftest import USERS, Raw

PW = USERS["alice"]


def test_partial(server):
    c = server.login("alice")
    for i in range(20):
        assert c.append("INBOX", None, None, f"Subject: m{i}\r\n\r\nbody\r\n".encode())[0] == "OK"
    c.logout()
    r = Raw(server.imap_port)
    r.cmd("l", f'LOGIN alice "{PW}"')
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" PARTIAL" in caps[0]
    r.cmd("s", "SELECT INBOX")
    for tag, cmd, want in [
        ("a", "SEARCH RETURN (PARTIAL 1:5) ALL", b'* ESEARCH (TAG "a") PARTIAL (1:5 1:5)\r\n'),
        ("b", "UID SEARCH RETURN (PARTIAL -1:-3) ALL", b'* ESEARCH (TAG "b") UID PARTIAL (-1:-3 18:20)\r\n'),
        ("c", "SEARCH RETURN (PARTIAL 19:25) ALL", b'* ESEARCH (TAG "c") PARTIAL (19:25 19:20)\r\n'),
        ("d", "SEARCH RETURN (PARTIAL 30:40) ALL", b'* ESEARCH (TAG "d") PARTIAL (30:40 NIL)\r\n'),
        ("e", "SEARCH RETURN (COUNT PARTIAL 2:3) SUBJECT m1", b'* ESEARCH (TAG "e") COUNT 11 PARTIAL (2:3 11:12)\r\n'),
        ("f", "SORT RETURN (PARTIAL 1:3) (REVERSE SUBJECT) UTF-8 ALL", b'* ESEARCH (TAG "f") PARTIAL (1:3 10,9,8)\r\n'),
    ]:
        lines, t = r.cmd(tag, cmd)
        assert t.startswith(f"{tag} OK".encode()), (cmd, t)
        assert lines == [want], (cmd, lines)
    # SAVE keeps the window.
    r.cmd("g", "SEARCH RETURN (SAVE PARTIAL -2:-1) ALL")
    lines, _ = r.cmd("h", "FETCH $ (UID)")
    assert [l for l in lines if b"FETCH" in l] == [b"* 19 FETCH (UID 19)\r\n", b"* 20 FETCH (UID 20)\r\n"], lines
    for tag, cmd in [
        ("x1", "SEARCH RETURN (PARTIAL 1:5 ALL) ALL"),
        ("x2", "SEARCH RETURN (PARTIAL 0:5) ALL"),
        ("x3", "SEARCH RETURN (PARTIAL 1:-5) ALL"),
        ("x4", "SEARCH RETURN (PARTIAL 5) ALL"),
        ("x5", "SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL"),
    ]:
        _, t = r.cmd(tag, cmd)
        assert t.startswith(f"{tag} BAD".encode()), (cmd, t)
    r.close()
