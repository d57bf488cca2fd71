"""A private Postfix instance for end-to-end tests: its own config
directory, queue and data directories and log file under one temporary
directory, listening on loopback only, handing mail for example.test to
postcore over LMTP and authenticating submission through postcore's
Dovecot-protocol auth socket. The system's /etc/postfix is never touched.

The main.cf and master.cf lines written here are the ones quoted in
docs/deployment.md; keep the two in step."""

import os
import pathlib
import shutil
import subprocess
import time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
DOMAIN = "example.test"


def available():
    """None when Postfix can run here, else why not."""
    if not os.path.exists(POSTFIX):
        return "postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (its master runs as root)"
    try:
        import pwd

        pwd.getpwnam("postfix")
    except KeyError:
        return "the postfix user does not exist (install the Debian postfix package)"
    return None


def main_cf(base, lmtp_port):
    return f"""\
compatibility_level = 3.6
config_directory = {base}/etc
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relayhost =
relay_domains =
alias_maps =
alias_database =
smtp_host_lookup = native
lmtp_host_lookup = native
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
biff = no
# Mail for example.test goes to postcore over LMTP.
virtual_mailbox_domains = {DOMAIN}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
# A 5xx from postcore is final: bounce at once instead of retrying.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


# type private unpriv chroot wakeup maxproc command; nothing is chrooted,
# so the absolute auth socket path works as written.
MASTER_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def master_cf(smtp_port, submission_port, auth_socket):
    return (
        f"127.0.0.1:{smtp_port} inet n - n - - smtpd\n"
        f"127.0.0.1:{submission_port} inet n - n - - smtpd\n"
        "  -o syslog_name=postfix/submission\n"
        "  -o smtpd_sasl_auth_enable=yes\n"
        "  -o smtpd_sasl_type=dovecot\n"
        f"  -o smtpd_sasl_path={auth_socket}\n"
        "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
        "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
        + MASTER_SERVICES
    )


class Postfix:
    """A running private Postfix. `base` must be reachable by the postfix
    user (every parent directory searchable)."""

    def __init__(self, base, lmtp_port, smtp_port, submission_port, auth_socket):
        self.base = pathlib.Path(base)
        self.etc = self.base / "etc"
        self.smtp_port = smtp_port
        self.submission_port = submission_port
        self.maillog = self.base / "maillog"
        self.etc.mkdir(parents=True, exist_ok=True)
        # Postfix chdirs into the queue before it creates anything in it;
        # the subdirectories and the data directory it makes itself, with
        # the owners it wants.
        (self.base / "queue").mkdir(mode=0o755, exist_ok=True)
        (self.etc / "main.cf").write_text(main_cf(self.base, lmtp_port))
        (self.etc / "master.cf").write_text(master_cf(smtp_port, submission_port, auth_socket))
        self.started = False

    def run(self, *args, timeout=60):
        return subprocess.run(
            [POSTFIX, "-c", str(self.etc), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self):
        # `start` runs `check`, which creates the queue and data directories
        # with the owners Postfix wants.
        # Marked before the attempt: a start that fails half way may still
        # leave a master behind for stop() to end.
        self.started = True
        r = self.run("start")
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed ({r.returncode}):\n{r.stdout}{r.stderr}\n{self.log()}")
        return self

    def stop(self):
        if not self.started:
            return
        self.started = False
        r = self.run("stop")
        if r.returncode != 0:
            # Still make sure no daemon outlives the test.
            self.run("abort")
        # master removes its pid file once its children have gone.
        pid = self.base / "queue" / "pid" / "master.pid"
        deadline = time.time() + 10
        while pid.exists() and time.time() < deadline:
            time.sleep(0.1)

    def log(self):
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return "(no maillog)"
