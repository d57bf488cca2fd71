"""PREVIEW (RFC 8970): a short plain-text preview computed at delivery,
from text/plain (else text/html without markup), decoded, at most 200
characters; FETCH PREVIEW and PREVIEW (LAZY) do not set \\Seen."""

import base64

from conftest import USERS, Raw

PW = USERS["alice"]

PLAIN = b"Subject: plain\r\n\r\nHello   Alice,\r\n\r\nsee you\tat   noon.\r\n"
HTML = (
    b"Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<html><head><style>p {color: red}</style></head><body><p>Gr\xc3\xbc&szlig;e <b>aus</b> Berlin</p></body></html>\r\n"
)
QP_LONG = (
    b"Subject: long\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + b"Caf=E9 " * 100 + b"\r\n"
)
ATTACHMENT_ONLY = (
    b"Subject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.b64encode(b"%PDF-1.4 binary") + b"\r\n--b--\r\n"
)


def test_preview(server):
    c = server.login("alice")
    for m in (PLAIN, HTML, QP_LONG, ATTACHMENT_ONLY):
        assert c.append("INBOX", None, None, m)[0] == "OK"
    c.logout()
    r = Raw(server.imap_port)
    r.cmd("l", f'LOGIN alice "{PW}"')
    caps, _ = r.cmd("c", "CAPABILITY")
    assert b" PREVIEW" in caps[0], caps
    r.cmd("e", "ENABLE UTF8=ACCEPT")
    r.cmd("s", "SELECT INBOX")
    lines, t = r.cmd("f", "FETCH 1:4 (PREVIEW)")
    assert t.startswith(b"f OK"), t
    text = b"".join(lines)
    assert b'* 1 FETCH (PREVIEW "Hello Alice, see you at noon.")' in text, text
    assert '* 2 FETCH (PREVIEW "Grüße aus Berlin")'.encode() in text, text
    long = [l for l in lines if l.startswith(b"* 3 FETCH")][0].decode()
    body = long.split('PREVIEW "', 1)[1].rsplit('"', 1)[0]
    assert body.startswith("Café Café") and len(body) <= 200, body
    assert b'* 4 FETCH (PREVIEW "")' in text, text
    # LAZY is accepted; the preview is always at hand.
    lines, _ = r.cmd("g", "FETCH 1 (PREVIEW (LAZY) FLAGS)")
    assert b'PREVIEW "Hello Alice, see you at noon."' in lines[0] and b"\\Seen" not in lines[0], lines
    _, t = r.cmd("h", "FETCH 1 (PREVIEW (EAGER))")
    assert t.startswith(b"h BAD"), t
    r.close()
