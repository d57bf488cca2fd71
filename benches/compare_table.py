#!/usr/bin/env python3
"""Turns benches/compare.sh results (one JSON report per server/row/round)
into the markdown table of docs/benchmarks.md: medians, spread, ratios."""
import json, os, statistics, sys

out, rounds, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
MAIN = {  # row -> (commands summed for throughput, command whose p99 is shown; None = worst)
    "fetch1": (["UID FETCH HEADER"], "UID FETCH HEADER"),
    "fetch16": (["UID FETCH HEADER"], "UID FETCH HEADER"),
    "store16": (["UID STORE"], "UID STORE"),
    "append16k": (["APPEND"], "APPEND"),
    "select_big": (["SELECT"], "SELECT"),
    "sort_big": (["UID SORT SUBJECT"], "UID SORT SUBJECT"),
    "sortdate_big": (["UID SORT REVERSE DATE"], "UID SORT REVERSE DATE"),
    "thread_big": (["UID THREAD REFERENCES"], "UID THREAD REFERENCES"),
    "pop3": (None, "RETR"),
    "storm": (["CONNECT+LOGIN+LOGOUT"], "CONNECT+LOGIN+LOGOUT"),
    "mixed100": (None, None),
    "mixed1000": (None, None),
}
TITLE = {
    "fetch1": "pipelined UID FETCH headers, depth 1, 10 conns",
    "fetch16": "pipelined UID FETCH headers, depth 16, 10 conns",
    "store16": "UID STORE +FLAGS pipelined, depth 16, 10 conns",
    "append16k": "APPEND 16 KiB, depth 4 (LITERAL+), 10 conns",
    "select_big": "SELECT of a BIG-message mailbox, 1 conn",
    "sort_big": "UID SORT (SUBJECT) ALL of the BIG mailbox, 1 conn",
    "sortdate_big": "UID SORT (REVERSE DATE) ALL of the BIG mailbox, 1 conn",
    "thread_big": "UID THREAD REFERENCES ALL of the BIG mailbox (threads of 5), 1 conn",
    "pop3": "POP3 session (STAT UIDL RETR TOP DELE RSET QUIT), 10 conns",
    "storm": "connection storm (connect+LOGIN+LOGOUT), 20 conns",
    "mixed100": "imaptest-like mixed, 100 conns",
    "mixed1000": "imaptest-like mixed, 1000 conns",
    "idle": "memory (PSS) per IDLE connection",
}

def load(server, row, r):
    p = os.path.join(out, f"{server}.{row}.{r}.json")
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def figures(rep, row):
    if row == "idle":
        ex = rep.get("extra", {})
        v = ex.get("server_pss_bytes_per_idle_connection", ex.get("server_bytes_per_idle_connection"))
        return (v, ex.get("server_bytes_per_idle_connection"), rep["total_errors"])
    cmds, p99c = MAIN[row]
    c = rep["commands"]
    names = cmds if cmds else list(c)
    thr = sum(c[n]["total"]["throughput_per_s"] for n in names if n in c)
    if p99c:
        p99 = c.get(p99c, {}).get("total", {}).get("p99_us")
    else:
        p99 = max((v["total"]["p99_us"] for v in c.values()), default=None)
    return (thr, p99, rep["total_errors"])

def fmt_spread(vals, scale=1.0, nd=0):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a", None
    m = statistics.median(vals)
    return f"{m/scale:.{nd}f} ({min(vals)/scale:.{nd}f}–{max(vals)/scale:.{nd}f})", m

print("| workload | postcore | Dovecot | ratio | postcore p99 ms | Dovecot p99 ms | p99 ratio (pc/dv) | errors pc/dv |")
print("|---|---|---|---|---|---|---|---|")
for row in rows:
    res = {}
    for server in ("postcore", "dovecot"):
        reps = [load(server, row, r) for r in range(1, rounds + 1)]
        figs = [figures(x, row) for x in reps if x]
        res[server] = figs
    if not res["postcore"] and not res["dovecot"]:
        continue
    unit = "bytes/conn" if row == "idle" else "ops/s"
    pt, pm = fmt_spread([f[0] for f in res["postcore"]], 1.0, 0)
    dt, dm = fmt_spread([f[0] for f in res["dovecot"]], 1.0, 0)
    if row == "idle":
        ratio = f"{dm/pm:.2f}x less" if pm and dm else "n/a"
    else:
        ratio = f"{pm/dm:.2f}x" if pm and dm else "n/a"
    if row == "idle":
        # No latency here: the p99 columns carry the RSS-sum figure (KB/conn),
        # which counts shared pages once per process.
        pp, _ = fmt_spread([f[1] for f in res["postcore"]], 1000.0, 1)
        dp, _ = fmt_spread([f[1] for f in res["dovecot"]], 1000.0, 1)
        pp, dp, pr = f"RSS sum {pp} KB/conn", f"RSS sum {dp} KB/conn", "n/a"
    else:
        pp, ppm = fmt_spread([f[1] for f in res["postcore"]], 1000.0, 2)
        dp, dpm = fmt_spread([f[1] for f in res["dovecot"]], 1000.0, 2)
        pr = f"{ppm/dpm:.2f}" if ppm and dpm else "n/a"
    errs = f"{sum(f[2] for f in res['postcore'])}/{sum(f[2] for f in res['dovecot'])}"
    print(f"| {TITLE.get(row, row)} ({unit}) | {pt} | {dt} | {ratio} | {pp} | {dp} | {pr} | {errs} |")
