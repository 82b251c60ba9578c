//! A valid playbook end to end: load, plan, and resolve at run time.

use chrono::{DateTime, Utc};
use drctl_playbook::plan::{EstimateSource, RtoStatus};
use drctl_playbook::{LoadOptions, Mode, Overrides, Playbook, RunContext, load_file, plan};
use indexmap::IndexMap;
use serde_json::json;
use std::path::Path;

fn load(options: &LoadOptions) -> Playbook {
    let report = load_file(Path::new("tests/valid/quarterly-drill.yaml"), options);
    assert!(report.diagnostics.is_empty(), "{}", report.render(false));
    report.playbook.expect("valid playbook")
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

#[test]
fn valid_playbook_loads_with_defaults() {
    let playbook = load(&LoadOptions::default());
    assert_eq!(playbook.name, "quarterly-restore-drill");
    assert_eq!(playbook.hash.len(), 64);
    assert_eq!(playbook.vars["min_acu"], json!(0.5));
    let cleanup = playbook.step("cleanup").unwrap();
    assert!(cleanup.always);
    assert_eq!(cleanup.timeout.to_string(), "30m");
    let restore = playbook.step("restore-primary").unwrap();
    assert_eq!(restore.retry.attempts, 3);
    assert_eq!(restore.output_types.get("host"), Some(&drctl_playbook::kinds::ValueType::String));
    assert!(restore.requires_approval(Mode::Incident) == drctl_playbook::kinds::lookup("aurora.restore_pitr").unwrap().destructive);
}

#[test]
fn hash_changes_with_the_file() {
    let source = std::fs::read_to_string("tests/valid/quarterly-drill.yaml").unwrap();
    let a = drctl_playbook::load_str("p.yaml", &source, &LoadOptions::default());
    let b = drctl_playbook::load_str("p.yaml", &format!("{source}\n# edited\n"), &LoadOptions::default());
    assert_ne!(a.playbook.unwrap().hash, b.playbook.unwrap().hash);
}

#[test]
fn plan_groups_order_and_critical_path() {
    let playbook = load(&LoadOptions::default());
    let plan = plan(&playbook);
    assert_eq!(plan.order, ["safety-snapshot", "restore-primary", "writer", "verify-primary", "cleanup"]);
    assert_eq!(plan.groups.len(), 5);
    assert_eq!(plan.critical_path.steps, ["safety-snapshot", "restore-primary", "writer", "verify-primary"]);
    assert_eq!(plan.critical_path.total.to_string(), "23m");
    assert_eq!(plan.critical_path.status, RtoStatus::Within);
    let cleanup = plan.steps.iter().find(|s| s.id == "cleanup").unwrap();
    assert_eq!(cleanup.estimate_source, EstimateSource::Timeout);

    let restore = plan.steps.iter().find(|s| s.id == "restore-primary").unwrap();
    assert_eq!(restore.effects.len(), 1);
    assert_eq!(restore.effects[0].id, "drill-${{ run.id }}");
    assert!(restore.effects[0].run_scoped);
    let snapshot = plan.steps.iter().find(|s| s.id == "safety-snapshot").unwrap();
    assert_eq!(snapshot.effects[0].region.as_deref(), Some("eu-west-2"));

    let text = plan.render_text();
    assert!(text.contains("Critical path: safety-snapshot -> restore-primary -> writer -> verify-primary = 23m"), "{text}");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["critical_path"]["status"], "within");
}

#[test]
fn plan_puts_independent_steps_in_one_group() {
    let source = "version: 1
name: t
regions: { primary: eu-west-2 }
rto: { target: 10m, warning: 5m }
steps:
  - { id: a, kind: aurora.snapshot, expected: 4m, params: { cluster: c, region: eu-west-2, snapshot_id: \"a-${{ run.id }}\" } }
  - { id: b, kind: aurora.snapshot, expected: 2m, params: { cluster: c, region: eu-west-2, snapshot_id: \"b-${{ run.id }}\" } }
  - { id: c, kind: aurora.snapshot, needs: [a, b], budget: 3m, params: { cluster: c, region: eu-west-2, snapshot_id: \"c-${{ run.id }}\" } }
";
    let report = drctl_playbook::load_str("p.yaml", source, &LoadOptions::default());
    let playbook = report.playbook.expect("valid");
    let plan = plan(&playbook);
    assert_eq!(plan.groups, vec![vec!["a".to_string(), "b".to_string()], vec!["c".to_string()]]);
    assert_eq!(plan.critical_path.steps, ["a", "c"]);
    assert_eq!(plan.critical_path.total.to_string(), "7m");
    assert_eq!(plan.critical_path.status, RtoStatus::OverWarning);
}

#[test]
fn params_and_outputs_resolve_at_run_time() {
    let mut overrides = Overrides::new();
    overrides.add_flag("min_acu=1").unwrap();
    let playbook = load(&LoadOptions { overrides, require_variable_values: true });
    let mut cx = RunContext::new(&playbook, "r42", Mode::Drill, time("2026-12-04T03:10:00Z"), time("2026-12-04T03:00:00Z"));

    let restore = playbook.step("restore-primary").unwrap();
    assert_eq!(restore.condition(&cx), Ok(true));
    let params = restore.resolve_params(&cx).unwrap();
    assert_eq!(params["target"]["cluster_id"], json!("drill-r42"));
    assert_eq!(params["target"]["serverless_v2"]["min_capacity"], json!(1.0));
    assert_eq!(params["source_cluster"], json!("dsit-litellm-rds-pg-prod"));

    let kind_outputs: IndexMap<String, serde_json::Value> = IndexMap::from([
        ("cluster_id".to_string(), json!("drill-r42")),
        ("writer_endpoint".to_string(), json!("drill-r42.cluster-x.eu-west-2.rds.amazonaws.com")),
        ("port".to_string(), json!(5432)),
    ]);
    let outputs = restore.resolve_outputs(&cx, &kind_outputs).unwrap();
    assert_eq!(outputs["host"], json!("drill-r42.cluster-x.eu-west-2.rds.amazonaws.com"));
    cx.record_outputs("restore-primary", outputs);

    let verify = playbook.step("verify-primary").unwrap();
    let params = verify.resolve_params(&cx).unwrap();
    assert_eq!(params["host"], json!("drill-r42.cluster-x.eu-west-2.rds.amazonaws.com"));
    assert_eq!(params["port"], json!(5432));
}

#[test]
fn missing_output_is_a_resolve_error() {
    let playbook = load(&LoadOptions::default());
    let cx = RunContext::new(&playbook, "r1", Mode::Drill, time("2026-12-04T03:10:00Z"), time("2026-12-04T03:00:00Z"));
    let error = playbook.step("writer").unwrap().resolve_params(&cx).unwrap_err();
    assert_eq!(error.step, "writer");
    assert_eq!(error.field, "params.cluster_id");
    assert!(error.to_string().contains("steps.restore-primary.outputs.cluster_id"), "{error}");
}

#[test]
fn condition_is_false_in_incident_mode() {
    let playbook = load(&LoadOptions::default());
    let cx = RunContext::new(&playbook, "r1", Mode::Incident, time("2026-12-04T03:10:00Z"), time("2026-12-04T03:00:00Z"));
    assert_eq!(playbook.step("restore-primary").unwrap().condition(&cx), Ok(false));
}
