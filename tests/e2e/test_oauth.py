"""OAUTHBEARER and XOAUTH2 (RFC 7628) over IMAP and POP3, with tokens made
by PyJWT (an independent JWT implementation) and the test keys of
crates/auth/tests/keys."""

import base64
import os
import pathlib
import time

import pytest

jwt = pytest.importorskip("jwt") if os.environ.get("CI") != "true" else __import__("jwt")

KEYS = pathlib.Path(__file__).resolve().parents[2] / "crates" / "auth" / "tests" / "keys"
ISS = "https://idp.example.test"
AUD = "postcore-tests"


@pytest.fixture
def srv(make_server):
    return make_server(
        extra=(
            "[auth]\nfailure_delay_ms = 10\n"
            f'[oauth]\npublic_key_file = "{KEYS / "rsa.pub"}"\nissuer = "{ISS}"\naudience = "{AUD}"\n'
            'username_claim = "sub"\n'
        )
    )


def token(sub="alice", key="rsa.key", exp_in=600, iss=ISS, aud=AUD):
    now = int(time.time())
    claims = {"sub": sub, "iss": iss, "aud": aud, "iat": now, "exp": now + exp_in}
    return jwt.encode(claims, (KEYS / key).read_text(), algorithm="RS256")


def oauthbearer(user, tok):
    return f"n,a={user},\x01auth=Bearer {tok}\x01\x01".encode()


def xoauth2(user, tok):
    return f"user={user}\x01auth=Bearer {tok}\x01\x01".encode()


def imap_auth(srv, raw, mech, payload):
    r = raw(srv.imap_port)
    b64 = base64.b64encode(payload).decode()
    r.send(f"a AUTHENTICATE {mech} {b64}\r\n")
    line = r.line()
    if line.startswith(b"+ "):
        # The error challenge (JSON); RFC 7628 §3.2.3: answer with %x01.
        err = base64.b64decode(line[2:].strip())
        r.send(base64.b64encode(b"\x01").decode() + "\r\n")
        return err, r.line()
    return None, line


def test_capability_offers_token_mechanisms(srv, raw):
    r = raw(srv.imap_port)
    caps = r.cmd("c", "CAPABILITY")[0][0]
    assert b"AUTH=OAUTHBEARER" in caps and b"AUTH=XOAUTH2" in caps, caps


def test_not_offered_without_config(server, raw):
    r = raw(server.imap_port)
    caps = r.cmd("c", "CAPABILITY")[0][0]
    assert b"OAUTHBEARER" not in caps
    assert r.cmd("a", "AUTHENTICATE OAUTHBEARER =")[1].startswith(b"a NO")


def test_valid_token_logs_in(srv, raw):
    err, tagged = imap_auth(srv, raw, "OAUTHBEARER", oauthbearer("alice", token()))
    assert err is None and tagged.startswith(b"a OK"), tagged
    err, tagged = imap_auth(srv, raw, "XOAUTH2", xoauth2("bob", token("bob")))
    assert err is None and tagged.startswith(b"a OK"), tagged


@pytest.mark.parametrize(
    "tok,why",
    [
        (lambda: token(exp_in=-3600), "expired"),
        (lambda: token(key="other-rsa.key"), "signed by another key"),
        (lambda: token(iss="https://evil.example"), "wrong issuer"),
        (lambda: token(aud="someone-else"), "wrong audience"),
        (lambda: token(sub="mallory"), "user unknown here"),
    ],
)
def test_bad_tokens_are_refused(srv, raw, tok, why):
    user = "mallory" if why == "user unknown here" else "alice"
    err, tagged = imap_auth(srv, raw, "OAUTHBEARER", oauthbearer(user, tok()))
    assert tagged.startswith(b"a NO"), (why, tagged)
    if err is not None:
        assert b'"status":"invalid_token"' in err, err


def test_authzid_must_match_the_token(srv, raw):
    err, tagged = imap_auth(srv, raw, "OAUTHBEARER", oauthbearer("bob", token("alice")))
    assert tagged.startswith(b"a NO"), tagged


