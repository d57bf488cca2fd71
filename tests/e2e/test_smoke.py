"""The first thing a user does: start the server, log in, store and read a message."""


def test_login_append_fetch(server):
    c = server.login("alice")
    typ, data = c.select("INBOX")
    assert (typ, data) == ("OK", [b"0"])
    msg = b"From: Bob <bob@example.org>\r\nSubject: hi\r\n\r\nHello\r\n"
    typ, data = c.append("INBOX", None, None, msg)
    assert typ == "OK" and data[0].startswith(b"[APPENDUID ")
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == msg
    c.logout()
