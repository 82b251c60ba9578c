//! The main job end to end: the quarterly restore drill, run by the real
//! binary against the local estate with shortened timing, as `scripts/drill`
//! runs it. The run must succeed, meet its RTO and RPO, clean up after
//! itself, and leave the three reports for people.

mod support;

use support::cli::{Drctl, describe, playbook};

#[test]
fn quarterly_drill_meets_rto_and_rpo() {
    let (estate, tenant) = support::tenant("main-job");
    let drctl = Drctl::new(estate, &tenant);
    let mut args = vec![
        "run".to_string(),
        playbook("quarterly-restore-drill.yaml"),
        "--mode".into(),
        "drill".into(),
        "--run-id".into(),
        "rmainjob".into(),
    ];
    args.extend(drctl.estate_vars());
    let output = drctl.command().args(&args).output().expect("start drctl");
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");

    // The command says where the reports are, and they exist.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let run_dir = drctl.run_dir("rmainjob");
    for file in ["report.html", "report.md", "report.json"] {
        let path = run_dir.join(file);
        assert!(stdout.contains(&path.display().to_string()), "{file} not printed:\n{text}");
        assert!(path.is_file(), "{} missing", path.display());
    }

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap()).unwrap();
    let rto = report["verdict"]["rto"].as_str().unwrap();
    assert!(rto == "met" || rto == "warning", "RTO verdict {rto}: {}", report["verdict"]);
    assert_eq!(report["verdict"]["rpo"], "met", "{}", report["verdict"]);
    assert!(report["rto"]["achieved_seconds"].as_f64().unwrap() <= 1800.0);

    // Every check passed and every resource the drill created was deleted.
    let checks: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["kind"] == "sql" || check["kind"] == "rpo")
        .collect();
    assert!(checks.len() >= 16, "expected the LiteLLM checks on both restores: {checks:?}");
    for check in &checks {
        assert_eq!(check["status"], "passed", "{check}");
    }
    let resources = report["resources"].as_array().unwrap();
    assert!(resources.len() >= 5, "{resources:?}");
    assert!(resources.iter().all(|resource| resource["cleaned_up"] == true), "{resources:?}");

    // Nothing tagged with the run is left in the emulator.
    let leftovers = support::cli::leftovers(&tenant, "rmainjob");
    assert!(leftovers.is_empty(), "left over: {leftovers:?}");

    // The HTML shows the verdict and the timeline to leadership.
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("Recovery time (RTO)"), "RTO verdict missing from the HTML report");
    assert!(html.contains("Recovery point (RPO)"), "RPO verdict missing from the HTML report");
    assert!(html.contains("Met"), "no verdict says Met in the HTML report");
    assert!(html.contains("class=\"gantt\""), "timeline missing from the HTML report");
}
