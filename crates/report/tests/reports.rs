//! Reports built from journals: goldens for every format, the verdict
//! arithmetic, redaction of secrets, and crashed runs.

mod support;

use std::path::Path;

use drctl_report::{REPORT_JSON_SCHEMA, RpoStatus, RtoStatus, RunStatus, build_report, load_run, write_reports};
use serde_json::Value;
use support::{assert_golden, drill::run_drill, install_fixture, redact, schema::violations};

const COMPLETE_ID: &str = "drill-20260301-0902";
const CRASHED_ID: &str = "drill-20260301-crash";

/// Writes all four reports for `run_dir` and compares each with its golden.
fn check_goldens(prefix: &str, run_dir: &Path, run_ids: &[&str]) {
    let paths = write_reports(run_dir).expect("reports are written");
    for (path, suffix) in [(&paths.json, "json"), (&paths.markdown, "md"), (&paths.html, "html"), (&paths.junit, "junit.xml")] {
        let text = std::fs::read_to_string(path).unwrap();
        assert_golden(&format!("{prefix}.{suffix}"), &redact(&text, run_ids));
    }
}

fn json_report(run_dir: &Path) -> Value {
    write_reports(run_dir).unwrap();
    serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn complete_fixture_goldens() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    check_goldens("complete", &run_dir, &[COMPLETE_ID]);
}

#[test]
fn crashed_fixture_goldens() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "crashed-run.jsonl", CRASHED_ID);
    check_goldens("crashed", &run_dir, &[CRASHED_ID]);
}

#[tokio::test(start_paused = true)]
async fn executor_drill_goldens() {
    let state = tempfile::tempdir().unwrap();
    run_drill(state.path(), "drill-a", 1, 14, 4.5).await;
    let run_dir = run_drill(state.path(), "drill-b", 2, 10, 3.0).await;
    check_goldens("executor", &run_dir, &["drill-a", "drill-b"]);
}

#[test]
fn failed_step_leaves_rto_not_reached() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    let report = build_report(&load_run(&run_dir).unwrap());

    assert_eq!(report.run.status, RunStatus::Failed);
    assert!(report.run.complete);
    assert_eq!(report.rto.status, RtoStatus::NotReached);
    assert_eq!(report.rto.achieved_seconds, None);
    assert_eq!(report.verdict.headline, "RTO not reached: step verify-primary failed; RPO met (3.2s of 15m 00s target)");
}

#[test]
fn rpo_is_worst_check_against_target() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    let report = build_report(&load_run(&run_dir).unwrap());

    assert_eq!(report.rpo.status, RpoStatus::Met);
    assert_eq!(report.rpo.measured_seconds, Some(3.2));
    assert_eq!(report.rpo.target_seconds, Some(900.0));
    assert_eq!(report.rpo.worst_check.as_deref(), Some("rpo"));
}

#[test]
fn failed_check_and_cleanup_reported() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    let report = build_report(&load_run(&run_dir).unwrap());

    let failed: Vec<&str> = report.checks.iter().filter(|c| c.status == "failed").map(|c| c.name.as_str()).collect();
    assert_eq!(failed, vec!["spend logs <24h> & recent"]);

    let cluster = report.resources.iter().find(|r| r.id == "drill-restore-0902").unwrap();
    assert!(cluster.cleaned_up);
    assert!(!cluster.left_over);
    let snapshot = report.resources.iter().find(|r| r.id == "drill-copy-0902").unwrap();
    assert!(snapshot.left_over);
    assert!(report.manual_actions.iter().any(|a| a.kind == "leftover_resource" && a.message.contains("drill-copy-0902")));
}

#[test]
fn step_timing_and_attempts() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    let report = build_report(&load_run(&run_dir).unwrap());

    let copy = report.steps.iter().find(|s| s.id == "copy-snapshot").unwrap();
    assert_eq!(copy.attempts, 2);
    assert_eq!(copy.failed_attempts.len(), 1);
    assert_eq!(copy.duration_seconds, Some(451.0));
    // The incident was two minutes before the run started.
    assert_eq!(copy.start_offset_seconds, Some(121.0));
    let writer = report.steps.iter().find(|s| s.id == "writer").unwrap();
    assert_eq!(writer.duration_seconds, Some(331.0));
    assert_eq!(writer.budget_seconds, Some(420.0));
    assert!(!writer.over_budget);
    // Recovery was not reached, so the path ends at the last recovery step to finish.
    assert_eq!(report.critical_path.actual, vec!["restore-primary", "writer", "verify-primary"]);
}

#[test]
fn secrets_absent_from_every_format() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    let paths = write_reports(&run_dir).unwrap();

    for path in [&paths.json, &paths.markdown, &paths.html, &paths.junit] {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(!text.contains("hunter2"), "{} contains a secret value", path.display());
    }
    let report = json_report(&run_dir);
    let redacted: Vec<&str> = report["redacted"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(redacted.contains(&"steps.restore-primary.outputs.master_password"), "redacted: {redacted:?}");
    assert!(redacted.contains(&"vars.db_password"), "redacted: {redacted:?}");
}

#[test]
fn crashed_run_marked_interrupted() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "crashed-run.jsonl", CRASHED_ID);
    let report = build_report(&load_run(&run_dir).unwrap());

    assert_eq!(report.run.status, RunStatus::Interrupted);
    assert!(!report.run.complete);
    assert_eq!(report.rto.status, RtoStatus::NotReached);
    assert_eq!(report.rpo.status, RpoStatus::NotMeasured);
    let writer = report.steps.iter().find(|s| s.id == "writer").unwrap();
    assert_eq!(writer.status, "running");
    assert!(report.manual_actions.iter().any(|a| a.kind == "resume_or_inspect"));

    let markdown = std::fs::read_to_string(write_reports(&run_dir).unwrap().markdown).unwrap();
    assert!(markdown.contains("incomplete/interrupted"), "{markdown}");
}

#[test]
fn json_reports_match_schema() {
    let schema: Value = serde_json::from_str(REPORT_JSON_SCHEMA).unwrap();
    let state = tempfile::tempdir().unwrap();
    for (fixture, run_id) in [("complete-run.jsonl", COMPLETE_ID), ("crashed-run.jsonl", CRASHED_ID)] {
        let run_dir = install_fixture(state.path(), fixture, run_id);
        let report = json_report(&run_dir);
        assert_eq!(report["schema"], "drctl.report/v1");
        let problems = violations(&schema, &report);
        assert!(problems.is_empty(), "{fixture}: {problems:#?}");
    }
}

#[test]
fn schema_check_rejects_bad_report() {
    let schema: Value = serde_json::from_str(REPORT_JSON_SCHEMA).unwrap();
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    let mut report = json_report(&run_dir);
    report["verdict"]["rto"] = Value::from("great");
    report.as_object_mut().unwrap().remove("steps");

    let problems = violations(&schema, &report);
    assert!(problems.iter().any(|p| p.contains("$.verdict.rto")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.contains("missing required key `steps`")), "{problems:#?}");
}

#[test]
fn html_escapes_playbook_text() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", COMPLETE_ID);
    let html = std::fs::read_to_string(write_reports(&run_dir).unwrap().html).unwrap();

    assert!(html.contains("&amp; check it &lt;quarterly&gt;."), "description is escaped");
    assert!(!html.contains("<quarterly>"));
    assert!(html.contains("spend logs &lt;24h&gt; &amp; recent"));
    assert!(!html.contains("http://") || !html.contains("src=\"http"), "no external assets");
    assert!(!html.contains("<script"), "no script");
}

#[tokio::test(start_paused = true)]
async fn scaled_drill_meets_rto() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = run_drill(state.path(), "drill-fast", 3, 10, 3.0).await;
    let report = build_report(&load_run(&run_dir).unwrap());

    assert_eq!(report.run.status, RunStatus::Succeeded);
    // restore 10 s + verify 2 s real, times 60.
    assert_eq!(report.rto.achieved_seconds, Some(720.0));
    assert_eq!(report.rto.status, RtoStatus::Met);
    assert_eq!(report.rto.recovered_by_step.as_deref(), Some("verify"));
    assert_eq!(report.rpo.status, RpoStatus::Met);
    assert!(report.warnings.iter().any(|w| w.contains("time_scale 60")));
}

#[tokio::test(start_paused = true)]
async fn slow_drill_past_warning() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = run_drill(state.path(), "drill-slow", 4, 14, 1200.0).await;
    let report = build_report(&load_run(&run_dir).unwrap());

    assert_eq!(report.rto.achieved_seconds, Some(960.0));
    assert_eq!(report.rto.status, RtoStatus::Warning);
    assert_eq!(report.rpo.status, RpoStatus::Missed);
    assert_eq!(report.rpo.measured_seconds, Some(1200.0));
}

#[test]
fn dry_run_headline_says_so() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "passed-run.jsonl", "drill-20260601-0902");
    let journal = run_dir.join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap().replacen("\"dry_run\":false", "\"dry_run\":true", 1);
    std::fs::write(&journal, text).unwrap();

    let report = build_report(&load_run(&run_dir).unwrap());

    assert!(report.run.dry_run);
    assert!(report.verdict.headline.starts_with("Dry run, nothing was changed: RTO"), "{}", report.verdict.headline);
}

#[test]
fn passed_run_meets_rto_past_warning() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "passed-run.jsonl", "drill-20260601-0902");
    let report = build_report(&load_run(&run_dir).unwrap());

    assert_eq!(report.run.status, RunStatus::Succeeded);
    // verify-primary ended 1043 s after the start, which was 120 s after the incident.
    assert_eq!(report.rto.achieved_seconds, Some(1163.0));
    assert_eq!(report.rto.status, RtoStatus::Warning);
    assert_eq!(report.rto.recovered_by_step.as_deref(), Some("verify-primary"));
}

#[test]
fn resumed_run_counts_the_outage() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "resumed-run.jsonl", "drill-20260301-resumed");
    let report = build_report(&load_run(&run_dir).unwrap());

    assert!(report.run.complete);
    assert_eq!(report.run.resumed_at.len(), 1);
    assert_eq!(report.run.status, RunStatus::Failed);

    // The writer step spans the crash, so its duration includes the 90 s outage.
    let writer = report.steps.iter().find(|s| s.id == "writer").unwrap();
    assert_eq!(writer.attempts, 2);
    assert_eq!(writer.duration_seconds, Some(331.0 + 90.0));

    // Adopted after the crash and deleted by the cleanup: not left over.
    let instance = report.resources.iter().find(|r| r.id == "drill-restore-0902-writer").unwrap();
    assert_eq!(instance.events, vec!["created", "adopted", "deleted"]);
    assert!(!instance.left_over);
    assert!(!report.manual_actions.iter().any(|a| a.kind == "resume_or_inspect"));
}
