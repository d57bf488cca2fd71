//! Runs postcore-loadgen for a few seconds against a real `postcore` server
//! started by the test on free loopback ports.
//!
//! Locating the server binary: Cargo only exposes `CARGO_BIN_EXE_*` for this
//! package's own binaries, so the test looks for `postcore` next to its own
//! target profile directory (`target/<profile>/postcore`, where
//! `cargo test --workspace` has already built it) and, when it is missing,
//! builds it with `$CARGO build -p postcore` into the same target directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn profile_dir() -> PathBuf {
    // <target>/<profile>/deps/against_postcore-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn postcore_bin() -> PathBuf {
    let dir = profile_dir();
    let bin = dir.join("postcore");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target = dir.parent().unwrap();
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "postcore"])
            .env("CARGO_TARGET_DIR", target);
        if dir.file_name().and_then(|n| n.to_str()) == Some("release") {
            cmd.arg("--release");
        }
        let st = cmd.status().unwrap();
        assert!(st.success(), "building postcore failed");
    }
    assert!(bin.exists(), "no postcore binary at {}", bin.display());
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path, imap: u16, pop3: u16) -> Server {
    let cfg = dir.join("postcore.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\nshards = 1\nlog = \"warn\"\n[auth]\nfailure_delay_ms = 0\n\
             [[listener]]\naddress = \"127.0.0.1:{imap}\"\nprotocol = \"imap\"\ntls = \"none\"\n\
             [[listener]]\naddress = \"127.0.0.1:{pop3}\"\nprotocol = \"pop3\"\ntls = \"none\"\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let bin = postcore_bin();
    let mut add = Command::new(&bin)
        .args(["--config", cfg.to_str().unwrap(), "user", "add", "user1"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin.take().unwrap().write_all(b"pass\n").unwrap();
    assert!(add.wait().unwrap().success());
    let child = Command::new(&bin)
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let until = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", imap)).is_err() {
        assert!(Instant::now() < until, "postcore did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn loadgen(args: &[&str], json: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_postcore-loadgen"))
        .args(args)
        .args(["--quiet", "--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loadgen {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

#[test]
fn pipelined_noop_and_fetch_against_postcore() {
    let dir = tempfile::tempdir().unwrap();
    let (imap, pop3) = (free_port(), free_port());
    let _server = start(dir.path(), imap, pop3);
    let addr = format!("127.0.0.1:{imap}");
    let j = dir.path().join("r.json");

    let pop = loadgen(
        &[
            "--mode",
            "populate",
            "--addr",
            &addr,
            "--messages",
            "50",
            "--depth",
            "8",
            "--seed",
            "3",
        ],
        &j,
    );
    assert_eq!(pop["commands"]["APPEND"]["total"]["count"], 50);
    assert_eq!(pop["total_errors"], 0);

    for command in ["noop", "fetch-headers"] {
        let plot = dir.path().join("p.svg");
        let hlog = dir.path().join("h.log");
        let r = loadgen(
            &[
                "--mode",
                "pipelined",
                "--command",
                command,
                "--depth",
                "8",
                "--connections",
                "2",
                "--threads",
                "2",
                "--addr",
                &addr,
                "--duration",
                "2",
                "--warmup",
                "0.5",
                "--plot",
                plot.to_str().unwrap(),
                "--hdr-log",
                hlog.to_str().unwrap(),
            ],
            &j,
        );
        assert_eq!(r["total_errors"], 0, "{r}");
        let label = if command == "noop" {
            "NOOP"
        } else {
            "UID FETCH HEADER"
        };
        let total = &r["commands"][label]["total"];
        assert!(total["count"].as_u64().unwrap() > 0, "{r}");
        assert!(total["p99_us"].as_u64().unwrap() >= total["p50_us"].as_u64().unwrap());
        assert!(total["max_us"].as_u64().unwrap() > 0);
        assert!(
            !r["commands"][label]["intervals"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(std::fs::read_to_string(&plot).unwrap().contains("<svg"));
        assert!(
            std::fs::read_to_string(&hlog)
                .unwrap()
                .contains("Tag=UID_FETCH_HEADER")
                || command == "noop"
        );
    }

    let p = loadgen(
        &[
            "--mode",
            "pop3",
            "--addr",
            &format!("127.0.0.1:{pop3}"),
            "--count",
            "20",
            "--warmup",
            "0",
        ],
        &j,
    );
    assert_eq!(p["total_errors"], 0, "{p}");
    assert!(p["commands"]["UIDL"]["total"]["count"].as_u64().unwrap() > 0);
}

#[test]
fn wrong_password_is_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let (imap, pop3) = (free_port(), free_port());
    let _server = start(dir.path(), imap, pop3);
    let out = Command::new(env!("CARGO_BIN_EXE_postcore-loadgen"))
        .args([
            "--mode",
            "pipelined",
            "--addr",
            &format!("127.0.0.1:{imap}"),
            "--password",
            "wrong",
            "--duration",
            "1",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("LOGIN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
