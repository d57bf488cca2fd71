"""Pull speed of `postcore import --from imap` from a private Dovecot on
loopback (tests/e2e/dovecot_instance.py; needs root and Debian's Dovecot).

    cargo build --release -p postcore
    python3 benches/imap_pull.py [--messages 20000] [--size 4096] [--runs 3]

Fills one Dovecot Maildir INBOX with MESSAGES messages of about SIZE bytes,
lets Dovecot index it once, then imports it into a fresh postcore store
RUNS times and prints messages/s (median, min, max)."""

import argparse
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("POSTCORE_BIN", str(ROOT / "target" / "release" / "postcore"))

from conftest import BIN, Server  # noqa: E402
from dovecot_instance import Dovecot, available  # noqa: E402
from test_migrate_imap import bulk_maildir  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    why = available()
    if why:
        sys.exit(why)
    base = pathlib.Path(tempfile.mkdtemp(prefix="postcore-pull-bench-"))
    os.chmod(base, 0o755)
    dv = Dovecot(base / "dovecot").start()
    try:
        bulk_maildir(dv, "bench", a.messages, size=a.size)
        c = dv.imap("bench")
        c.select("INBOX", readonly=True)  # Dovecot builds its uidlist and index now
        c.logout()
        pw = base / "pw"
        pw.write_text(dv.password)
        rates = []
        for run in range(a.runs):
            srv = Server(base / f"srv{run}")
            t = time.monotonic()
            r = subprocess.run(
                [BIN, "--config", str(srv.config), "import", "--from", "imap", "--host", "127.0.0.1",
                 "--port", str(dv.imap_port), "--tls", "none", "--remote-user", "bench",
                 "--password-file", str(pw), "alice"],
                capture_output=True, text=True)
            secs = time.monotonic() - t
            m = re.search(r"alice: (\d+) imported", r.stdout)
            if r.returncode != 0 or not m or int(m.group(1)) != a.messages:
                sys.exit(f"import failed: {r.stdout}{r.stderr}")
            rates.append(a.messages / secs)
            print(f"run {run + 1}: {a.messages} messages in {secs:.2f} s, {rates[-1]:.0f} messages/s")
        print(f"median {statistics.median(rates):.0f} messages/s ({min(rates):.0f}-{max(rates):.0f})")
    finally:
        dv.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
