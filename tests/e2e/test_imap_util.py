"""Helpers shared by the test_imap_*.py files: parsing LIST/STATUS/FETCH
lines and a logged-in raw session. Holds no tests of its own."""

import re

from conftest import USERS


def login_raw(raw, server, user="alice"):
    """A Raw connection logged in as `user`."""
    r = raw(server.imap_port)
    _, tagged = r.cmd("l0", f'LOGIN {user} "{USERS[user]}"')
    assert tagged.startswith(b"l0 OK"), tagged
    return r


def ok(tagged, tag):
    assert tagged.startswith(f"{tag} OK".encode()), tagged
    return tagged


def assert_not_enabled(r, ext, commands):
    """Each (tag, command) gets exactly `tag BAD <ext> is not enabled on this
    server` and no untagged line (an extension turned off by `disable`)."""
    for tag, cmd in commands:
        lines, t = r.cmd(tag, cmd)
        assert t == f"{tag} BAD {ext} is not enabled on this server\r\n".encode(), (cmd, t)
        assert lines == [], (cmd, lines)


def astring(text, i):
    """Parses an IMAP astring/nstring at text[i:]; returns (value, next index)."""
    if text[i] == '"':
        out = []
        j = i + 1
        while text[j] != '"':
            if text[j] == "\\":
                j += 1
            out.append(text[j])
            j += 1
        return "".join(out), j + 1
    j = i
    while j < len(text) and text[j] not in " )\r\n":
        j += 1
    return text[i:j], j


LIST_RE = re.compile(r"\* (LIST|LSUB) \(([^)]*)\) (NIL|\"(?:[^\"\\]|\\.)*\") ")


def parse_list(line):
    """`* LIST (attrs) "/" name [ext]` -> (set of attrs, delimiter, name, rest)."""
    text = line.decode() if isinstance(line, bytes) else line
    m = LIST_RE.match(text)
    assert m, f"not a LIST line: {text!r}"
    attrs = set(a for a in m.group(2).split() if a)
    delim = None if m.group(3) == "NIL" else m.group(3)[1:-1]
    name, j = astring(text, m.end())
    return attrs, delim, name, text[j:].strip()


def lists(untagged, kind="LIST"):
    """{name: attrs} of the LIST (or LSUB) lines among untagged responses."""
    out = {}
    for u in untagged:
        if u.startswith(f"* {kind} ".encode()):
            attrs, delim, name, _ = parse_list(u)
            assert delim == "/", u
            assert name not in out, f"{name} listed twice"
            out[name] = attrs
    return out


def status_items(line):
    """`* STATUS name (K v ...)` -> (name, {K: int})."""
    text = line.decode() if isinstance(line, bytes) else line
    assert text.startswith("* STATUS "), text
    name, j = astring(text, len("* STATUS "))
    m = re.match(r" \(([^)]*)\)\r?\n?$", text[j:])
    assert m, text
    parts = m.group(1).split()
    return name, {parts[k].upper(): int(parts[k + 1]) for k in range(0, len(parts), 2)}


def msg(subject="hi", frm="Bob <bob@example.org>", body="Hello\r\n", to="alice@example.org", extra=""):
    return (
        f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
        f"{extra}\r\n{body}"
    ).encode()


def append_raw(r, tag, mailbox, data, flags="", date=""):
    """APPEND with a non-synchronizing literal (LITERAL+); returns the tagged line."""
    parts = [f"{tag} APPEND {mailbox}"]
    if flags:
        parts.append(f"({flags})")
    if date:
        parts.append(f'"{date}"')
    r.send((" ".join(parts) + " {%d+}\r\n" % len(data)).encode() + data + b"\r\n")
    untagged, tagged = r.until(tag)
    return untagged, tagged


def literal_fetch(r, tag, command):
    """Sends a FETCH-like command and returns the raw response bytes up to and
    including the tagged line, literals read in full."""
    r.send(f"{tag} {command}\r\n")
    out = b""
    t = f"{tag} ".encode()
    while True:
        line = r.line()
        out += line
        m = re.search(rb"\{(\d+)\}\r\n$", line)
        if m:
            n = int(m.group(1))
            data = b""
            while len(data) < n:
                chunk = r.f.read(n - len(data))
                if not chunk:
                    raise EOFError("closed inside a literal")
                data += chunk
            out += data
            continue
        if line.startswith(t):
            return out
