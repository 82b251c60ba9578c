//! The launcher and PostgreSQL stop when their owner dies, even by SIGKILL.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alive(pid: u32) -> bool {
    // A zombie has exited but was not reaped yet, so it counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

fn wait_gone(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn integration() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integration")
}

/// Starts the launcher under a bash parent, in the background, and returns
/// the bash process and the ready JSON. The shared estate installs the virtualenv first.
fn launch_under_bash(extra: &str) -> (std::process::Child, serde_json::Value) {
    drctl_testkit::Estate::shared();
    let script = format!(".venv/bin/python -m emulator.launcher --time-scale 600 {extra} & wait");
    let mut bash = Command::new("bash")
        .args(["-c", &script])
        .current_dir(integration())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bash");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(bash.stdout.take().unwrap()), &mut line)
        .expect("read the ready line");
    (bash, serde_json::from_str(&line).expect("ready JSON"))
}

#[test]
fn launcher_exits_when_parent_killed() {
    let (mut bash, ready) = launch_under_bash("");
    let launcher = ready["pid"].as_u64().unwrap() as u32;
    assert!(alive(launcher));

    bash.kill().expect("SIGKILL bash");
    bash.wait().unwrap();
    assert!(wait_gone(launcher, Duration::from_secs(10)), "launcher {launcher} outlived its parent");
}

#[test]
fn postgres_stops_when_launcher_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pg_dir = dir.path().join("pg");
    let (mut bash, ready) = launch_under_bash(&format!("--pg-dir {}", pg_dir.display()));
    let launcher = ready["pid"].as_u64().unwrap() as u32;
    let postmaster = ready["pg"]["pid"].as_u64().unwrap() as u32;
    assert!(alive(postmaster));

    let status = Command::new("kill").args(["-KILL", &launcher.to_string()]).status().unwrap();
    assert!(status.success());
    assert!(wait_gone(postmaster, Duration::from_secs(30)), "postgres {postmaster} outlived the launcher");
    bash.wait().unwrap();
}
