#!/usr/bin/env bash
# benches/compare.sh - postcore vs Dovecot with postcore-loadgen, A B A B.
#
# Builds release binaries, starts postcore (1 shard) and Dovecot (its
# processes confined to the same CPU set) on loopback, both acknowledging
# messages only after fsync, populates both with the same seeded data, runs
# every workload against each server in alternation for $ROUNDS rounds and
# writes medians / ratios / spread to $OUT/table.md (pasted into
# docs/benchmarks.md). Run as root (Dovecot drops to the mail user).
#
# Pinning (2-core machine): servers on CPU $SERVER_CPUS, the load generator on
# CPU $CLIENT_CPUS, so client and server do not steal each other's core.
#
# Env: ROUNDS (3) SECS (5 measured seconds per run) WARMUP (1) BIG (100000
# messages in the SELECT mailbox) USERS (100) MSGS (50 messages per user)
# IDLE_CONNS (10000) POSTCORE (binary; default: build) LOADGEN (binary;
# default: build) OUT (/tmp/postcore-bench/results) ROWS (all; space list).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}; SECS=${SECS:-5}; WARMUP=${WARMUP:-1}
BIG=${BIG:-100000}; USERS=${USERS:-100}; MSGS=${MSGS:-50}; IDLE_CONNS=${IDLE_CONNS:-10000}
SERVER_CPUS=${SERVER_CPUS:-1}; CLIENT_CPUS=${CLIENT_CPUS:-0}
WORK=${WORK:-/tmp/postcore-bench}; OUT=${OUT:-$WORK/results}
ROWS=${ROWS:-"fetch1 fetch16 store16 append16k select_big sort_big sortdate_big thread_big pop3 storm mixed100 mixed1000 idle"}
PC_IMAP=12143; PC_POP3=12110; PC_LMTP=12024
DV_IMAP=11143; DV_POP3=11110; DV_LMTP=11024

if [ -z "${POSTCORE:-}" ] || [ -z "${LOADGEN:-}" ]; then
  (cd "$ROOT" && cargo build --release -p postcore -p postcore-loadgen)
  TD=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
  POSTCORE=${POSTCORE:-$TD/release/postcore}; LOADGEN=${LOADGEN:-$TD/release/postcore-loadgen}
fi
ulimit -n 200000 2>/dev/null || ulimit -n 65536 || true
mkdir -p "$WORK" "$OUT"

# --- postcore -----------------------------------------------------------
PCDIR=$WORK/postcore
start_postcore() {
  rm -rf "$PCDIR"; mkdir -p "$PCDIR/data"
  cat >"$PCDIR/postcore.toml" <<CONF
data_dir = "$PCDIR/data"
shards = 1
log = "warn"
[auth]
# Dovecot's peer uses a static clear-text passdb; {PLAIN} entries give postcore
# the same password-check cost, so the storm row compares sessions, not hashes.
allow_plain_scheme = true
failure_delay_ms = 0
[limits]
max_connections_per_ip = 100000
max_connections_per_user = 100000
[store]
sync_flag_changes = true
[[listener]]
address = "127.0.0.1:$PC_IMAP"
protocol = "imap"
tls = "none"
[[listener]]
address = "127.0.0.1:$PC_POP3"
protocol = "pop3"
tls = "none"
[[listener]]
address = "127.0.0.1:$PC_LMTP"
protocol = "lmtp"
tls = "none"
CONF
  { for i in $(seq 1 $((USERS + 20))); do echo "user$i:{PLAIN}pass::::::"; done; echo "big:{PLAIN}pass::::::"; } >"$PCDIR/data/passwd"
  taskset -c "$SERVER_CPUS" "$POSTCORE" --config "$PCDIR/postcore.toml" serve >"$PCDIR/log" 2>&1 &
  PC_PID=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PC_IMAP) 2>/dev/null && break; sleep 0.1; done
}

# --- Dovecot ------------------------------------------------------------
# $1: fsync mode (always for measuring); $2: "keep" keeps the mail already there.
start_dovecot() {
  DIR=$WORK/dovecot "$ROOT/benches/dovecot-peer.sh" stop >/dev/null 2>&1 || true
  [ "${2:-}" = keep ] || rm -rf "$WORK/dovecot"
  DV_PID=$(DIR=$WORK/dovecot IMAP_PORT=$DV_IMAP POP3_PORT=$DV_POP3 LMTP_PORT=$DV_LMTP CPUS=1 \
    MAIL_FSYNC=$1 taskset -c "$SERVER_CPUS" "$ROOT/benches/dovecot-peer.sh" start | tail -1)
}

LG() { taskset -c "$CLIENT_CPUS" "$LOADGEN" --quiet --seed 42 "$@"; }

populate() { # $1 imap port
  LG --mode populate --addr 127.0.0.1:$1 --users "$USERS" --connections 4 --messages "$MSGS" --max-msg-size 262144 --depth 16 >/dev/null
  LG --mode populate --addr 127.0.0.1:$1 --user big --users 1 --messages "$BIG" --fixed-size --msg-size 2048 --depth 32 >/dev/null
}

# row name -> loadgen arguments (imap port %I, pop3 port %P)
row_args() {
  local common="--duration $SECS --warmup $WARMUP"
  case $1 in
    fetch1)     echo "--mode pipelined --command fetch-headers --depth 1 --connections 10 --users 10 --addr 127.0.0.1:%I $common" ;;
    fetch16)    echo "--mode pipelined --command fetch-headers --depth 16 --connections 10 --users 10 --addr 127.0.0.1:%I $common" ;;
    store16)    echo "--mode pipelined --command store --depth 16 --connections 10 --users 10 --addr 127.0.0.1:%I $common" ;;
    append16k)  echo "--mode pipelined --command append --msg-size 16384 --depth 4 --connections 10 --users 10 --first-user $((USERS + 1)) --addr 127.0.0.1:%I $common" ;;
    select_big) echo "--mode pipelined --command select --depth 1 --connections 1 --user big --users 1 --addr 127.0.0.1:%I $common" ;;
    sort_big)   echo "--mode pipelined --command sort-subject --depth 1 --connections 1 --user big --users 1 --addr 127.0.0.1:%I $common" ;;
    sortdate_big) echo "--mode pipelined --command sort-date --depth 1 --connections 1 --user big --users 1 --addr 127.0.0.1:%I $common" ;;
    thread_big) echo "--mode pipelined --command thread-references --depth 1 --connections 1 --user big --users 1 --addr 127.0.0.1:%I $common" ;;
    pop3)       echo "--mode pop3 --connections 10 --users 10 --addr 127.0.0.1:%P $common" ;;
    storm)      echo "--mode storm --connections 20 --users 10 --addr 127.0.0.1:%I $common" ;;
    mixed100)   echo "--mode mixed --connections 100 --users $USERS --addr 127.0.0.1:%I $common" ;;
    mixed1000)  echo "--mode mixed --connections 1000 --users $USERS --addr 127.0.0.1:%I $common" ;;
    idle)       echo "--mode idle-density --connections $IDLE_CONNS --users $USERS --addr 127.0.0.1:%I --duration 2 --server-pid %S" ;;
  esac
}

run_row() { # server row round
  local port pop pid
  if [ "$1" = postcore ]; then port=$PC_IMAP; pop=$PC_POP3; pid=$PC_PID; else port=$DV_IMAP; pop=$DV_POP3; pid=$DV_PID; fi
  local args; args=$(row_args "$2" | sed "s/%I/$port/; s/%P/$pop/; s/%S/$pid/")
  echo "postcore-loadgen $args" >"$OUT/$1.$2.$3.cmd"
  # shellcheck disable=SC2086
  if ! LG $args --json "$OUT/$1.$2.$3.json" --plot "$OUT/$1.$2.$3.svg" >"$OUT/$1.$2.$3.txt" 2>"$OUT/$1.$2.$3.err"; then
    echo "  $1 $2 round $3: errors (see $OUT/$1.$2.$3.err)"
  fi
}

# Populating is not measured. Dovecot with mail_fsync=always takes ~50
# APPENDs/s into one mailbox (100,000 messages: over half an hour), so it is
# filled with fsync off and then restarted with mail_fsync=always before any
# row runs; postcore is filled with its normal durability (group commit).
start_postcore; start_dovecot never
echo "postcore pid $PC_PID; populating both"
T0=$(date +%s); populate $PC_IMAP; T1=$(date +%s); populate $DV_IMAP; T2=$(date +%s)
echo "populated: postcore $((T1 - T0)) s, Dovecot (fsync off) $((T2 - T1)) s"
start_dovecot always keep
echo "dovecot master pid $DV_PID (mail_fsync=always)"
for round in $(seq 1 "$ROUNDS"); do
  for row in $ROWS; do
    echo "round $round: $row"
    run_row postcore "$row" "$round"
    run_row dovecot "$row" "$round"
  done
done
kill "$PC_PID"; wait "$PC_PID" 2>/dev/null || true
DIR=$WORK/dovecot "$ROOT/benches/dovecot-peer.sh" stop >/dev/null 2>&1 || true
python3 "$ROOT/benches/compare_table.py" "$OUT" "$ROUNDS" $ROWS | tee "$OUT/table.md"
