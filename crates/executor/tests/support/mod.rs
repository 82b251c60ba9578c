//! Fake actions, resolver and approver that script every executor path.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use drctl_executor::{
    Action, ActionError, ApprovalDecision, Approver, Event, FailurePolicy, Outputs, Prepared, RetryPolicy, RunPlan,
    StepContext, StepResolver, StepSpec,
};

/// What a fake step does when run.
#[derive(Clone, Default)]
pub struct Script {
    /// How long `run` takes on the paused clock.
    pub duration: Duration,
    /// Errors returned by the first attempts, in order; then `run` succeeds.
    pub errors: Vec<ActionError>,
    /// Error returned by `undo`.
    pub undo_error: Option<ActionError>,
    /// When set, the resolver skips the step with this reason.
    pub skip: Option<String>,
    /// Wait for cancellation (or for ever) instead of finishing.
    pub hang: bool,
    /// Panic inside `run`.
    pub panic: bool,
}

/// The fake world: scripts per step and a log of every call.
#[derive(Default)]
pub struct Fakes {
    pub scripts: Mutex<HashMap<String, Script>>,
    pub log: Mutex<Vec<String>>,
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
    /// Notes each `run` call saw when it started, by step id.
    pub seen_notes: Mutex<HashMap<String, Vec<Vec<String>>>>,
    /// Cancellation state each `run` call saw when it ended, by step id.
    pub saw_cancel: Mutex<HashMap<String, bool>>,
}

impl Fakes {
    pub fn new() -> Arc<Self> {
        Arc::new(Fakes::default())
    }

    pub fn script(&self, step: &str, script: Script) {
        self.scripts.lock().unwrap().insert(step.to_string(), script);
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self, entry: &str) -> usize {
        self.log().iter().filter(|e| *e == entry).count()
    }

    fn push(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }
}

pub struct Resolver(pub Arc<Fakes>);

#[async_trait]
impl StepResolver for Resolver {
    async fn prepare(&self, step: &StepSpec, _outputs: &HashMap<String, Outputs>) -> Result<Prepared, ActionError> {
        let script = self.0.scripts.lock().unwrap().get(&step.id).cloned().unwrap_or_default();
        if let Some(reason) = script.skip {
            return Ok(Prepared::Skip { reason });
        }
        Ok(Prepared::Run(Box::new(FakeAction { id: step.id.clone(), fakes: self.0.clone() })))
    }
}

pub struct FakeAction {
    id: String,
    fakes: Arc<Fakes>,
}

#[async_trait]
impl Action for FakeAction {
    fn describe(&self) -> String {
        format!("fake step {}", self.id)
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        self.fakes.push(format!("dry:{}", self.id));
        Ok(vec![format!("would run {}", self.id)])
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let fakes = &self.fakes;
        fakes.push(format!("run:{}", self.id));
        fakes.seen_notes.lock().unwrap().entry(self.id.clone()).or_default().push(cx.notes().keys().cloned().collect());
        let now = fakes.running.fetch_add(1, Ordering::SeqCst) + 1;
        fakes.max_running.fetch_max(now, Ordering::SeqCst);

        let script = fakes.scripts.lock().unwrap().get(&self.id).cloned().unwrap_or_default();
        cx.progress("working", Some(50.0));
        cx.record_note(format!("intent-{}", cx.attempt()), serde_json::json!(self.id)).await?;

        assert!(!script.panic, "scripted panic in step {}", self.id);
        let result = if script.hang {
            cx.cancelled().await;
            Err(ActionError::cancelled("stopped by cancel"))
        } else {
            tokio::time::sleep(script.duration).await;
            let mut scripts = fakes.scripts.lock().unwrap();
            let entry = scripts.get_mut(&self.id);
            match entry {
                Some(script) if !script.errors.is_empty() => Err(script.errors.remove(0)),
                _ => {
                    let mut outputs = Outputs::new();
                    outputs.insert("id".to_string(), serde_json::json!(self.id));
                    Ok(outputs)
                }
            }
        };
        fakes.saw_cancel.lock().unwrap().insert(self.id.clone(), cx.is_cancelled());
        fakes.running.fetch_sub(1, Ordering::SeqCst);
        fakes.push(format!("end:{}", self.id));
        result
    }

    async fn undo(&self, _cx: &StepContext, outputs: &Outputs) -> Result<(), ActionError> {
        assert_eq!(outputs.get("id"), Some(&serde_json::json!(self.id)), "undo receives the step's own outputs");
        self.fakes.push(format!("undo:{}", self.id));
        let script = self.fakes.scripts.lock().unwrap().get(&self.id).cloned().unwrap_or_default();
        match script.undo_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Approver that returns decisions from a fixed table, and `Unavailable` for unknown steps.
#[derive(Default)]
pub struct TableApprover {
    pub decisions: Mutex<HashMap<String, ApprovalDecision>>,
    pub requested: Mutex<Vec<String>>,
}

impl TableApprover {
    pub fn with(step: &str, decision: ApprovalDecision) -> Arc<Self> {
        let approver = TableApprover::default();
        approver.decisions.lock().unwrap().insert(step.to_string(), decision);
        Arc::new(approver)
    }
}

#[async_trait]
impl Approver for TableApprover {
    async fn approve(&self, step: &StepSpec, _description: &str) -> ApprovalDecision {
        self.requested.lock().unwrap().push(step.id.clone());
        self.decisions.lock().unwrap().get(&step.id).cloned().unwrap_or(ApprovalDecision::Unavailable)
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

pub fn step(id: &str, needs: &[&str]) -> StepSpec {
    StepSpec {
        id: id.to_string(),
        needs: needs.iter().map(|n| n.to_string()).collect(),
        timeout: Duration::from_secs(3600),
        budget: None,
        expected: None,
        retry: RetryPolicy { attempts: 1, initial: Duration::from_secs(1), max: Duration::from_secs(10), multiplier: 2.0, jitter: true },
        on_failure: FailurePolicy::Abort,
        always: false,
        approval: false,
        description: format!("step {id}"),
    }
}

pub fn plan(steps: Vec<StepSpec>) -> RunPlan {
    RunPlan {
        run_id: "run-1".to_string(),
        mode: "drill".to_string(),
        dry_run: false,
        started_at: t0(),
        incident_time: t0(),
        rto_target: Duration::from_secs(4 * 3600),
        rto_warning: Duration::from_secs(3 * 3600),
        max_parallel: 4,
        playbook_hash: "hash-1".to_string(),
        header_meta: serde_json::json!({"playbook": "test"}),
        steps,
    }
}

pub fn drain(receiver: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
    let mut events = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        events.push(event);
    }
    events
}
