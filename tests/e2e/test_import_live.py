"""`postcore import` while the server runs and the user is logged in: the
import goes through the server's admin socket into the store the user's
sessions share, keeps UIDVALIDITY, UIDs, flags and dates as the offline
import does, and an IDLE session sees the imported messages arrive."""

import os
import stat
import threading

from conftest import USERS, Raw, Server
from test_migrate import dovecot_maildir, messages, msg, run, status, write_msg


def idle_until(r, want, tag="i1"):
    """Waits in IDLE until an untagged line containing `want` arrives."""
    r.send(f"{tag} IDLE\r\n")
    assert r.line().startswith(b"+")
    seen = []
    while True:
        line = r.line()
        seen.append(line)
        if want in line:
            break
    r.send("DONE\r\n")
    _, tagged = r.until(tag)
    assert tagged.startswith(tag.encode() + b" OK"), tagged
    return seen


def test_import_into_a_running_server_with_the_user_logged_in(tmp_path):
    srv = Server(tmp_path / "srv", extra="[auth]\nfailure_delay_ms = 10\n")
    src = tmp_path / "Maildir"
    inbox, projects, entw = dovecot_maildir(src)
    srv.start()
    try:
        # The user is logged in (their store is open in the server) before
        # and during the import.
        watcher = srv.login("alice")
        assert watcher.select("INBOX")[0] == "OK"
        sock = srv.data / "admin.sock"
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600

        code, out, err = run(srv, "import", "--from", "maildir", "alice", str(src))
        assert code == 0, (out, err)
        assert "alice: from" in out and "(into the running server)" in out, out
        assert "busy" not in out

        c = srv.login("alice")
        assert status(c, "INBOX") == {"MESSAGES": 4, "UIDNEXT": 46, "UIDVALIDITY": 1700000123}
        got = messages(c, "INBOX")
        assert {u: (f, d, b) for u, (f, d, b) in got.items()} == {
            u: (flags, date, raw) for u, (raw, date, flags) in inbox.items()
        }
        assert status(c, "Work/Projects")["UIDVALIDITY"] == 1700000200
        assert set(messages(c, "Work/Projects")) == set(projects)
        assert set(messages(c, "Entw&APw-rfe")) == set(entw)

        # A session in IDLE on the imported INBOX sees a resumed import add
        # the source's newest message (unlisted: the next UID, 46).
        r = Raw(srv.imap_port)
        r.cmd("l", f"LOGIN alice {USERS['alice']}")
        _, ok = r.cmd("s", "SELECT INBOX")
        assert ok.startswith(b"s OK")
        write_msg(src / "new" / "1699000005.M5P1.host", msg("five", "late arrival"), 1699000005)
        result = {}

        def again():
            result["r"] = run(srv, "import", "--from", "maildir", "alice", str(src))

        t = threading.Thread(target=again)
        t.start()
        seen = idle_until(r, b" EXISTS")
        t.join(60)
        code, out, err = result["r"]
        assert code == 0, (out, err)
        assert any(b"* 5 EXISTS" in line for line in seen), seen
        assert "4 skipped" in out, out
        untagged, tagged = r.cmd("f", "UID FETCH 46 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert tagged.startswith(b"f OK") and b"Subject: five" in b"".join(untagged), untagged
        r.close()
        c.logout()

        # The session that held INBOX open through the import still works
        # (its selection of the replaced, empty INBOX is gone).
        assert watcher.noop()[0] == "OK"
        watcher.logout()
    finally:
        srv.stop()
    # The server wrote the store; offline tools agree with it.
    code, out, err = run(srv, "check", "alice")
    assert code == 0, (out, err)


def test_live_import_refusals_come_back_as_for_offline(tmp_path):
    srv = Server(tmp_path / "srv")
    src = tmp_path / "Maildir"
    dovecot_maildir(src)
    srv.start()
    try:
        c = srv.login("alice")
        assert c.append("INBOX", None, None, msg("mine", "already here"))[0] == "OK"
        # INBOX holds a message of its own under another UIDVALIDITY: the
        # source's UIDs would clash, as in an offline import.
        code, out, err = run(srv, "import", "--from", "maildir", "alice", str(src))
        assert code != 0, out
        assert "import conflict" in out and "already holds messages under UIDVALIDITY" in out, out
        # Nothing of the source went in.
        assert status(c, "INBOX")["MESSAGES"] == 1
        c.logout()
        # A user name that cannot exist is refused before anything is sent.
        code, out, err = run(srv, "import", "--from", "maildir", "bad name", str(src))
        assert code != 0 and "user name" in err, (out, err)
    finally:
        srv.stop()


def test_admin_socket_refuses_malformed_requests(tmp_path):
    import socket
    import struct

    srv = Server(tmp_path / "srv")
    srv.start()
    try:
        path = str(srv.data / "admin.sock")

        def exchange(payload, raw=None):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(path)
                s.sendall(raw if raw is not None else struct.pack(">I", len(payload)) + payload)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                return data

        def refusal_text(reply):
            (n,) = struct.unpack(">I", reply[:4])
            body = reply[4 : 4 + n]
            assert body[0] != 0, reply  # a refusal, not "done"
            (m,) = struct.unpack(">I", body[1:5])
            return body[5 : 5 + m].decode()

        # Not HELLO first; a HELLO with a length running past the frame; a
        # frame header claiming 4 GiB; an invalid user name.
        assert "HELLO" in refusal_text(exchange(b"\x02abc"))
        assert "truncated" in refusal_text(exchange(b"\x01\x00\x00\x10\x00ab"))
        assert "over the limit" in refusal_text(exchange(b"", raw=b"\xff\xff\xff\xff"))
        bad = b"bad name"
        assert "user name" in refusal_text(exchange(b"\x01" + struct.pack(">I", len(bad)) + bad))
        # After HELLO, an unknown request and a forged message count.
        hello = b"\x01" + struct.pack(">I", 5) + b"alice"
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(path)
            f = s.makefile("rb")

            def call(payload):
                s.sendall(struct.pack(">I", len(payload)) + payload)
                (n,) = struct.unpack(">I", f.read(4))
                return f.read(n)

            assert call(hello)[0] == 0
            assert call(b"\x63")[0] != 0
            forged = b"\x04" + struct.pack(">II", 1, 0xFFFFFFF)
            assert b"count larger than the frame" in call(forged)
            # The connection still serves a good request.
            st = call(b"\x02" + struct.pack(">I", 5) + b"INBOX")
            assert st[0] == 0 and st[1] == 1
        # And IMAP is unaffected.
        c = srv.login("alice")
        c.logout()
    finally:
        srv.stop()
