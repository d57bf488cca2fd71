"""INPROGRESS (RFC 9585): a SEARCH, SORT or THREAD that runs longer than
`[imap] inprogress_interval_ms` sends `* OK [INPROGRESS ("tag" done
total)]` while it works, then its normal answer; a quick one, or a server
with the interval at 0, sends none."""

import re

from conftest import USERS, Raw

PW = USERS["alice"]
N = 4000
PROGRESS = re.compile(rb'\* OK \[INPROGRESS \("(\w+)" (\d+) (\d+)\)\] Still searching\r\n')


def filled(srv):
    r = Raw(srv.imap_port, timeout=120)
    _, t = r.cmd("l", f'LOGIN alice "{PW}"')
    assert t.startswith(b"l OK"), t
    for start in range(0, N, 500):
        out = bytearray()
        for i in range(start, start + 500):
            word = "needle" if i % 1000 == 7 else "hay"
            m = f"Subject: m{i}\r\nMessage-ID: <m{i}@x>\r\n\r\n{word} {i}\r\n".encode()
            out += f"a{i} APPEND INBOX {{{len(m)}+}}\r\n".encode() + m + b"\r\n"
        r.send(bytes(out))
        for i in range(start, start + 500):
            _, t = r.until(f"a{i}")
            assert t.startswith(f"a{i} OK".encode()), t
    _, t = r.cmd("s", "SELECT INBOX")
    assert t.startswith(b"s OK"), t
    return r


def progress_of(lines, tag):
    got = [PROGRESS.fullmatch(l) for l in lines if b"INPROGRESS" in l]
    assert all(got), lines
    assert all(m.group(1) == tag.encode() and int(m.group(3)) == N for m in got), got
    done = [int(m.group(2)) for m in got]
    assert done == sorted(done) and all(0 < d <= N for d in done), done
    return done


def test_long_commands_report_progress(make_server):
    srv = make_server(extra="[imap]\ninprogress_interval_ms = 1\n", shards=1)
    r = filled(srv)
    lines, t = r.cmd("q", "UID SEARCH BODY needle")
    assert t.startswith(b"q OK"), t
    assert len(progress_of(lines, "q")) >= 1, lines
    assert [l for l in lines if b"INPROGRESS" not in l] == [b"* SEARCH 8 1008 2008 3008\r\n"]
    lines, t = r.cmd("o", "UID SORT (REVERSE SUBJECT) UTF-8 BODY needle")
    assert t.startswith(b"o OK"), t
    assert len(progress_of(lines, "o")) >= 1, lines
    assert [l for l in lines if b"INPROGRESS" not in l] == [b"* SORT 8 3008 2008 1008\r\n"]
    lines, t = r.cmd("h", "UID THREAD REFERENCES UTF-8 BODY needle")
    assert t.startswith(b"h OK"), t
    progress_of(lines, "h")
    # Decided from the index alone: far quicker, still well-formed.
    lines, t = r.cmd("f", "UID SEARCH RETURN (COUNT) ALL")
    assert t.startswith(b"f OK"), t
    progress_of(lines, "f")
    assert lines[-1] == f'* ESEARCH (TAG "f") UID COUNT {N}\r\n'.encode(), lines
    r.close()


def test_no_progress_when_quick_or_off(make_server):
    for extra in ["", "[imap]\ninprogress_interval_ms = 0\n"]:
        srv = make_server(extra=extra, shards=1)
        r = filled(srv)
        lines, t = r.cmd("q", "UID SEARCH BODY needle")
        assert t.startswith(b"q OK"), t
        assert lines == [b"* SEARCH 8 1008 2008 3008\r\n"], lines
        r.close()
        srv.stop()
