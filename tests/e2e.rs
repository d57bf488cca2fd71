//! Runs the end-to-end suite in `tests/e2e` (pytest, driving the real
//! `postcore` binary over real sockets with real clients) as part of
//! `cargo test`. Cargo builds the binary first and tells us where it is.

use std::process::Command;

#[test]
fn end_to_end_suite() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let bin = env!("CARGO_BIN_EXE_postcore");
    let mut cmd = Command::new("python3");
    cmd.current_dir(root)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e"])
        .env("POSTCORE_BIN", bin);
    if let Ok(filter) = std::env::var("E2E_FILTER") {
        cmd.args(["-k", &filter]);
    }
    let status = cmd.status().expect(
        "python3 is needed for the end-to-end tests (apt-get install python3 python3-pytest)",
    );
    assert!(status.success(), "end-to-end tests failed: {status}");
}
