#!/usr/bin/env bash
# benches/dovecot-peer.sh - the Dovecot instance postcore is benchmarked against.
# Debian's Dovecot 2.3 on loopback only, static passdb (every user, password
# $PASS), mdbox storage (append-to-file, the closest to postcore's log store),
# mail_fsync=always: a message is on disk before APPEND/LMTP is acknowledged,
# the same durability postcore gives (fsync on delivery).
# Usage: benches/dovecot-peer.sh start|stop   (run as root; DIR, IMAP_PORT,
# POP3_PORT, LMTP_PORT, CPUS override the defaults below; MAIL_FSYNC=never is
# only for filling a mailbox before measuring, never for a measured run)
set -euo pipefail
DIR=${DIR:-/tmp/postcore-bench/dovecot}
IMAP_PORT=${IMAP_PORT:-11143}
POP3_PORT=${POP3_PORT:-11110}
LMTP_PORT=${LMTP_PORT:-11024}
PASS=${PASS:-pass}
CPUS=${CPUS:-1}
MAIL_FSYNC=${MAIL_FSYNC:-always}
MAIL_UID=$(id -u mail 2>/dev/null || echo 8)
MAIL_GID=$(id -g mail 2>/dev/null || echo 8)

install() {
  if [ ! -x /usr/lib/dovecot/imap ] || [ ! -x /usr/lib/dovecot/pop3 ] || [ ! -x /usr/lib/dovecot/lmtp ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd >/dev/null
  fi
}

conf() {
  mkdir -p "$DIR"/{run,state,mail}
  chown "$MAIL_UID:$MAIL_GID" "$DIR/mail"
  cat >"$DIR/dovecot.conf" <<CONF
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = $DIR/run
state_dir = $DIR/state
instance_name = postcore-bench-dovecot
log_path = $DIR/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $MAIL_UID
first_valid_gid = $MAIL_GID
passdb {
  driver = static
  args = password=$PASS
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$DIR/mail/%u
}
mail_location = mdbox:~/mdbox
mail_fsync = $MAIL_FSYNC
mail_max_userip_connections = 100000
default_client_limit = 100000
default_process_limit = 12000
protocol lmtp {
  auth_username_format = %n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
  # Dovecot's high-performance login mode: long-lived login processes, one per core.
  service_count = 0
  process_min_avail = $CPUS
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = $CPUS
}
# One imap/pop3 process per session; Dovecot's built-in cap is 1024 per
# service, which the 10,000-connection IDLE row would hit.
service imap {
  process_limit = 12000
}
service pop3 {
  process_limit = 12000
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
CONF
}

case "${1:-}" in
  start)
    install; conf
    ulimit -n 200000 2>/dev/null || ulimit -n 65536 || true
    # The daemon must not keep the caller's stdout open (callers capture the PID line).
    dovecot -c "$DIR/dovecot.conf" </dev/null >/dev/null 2>&1
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$IMAP_PORT") 2>/dev/null && break; sleep 0.2; done
    cat "$DIR/run/master.pid" ;;
  stop)
    if [ -f "$DIR/run/master.pid" ]; then kill "$(cat "$DIR/run/master.pid")" 2>/dev/null || true; sleep 1; fi ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
