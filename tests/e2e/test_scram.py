"""SCRAM-SHA-256 against a client no one here wrote: Python's `scramp`,
driven through imaplib's AUTHENTICATE (and the server's signature checked
by scramp)."""

import imaplib
import os

import pytest

if os.environ.get("CI") == "true":
    import scramp
else:
    scramp = pytest.importorskip("scramp", reason="pip install scramp")


def scram_login(server, user, password):
    client = scramp.ScramClient(["SCRAM-SHA-256"], user, password)
    steps = iter(
        [
            lambda _: client.get_client_first().encode(),
            lambda data: (client.set_server_first(data.decode()), client.get_client_final())[1].encode(),
            lambda data: (client.set_server_final(data.decode()), b"")[1],
        ]
    )
    c = server.connect("starttls")
    typ, data = c.authenticate("SCRAM-SHA-256", lambda data: next(steps)(data))
    return c, typ, data


def test_scramp_logs_in_and_verifies_the_server(server):
    c, typ, data = scram_login(server, "alice", "alice-secret")
    assert typ == "OK", data
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def test_scramp_with_a_wrong_password_fails(make_server):
    srv = make_server(extra="[auth]\nfailure_delay_ms = 10\n")
    with pytest.raises(imaplib.IMAP4.error):
        scram_login(srv, "alice", "not her password")
