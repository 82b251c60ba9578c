//! Drill history across run journals in a state directory.

mod support;

use drctl_report::{history, history_json, render_history_table};
use support::{drill::run_drill, install_fixture};

#[tokio::test(start_paused = true)]
async fn history_orders_and_filters_runs() {
    let state = tempfile::tempdir().unwrap();
    run_drill(state.path(), "drill-late", 9, 10, 3.0).await;
    run_drill(state.path(), "drill-early", 2, 14, 4.0).await;
    install_fixture(state.path(), "complete-run.jsonl", "drill-20260301-0902");

    let all = history(state.path(), None).unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.run_id.as_str()).collect();
    assert_eq!(ids, vec!["drill-20260301-0902", "drill-early", "drill-late"]);

    let emulated = history(state.path(), Some("emulated-drill")).unwrap();
    let ids: Vec<&str> = emulated.iter().map(|e| e.run_id.as_str()).collect();
    assert_eq!(ids, vec!["drill-early", "drill-late"]);
    assert_eq!(emulated[0].rto_seconds, Some(960.0));
    assert_eq!(emulated[0].rto_status, "warning");
    assert_eq!(emulated[1].rto_seconds, Some(720.0));
    assert_eq!(emulated[1].step_durations.get("restore"), Some(&600.0));
}

#[test]
fn unreadable_journal_becomes_warning() {
    let state = tempfile::tempdir().unwrap();
    install_fixture(state.path(), "complete-run.jsonl", "drill-20260301-0902");
    let broken = state.path().join("runs/drill-broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("journal.jsonl"), "{not json}\n").unwrap();
    std::fs::create_dir_all(state.path().join("runs/drill-empty")).unwrap();

    let entries = history(state.path(), Some("quarterly-restore-drill")).unwrap();

    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].run_id, "drill-20260301-0902");
    assert!(entries[0].error.is_none());
    assert_eq!(entries[1].run_id, "drill-broken");
    assert!(entries[1].error.as_deref().unwrap().contains("line 1"), "{:?}", entries[1].error);
    assert_eq!(entries[2].run_id, "drill-empty");
    assert!(entries[2].error.is_some());

    let table = render_history_table(&entries);
    assert!(table.contains("warning: skipped run drill-broken"), "{table}");
}

#[test]
fn missing_state_dir_gives_empty_history() {
    let state = tempfile::tempdir().unwrap();
    let entries = history(&state.path().join("nowhere"), None).unwrap();
    assert!(entries.is_empty());
    assert_eq!(render_history_table(&entries), "No runs found.\n");
}

#[tokio::test(start_paused = true)]
async fn table_shows_step_medians() {
    let state = tempfile::tempdir().unwrap();
    run_drill(state.path(), "drill-1", 1, 10, 3.0).await;
    run_drill(state.path(), "drill-2", 2, 14, 3.0).await;
    run_drill(state.path(), "drill-3", 3, 12, 3.0).await;

    let entries = history(state.path(), None).unwrap();
    let table = render_history_table(&entries);

    // Restore took 10, 14 and 12 real seconds at time scale 60.
    let restore_line = table.lines().find(|line| line.starts_with("restore ")).expect("restore row");
    assert_eq!(restore_line.split_whitespace().collect::<Vec<_>>(), vec!["restore", "3", "12m", "00s", "10m", "00s", "14m", "00s"]);
    assert!(table.lines().next().unwrap().starts_with("DATE"), "{table}");
}

#[tokio::test(start_paused = true)]
async fn history_json_is_versioned() {
    let state = tempfile::tempdir().unwrap();
    run_drill(state.path(), "drill-1", 1, 10, 3.0).await;

    let json: serde_json::Value = serde_json::from_str(&history_json(&history(state.path(), None).unwrap()).unwrap()).unwrap();
    assert_eq!(json["schema"], "drctl.history/v1");
    assert_eq!(json["runs"][0]["run_id"], "drill-1");
    assert_eq!(json["runs"][0]["rpo_status"], "met");
}
