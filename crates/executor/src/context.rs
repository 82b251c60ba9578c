//! The view of the run that an action gets while it executes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use crate::action::ActionError;
use crate::cancel::{CancelHandle, CancelLevel, CancelSignal};
use crate::engine::journal_writer::{EventSink, Journal};
use crate::event::Event;
use crate::journal::record::{Record, ResourceRecord, RunHeader};
use crate::plan::{FailurePolicy, RetryPolicy, StepSpec};
use crate::clock::RunClock;

/// The run and step an action is executing in, with the journal calls it may make.
pub struct StepContext {
    pub(crate) run_id: String,
    pub(crate) step_id: String,
    pub(crate) attempt: u32,
    pub(crate) mode: String,
    pub(crate) dry_run: bool,
    pub(crate) incident_time: DateTime<Utc>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) deadline: DateTime<Utc>,
    pub(crate) journal: Arc<Journal>,
    pub(crate) events: EventSink,
    pub(crate) cancel: CancelSignal,
}

impl StepContext {
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn step_id(&self) -> &str {
        &self.step_id
    }

    /// Attempt number, from 1, counted over all processes that ran this step.
    /// During an undo it is 0.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// `"drill"` or `"incident"`.
    pub fn mode(&self) -> &str {
        &self.mode
    }

    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    pub fn incident_time(&self) -> DateTime<Utc> {
        self.incident_time
    }

    /// When the step first started (before any crash), or when this undo started.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// When the step's timeout fires. Work still running then is dropped.
    pub fn deadline(&self) -> DateTime<Utc> {
        self.deadline
    }

    /// Reports progress to reporters. Not journalled.
    pub fn progress(&self, message: impl Into<String>, percent: Option<f64>) {
        self.events.emit(Event::StepProgress { step_id: self.step_id.clone(), message: message.into(), percent });
    }

    /// Journals a fact about this step and returns once it is fsynced.
    /// Record intent before a creating call and the result after it; see
    /// the [`Action`](crate::Action) contract.
    pub async fn record_note(&self, key: impl Into<String>, value: serde_json::Value) -> Result<(), ActionError> {
        self.append(Record::Note { step: self.step_id.clone(), key: key.into(), value })
    }

    /// Notes of this step recorded so far, by every attempt including those
    /// before a crash. A later note with the same key replaces an earlier one.
    pub fn notes(&self) -> IndexMap<String, serde_json::Value> {
        self.journal.with_state(|state| state.steps.get(&self.step_id).map(|step| step.notes.clone()).unwrap_or_default())
    }

    /// Journals a resource this step created, adopted or deleted.
    pub async fn record_resource(&self, resource: ResourceRecord) -> Result<(), ActionError> {
        self.append(Record::Resource { step: self.step_id.clone(), resource })
    }

    /// Journals a check result (for example a restore test's row counts and RPO).
    pub async fn record_check(&self, value: serde_json::Value) -> Result<(), ActionError> {
        self.append(Record::Check { step: self.step_id.clone(), value })
    }

    /// True once the run is cancelled. `always` steps see only an abort.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the run is cancelled; select on it during long waits.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    fn append(&self, record: Record) -> Result<(), ActionError> {
        // A journal failure is fatal for the step. The executor also checks
        // for the poisoned journal and stops the run.
        self.journal
            .append(record)
            .map(|_| ())
            .map_err(|error| ActionError::fatal(format!("failed to journal for step {}: {error}", self.step_id)))
    }

    /// Builds a context for unit tests of actions, outside any executor.
    /// Its in-memory journal contains one running step `step_id`, and the
    /// returned handle controls its cancellation.
    pub fn for_tests(step_id: &str, mode: &str) -> (StepContext, CancelHandle) {
        let clock = RunClock::starting_at(Utc::now());
        let now = clock.now();
        let spec = StepSpec {
            id: step_id.to_string(),
            needs: Vec::new(),
            timeout: std::time::Duration::from_secs(3600),
            budget: None,
            expected: None,
            retry: RetryPolicy::default(),
            on_failure: FailurePolicy::Abort,
            always: false,
            approval: false,
            description: String::new(),
        };
        let journal = Arc::new(Journal::new(Box::new(crate::journal::store::MemoryStore::new()), None, clock, None));
        let header = RunHeader {
            run_id: "test-run".to_string(),
            playbook_hash: String::new(),
            mode: mode.to_string(),
            dry_run: false,
            incident_time: now,
            started_at: now,
            rto_target: std::time::Duration::from_secs(3600),
            rto_warning: std::time::Duration::from_secs(1800),
            max_parallel: 1,
            header_meta: serde_json::Value::Null,
            steps: vec![spec],
        };
        let records = [
            Record::RunHeader(header),
            Record::StepStarted { step: step_id.to_string(), description: String::new() },
            Record::AttemptStarted { step: step_id.to_string(), attempt: 1 },
        ];
        for record in records {
            journal.append(record).expect("in-memory journal accepts a fresh run");
        }
        let handle = CancelHandle::new();
        let cx = StepContext {
            run_id: "test-run".to_string(),
            step_id: step_id.to_string(),
            attempt: 1,
            mode: mode.to_string(),
            dry_run: false,
            incident_time: now,
            started_at: now,
            deadline: now + chrono::Duration::hours(1),
            journal,
            events: EventSink::default(),
            cancel: handle.signal(CancelLevel::Cancel),
        };
        (cx, handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn test_context_journals_notes() {
        let (cx, cancel) = StepContext::for_tests("restore", "drill");
        cx.record_note("intent", serde_json::json!("cluster-1")).await.unwrap();
        assert_eq!(cx.notes()["intent"], serde_json::json!("cluster-1"));
        assert!(!cx.is_cancelled());
        cancel.cancel();
        assert!(cx.is_cancelled());
        cx.cancelled().await;
    }
}
