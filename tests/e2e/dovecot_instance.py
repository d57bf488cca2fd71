"""A private Debian Dovecot for end-to-end tests that need another real
IMAP server on loopback: the source of an IMAP-to-IMAP pull or of an
imapsync round trip. Its config, state, mail and log live under one
temporary directory; every user logs in with one password (static passdb)
and gets a Maildir under that directory. The system's /etc/dovecot is never
read and the packaged service is never started.

Dovecot's master needs root (its mail processes setuid to the Debian
`mail` user), so the tests that use this skip off CI when not root and
fail on CI, like the Postfix ones."""

import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import time

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "dovepass"


def available():
    """None when a private Dovecot can run here, else why not."""
    if not os.path.exists(DOVECOT) or not os.path.exists("/usr/lib/dovecot/imap"):
        return "Dovecot is not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "a private Dovecot needs root (its master setuids mail processes)"
    for user in ("mail", "dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"the {user} user does not exist (install Debian's dovecot-core)"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """`start()` writes the config and waits for the IMAP port; `stop()`
    kills the master (which takes its children along)."""

    def __init__(self, base):
        self.base = pathlib.Path(base)
        self.imap_port = _free_port()
        self.pop3_port = _free_port()
        self.password = PASSWORD
        self.proc = None
        mail = pwd.getpwnam("mail")
        self.uid, self.gid = mail.pw_uid, mail.pw_gid

    @property
    def conf(self):
        return self.base / "dovecot.conf"

    def maildir(self, user):
        """The user's Maildir++ root (INBOX's cur/new/tmp, `.Sub` folders)."""
        return self.base / "mail" / user / "Maildir"

    def _write_conf(self):
        b = self.base
        for d in ("run", "state", "mail"):
            (b / d).mkdir(parents=True, exist_ok=True)
        os.chown(b / "mail", self.uid, self.gid)
        # Mail processes run as `mail` and must reach their homes.
        os.chmod(b, 0o755)
        self.conf.write_text(
            f"""\
protocols = imap pop3
listen = 127.0.0.1
base_dir = {b}/run
state_dir = {b}/state
instance_name = postcore-test-dovecot-{self.imap_port}
log_path = {b}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {self.uid}
first_valid_gid = {self.gid}
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={b}/mail/%u
}}
mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
}}
protocol pop3 {{
  pop3_uidl_format = %08Xu%08Xv
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service imap-urlauth-login {{
  unix_listener imap-urlauth {{
    mode = 0600
  }}
}}
"""
        )

    def start(self):
        self._write_conf()
        # -F: stay in the foreground so the test owns the master process.
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdin=subprocess.DEVNULL,
            stdout=open(self.base / "startup.log", "ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.proc.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not open {self.imap_port}: {self.log()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self):
        out = []
        for name in ("startup.log", "dovecot.log"):
            p = self.base / name
            if p.exists():
                out.append(p.read_text(errors="replace")[-4000:])
        return "\n".join(out)

    def imap(self, user):
        """A logged-in imaplib client for `user`."""
        import imaplib

        c = imaplib.IMAP4("127.0.0.1", self.imap_port)
        c.login(user, self.password)
        return c
