//! Runs a mode: one glommio executor per --threads, connections spread over
//! them, a progress line on the main thread, then the merged report.

use crate::cli::{Args, Mode};
use crate::modes::{self, Ctx};
use crate::session::Target;
use crate::stats::{Recorder, Report};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Client-controlled sizes are bounded so a typo cannot exhaust the machine.
const MAX_CONNECTIONS: usize = 200_000;
const MAX_THREADS: usize = 256;
const MAX_DEPTH: usize = 10_000;
const MAX_MSG: usize = 64 << 20;

pub fn validate(a: &Args) -> Result<(), String> {
    if a.threads == 0 || a.threads > MAX_THREADS {
        return Err(format!("--threads must be 1..={MAX_THREADS}"));
    }
    if a.connections == 0 || a.connections > MAX_CONNECTIONS {
        return Err(format!("--connections must be 1..={MAX_CONNECTIONS}"));
    }
    if a.depth == 0 || a.depth > MAX_DEPTH {
        return Err(format!("--depth must be 1..={MAX_DEPTH}"));
    }
    if a.msg_size == 0 || a.msg_size > MAX_MSG || a.max_msg_size > MAX_MSG {
        return Err(format!("message sizes must be 1..={MAX_MSG}"));
    }
    if !(a.duration.is_finite() && a.duration > 0.0 && a.duration <= 86_400.0) {
        return Err("--duration must be in (0, 86400]".into());
    }
    if !(a.warmup.is_finite() && (0.0..=3600.0).contains(&a.warmup)) {
        return Err("--warmup must be in [0, 3600]".into());
    }
    if !(a.interval.is_finite() && a.interval >= 0.01 && a.interval <= 3600.0) {
        return Err("--interval must be in [0.01, 3600]".into());
    }
    if !(a.rate.is_finite() && a.rate > 0.0 && a.rate <= 10_000_000.0) {
        return Err("--rate must be in (0, 1e7]".into());
    }
    if a.users == 0 {
        return Err("--users must be at least 1".into());
    }
    Ok(())
}

fn read_users(a: &Args) -> Result<Vec<(String, String)>, String> {
    let Some(path) = &a.users_file else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (u, p) = line
            .split_once(':')
            .ok_or_else(|| format!("{}:{}: expected user:password", path.display(), i + 1))?;
        out.push((u.to_string(), p.to_string()));
    }
    if out.is_empty() {
        return Err(format!("{}: no users", path.display()));
    }
    Ok(out)
}

/// Memory of a server process tree, in KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeMemory {
    /// Sum of RSS: counts a page shared by N processes N times.
    pub rss_kib: u64,
    /// Sum of PSS: a shared page counts 1/N in each of its N processes, so
    /// the sum is the tree's real footprint (fair to multi-process servers).
    pub pss_kib: u64,
}

/// Memory of `pid` and all its descendants (Dovecot serves sessions from
/// child processes, postcore from threads of one process).
pub fn tree_memory_kib(pid: u32) -> Option<TreeMemory> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // The command name may contain spaces; fields resume after the last ')'.
        let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
            continue;
        };
        let ppid = rest
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        parent_of.push((p, ppid));
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while let Some(&cur) = tree.get(i) {
        tree.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == cur)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    let mut total = TreeMemory {
        rss_kib: 0,
        pss_kib: 0,
    };
    let mut found = false;
    for p in tree {
        if let Ok(rollup) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
            && let (Some(rss), Some(pss)) = (kib_field(&rollup, "Rss:"), kib_field(&rollup, "Pss:"))
        {
            total.rss_kib += rss;
            total.pss_kib += pss;
            found = true;
            continue;
        }
        // Kernels without smaps_rollup: RSS only, PSS taken as RSS.
        let Ok(status) = std::fs::read_to_string(format!("/proc/{p}/status")) else {
            continue;
        };
        if let Some(kib) = kib_field(&status, "VmRSS:") {
            total.rss_kib += kib;
            total.pss_kib += kib;
            found = true;
        }
    }
    found.then_some(total)
}

/// The value of a `Name:   1234 kB` line of a /proc file.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
}

pub struct Outcome {
    pub report: Report,
    pub recorder: Recorder,
}

pub fn run(args: Args) -> Result<Outcome, String> {
    validate(&args)?;
    let tls = if args.tls {
        let ca = match &args.ca {
            Some(p) => Some(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
            None => None,
        };
        Some(crate::conn::tls_config(args.insecure, ca.as_deref()).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let weights = if args.mode == Mode::Mixed {
        modes::parse_weights(&args.weights)?
    } else {
        Vec::new()
    };
    let users = read_users(&args)?;
    let rss_before = args.server_pid.and_then(tree_memory_kib);
    let start = Instant::now();
    let (warmup, far) = match args.mode {
        // Population and idle-density have no steady state to warm up.
        Mode::Populate | Mode::IdleDensity => (Duration::ZERO, true),
        _ => (Duration::from_secs_f64(args.warmup), args.count.is_some()),
    };
    let measure_from = start + warmup;
    let deadline = if far {
        measure_from + Duration::from_secs(86_400 * 7)
    } else {
        measure_from + Duration::from_secs_f64(args.duration)
    };
    let ctx = Arc::new(Ctx {
        target: Target {
            addr: args.addr.clone(),
            tls,
            server_name: args.server_name.clone(),
        },
        users,
        measure_from,
        deadline,
        started: AtomicU64::new(0),
        ok: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        established: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        release: AtomicBool::new(false),
        weights,
        args: args.clone(),
    });
    let interval = Duration::from_secs_f64(args.interval);
    let mut handles = Vec::new();
    let finished_threads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for t in 0..args.threads {
        let ctx = ctx.clone();
        let finished_threads = finished_threads.clone();
        let h = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .name(&format!("loadgen-{t}"))
            .spawn(move || async move {
                let rec = Rc::new(RefCell::new(Recorder::new(ctx.measure_from, interval)));
                let conns = ctx.args.connections;
                let threads = ctx.args.threads;
                let mut tasks = Vec::new();
                let mut c = t;
                while c < conns {
                    tasks.push(glommio::spawn_local(modes::run_connection(
                        ctx.clone(),
                        c,
                        rec.clone(),
                    )));
                    c += threads;
                }
                for task in tasks {
                    task.await;
                }
                let out = rec.borrow().clone();
                finished_threads.fetch_add(1, Ordering::Relaxed);
                out
            })
            .map_err(|e| format!("executor {t}: {e}"))?;
        handles.push(h);
    }
    // Progress line and, for idle-density, the RSS sample once every session idles.
    let mut rss_idle = None;
    let mut last = (Instant::now(), 0u64);
    let quiet = args.quiet;
    while finished_threads.load(Ordering::Relaxed) < args.threads {
        std::thread::sleep(Duration::from_millis(200));
        let now = Instant::now();
        if args.mode == Mode::IdleDensity && rss_idle.is_none() {
            let settled =
                ctx.established.load(Ordering::Relaxed) + ctx.failed.load(Ordering::Relaxed);
            if settled >= args.connections as u64 {
                // Let the server settle before sampling, then hold for --duration.
                std::thread::sleep(Duration::from_secs(1));
                rss_idle = Some(args.server_pid.and_then(tree_memory_kib));
                std::thread::sleep(Duration::from_secs_f64(args.duration.min(30.0)));
                ctx.release.store(true, Ordering::Relaxed);
            }
        }
        if !quiet && now.duration_since(last.0) >= Duration::from_secs(1) {
            let ok = ctx.ok.load(Ordering::Relaxed);
            let rate = (ok - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
            let phase = if now < measure_from {
                "warm-up"
            } else {
                "measuring"
            };
            eprint!(
                "\r[{:6.1}s {phase}] ok {ok} errors {} rate {rate:.0}/s idle {}   ",
                now.duration_since(start).as_secs_f64(),
                ctx.errors.load(Ordering::Relaxed),
                ctx.established.load(Ordering::Relaxed)
            );
            last = (now, ok);
        }
    }
    let finished = Instant::now();
    if !quiet {
        eprintln!();
    }
    let mut merged = Recorder::new(measure_from, interval);
    for h in handles {
        let r = h.join().map_err(|e| format!("executor: {e}"))?;
        merged.merge(&r);
    }
    let measured = if far || finished < deadline {
        finished
            .saturating_duration_since(measure_from)
            .as_secs_f64()
    } else {
        args.duration
    };
    let target = args.addr.clone();
    let mut report = Report::build(
        &merged,
        measured,
        &format!("{:?}", args.mode).to_lowercase(),
        &target,
        args.seed,
        args.connections,
        args.threads,
    );
    if args.mode == Mode::IdleDensity {
        if let Some(b) = rss_before {
            report
                .extra
                .insert("server_rss_before_kib".into(), b.rss_kib as f64);
            report
                .extra
                .insert("server_pss_before_kib".into(), b.pss_kib as f64);
        }
        if let Some(Some(i)) = rss_idle {
            report
                .extra
                .insert("server_rss_idle_kib".into(), i.rss_kib as f64);
            report
                .extra
                .insert("server_pss_idle_kib".into(), i.pss_kib as f64);
            if let Some(b) = rss_before {
                let per = |after: u64, before: u64| {
                    (after as f64 - before as f64) * 1024.0 / args.connections as f64
                };
                report.extra.insert(
                    "server_bytes_per_idle_connection".into(),
                    per(i.rss_kib, b.rss_kib),
                );
                report.extra.insert(
                    "server_pss_bytes_per_idle_connection".into(),
                    per(i.pss_kib, b.pss_kib),
                );
            }
        }
        report.extra.insert(
            "idle_sessions".into(),
            ctx.established.load(Ordering::Relaxed) as f64,
        );
    }
    Ok(Outcome {
        report,
        recorder: merged,
    })
}
