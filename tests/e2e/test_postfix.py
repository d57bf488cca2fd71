"""A real Postfix (Debian's package, run as a private instance on loopback)
in front of postcore: mail sent to Postfix's SMTP port reaches postcore
over LMTP and is read back over IMAP; Postfix's submission service
authenticates users through postcore's Dovecot-protocol auth socket."""

import os
import re
import shutil
import smtplib
import tempfile
import time
from email.message import EmailMessage

import pytest

from conftest import USERS, Server, free_port
from postfix_instance import DOMAIN, Postfix, available

WAIT = 30


@pytest.fixture(scope="module")
def stack():
    why = available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Postfix is required in CI: {why}")
        pytest.skip(f"{why}; to run: apt-get install postfix (as root)")
    # Postfix daemons drop to the postfix user and must reach the queue
    # and the auth socket, so the whole tree is world-searchable (pytest's
    # tmp_path sits under a 0700 directory).
    base = tempfile.mkdtemp(prefix="postcore-postfix-")
    os.chmod(base, 0o755)
    srv = pf = None
    try:
        lmtp_port = free_port()
        sock = os.path.join(base, "postcore", "auth.sock")
        srv = Server(
            os.path.join(base, "postcore"),
            extra=(
                'hostname = "store.example.test"\n'
                f'[auth]\nsocket = "{sock}"\nsocket_mode = "0666"\nfailure_delay_ms = 10\n'
                f'[[listener]]\naddress = "127.0.0.1:{lmtp_port}"\nprotocol = "lmtp"\ntls = "none"\n'
            ),
        )
        os.chmod(srv.base, 0o755)
        srv.start()
        pf = Postfix(os.path.join(base, "postfix"), lmtp_port, free_port(), free_port(), sock)
        try:
            pf.start()
        except RuntimeError as e:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"Postfix could not start here: {e}")
        yield srv, pf
    finally:
        try:
            if pf is not None:
                pf.stop()
        finally:
            if srv is not None:
                srv.stop()
            shutil.rmtree(base, ignore_errors=True)


def make_message(sender, to, subject, body):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(to)
    m["Subject"] = subject
    m["Message-ID"] = f"<{subject}@client.example.test>"
    m.set_content(body)
    return m


def wait_for(srv, pf, user, predicate, what):
    """Polls `user`'s INBOX over IMAP until a message satisfies `predicate`
    (given its raw bytes); returns that message."""
    deadline = time.time() + WAIT
    seen = []
    while True:
        c = srv.login(user, USERS[user])
        try:
            typ, data = c.select("INBOX", readonly=True)
            assert typ == "OK"
            seen = []
            if int(data[0]) > 0:
                typ, data = c.fetch("1:*", "(BODY.PEEK[])")
                assert typ == "OK", data
                seen = [d[1] for d in data if isinstance(d, tuple)]
        finally:
            c.logout()
        for raw in seen:
            if predicate(raw):
                return raw
        if time.time() > deadline:
            raise AssertionError(
                f"{what} did not reach {user} within {WAIT} s; INBOX has {len(seen)} messages\n"
                f"--- postfix log ---\n{pf.log()}\n--- postcore log ---\n{srv.log()[-4000:]}"
            )
        time.sleep(0.3)


def header_block(raw):
    return raw.split(b"\r\n\r\n", 1)[0]


def test_smtp_to_lmtp_to_imap(stack):
    srv, pf = stack
    sender = f"alice@{DOMAIN}"
    rcpts = [f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"nobody@{DOMAIN}"]
    body = "Delivered by Postfix over LMTP.\n.leading dot survives\n"
    msg = make_message(sender, rcpts, "via-postfix", body)
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=WAIT) as s:
        s.ehlo("client.example.test")
        refused = s.send_message(msg, from_addr=sender, to_addrs=rcpts)
    # Postfix queues for the whole domain; the unknown user is found only
    # when postcore answers its RCPT over LMTP.
    assert refused == {}

    def is_it(raw):
        return b"Subject: via-postfix" in raw

    for user in ("alice", "bob"):
        raw = wait_for(srv, pf, user, is_it, "the message")
        head = header_block(raw)
        # postcore's trace headers come first, then Postfix's Received.
        assert head.startswith(
            f"Return-Path: <{sender}>\r\nDelivered-To: {user}@{DOMAIN}\r\n".encode()
        ), head[:300]
        assert re.search(
            rb"Received: from mx\.example\.test \(\[127\.0\.0\.1\]\)\r\n\tby store\.example\.test with LMTP",
            head,
        ), head
        assert re.search(rb"Received: from client\.example\.test .*\r\n\tby mx\.example\.test \(Postfix\)", head, re.S), head
        text = raw.split(b"\r\n\r\n", 1)[1]
        assert text == b"Delivered by Postfix over LMTP.\r\n.leading dot survives\r\n", text

    # postcore's 550 for nobody makes Postfix bounce to the sender at once.
    def is_bounce(raw):
        return b"Undelivered Mail Returned to Sender" in raw and b"nobody@example.test" in raw

    bounce = wait_for(srv, pf, "alice", is_bounce, "the bounce for nobody@example.test")
    assert header_block(bounce).startswith(b"Return-Path: <>\r\n"), bounce[:300]
    assert re.search(rb"<nobody@example\.test>.*said: 550", bounce, re.S), bounce
    assert b"Status: 5." in bounce


def test_submission_auth_through_auth_socket(stack):
    srv, pf = stack
    with smtplib.SMTP("127.0.0.1", pf.submission_port, timeout=WAIT) as s:
        s.ehlo("laptop.example.test")
        assert "PLAIN" in s.esmtp_features.get("auth", "").split()
        # Without authentication the submission port relays nothing.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail(f"alice@{DOMAIN}", [f"bob@{DOMAIN}"], b"Subject: no\r\n\r\nno\r\n")
        s.rset()
        # AUTH PLAIN explicitly (login() would go on to try LOGIN too).
        s.user, s.password = "alice", "wrong password"
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth("PLAIN", s.auth_plain)
        assert e.value.smtp_code == 535
    with smtplib.SMTP("127.0.0.1", pf.submission_port, timeout=WAIT) as s:
        s.ehlo("laptop.example.test")
        s.user, s.password = "alice", USERS["alice"]
        code, _ = s.auth("PLAIN", s.auth_plain)
        assert code == 235
        msg = make_message(f"alice@{DOMAIN}", [f"bob@{DOMAIN}"], "submitted", "Sent after AUTH PLAIN.\n")
        assert s.send_message(msg) == {}

    raw = wait_for(srv, pf, "bob", lambda r: b"Subject: submitted" in r, "the submitted message")
    head = header_block(raw)
    assert head.startswith(f"Return-Path: <alice@{DOMAIN}>\r\nDelivered-To: bob@{DOMAIN}\r\n".encode()), head
    assert raw.endswith(b"\r\n\r\nSent after AUTH PLAIN.\r\n")
    # Postfix logged both answers it got from postcore.
    log = pf.log()
    assert re.search(r"SASL PLAIN authentication failed: .*sasl_username=alice", log), log
    assert re.search(r"sasl_method=PLAIN, sasl_username=alice", log), log
