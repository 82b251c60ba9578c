//! Tests against a real AWS account. They run only when asked for:
//!
//! ```sh
//! DRCTL_LIVE_AWS=1 AWS_PROFILE=dr-readonly cargo test --test live_aws -- --ignored
//! ```
//!
//! They make read-only calls only (preflight and a dry run of the quarterly
//! drill), so a read-only role is enough. They refuse to run with
//! `AWS_ENDPOINT_URL` set, so an emulator is never mistaken for AWS.

use std::process::Command;

fn live_enabled() -> bool {
    std::env::var("DRCTL_LIVE_AWS").as_deref() == Ok("1") && std::env::var_os("AWS_ENDPOINT_URL").is_none()
}

fn drctl(args: &[&str], state_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_drctl"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DRCTL_STATE_DIR", state_dir)
        .env("CI", "true")
        .args(args)
        .output()
        .expect("start drctl")
}

#[test]
#[ignore = "live AWS: set DRCTL_LIVE_AWS=1 and credentials, then run with --ignored"]
fn preflight_of_drill_against_live_account() {
    assert!(live_enabled(), "set DRCTL_LIVE_AWS=1 and unset AWS_ENDPOINT_URL to run live tests");
    let state = tempfile::tempdir().unwrap();
    let output = drctl(&["plan", "playbooks/quarterly-restore-drill.yaml", "--preflight"], state.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Preflight"), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("credentials"), "{stdout}");
}

#[test]
#[ignore = "live AWS: set DRCTL_LIVE_AWS=1 and credentials, then run with --ignored"]
fn dry_run_of_drill_against_live_account() {
    assert!(live_enabled(), "set DRCTL_LIVE_AWS=1 and unset AWS_ENDPOINT_URL to run live tests");
    let state = tempfile::tempdir().unwrap();
    let output = drctl(&["run", "playbooks/quarterly-restore-drill.yaml", "--mode", "drill", "--dry-run"], state.path());
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
