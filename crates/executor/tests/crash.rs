//! Crash matrix: a real harness process is killed after every journal
//! record in turn (by the `crash-after:N` fault, which aborts the process)
//! and then resumed. Every step must create its resource exactly once and
//! the final journal must be complete.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use drctl_executor::{JournalEntry, Record, ResourceEvent, RunOutcome, RunState, StepStatus, read_journal, replay};

const STEPS: [&str; 6] = ["snapshot", "copy", "dns", "restore", "check", "report"];
const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;

fn harness(dir: &Path, faults: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_executor-harness"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--markers")
        .arg(dir.join("markers"))
        .args(extra)
        .env("DRCTL_FAULTS", faults)
        .output()
        .expect("the harness binary starts")
}

fn journal(dir: &Path) -> Vec<JournalEntry> {
    read_journal(&dir.join("state/runs/crash-run/journal.jsonl")).unwrap()
}

fn marker_log(dir: &Path, step: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join("markers").join(format!("{step}.log")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn new_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("markers")).unwrap();
    dir
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}, stdout {}, stderr {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Resumes until the run finishes, returning the final state.
fn resume_to_end(dir: &Path, faults: &str, extra: &[&str]) -> RunState {
    let mut args = vec!["--resume"];
    args.extend_from_slice(extra);
    let finished_before = replay(&journal(dir)).is_ok_and(|state| state.outcome.is_some());
    let output = harness(dir, faults, &args);
    match output.status.code() {
        Some(0) => {}
        Some(3) if finished_before => {}
        _ => panic!("resume failed: {}", describe(&output)),
    }
    replay(&journal(dir)).unwrap()
}

/// Checks that every step created its marker exactly once and the journal is complete.
///
/// The harness creates a marker with `create_new`, so a second creation
/// fails the step and the run. It logs `create` just after the creation,
/// so a SIGKILL between the two loses the log line; `exact_log` is false
/// for those runs and then a missing `create` must be explained by an `adopt`.
fn assert_exactly_once(dir: &Path, state: &RunState, context: &str, exact_log: bool) {
    assert_eq!(state.outcome, Some(RunOutcome::Succeeded), "{context}");
    for step in STEPS {
        let log = marker_log(dir, step);
        let creates = log.iter().filter(|line| *line == "create").count();
        if exact_log {
            assert_eq!(creates, 1, "{context}: step {step} created {creates} times ({log:?})");
        } else {
            assert!(creates <= 1, "{context}: step {step} created {creates} times ({log:?})");
            let adopted = log.iter().any(|line| line == "adopt");
            assert!(creates == 1 || adopted, "{context}: step {step} neither created nor adopted ({log:?})");
        }
        assert!(dir.join("markers").join(format!("{step}.resource")).exists(), "{context}: {step}");

        let step_state = &state.steps[step];
        assert_eq!(step_state.status, StepStatus::Succeeded, "{context}: {step}");
        let created = step_state.resources.iter().filter(|r| r.event == ResourceEvent::Created).count();
        assert!(created <= 1, "{context}: {step} journalled {created} creations");
    }
    let entries = journal(dir);
    assert!(matches!(entries.last().unwrap().record, Record::RunFinished { .. }), "{context}: last record");
    let succeeded = entries.iter().filter(|e| matches!(e.record, Record::StepSucceeded { .. })).count();
    assert_eq!(succeeded, STEPS.len(), "{context}: one step_succeeded per step");
}

#[test]
fn crash_after_every_record_resumes_exactly_once() {
    // A clean run gives the number of records to crash after.
    let clean = new_dir();
    let output = harness(clean.path(), "", &[]);
    assert!(output.status.success(), "{}", describe(&output));
    let total = journal(clean.path()).len() as u64;
    assert_exactly_once(clean.path(), &replay(&journal(clean.path())).unwrap(), "clean run", true);
    assert!(total > 30, "expected a journal of more than 30 records, got {total}");

    let mut adoptions = 0;
    for n in 1..=total {
        let dir = new_dir();
        let output = harness(dir.path(), &format!("crash-after:{n}"), &[]);
        assert_eq!(output.status.signal(), Some(SIGABRT), "crash-after:{n}: {}", describe(&output));
        assert_eq!(journal(dir.path()).len() as u64, n, "crash-after:{n}: records on disk");

        // Crash a second time, early in the resumed run, then resume again.
        let output = harness(dir.path(), &format!("crash-after:{}", n + 2), &["--resume"]);
        let finished = replay(&journal(dir.path())).unwrap().outcome.is_some();
        assert!(
            output.status.signal() == Some(SIGABRT) || output.status.success() || finished,
            "second crash at {}: {}",
            n + 2,
            describe(&output)
        );

        let state = resume_to_end(dir.path(), "", &[]);
        assert_exactly_once(dir.path(), &state, &format!("crash-after:{n}"), true);
        adoptions += STEPS.iter().filter(|step| marker_log(dir.path(), step).iter().any(|l| l == "adopt")).count();
    }
    assert!(adoptions > 0, "no crash landed between a creation and its note, so adoption was never tested");
}

#[test]
fn crash_during_undo_finishes_the_undo() {
    let clean = new_dir();
    let output = harness(clean.path(), "fail:check", &["--undo"]);
    assert!(output.status.success(), "{}", describe(&output));
    let total = journal(clean.path()).len() as u64;

    for n in 1..=total {
        let dir = new_dir();
        let output = harness(dir.path(), &format!("fail:check,crash-after:{n}"), &["--undo"]);
        assert_eq!(output.status.signal(), Some(SIGABRT), "crash-after:{n}: {}", describe(&output));

        let state = resume_to_end(dir.path(), "fail:check", &["--undo"]);
        let context = format!("undo crash-after:{n}");
        assert_eq!(state.outcome, Some(RunOutcome::RolledBack { failed_steps: vec!["check".into()] }), "{context}");
        assert!(state.manual_actions.is_empty(), "{context}: {:?}", state.manual_actions);
        for step in ["snapshot", "copy", "dns", "restore"] {
            let log = marker_log(dir.path(), step);
            assert_eq!(log.iter().filter(|l| *l == "create").count(), 1, "{context}: {step} {log:?}");
            assert!(log.iter().any(|l| l == "undo"), "{context}: {step} never undone {log:?}");
            assert!(!dir.path().join("markers").join(format!("{step}.resource")).exists(), "{context}: {step} left behind");
        }
        assert_eq!(marker_log(dir.path(), "check"), Vec::<String>::new(), "{context}: check never ran");
    }
}

#[test]
fn sigkill_mid_step_resumes_exactly_once() {
    // Kill a slow run at a few points in real time with SIGKILL, then resume.
    for delay_ms in [5, 20, 40, 60, 80, 100, 130, 160] {
        let dir = new_dir();
        let mut child = Command::new(env!("CARGO_BIN_EXE_executor-harness"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--markers")
            .arg(dir.path().join("markers"))
            .args(["--step-delay-ms", "25"])
            .env("DRCTL_FAULTS", "")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(status.signal() == Some(SIGKILL) || status.success(), "kill at {delay_ms} ms: {status:?}");

        if !dir.path().join("state/runs/crash-run/journal.jsonl").exists() {
            continue;
        }
        let state = resume_to_end(dir.path(), "", &[]);
        assert_exactly_once(dir.path(), &state, &format!("SIGKILL at {delay_ms} ms"), false);
    }
}
