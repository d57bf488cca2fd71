"""IMAP TLS and authentication: STARTTLS, implicit TLS, LOGINDISABLED,
LOGIN, AUTHENTICATE PLAIN/LOGIN/SCRAM-SHA-256 (RFC 9051 §6.2, RFC 4959,
RFC 5802, RFC 7677)."""

import base64
import hashlib
import hmac
import imaplib
import os
import re
import socket
import ssl

import pytest

from conftest import USERS, Server

FAST = "[auth]\nfailure_delay_ms = 10\n"
NEVER = '[auth]\nplaintext_auth = "never"\nfailure_delay_ms = 10\n'


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """Default policy (plaintext allowed on loopback), short failure delay."""
    s = Server(tmp_path_factory.mktemp("imap-auth-fast"), extra=FAST)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """For the tests whose logins fail: the server slows down later logins from
    an address that failed, so they do not share `fast`."""
    s = Server(tmp_path_factory.mktemp("imap-auth-failing"), extra=FAST)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def never(tmp_path_factory):
    """plaintext_auth = "never"."""
    s = Server(tmp_path_factory.mktemp("imap-auth-never"), extra=NEVER)
    s.start()
    yield s
    s.stop()


def caps_of(line):
    """The capability atoms of a `* CAPABILITY ...` line or a `[CAPABILITY ...]` code."""
    text = line.decode() if isinstance(line, bytes) else line
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", text)
    if m:
        return set(m.group(1).upper().split())
    m = re.match(r"\* CAPABILITY (.*)\r?\n?$", text)
    assert m, f"not a capability response: {text!r}"
    return set(m.group(1).upper().split())


def raw_caps(r, tag="c"):
    untagged, tagged = r.cmd(tag, "CAPABILITY")
    assert tagged == f"{tag} OK CAPABILITY completed\r\n".encode() or tagged.startswith(
        f"{tag} OK".encode()
    ), tagged
    lines = [u for u in untagged if u.upper().startswith(b"* CAPABILITY ")]
    assert len(lines) == 1, untagged
    return caps_of(lines[0])


def starttls(r, ctx, tag="s"):
    """STARTTLS on a Raw connection, then the TLS handshake (hostname localhost)."""
    untagged, tagged = r.cmd(tag, "STARTTLS")
    assert untagged == [] and tagged.startswith(f"{tag} OK".encode()), (untagged, tagged)
    r.sock = ctx.wrap_socket(r.sock, server_hostname="localhost")
    r.f = r.sock.makefile("rb")


def b64(data):
    return base64.b64encode(data).decode()


POST_LOGIN = {
    "IMAP4REV1",
    "IMAP4REV2",
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "IDLE",
    "ENABLE",
    "LITERAL+",
    "ID",
    "MULTIAPPEND",
    "ESEARCH",
    "SEARCHRES",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "CHILDREN",
    "STATUS=SIZE",
    "BINARY",
    "UTF8=ACCEPT",
}


# --- TLS ---------------------------------------------------------------------


def test_starttls_then_login(fast):
    c = fast.connect(tls="none")
    assert "STARTTLS" in c.capabilities
    ctx = fast.tls_context()
    ctx.check_hostname = False
    typ, data = c.starttls(ssl_context=ctx)
    assert typ == "OK"
    # RFC 9051 §6.2.1: capabilities must be asked again after TLS; STARTTLS is gone.
    typ, data = c.capability()
    caps = set(data[0].decode().upper().split())
    assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps
    typ, data = c.login("alice", USERS["alice"])
    assert typ == "OK"
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def test_implicit_tls_verifies_generated_certificate(fast):
    # The generated certificate must verify for host name `localhost`.
    c = fast.connect(tls="implicit")
    assert "STARTTLS" not in c.capabilities, c.capabilities
    assert "AUTH=PLAIN" in c.capabilities
    cert = c.sock.getpeercert()
    names = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    assert "localhost" in names, cert
    assert c.login("bob", USERS["bob"])[0] == "OK"
    c.logout()


def test_starttls_refused_on_implicit_port(fast):
    c = fast.connect(tls="implicit")
    # imaplib's starttls() checks the capability list first; send it by hand.
    tag = c._new_tag().decode()
    c.send(f"{tag} STARTTLS\r\n".encode())
    line = c.readline()
    assert line.startswith(f"{tag} BAD ".encode()), line
    # The session survives the refusal.
    assert c.noop()[0] == "OK"
    c.logout()


def test_starttls_twice_is_bad(fast, raw):
    r = raw(fast.imap_port)
    ctx = fast.tls_context()
    starttls(r, ctx)
    untagged, tagged = r.cmd("s2", "STARTTLS")
    assert tagged.startswith(b"s2 BAD "), tagged
    # Still a working TLS session.
    untagged, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK"), tagged


def test_starttls_after_login_is_bad(fast, raw):
    r = raw(fast.imap_port)
    _, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK"), tagged
    _, tagged = r.cmd("s", "STARTTLS")
    assert tagged.startswith(b"s BAD "), tagged


# --- plaintext policy ----------------------------------------------------------


def test_plaintext_never_logindisabled_until_starttls(never, raw):
    srv = never
    r = raw(srv.imap_port)
    greeting_caps = caps_of(r.greeting)
    caps = raw_caps(r)
    assert caps == greeting_caps
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps
    assert "AUTH=PLAIN" not in caps and "AUTH=LOGIN" not in caps
    _, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l NO [PRIVACYREQUIRED]"), tagged
    # AUTHENTICATE PLAIN would carry the password in clear as well.
    cred = b64(b"\0alice\0" + USERS["alice"].encode())
    _, tagged = r.cmd("a", f"AUTHENTICATE PLAIN {cred}")
    assert tagged.startswith(b"a NO") or tagged.startswith(b"a BAD"), tagged
    starttls(r, srv.tls_context())
    caps = raw_caps(r, "c2")
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps and "AUTH=PLAIN" in caps
    _, tagged = r.cmd("l2", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l2 OK"), tagged


def test_plaintext_never_imaplib(never):
    srv = never
    c = srv.connect(tls="none")
    assert "LOGINDISABLED" in c.capabilities
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login("alice", USERS["alice"])
    assert "PRIVACYREQUIRED" in str(e.value)
    c.logout()
    c = srv.login("alice", tls="starttls")
    c.logout()


def test_default_allows_login_on_loopback_without_tls(fast):
    c = fast.connect(tls="none")
    assert "LOGINDISABLED" not in c.capabilities
    assert "AUTH=PLAIN" in c.capabilities
    assert c.login("bob", USERS["bob"])[0] == "OK"
    c.logout()


# --- LOGIN ------------------------------------------------------------------------


def test_wrong_password(failing, raw):
    srv = failing
    r = raw(srv.imap_port)
    _, tagged = r.cmd("l", "LOGIN alice wrong")
    assert tagged.startswith(b"l NO [AUTHENTICATIONFAILED]"), tagged
    _, tagged = r.cmd("l2", "LOGIN nosuchuser whatever")
    # Unknown users get the same answer as wrong passwords.
    assert tagged.startswith(b"l2 NO [AUTHENTICATIONFAILED]"), tagged
    # Still not authenticated: SELECT is a wrong-state command.
    _, tagged = r.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s BAD"), tagged
    _, tagged = r.cmd("l3", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l3 OK"), tagged


def test_login_with_literal_password(fast, raw):
    r = raw(fast.imap_port)
    pw = USERS["bob"].encode()
    r.send(b"l LOGIN bob {%d}\r\n" % len(pw))
    assert r.line().startswith(b"+"), "no continuation for the literal"
    r.send(pw + b"\r\n")
    _, tagged = r.until("l")
    assert tagged.startswith(b"l OK"), tagged


def test_login_twice_is_bad(fast, raw):
    r = raw(fast.imap_port)
    _, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK"), tagged
    _, tagged = r.cmd("l2", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l2 BAD"), tagged


def test_capabilities_after_login(fast, raw):
    r = raw(fast.imap_port)
    pre = raw_caps(r)
    assert "AUTH=PLAIN" in pre and "AUTH=SCRAM-SHA-256" in pre
    _, tagged = r.cmd("l", f'LOGIN alice "{USERS["alice"]}"')
    assert tagged.startswith(b"l OK [CAPABILITY "), tagged
    in_ok = caps_of(tagged)
    assert POST_LOGIN <= in_ok, POST_LOGIN - in_ok
    assert any(c.startswith("APPENDLIMIT=") for c in in_ok), in_ok
    # No pre-login capabilities are advertised once authenticated.
    assert not any(c.startswith("AUTH=") for c in in_ok), in_ok
    assert "STARTTLS" not in in_ok and "LOGINDISABLED" not in in_ok
    post = raw_caps(r, "c2")
    assert post == in_ok


def test_capability_before_login(fast, raw):
    r = raw(fast.imap_port)
    assert r.greeting.startswith(b"* OK [CAPABILITY "), r.greeting
    caps = raw_caps(r)
    for c in ("IMAP4REV1", "IMAP4REV2", "STARTTLS", "AUTH=PLAIN", "AUTH=LOGIN", "SASL-IR", "LITERAL+"):
        assert c in caps, (c, caps)


# --- AUTHENTICATE -------------------------------------------------------------------


def test_authenticate_plain_with_initial_response(fast, raw):
    r = raw(fast.imap_port)
    cred = b64(b"\0alice\0" + USERS["alice"].encode())
    _, tagged = r.cmd("a", f"AUTHENTICATE PLAIN {cred}")
    assert tagged.startswith(b"a OK [CAPABILITY "), tagged
    assert POST_LOGIN <= caps_of(tagged)
    _, tagged = r.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s OK [READ-WRITE]"), tagged


def test_authenticate_plain_without_initial_response(fast, raw):
    r = raw(fast.imap_port)
    r.send("a AUTHENTICATE PLAIN\r\n")
    cont = r.line()
    assert cont in (b"+ \r\n", b"+\r\n"), cont
    r.send(b64(b"\0bob\0" + USERS["bob"].encode()) + "\r\n")
    _, tagged = r.until("a")
    assert tagged.startswith(b"a OK"), tagged


def test_authenticate_plain_imaplib(fast):
    c = fast.connect(tls="starttls")
    typ, _ = c.authenticate("PLAIN", lambda _: b"\0alice\0" + USERS["alice"].encode())
    assert typ == "OK"
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def test_authenticate_plain_authzid_same_user(fast, raw):
    r = raw(fast.imap_port)
    cred = b64(b"alice\0alice\0" + USERS["alice"].encode())
    _, tagged = r.cmd("a", f"AUTHENTICATE PLAIN {cred}")
    assert tagged.startswith(b"a OK"), tagged


def test_authenticate_plain_wrong_password(failing, raw):
    srv = failing
    r = raw(srv.imap_port)
    cred = b64(b"\0alice\0nope")
    _, tagged = r.cmd("a", f"AUTHENTICATE PLAIN {cred}")
    assert tagged.startswith(b"a NO [AUTHENTICATIONFAILED]"), tagged


def test_authenticate_cancelled(failing, raw):
    srv = failing
    r = raw(srv.imap_port)
    r.send("a AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send("*\r\n")
    _, tagged = r.until("a")
    # RFC 9051 §6.2.2: a cancelled exchange is answered BAD.
    assert tagged.startswith(b"a BAD"), tagged
    _, tagged = r.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK"), tagged


def test_authenticate_bad_base64(failing, raw):
    srv = failing
    r = raw(srv.imap_port)
    r.send("a AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send("!!!not base64!!!\r\n")
    _, tagged = r.until("a")
    assert tagged.startswith(b"a BAD") or tagged.startswith(b"a NO"), tagged
    _, tagged = r.cmd("n", "NOOP")
    assert tagged.startswith(b"n OK"), tagged


def test_authenticate_unknown_mechanism(failing, raw):
    srv = failing
    r = raw(srv.imap_port)
    _, tagged = r.cmd("a", "AUTHENTICATE X-NOSUCH")
    assert tagged.startswith(b"a NO") or tagged.startswith(b"a BAD"), tagged


def test_authenticate_login(fast, raw):
    r = raw(fast.imap_port)
    r.send("a AUTHENTICATE LOGIN\r\n")
    cont = r.line()
    assert cont.startswith(b"+ "), cont
    prompt = base64.b64decode(cont[2:].strip())
    assert prompt.lower().startswith(b"user"), prompt
    r.send(b64(b"bob") + "\r\n")
    cont = r.line()
    assert cont.startswith(b"+ "), cont
    assert base64.b64decode(cont[2:].strip()).lower().startswith(b"pass")
    r.send(b64(USERS["bob"].encode()) + "\r\n")
    _, tagged = r.until("a")
    assert tagged.startswith(b"a OK"), tagged


# --- SCRAM-SHA-256: an independent client per RFC 5802 / RFC 7677 -------------------


def _h(data):
    return hashlib.sha256(data).digest()


def _hmac(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def _xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def scram_exchange(r, user, password, tag="a", tamper_proof=False):
    """Runs SCRAM-SHA-256 over AUTHENTICATE; returns the tagged line and
    whether the server signature verified (None if the server gave none)."""
    cnonce = base64.b64encode(os.urandom(18)).decode()
    gs2 = "n,,"
    first_bare = f"n={user},r={cnonce}"
    r.send(f"{tag} AUTHENTICATE SCRAM-SHA-256\r\n")
    cont = r.line()
    assert cont.startswith(b"+"), cont
    r.send(b64((gs2 + first_bare).encode()) + "\r\n")
    cont = r.line()
    if not cont.startswith(b"+ "):
        return cont, None
    server_first = base64.b64decode(cont[2:].strip()).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(cnonce) and len(attrs["r"]) > len(cnonce), server_first
    salt = base64.b64decode(attrs["s"])
    iters = int(attrs["i"])
    assert iters >= 4096, "RFC 7677 asks at least 4096 iterations"
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
    client_key = _hmac(salted, b"Client Key")
    stored_key = _h(client_key)
    without_proof = f"c={b64(gs2.encode())},r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    proof = _xor(client_key, _hmac(stored_key, auth_message))
    if tamper_proof:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    r.send(b64(f"{without_proof},p={b64(proof)}".encode()) + "\r\n")
    line = r.line()
    verified = None
    if line.startswith(b"+ "):
        final = base64.b64decode(line[2:].strip()).decode()
        server_key = _hmac(salted, b"Server Key")
        expect = "v=" + b64(_hmac(server_key, auth_message))
        # An `e=` server-final message reports an error (RFC 5802 §7): no proof.
        verified = None if final.startswith("e=") else final == expect
        r.send("\r\n")
        line = r.line()
    while not line.startswith(f"{tag} ".encode()):
        line = r.line()
    return line, verified


def test_authenticate_scram_sha_256(fast, raw):
    r = raw(fast.imap_port)
    tagged, verified = scram_exchange(r, "bob", USERS["bob"])
    assert tagged.startswith(b"a OK"), tagged
    assert verified is True, "server signature (v=) missing or wrong"
    _, tagged = r.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s OK"), tagged


def test_authenticate_scram_wrong_password(failing, raw):
    srv = failing
    r = raw(srv.imap_port)
    tagged, verified = scram_exchange(r, "alice", "not the password")
    assert tagged.startswith(b"a NO"), tagged
    assert verified is None, "server must not prove itself to a failed client"
    _, tagged = r.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s BAD"), tagged


def test_authenticate_scram_tampered_proof(failing, raw):
    srv = failing
    r = raw(srv.imap_port)
    tagged, _ = scram_exchange(r, "alice", USERS["alice"], tamper_proof=True)
    assert tagged.startswith(b"a NO"), tagged


def test_authenticate_scram_offered_without_tls_under_never(never, raw):
    # SCRAM never sends the password, so it may be offered on a clear channel.
    srv = never
    r = raw(srv.imap_port)
    assert "AUTH=SCRAM-SHA-256" in raw_caps(r)
    tagged, verified = scram_exchange(r, "alice", USERS["alice"])
    assert tagged.startswith(b"a OK") and verified, tagged


def test_logout(fast, raw):
    r = raw(fast.imap_port)
    untagged, tagged = r.cmd("o", "LOGOUT")
    assert len(untagged) == 1 and untagged[0].startswith(b"* BYE"), untagged
    assert tagged.startswith(b"o OK"), tagged
    assert r.f.readline() == b"", "connection not closed after LOGOUT"


def test_starttls_discards_plaintext_pipelined_after_it(fast, raw):
    # Bytes sent in clear after STARTTLS must not be run inside the TLS
    # session (the STARTTLS command-injection attack, CVE-2011-0411 family).
    r = raw(fast.imap_port)
    r.send("s STARTTLS\r\ninj NOOP\r\n")
    line = r.line()
    assert line.startswith(b"s OK"), line
    r.sock = fast.tls_context().wrap_socket(r.sock, server_hostname="localhost")
    r.f = r.sock.makefile("rb")
    untagged, tagged = r.cmd("c", "CAPABILITY")
    assert tagged.startswith(b"c OK"), tagged
    assert not any(u.startswith(b"inj ") for u in untagged), untagged


def test_implicit_tls_certificate_names(fast):
    # The generated certificate is for localhost, not for any name.
    ctx = fast.tls_context()
    with socket.create_connection(("127.0.0.1", fast.imaps_port), timeout=30) as s:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(s, server_hostname="not-this-host.example")


def test_authenticate_plain_other_authzid_refused(failing, raw):
    # Logging in as bob with alice's credentials needs proxy rights nobody has.
    r = raw(failing.imap_port)
    cred = b64(b"bob\0alice\0" + USERS["alice"].encode())
    _, tagged = r.cmd("a", f"AUTHENTICATE PLAIN {cred}")
    assert tagged.startswith(b"a NO"), tagged
    _, tagged = r.cmd("s", "SELECT INBOX")
    assert tagged.startswith(b"s BAD"), tagged
