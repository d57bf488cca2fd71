"""UNAUTHENTICATE (RFC 8437): one connection logs in as several users in
turn (their home shards differ, so the connection moves between shards),
keeping TLS and COMPRESS, and forgetting each user's state."""

import zlib

from conftest import Raw

USERS = {f"user{i}": f"pw-{i}-secret" for i in range(6)}


class Deflated:
    """A Raw-like line reader over a deflate stream (after COMPRESS)."""

    def __init__(self, raw):
        self.raw = raw
        self.zin = zlib.decompressobj(wbits=-15)
        self.zout = zlib.compressobj(wbits=-15)
        self.buf = b""

    def cmd(self, tag, text):
        self.raw.sock.sendall(self.zout.compress(f"{tag} {text}\r\n".encode()) + self.zout.flush(zlib.Z_SYNC_FLUSH))
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.raw.sock.recv(65536)
                assert chunk, "closed"
                self.buf += self.zin.decompress(chunk)
            i = self.buf.index(b"\n") + 1
            line, self.buf = self.buf[:i], self.buf[i:]
            if line.startswith(f"{tag} ".encode()):
                return lines, line
            lines.append(line)


def seed(srv):
    for name, pw in USERS.items():
        c = srv.login(name, pw)
        assert c.append("INBOX", None, None, f"Subject: for {name}\r\n\r\nhi\r\n".encode())[0] == "OK"
        c.logout()


def check_as(conn, name):
    _, t = conn.cmd("l", f'LOGIN {name} "{USERS[name]}"')
    assert t.startswith(b"l OK"), t
    lines, t = conn.cmd("s", "SELECT INBOX")
    assert t.startswith(b"s OK") and b"* 1 EXISTS\r\n" in lines, lines
    lines, _ = conn.cmd("f", "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert f"Subject: for {name}".encode() in b"".join(lines), lines
    lines, t = conn.cmd("e", "ENABLE CONDSTORE")
    assert lines == [b"* ENABLED CONDSTORE\r\n"], lines
    _, t = conn.cmd("u", "UNAUTHENTICATE")
    assert t == b"u OK Not authenticated any more\r\n", t
    # Nothing of the user is left.
    _, t = conn.cmd("x", "SELECT INBOX")
    assert t.startswith(b"x BAD"), t
    lines, _ = conn.cmd("c", "CAPABILITY")
    assert b"AUTH=PLAIN" in lines[0] and b"UNAUTHENTICATE" not in lines[0], lines


def test_unauthenticate_and_log_in_again(make_server):
    srv = make_server(users=USERS)
    seed(srv)
    r = Raw(srv.imap_port)
    _, t = r.cmd("a", "UNAUTHENTICATE")
    assert t.startswith(b"a BAD"), t  # not logged in
    for name in USERS:
        check_as(r, name)
    r.close()


def test_unauthenticate_keeps_compression(make_server):
    srv = make_server(users=USERS)
    seed(srv)
    r = Raw(srv.imap_port)
    _, t = r.cmd("l", f'LOGIN user0 "{USERS["user0"]}"')
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" UNAUTHENTICATE" in caps[0], caps
    _, t = r.cmd("z", "COMPRESS DEFLATE")
    assert t.startswith(b"z OK"), t
    z = Deflated(r)
    _, t = z.cmd("u", "UNAUTHENTICATE")
    assert t.startswith(b"u OK"), t
    # Every other user in turn, the deflate stream going along with the
    # connection from shard to shard.
    for name in list(USERS)[1:]:
        check_as(z, name)
    r.close()
