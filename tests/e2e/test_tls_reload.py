"""SIGHUP reloads the TLS certificate: new connections get the new one,
and a broken certificate file leaves the old one in force."""

import signal
import socket
import ssl
import subprocess
import time


def presented_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            return t.getpeercert(binary_form=True)


def new_self_signed(path_cert, path_key, cn):
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(path_key), "-out", str(path_cert), "-days", "2",
            "-subj", f"/CN={cn}",
        ],
        check=True,
        capture_output=True,
    )


def wait_for_change(port, old, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        cur = presented_cert(port)
        if cur != old:
            return cur
        time.sleep(0.1)
    return None


def test_sighup_reloads_the_certificate(server):
    before = presented_cert(server.imaps_port)
    cert = server.cert_path()
    key = cert.parent / "key.pem"
    new_self_signed(cert.with_suffix(".new"), key.with_suffix(".new"), "reloaded.test")
    cert.with_suffix(".new").replace(cert)
    key.with_suffix(".new").replace(key)
    # Without SIGHUP nothing changes.
    assert presented_cert(server.imaps_port) == before
    server.proc.send_signal(signal.SIGHUP)
    after = wait_for_change(server.imaps_port, before)
    assert after is not None, "the certificate was not reloaded"
    assert after == ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert "reloaded the TLS certificate" in server.log()

    # A broken file: the server keeps serving the last good certificate.
    cert.write_text("not a certificate\n")
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "keeping the old certificate" not in server.log() and time.time() < deadline:
        time.sleep(0.1)
    assert "keeping the old certificate" in server.log()
    assert presented_cert(server.imaps_port) == after
