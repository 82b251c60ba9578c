//! A drill run through the real executor with fake actions, on tokio's
//! paused clock so every journal time is exact.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use drctl_executor::{
    Action, ActionError, ApprovalDecision, Approver, Executor, FailurePolicy, FileStore, Outputs, Prepared,
    ResourceEvent, ResourceRecord, RetryPolicy, RunPlan, StepContext, StepResolver, StepSpec,
};
use serde_json::{Value, json};

/// Simulated seconds per real second in the drill's metadata.
pub const TIME_SCALE: f64 = 60.0;

/// What one fake step does.
#[derive(Clone, Default)]
pub struct FakeStep {
    /// Real time the step takes on the paused clock.
    pub duration: Duration,
    pub checks: Vec<Value>,
    pub resources: Vec<(&'static str, &'static str, &'static str, ResourceEvent)>,
    pub outputs: Vec<(&'static str, Value)>,
    pub error: Option<ActionError>,
}

struct Resolver(HashMap<String, FakeStep>);

#[async_trait]
impl StepResolver for Resolver {
    async fn prepare(&self, step: &StepSpec, _outputs: &HashMap<String, Outputs>) -> Result<Prepared, ActionError> {
        let fake = self.0.get(&step.id).cloned().unwrap_or_default();
        Ok(Prepared::Run(Box::new(FakeAction(fake))))
    }
}

struct FakeAction(FakeStep);

#[async_trait]
impl Action for FakeAction {
    fn describe(&self) -> String {
        "fake step".to_string()
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        Ok(vec!["would run".to_string()])
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        tokio::time::sleep(self.0.duration).await;
        for (resource_type, id, region, event) in &self.0.resources {
            cx.record_resource(ResourceRecord {
                resource_type: resource_type.to_string(),
                id: id.to_string(),
                region: region.to_string(),
                arn: None,
                event: *event,
            })
            .await?;
        }
        for check in &self.0.checks {
            cx.record_check(check.clone()).await?;
        }
        if let Some(error) = &self.0.error {
            return Err(error.clone());
        }
        Ok(self.0.outputs.iter().map(|(key, value)| (key.to_string(), value.clone())).collect())
    }

    async fn undo(&self, _cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        Ok(())
    }
}

struct GrantAll;

#[async_trait]
impl Approver for GrantAll {
    async fn approve(&self, _step: &StepSpec, _description: &str) -> ApprovalDecision {
        ApprovalDecision::Granted { by: "test".to_string() }
    }
}

pub fn drill_start(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, day, 10, 0, 0).unwrap()
}

fn spec(id: &str, needs: &[&str], budget_real_seconds: u64, always: bool) -> StepSpec {
    StepSpec {
        id: id.to_string(),
        needs: needs.iter().map(|n| n.to_string()).collect(),
        timeout: Duration::from_secs(3600),
        budget: Some(Duration::from_secs(budget_real_seconds)),
        expected: Some(Duration::from_secs(budget_real_seconds * 3 / 4)),
        retry: RetryPolicy { attempts: 1, initial: Duration::from_secs(1), max: Duration::from_secs(1), multiplier: 2.0, jitter: false },
        on_failure: FailurePolicy::Abort,
        always,
        approval: false,
        description: format!("fake {id}"),
    }
}

/// Runs a three-step drill plus cleanup and returns its run directory.
/// `restore_seconds` is the real duration of the restore step, so callers
/// can make runs of different speed for the history. The verify step
/// records a passing and a failing SQL check and an RPO check of `rpo_seconds`.
pub async fn run_drill(state_dir: &Path, run_id: &str, day: u32, restore_seconds: u64, rpo_seconds: f64) -> PathBuf {
    let mut fakes = HashMap::new();
    fakes.insert(
        "restore".to_string(),
        FakeStep {
            duration: Duration::from_secs(restore_seconds),
            resources: vec![("db-cluster", "drill-cluster", "eu-west-2", ResourceEvent::Created)],
            outputs: vec![("cluster_id", json!("drill-cluster")), ("master_user_password", json!("do-not-print"))],
            ..FakeStep::default()
        },
    );
    fakes.insert(
        "verify".to_string(),
        FakeStep {
            duration: Duration::from_secs(2),
            checks: vec![
                json!({"name": "keys present", "kind": "sql", "sql": "SELECT count(*) FROM keys", "expectation": "> 0", "value": "12", "passed": true, "duration_ms": 8, "message": null}),
                json!({"name": "row count matches", "kind": "sql", "sql": "SELECT count(*) FROM spend", "expectation": "= 1000", "value": "998", "passed": false, "duration_ms": 20, "message": "2 rows missing"}),
                json!({"name": "rpo", "kind": "rpo", "table": "spend", "column": "startTime", "rpo_seconds": rpo_seconds, "target_seconds": 900, "passed": rpo_seconds <= 900.0, "duration_ms": 4}),
            ],
            outputs: vec![("checked", json!(3))],
            ..FakeStep::default()
        },
    );
    fakes.insert(
        "snapshot".to_string(),
        FakeStep {
            duration: Duration::from_secs(5),
            resources: vec![("db-cluster-snapshot", "drill-copy", "us-east-1", ResourceEvent::Created)],
            outputs: vec![("snapshot_id", json!("drill-copy"))],
            ..FakeStep::default()
        },
    );
    fakes.insert(
        "cleanup".to_string(),
        FakeStep {
            duration: Duration::from_secs(3),
            resources: vec![("db-cluster", "drill-cluster", "eu-west-2", ResourceEvent::Deleted)],
            outputs: vec![("deleted", json!(["drill-cluster"]))],
            ..FakeStep::default()
        },
    );

    let started_at = drill_start(day);
    let header_meta = json!({
        "drctl_version": "0.1.0",
        "playbook": {"name": "emulated-drill", "description": "Emulated drill with fake actions", "path": "playbooks/emulated.yaml", "hash": "sha256:abc", "format_version": 1, "text": "name: emulated-drill\n"},
        "vars": {"source_cluster": "prod"},
        "rto": {"target_seconds": 1800, "warning_seconds": 900},
        "rpo": {"target_seconds": 900},
        "regions": {"primary": "eu-west-2", "backup": "us-east-1"},
        "identity": null,
        "operator": {"user": "ci", "host": "runner"},
        "time_scale": TIME_SCALE,
        "steps": {
            "restore": {"kind": "aurora.restore_pitr", "needs": [], "always": false, "budget_seconds": 900, "expected_seconds": 720},
            "snapshot": {"kind": "rds.copy_snapshot", "needs": [], "always": false},
            "verify": {"kind": "sql.restore_test", "needs": ["restore"], "always": false, "budget_seconds": 120},
            "cleanup": {"kind": "aurora.delete_cluster", "needs": ["verify", "snapshot"], "always": true}
        },
        "critical_path": ["restore", "verify"]
    });
    let plan = RunPlan {
        run_id: run_id.to_string(),
        mode: "drill".to_string(),
        dry_run: false,
        started_at,
        incident_time: started_at,
        rto_target: Duration::from_secs(30),
        rto_warning: Duration::from_secs(15),
        max_parallel: 4,
        playbook_hash: "sha256:abc".to_string(),
        header_meta,
        steps: vec![spec("restore", &[], 15, false), spec("snapshot", &[], 10, false), spec("verify", &["restore"], 2, false), spec("cleanup", &["verify", "snapshot"], 10, true)],
    };

    let executor = Executor::new(Arc::new(Resolver(fakes)), Arc::new(GrantAll));
    let store = FileStore::create(state_dir, run_id).expect("create the journal");
    let report = executor.run(Box::new(store), plan).await.expect("the drill runs");
    assert!(report.outcome.is_some(), "the drill finishes");
    state_dir.join("runs").join(run_id)
}
