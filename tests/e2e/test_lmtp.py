"""LMTP delivery (RFC 2033): per-recipient replies across shards, SIZE,
unknown users, +detail, PIPELINING, dot-stuffing, STARTTLS, trace headers
read back byte-exact over IMAP, and a delivery seen in IDLE."""

import re
import socket
import ssl
import time
import zlib

import pytest

from conftest import USERS, Raw, Server, free_port

LIMIT = 100000
MAX_RCPT = 5
WAIT = 10
USERS_LMTP = {**USERS, "carol@example.com": "carol pw"}


def home(name, shards=2):
    return zlib.crc32(name.encode()) % shards


def lmtp_server(base, detail_to_mailbox=False):
    port = free_port()
    s = Server(
        base,
        users=USERS_LMTP,
        extra=(
            f"hostname = \"mx.test\"\n"
            f"[limits]\nmax_literal_size = {LIMIT}\n"
            f"[lmtp]\nmax_recipients = {MAX_RCPT}\ndetail_delimiters = \"+\"\n"
            f"detail_to_mailbox = {'true' if detail_to_mailbox else 'false'}\n"
            f"[[listener]]\naddress = \"127.0.0.1:{port}\"\nprotocol = \"lmtp\"\ntls = \"starttls\"\n"
        ),
    )
    s.lmtp_port = port
    return s.start()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = lmtp_server(tmp_path_factory.mktemp("lmtp"))
    yield s
    s.stop()


class Lmtp:
    """A line-level LMTP client (smtplib reads one reply after DATA)."""

    def __init__(self, port, timeout=WAIT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """One (possibly multi-line) reply: (code, [texts])."""
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("server closed the connection")
            assert line.endswith(b"\r\n"), line
            lines.append(line[4:-2].decode())
            if line[3:4] == b" ":
                return int(line[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def lmtp(srv):
    opened = []

    def open_(server=srv, lhlo=True):
        c = Lmtp(server.lmtp_port)
        opened.append(c)
        if lhlo:
            code, _ = c.cmd("LHLO client.example")
            assert code == 250
        return c

    yield open_
    for c in opened:
        c.close()


def stuff(body):
    return re.sub(rb"(?m)^\.", b"..", body)


def message(subject, body=b"Hello.\r\n"):
    return (
        f"From: Sender <sender@example.org>\r\nTo: someone@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\n"
    ).encode() + body


def transaction(c, rcpts, data, sender="sender@example.org"):
    """Runs MAIL/RCPT/DATA; returns (rcpt replies, data replies)."""
    code, text = c.cmd(f"MAIL FROM:<{sender}>")
    assert (code, text) == (250, ["2.1.0 OK"]), text
    rcpt_replies = [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
    accepted = sum(1 for code, _ in rcpt_replies if code == 250)
    code, text = c.cmd("DATA")
    if accepted == 0:
        assert code == 503, text
        return rcpt_replies, []
    assert code == 354, text
    c.send(stuff(data) + b".\r\n")
    return rcpt_replies, [c.reply() for _ in range(accepted)]


def saved_uid(reply, address):
    code, text = reply
    assert code == 250, text
    m = re.fullmatch(rf"2\.0\.0 <{re.escape(address)}> Saved as UID (\d+)", text[0])
    assert m, text
    return int(m.group(1))


def fetch(server, user, uid, mailbox="INBOX"):
    c = server.login(user, USERS_LMTP[user])
    try:
        typ, _ = c.select(mailbox)
        assert typ == "OK", mailbox
        typ, data = c.uid("FETCH", str(uid), "(BODY.PEEK[])")
        assert typ == "OK" and data and data[0], data
        return data[0][1]
    finally:
        c.logout()


def trace_re(sender, rcpt, with_="LMTP"):
    return re.compile(
        (
            rf"Return-Path: <{re.escape(sender)}>\r\n"
            rf"Delivered-To: {re.escape(rcpt)}\r\n"
            r"Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n"
            rf"\tby mx\.test with {with_} id [0-9a-f]+\.\d+\.[0-9a-f]+\r\n"
            rf"\t\(envelope-from <{re.escape(sender)}>\)\r\n"
            rf"\tfor <{re.escape(rcpt)}>; "
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000\r\n"
        ).encode(),
        re.S,
    )


def check_copy(raw, sender, rcpt, original, with_="LMTP"):
    m = trace_re(sender, rcpt, with_).match(raw)
    assert m, raw[:600]
    assert raw[m.end():] == original


# --- greeting, LHLO, sequence errors ------------------------------------------------


def test_greeting_and_lhlo(srv, lmtp):
    c = lmtp(lhlo=False)
    assert c.greeting == (220, ["mx.test LMTP postcore ready"])
    code, lines = c.cmd("LHLO client.example")
    assert code == 250
    assert lines[0] == "mx.test"
    for ext in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "STARTTLS"):
        assert ext in lines, lines
    size = [int(l.split()[1]) for l in lines if l.startswith("SIZE ")]
    assert len(size) == 1 and 0 < size[0] <= LIMIT, lines
    # RFC 2033 §4.1: HELO and EHLO are not LMTP.
    assert c.cmd("HELO client.example")[0] == 500
    assert c.cmd("EHLO client.example")[0] == 500
    assert c.cmd("NOOP") == (250, ["2.0.0 OK"])
    assert c.cmd("VRFY alice")[0] == 252
    assert c.cmd("QUIT") == (221, ["2.0.0 mx.test Bye"])


def test_sequence_errors(lmtp):
    c = lmtp(lhlo=False)
    code, text = c.cmd("MAIL FROM:<a@b.example>")
    assert (code, text[0][:5]) == (503, "5.5.1"), text
    c.cmd("LHLO client.example")
    assert c.cmd("RCPT TO:<alice>")[0] == 503
    assert c.cmd("DATA")[0] == 503
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    code, text = c.cmd("RCPT TO:<nobody@example.com>")
    assert (code, text) == (550, ["5.1.1 <nobody@example.com> User unknown"])
    # No valid recipient: DATA fails with 503 (RFC 2033 §4.2).
    code, text = c.cmd("DATA")
    assert (code, text[0][:5]) == (503, "5.5.1"), text
    assert c.cmd("RSET") == (250, ["2.0.0 OK"])
    assert c.cmd("RCPT TO:<alice>")[0] == 503
    assert c.cmd("RCPT TO alice")[0] == 501


# --- delivery ----------------------------------------------------------------------


def test_delivery_is_byte_exact_with_trace_headers_and_unstuffed(srv, lmtp):
    body = (
        b"Line one\r\n.leading dot\r\n..two dots\r\n.\r\nx.\r\n"
        b"bare\nlf and 8bit \xc3\xa9\r\n"
    )
    original = message("exact", body)
    c = lmtp()
    _, replies = transaction(c, ["alice@example.com"], original)
    uid = saved_uid(replies[0], "alice@example.com")
    raw = fetch(srv, "alice", uid)
    # Stuffing is undone byte-exact; a bare LF is stored as CRLF, as IMAP and
    # POP3 present messages (docs/architecture.md, "Line ends").
    stored = original.replace(b"bare\nlf", b"bare\r\nlf")
    check_copy(raw, "sender@example.org", "alice@example.com", stored)


def test_multi_recipient_mixed_results_across_shards(srv, lmtp):
    assert home("alice") != home("bob"), "the test needs users on both shards"
    original = message("multi")
    c = lmtp()
    rcpts = ["alice@example.com", "nobody@example.com", "BOB@example.net", "carol@Example.COM"]
    rcpt_replies, replies = transaction(c, rcpts, original, sender="")
    assert [code for code, _ in rcpt_replies] == [250, 550, 250, 250], rcpt_replies
    assert rcpt_replies[1] == (550, ["5.1.1 <nobody@example.com> User unknown"])
    # One reply per accepted recipient, in RCPT order.
    assert len(replies) == 3
    for (user, address), reply in zip(
        [("alice", "alice@example.com"), ("bob", "BOB@example.net"), ("carol@example.com", "carol@Example.COM")],
        replies,
    ):
        uid = saved_uid(reply, address)
        check_copy(fetch(srv, user, uid), "", address, original)
    assert c.cmd("NOOP")[0] == 250
    log = srv.log()
    assert re.search(r'delivered user="bob" mailbox="INBOX" uid=\d+ size=\d+', log), log[-3000:]


def test_size_limits(srv, lmtp):
    c = lmtp()
    code, text = c.cmd(f"MAIL FROM:<a@b.example> SIZE={LIMIT + 1}")
    assert (code, text[0][:5]) == (552, "5.3.4"), text
    # An over-long number is too big too, not a syntax error.
    assert c.cmd("MAIL FROM:<a@b.example> SIZE=99999999999999999999999")[0] == 552
    big = message("oversized", (b"y" * 76 + b"\r\n") * (LIMIT // 78 + 100))
    assert len(big) > LIMIT
    _, replies = transaction(c, ["alice", "bob"], big)
    assert replies == [
        (552, ["5.3.4 <alice> Message too big"]),
        (552, ["5.3.4 <bob> Message too big"]),
    ]
    # The session stayed in step with the client and goes on.
    _, replies = transaction(c, ["alice"], message("aftertoobig"))
    uid = saved_uid(replies[0], "alice")
    assert b"Subject: aftertoobig" in fetch(srv, "alice", uid)
    imap = srv.login("alice")
    try:
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "SUBJECT", "oversized")
        assert typ == "OK" and data == [b""], data
    finally:
        imap.logout()


def test_max_recipients(lmtp):
    c = lmtp()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    for _ in range(MAX_RCPT):
        assert c.cmd("RCPT TO:<alice>")[0] == 250
    code, text = c.cmd("RCPT TO:<bob>")
    assert (code, text[0][:5]) == (452, "4.5.3"), text
    assert c.cmd("RSET")[0] == 250


def test_detail_goes_to_inbox_by_default(srv, lmtp):
    original = message("detail-inbox")
    c = lmtp()
    _, replies = transaction(c, ["alice+lists@example.com"], original)
    uid = saved_uid(replies[0], "alice+lists@example.com")
    check_copy(fetch(srv, "alice", uid), "sender@example.org", "alice+lists@example.com", original)


def test_detail_to_mailbox(tmp_path, lmtp):
    s = lmtp_server(tmp_path / "detail", detail_to_mailbox=True)
    try:
        c = lmtp(server=s)
        original = message("detail-box")
        _, replies = transaction(c, ["bob+Lists@example.com", "alice+a/b@example.com"], original)
        uid = saved_uid(replies[0], "bob+Lists@example.com")
        check_copy(fetch(s, "bob", uid, "Lists"), "sender@example.org", "bob+Lists@example.com", original)
        # A detail that is no usable mailbox name: INBOX.
        uid = saved_uid(replies[1], "alice+a/b@example.com")
        assert b"Subject: detail-box" in fetch(s, "alice", uid, "INBOX")
    finally:
        s.stop()


def test_pipelined_commands_are_answered_in_order(srv):
    c = Lmtp(srv.lmtp_port)
    original = message("pipelined", b"a\r\n.b\r\n")
    c.send(
        "LHLO client.example\r\nMAIL FROM:<p@example.org>\r\nRCPT TO:<alice>\r\n"
        "RCPT TO:<ghost>\r\nFOO\r\nRCPT TO:<bob>\r\nDATA\r\n"
    )
    code, lines = c.reply()
    assert code == 250 and "PIPELINING" in lines
    assert c.reply() == (250, ["2.1.0 OK"])
    assert c.reply() == (250, ["2.1.5 OK"])
    assert c.reply() == (550, ["5.1.1 <ghost> User unknown"])
    assert c.reply()[0] == 500
    assert c.reply() == (250, ["2.1.5 OK"])
    assert c.reply()[0] == 354
    c.send(stuff(original) + b".\r\nNOOP\r\nQUIT\r\n")
    uid_a = saved_uid(c.reply(), "alice")
    uid_b = saved_uid(c.reply(), "bob")
    assert c.reply() == (250, ["2.0.0 OK"])
    assert c.reply()[0] == 221
    assert c.f.readline() == b""
    c.close()
    check_copy(fetch(srv, "alice", uid_a), "p@example.org", "alice", original)
    check_copy(fetch(srv, "bob", uid_b), "p@example.org", "bob", original)


def test_starttls_then_delivery(srv, lmtp):
    c = lmtp()
    assert c.cmd("STARTTLS") == (220, ["2.0.0 Ready to start TLS"])
    ctx = srv.tls_context()
    ctx.check_hostname = False
    c.starttls(ctx)
    # Everything said before TLS is forgotten: LHLO again.
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    code, lines = c.cmd("LHLO client.example")
    assert code == 250 and "STARTTLS" not in lines, lines
    assert c.cmd("STARTTLS")[0] == 503
    original = message("overtls")
    _, replies = transaction(c, ["alice"], original)
    uid = saved_uid(replies[0], "alice")
    check_copy(fetch(srv, "alice", uid), "sender@example.org", "alice", original, with_="LMTPS")


def test_too_many_errors_close_the_connection(lmtp):
    c = lmtp()
    c.send("BOGUS\r\n" * 25)
    codes = []
    with pytest.raises(EOFError):
        while True:
            codes.append(c.reply()[0])
    assert codes == [500] * 20 + [421], codes


def test_long_line_is_refused_and_session_goes_on(lmtp):
    c = lmtp()
    c.send("NOOP " + "x" * 5000 + "\r\n")
    assert c.reply()[0] == 500
    assert c.cmd("NOOP") == (250, ["2.0.0 OK"])


def test_delivery_seen_in_idle(srv, lmtp):
    imap = Raw(srv.imap_port, timeout=WAIT)
    try:
        _, tagged = imap.cmd("l", f'LOGIN bob "{USERS["bob"]}"')
        assert tagged.startswith(b"l OK"), tagged
        untagged, tagged = imap.cmd("s", "SELECT INBOX")
        assert tagged.startswith(b"s OK"), tagged
        exists = [int(m.group(1)) for l in untagged if (m := re.match(rb"\* (\d+) EXISTS", l))]
        imap.send("i IDLE\r\n")
        assert imap.line().startswith(b"+ ")
        c = lmtp()
        _, replies = transaction(c, ["bob"], message("idle"))
        saved_uid(replies[0], "bob")
        deadline = time.time() + WAIT
        while time.time() < deadline:
            line = imap.line()
            if line == f"* {exists[0] + 1} EXISTS\r\n".encode():
                break
        else:
            pytest.fail("no EXISTS in IDLE after the delivery")
        imap.send("DONE\r\n")
        _, tagged = imap.until("i")
        assert tagged.startswith(b"i OK"), tagged
    finally:
        imap.close()


def test_smtplib_lmtp_client(srv):
    """Python's own LMTP client: LHLO, STARTTLS, one recipient per DATA
    (smtplib reads a single reply after DATA), refusals as exceptions."""
    import smtplib

    with smtplib.LMTP("127.0.0.1", srv.lmtp_port, timeout=WAIT) as s:
        ctx = srv.tls_context()
        ctx.check_hostname = False
        code, _ = s.starttls(context=ctx)
        assert code == 220
        assert s.ehlo()[0] == 250  # smtplib sends LHLO for LMTP
        assert s.has_extn("pipelining") and not s.has_extn("starttls")
        assert s.sendmail("py@example.org", ["bob@example.com"], message("smtplib")) == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("py@example.org", ["ghost@example.com"], message("nobody"))
        assert e.value.recipients["ghost@example.com"][0] == 550
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            # smtplib announces the size itself (SIZE=) when the server offers SIZE.
            s.sendmail("py@example.org", ["bob"], b"x" * (LIMIT + 1))
        assert e.value.smtp_code == 552
    imap = srv.login("bob")
    try:
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "SUBJECT", "smtplib")
        assert typ == "OK" and len(data[0].split()) == 1, data
        typ, data = imap.fetch(data[0], "(BODY.PEEK[HEADER.FIELDS (DELIVERED-TO RECEIVED)])")
        assert typ == "OK"
        head = data[0][1]
        assert b"Delivered-To: bob@example.com\r\n" in head, head
        assert b" with LMTPS id " in head, head
    finally:
        imap.logout()
