"""The metrics listener: after a short load over IMAP, POP3 and LMTP, curl
of /metrics shows a non-zero value in every family docs/operations.md
lists, the page parses with the Prometheus project's own Python parser,
and bad requests get HTTP errors, not a crash."""

import email.utils
import imaplib
import os
import pathlib
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import USERS, free_port

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented_families():
    """The family names in the table under '## Metrics'."""
    text = DOCS.read_text()
    section = text.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^\| `(postcore_[a-z_]+)` \|", section, re.M)
    assert len(names) >= 10, names
    return names


def curl(*args):
    if not shutil.which("curl"):
        if os.environ.get("CI") == "true":
            pytest.fail("curl is missing on CI (.ci/run installs it)")
        pytest.skip("curl not installed: apt-get install curl")
    r = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def samples(page):
    """name -> list of (labels dict, value), via prometheus_client's parser
    (a third-party check that the exposition is well formed)."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus-client (PyPI) is missing on CI (.ci/run installs it)")
        pytest.skip("pip install prometheus-client")
    out = {}
    for fam in text_string_to_metric_families(page):
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def total(smp, name, **labels):
    return sum(v for lab, v in smp.get(name, []) if all(lab.get(k) == w for k, w in labels.items()))


@pytest.fixture
def srv(make_server):
    pop3, lmtp, metrics, metrics_tls = free_port(), free_port(), free_port(), free_port()
    s = make_server(
        extra=(
            "[auth]\nfailure_delay_ms = 10\n"
            # Small segments so that expunging a few messages seals and
            # frees enough of one for background compaction to run.
            "[store]\nsegment_size = 65536\n"
            # Trash kept one second (the shortest term), for the retention
            # counter; the sweep never comes during the test.
            "[retention]\ntrash_days = 0.00001\n"
            f'[[listener]]\naddress = "127.0.0.1:{pop3}"\nprotocol = "pop3"\ntls = "starttls"\n'
            f'[[listener]]\naddress = "127.0.0.1:{lmtp}"\nprotocol = "lmtp"\ntls = "none"\n'
            f'[[listener]]\naddress = "127.0.0.1:{metrics}"\nprotocol = "metrics"\ntls = "none"\n'
            f'[[listener]]\naddress = "127.0.0.1:{metrics_tls}"\nprotocol = "metrics"\ntls = "implicit"\n'
        )
    )
    s.pop3_port, s.lmtp_port = pop3, lmtp
    s.metrics_url = f"http://127.0.0.1:{metrics}/metrics"
    s.metrics_tls_url = f"https://127.0.0.1:{metrics_tls}/metrics"
    s.metrics_port = metrics
    return s


def message(i, size):
    body = (f"line {i} " * 12 + "\r\n") * (size // 100)
    return (
        f"From: a@example.test\r\nTo: alice@example.test\r\nSubject: m{i}\r\n"
        f"Date: {email.utils.formatdate()}\r\nMessage-ID: <m{i}@example.test>\r\n\r\n{body}"
    ).encode()


def load(srv):
    ctx = srv.tls_context()
    # IMAP: a failed and two good logins (LOGIN and AUTHENTICATE PLAIN) over
    # STARTTLS, appends that fill several segments, fetches, an expunge.
    c = imaplib.IMAP4("127.0.0.1", srv.imap_port)
    c.starttls(ctx)
    with pytest.raises(imaplib.IMAP4.error):
        c.login("alice", "wrong")
    c.logout()
    c = imaplib.IMAP4("127.0.0.1", srv.imap_port)
    c.starttls(ctx)
    c.login("alice", USERS["alice"])
    for i in range(12):
        assert c.append("INBOX", None, None, message(i, 20000))[0] == "OK"
    srv.appended = sum(len(message(i, 20000)) for i in range(12))
    c.select("INBOX")
    assert c.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER])")[0] == "OK"
    c.store("1:10", "+FLAGS", "(\\Deleted)")
    c.expunge()
    # A copy into Trash, expired by retention when Trash is next selected.
    assert c.copy("1", "Trash")[0] == "OK"
    time.sleep(2.1)
    assert c.select("Trash") == ("OK", [b"0"])
    c.logout()
    d = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=ctx)
    d.authenticate("PLAIN", lambda _: f"\0bob\0{USERS['bob']}".encode())
    d.logout()
    # LMTP delivery, then POP3 over STLS reading it.
    with smtplib.LMTP("127.0.0.1", srv.lmtp_port) as l:
        l.sendmail("sender@example.test", ["bob@example.test"], message(99, 2000))
    p = poplib.POP3("127.0.0.1", srv.pop3_port)
    p.stls(ctx)
    p.user("bob")
    p.pass_(USERS["bob"])
    p.retr(1)
    p.quit()


def test_every_documented_family_is_non_zero_after_load(srv):
    load(srv)
    # A connection held open for the gauge.
    held = imaplib.IMAP4("127.0.0.1", srv.imap_port)
    try:
        deadline = time.monotonic() + 20
        while True:
            smp = samples(curl(srv.metrics_url))
            # Compaction runs in the background after the expunge, and
            # utilisation is sampled once a second.
            if (
                total(smp, "postcore_store_compactions_total") > 0
                and total(smp, "postcore_shard_utilisation") > 0
            ) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for fam in documented_families():
            names = [fam, fam + "_count"]
            value = max(total(smp, n) for n in names)
            assert value > 0, f"{fam} is zero or missing after the load"
        # The breakdowns mean what docs/operations.md says.
        assert total(smp, "postcore_connections_total", protocol="imap", tls="starttls") >= 3
        assert total(smp, "postcore_connections_total", protocol="imap", tls="implicit") == 1
        assert total(smp, "postcore_connections_total", protocol="lmtp", tls="none") == 1
        assert total(smp, "postcore_connections_open", protocol="imap") == 1
        assert total(smp, "postcore_starttls_total", protocol="imap") == 2
        assert total(smp, "postcore_starttls_total", protocol="pop3") == 1
        logins = "postcore_logins_total"
        assert total(smp, logins, protocol="imap", mechanism="password", result="failed") == 1
        assert total(smp, logins, protocol="imap", mechanism="password", result="ok") == 1
        assert total(smp, logins, protocol="imap", mechanism="PLAIN", result="ok") == 1
        assert total(smp, logins, protocol="pop3", mechanism="password", result="ok") == 1
        cmd = "postcore_command_duration_seconds_count"
        assert total(smp, cmd, protocol="imap", command="APPEND") == 12
        assert total(smp, cmd, protocol="imap", command="FETCH") == 1
        assert total(smp, cmd, protocol="pop3", command="RETR") == 1
        assert total(smp, cmd, protocol="lmtp", command="DATA") == 1
        assert total(smp, "postcore_store_appended_messages_total") == 13
        assert total(smp, "postcore_store_appended_bytes_total") > srv.appended
        assert total(smp, "postcore_store_fsync_duration_seconds_count") >= 1
        assert total(smp, "postcore_received_bytes_total", protocol="imap") > srv.appended
        assert total(smp, "postcore_sent_bytes_total", protocol="pop3") > 2000
        assert total(smp, "postcore_store_compaction_reclaimed_bytes_total") > 0
        assert total(smp, "postcore_retention_expunged_messages_total") == 1
        shards = {lab["shard"] for lab, _ in smp["postcore_shard_busy_seconds_total"]}
        assert shards == {"0", "1"}
        for _, v in smp["postcore_shard_utilisation"]:
            assert 0 <= v <= 1
    finally:
        held.logout()
    # The same page over HTTPS with the server's certificate.
    page = curl("--cacert", str(srv.cert_path()), srv.metrics_tls_url)
    assert "postcore_connections_total" in page


def raw_http(port, data, read=True):
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_bad_requests_get_http_errors(srv):
    head = curl("-i", srv.metrics_url.replace("/metrics", "/"))
    assert head.startswith("HTTP/1.1 404")
    r = raw_http(srv.metrics_port, b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 405")
    r = raw_http(srv.metrics_port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 200") and b"\r\n\r\n" == r[-4:]
    assert re.search(rb"Content-Length: [1-9]", r)
    r = raw_http(srv.metrics_port, b"\x16\x03\x01garbage\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 400")
    # A header that never ends is cut off at the limit, not buffered.
    r = raw_http(srv.metrics_port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000)
    assert r.startswith(b"HTTP/1.1 431")
    # The listener still serves.
    assert "postcore_logins_total" in curl(srv.metrics_url)
