"""COMPRESS=DEFLATE (RFC 4978) with Python's imaplib (through a small
deflate wrapper: imaplib has no COMPRESS of its own), over STARTTLS and
implicit TLS, with IDLE updates arriving compressed, and the refusals."""

import imaplib
import socket
import zlib

import pytest

from conftest import USERS, Raw

PW = USERS["alice"]
# imaplib dispatches on a table of known commands and states.
imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class DeflateIMAP(imaplib.IMAP4):
    """imaplib after COMPRESS DEFLATE: raw deflate both ways, a sync flush
    after every command, as RFC 4978 asks of clients too."""

    wire_in = 0
    z = None

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self.zin = zlib.decompressobj(wbits=-15)
            self.zout = zlib.compressobj(wbits=-15)
            self.zbuf = b""
            self.z = True
        return typ, data

    def send(self, data):
        if self.z:
            data = self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("server closed the connection")
        self.wire_in += len(chunk)
        self.zbuf += self.zin.decompress(chunk)

    def read(self, size):
        if not self.z:
            return super().read(size)
        while len(self.zbuf) < size:
            self._fill()
        out, self.zbuf = self.zbuf[:size], self.zbuf[size:]
        return out

    def readline(self):
        if not self.z:
            return super().readline()
        while b"\n" not in self.zbuf:
            self._fill()
        i = self.zbuf.index(b"\n") + 1
        out, self.zbuf = self.zbuf[:i], self.zbuf[i:]
        return out


class DeflateIMAPSSL(DeflateIMAP, imaplib.IMAP4_SSL):
    pass


def big_message(i):
    line = f"Line {i}: the quick brown fox jumps over the lazy dog again and again\r\n"
    return f"Subject: big {i}\r\nFrom: a@example.org\r\n\r\n".encode() + line.encode() * 2000


def test_compress_over_starttls_with_fetch_append_and_idle(server):
    c = DeflateIMAP("127.0.0.1", server.imap_port)
    c.starttls(server.tls_context())
    c.login("alice", PW)
    assert b" COMPRESS=DEFLATE" in c.capability()[1][0]
    typ, data = c.compress()
    assert typ == "OK" and data == [b"DEFLATE active"], data
    # Everything now goes compressed, both ways.
    typ, caps = c.capability()
    assert typ == "OK" and b"COMPRESS=DEFLATE" not in caps[0], caps
    for i in range(3):
        assert c.append("INBOX", "(\\Seen)", None, big_message(i))[0] == "OK"
    c.select("INBOX")
    before = c.wire_in
    typ, data = c.fetch("1:3", "(BODY.PEEK[])")
    assert typ == "OK"
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    assert bodies == [big_message(i) for i in range(3)]
    plain = sum(len(b) for b in bodies)
    assert c.wire_in - before < plain / 10, (c.wire_in - before, plain)
    # IDLE: an update from another session arrives (flushed) at once.
    c.send(b"i1 IDLE\r\n")
    assert c.readline().startswith(b"+")
    other = server.login("alice")
    other.append("INBOX", None, None, b"Subject: ping\r\n\r\nhello\r\n")
    other.logout()
    c.sock.settimeout(20)
    line = c.readline()
    while b"EXISTS" not in line:
        line = c.readline()
    assert line == b"* 4 EXISTS\r\n", line
    c.send(b"DONE\r\n")
    line = c.readline()
    while not line.startswith(b"i1 "):
        line = c.readline()
    assert line.startswith(b"i1 OK"), line
    c.logout()


def test_compress_over_implicit_tls_and_refusals(server):
    c = DeflateIMAPSSL("127.0.0.1", server.imaps_port, ssl_context=server.tls_context())
    c.login("alice", PW)
    assert c.compress()[0] == "OK"
    typ, data = c._simple_command("COMPRESS", "DEFLATE")
    assert typ == "NO" and data[0].startswith(b"[COMPRESSIONACTIVE]"), (typ, data)
    assert c.select("INBOX")[0] == "OK"
    assert c.noop()[0] == "OK"
    c.logout()

    r = Raw(server.imap_port)
    _, t = r.cmd("a", "COMPRESS DEFLATE")
    assert t.startswith(b"a BAD"), t  # before login
    r.cmd("l", f"LOGIN alice {PW}")
    _, t = r.cmd("b", "COMPRESS LZMA")
    assert t.startswith(b"b BAD"), t
    _, t = r.cmd("c", "COMPRESS")
    assert t.startswith(b"c BAD"), t
    # A broken compressed stream ends that connection only.
    _, t = r.cmd("d", "COMPRESS DEFLATE")
    assert t == b"d OK DEFLATE active\r\n", t
    r.send(b"\xff" * 64)
    r.sock.settimeout(20)
    try:
        assert r.sock.recv(100) == b""
    except (ConnectionResetError, socket.timeout) as e:
        assert isinstance(e, ConnectionResetError), e
    r.close()
    ok = server.login("alice")
    assert ok.noop()[0] == "OK"
    ok.logout()


def test_compress_can_be_disabled(make_server):
    srv = make_server(extra='[imap]\ndisable = ["COMPRESS"]\n')
    c = srv.login("alice")
    caps = c.capability()[1][0]
    assert b"COMPRESS=DEFLATE" not in caps and b" CONDSTORE" in caps, caps
    with pytest.raises(imaplib.IMAP4.error, match="not enabled"):
        c._simple_command("COMPRESS", "DEFLATE")
    c.logout()


def test_condstore_can_be_disabled(make_server):
    srv = make_server(extra='[imap]\ndisable = ["CONDSTORE"]\n')
    r = Raw(srv.imap_port)
    r.cmd("l", f"LOGIN alice {PW}")
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b"CONDSTORE" not in caps[0] and b"QRESYNC" not in caps[0], caps
    en, _ = r.cmd("e", "ENABLE CONDSTORE QRESYNC")
    assert en == [b"* ENABLED\r\n"], en
    _, t = r.cmd("s", "SELECT INBOX (CONDSTORE)")
    assert t.startswith(b"s BAD"), t
    r.cmd("s2", "SELECT INBOX")
    for tag, cmd in [
        ("f", "FETCH 1:* (MODSEQ)"),
        ("g", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1)"),
        ("h", "STORE 1:* (UNCHANGEDSINCE 5) +FLAGS (\\Seen)"),
        ("i", "SEARCH MODSEQ 1"),
        ("j", "STATUS INBOX (HIGHESTMODSEQ)"),
    ]:
        _, t = r.cmd(tag, cmd)
        assert t.startswith(f"{tag} BAD".encode()), (cmd, t)
    r.close()
