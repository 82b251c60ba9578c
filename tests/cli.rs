//! The command line as a user meets it: exit codes, messages and the
//! commands around a run (validate, schema, report, history, tfstate, Ctrl-C).

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::cli::{Drctl, describe, playbook};

fn write_playbook(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    path.display().to_string()
}

#[test]
fn shipped_playbooks_validate() {
    let (estate, tenant) = support::tenant("cli-validate");
    let drctl = Drctl::new(estate, &tenant);
    for name in ["quarterly-restore-drill.yaml", "incident-recovery.yaml", "tfstate-rollback.yaml", "nightly-snapshot-copy.yaml"] {
        let output = drctl.run(&["validate", &playbook(name)]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", describe(&output));
    }
}

#[test]
fn invalid_playbook_exits_2_with_location() {
    let (estate, tenant) = support::tenant("cli-invalid");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let path = write_playbook(
        &dir,
        "bad.yaml",
        "version: 1\nname: bad\nregions: { primary: eu-west-2 }\nsteps:\n  - id: a\n    kind: aurora.restor_pitr\n    params: {}\n",
    );
    let output = drctl.run(&["validate", &path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains("bad.yaml:6:11"), "no file:line:col in:\n{stderr}");
    assert!(stderr.contains("aurora.restore_pitr"), "no suggestion in:\n{stderr}");
    assert!(stderr.contains('^'), "no caret in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn schema_is_json_with_every_kind() {
    let (estate, tenant) = support::tenant("cli-schema");
    let drctl = Drctl::new(estate, &tenant);
    let output = drctl.run(&["schema"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("schema is JSON");
    let text = schema.to_string();
    for kind in ["aurora.restore_pitr", "aurora.copy_snapshot", "restore_test", "tfstate.rollback", "alb.repoint"] {
        assert!(text.contains(kind), "{kind} missing from the schema");
    }
}

#[test]
fn plan_json_shows_critical_path() {
    let (estate, tenant) = support::tenant("cli-plan");
    let drctl = Drctl::new(estate, &tenant);
    let output = drctl.run(&["plan", &playbook("quarterly-restore-drill.yaml"), "--output", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let path: Vec<&str> = plan["critical_path"]["steps"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(path, ["copy-to-backup", "restore-backup", "backup-writer", "verify-backup"]);
    assert!(tenant.requests().is_empty(), "plan made AWS calls");
}

#[test]
fn tfstate_versions_lists_serials() {
    let (estate, tenant) = support::tenant("cli-tfstate");
    let drctl = Drctl::new(estate, &tenant);
    let seed = &estate.seed().tfstate;
    let output = drctl.run(&[
        "tfstate", "versions", "--bucket", &seed.bucket, "--key", &seed.key, "--region", "eu-west-2", "--output", "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let versions: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(versions.len() >= 5, "{versions:?}");
    let serials: Vec<u64> = versions.iter().filter_map(|v| v["serial"].as_u64()).collect();
    assert!(serials.windows(2).all(|pair| pair[0] > pair[1]), "newest first by serial: {serials:?}");
    assert!(tenant.mutating_requests().is_empty());
}

#[test]
fn report_and_history_after_a_run() {
    let (estate, tenant) = support::tenant("cli-report");
    let drctl = Drctl::new(estate, &tenant);
    let mut args = vec!["run".to_string(), playbook("quarterly-restore-drill.yaml"), "--run-id".into(), "rclireport".into()];
    args.extend(drctl.estate_vars());
    let output = drctl.command().args(&args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));

    for (format, marker) in [("json", "drctl.report/v1"), ("markdown", "quarterly-restore-drill"), ("html", "<svg"), ("junit", "<testsuites")] {
        let report = drctl.run(&["report", "rclireport", "--format", format]);
        assert_eq!(report.status.code(), Some(0), "{format}: {}", describe(&report));
        assert!(String::from_utf8_lossy(&report.stdout).contains(marker), "{format} lacks {marker}");
    }

    let history = drctl.run(&["history", "quarterly-restore-drill", "--output", "json"]);
    assert_eq!(history.status.code(), Some(0), "{}", describe(&history));
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history["runs"].as_array().unwrap().len(), 1, "{history}");

    let missing = drctl.run(&["report", "rnosuchrun", "--format", "json"]);
    assert_eq!(missing.status.code(), Some(6), "{}", describe(&missing));
}

/// One Ctrl-C stops new steps, runs the cleanup and leaves a resumable
/// journal; `drctl resume` then finishes the run.
#[test]
fn ctrl_c_runs_cleanup_then_resume_finishes() {
    let (estate, tenant) = support::tenant("cli-ctrl-c");
    let drctl = Drctl::new(estate, &tenant);
    let mut args = vec!["run".to_string(), playbook("quarterly-restore-drill.yaml"), "--run-id".into(), "rctrlc".into()];
    args.extend(drctl.estate_vars());
    let child = drctl.command().args(&args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();

    // Interrupt once the restores have started.
    let journal = drctl.run_dir("rctrlc").join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&journal).unwrap_or_default().contains("\"step\":\"restore-primary\"") {
        assert!(Instant::now() < deadline, "the run never started restore-primary");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(4), "{text}");
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert!(journal_text.contains("\"type\":\"run_interrupted\""), "{journal_text}");
    assert!(journal_text.contains("\"step\":\"cleanup\""), "cleanup did not run after Ctrl-C:\n{text}");

    let resumed = drctl.run(&["resume", "rctrlc"]);
    let text = describe(&resumed);
    assert!(matches!(resumed.status.code(), Some(0) | Some(8)), "{text}");
    let leftovers = support::cli::leftovers(&tenant, "rctrlc");
    assert!(leftovers.is_empty(), "left over after resume: {leftovers:?}");
}
