//! The state of a run rebuilt from its journal, and the per-step state
//! machine every record is checked against.
//!
//! The executor applies each record to a [`RunState`] before writing it, and
//! [`replay`](crate::replay) applies the records read back, so the live run,
//! a resumed run and a report all see the same state. The legal per-step
//! order is:
//!
//! ```text
//! pending --approval--> pending
//! pending --step_started--> running --attempt_* / note / resource / check / output--> running
//! running --step_succeeded--> succeeded --undo_started--> undoing --undo_succeeded|undo_failed--> done
//! pending|running --step_failed--> failed
//! pending --step_skipped--> skipped
//! ```
//!
//! Notes, resources and checks are also legal while an undo is in progress.
//!
//! `step_succeeded` additionally requires a prior `output` record, and
//! records after `run_finished` are legal only after a `run_resumed` of a
//! resumable outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::Serialize;

use crate::action::{ActionError, ApprovalDecision, Outputs};
use crate::plan::StepSpec;
use crate::journal::record::{
    InterruptReason, JournalEntry, ManualAction, Record, ResourceRecord, RtoWarning, RunHeader, RunOutcome, SkipCause,
};

/// Per-step status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    /// Started and not finished. After a crash, resume enters it again.
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Failed | StepStatus::Skipped)
    }
}

/// Undo state of a succeeded step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UndoStatus {
    NotStarted,
    Started,
    Succeeded,
    Failed { error: ActionError },
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedAttempt {
    pub attempt: u32,
    pub time: DateTime<Utc>,
    pub error: ActionError,
    #[serde(rename = "retry_in_ms", with = "crate::duration_ms::option")]
    pub retry_in: Option<Duration>,
}

/// The journalled state of one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepState {
    pub id: String,
    pub status: StepStatus,
    pub description: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Highest attempt number started, over all processes.
    pub attempts: u32,
    pub failed_attempts: Vec<FailedAttempt>,
    pub outputs: Option<Outputs>,
    /// Notes by key; a later note with the same key replaces the value.
    pub notes: IndexMap<String, serde_json::Value>,
    pub resources: Vec<ResourceRecord>,
    pub checks: Vec<serde_json::Value>,
    pub error: Option<ActionError>,
    pub skip: Option<(SkipCause, String)>,
    pub approval: Option<ApprovalDecision>,
    pub undo: UndoStatus,
    /// Sequence number of the `step_succeeded` record, which orders undo.
    pub succeeded_seq: Option<u64>,
    /// The step's RTO share and typical duration, copied from the header.
    #[serde(rename = "budget_ms", with = "crate::duration_ms::option")]
    pub budget: Option<Duration>,
    #[serde(rename = "expected_ms", with = "crate::duration_ms::option")]
    pub expected: Option<Duration>,
}

impl StepState {
    fn new(spec: &StepSpec) -> Self {
        StepState {
            id: spec.id.clone(),
            budget: spec.budget,
            expected: spec.expected,
            status: StepStatus::Pending,
            description: None,
            started_at: None,
            finished_at: None,
            attempts: 0,
            failed_attempts: Vec::new(),
            outputs: None,
            notes: IndexMap::new(),
            resources: Vec::new(),
            checks: Vec::new(),
            error: None,
            skip: None,
            approval: None,
            undo: UndoStatus::NotStarted,
            succeeded_seq: None,
        }
    }

    /// Time from start to finish, when both are known.
    pub fn duration(&self) -> Option<Duration> {
        let start = self.started_at?;
        let end = self.finished_at?;
        (end - start).to_std().ok()
    }

    /// Failed attempts that count against the retry policy. Attempts that
    /// ended by cancellation do not count.
    pub fn counted_failures(&self) -> u32 {
        let count = self
            .failed_attempts
            .iter()
            .filter(|attempt| attempt.error.class != crate::action::ErrorClass::Cancelled)
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// The run as rebuilt from its journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunState {
    pub header: RunHeader,
    /// Steps in plan order.
    pub steps: IndexMap<String, StepState>,
    /// Set once an `unwind_started` record is seen.
    pub unwinding: Option<String>,
    pub rto_warnings: Vec<RtoWarning>,
    pub interruptions: Vec<(DateTime<Utc>, InterruptReason)>,
    pub resumed_at: Vec<DateTime<Utc>>,
    /// The last `run_finished` record. Cleared again by a `run_resumed`.
    pub outcome: Option<RunOutcome>,
    pub manual_actions: Vec<ManualAction>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_seq: u64,
    pub last_time: DateTime<Utc>,
}

impl RunState {
    /// Starts a state from the header record (sequence number 1).
    pub fn from_header(entry: &JournalEntry) -> Result<Self, String> {
        let Record::RunHeader(header) = &entry.record else {
            return Err("the first record is not a run_header".to_string());
        };
        if entry.seq != 1 {
            return Err(format!("the run_header has seq {}, expected 1", entry.seq));
        }
        let steps = header.steps.iter().map(|spec| (spec.id.clone(), StepState::new(spec))).collect();
        Ok(RunState {
            header: header.clone(),
            steps,
            unwinding: None,
            rto_warnings: Vec::new(),
            interruptions: Vec::new(),
            resumed_at: Vec::new(),
            outcome: None,
            manual_actions: Vec::new(),
            finished_at: None,
            last_seq: 1,
            last_time: entry.time,
        })
    }

    /// Outputs of every succeeded step, keyed by step id.
    pub fn outputs(&self) -> std::collections::HashMap<String, Outputs> {
        self.steps
            .values()
            .filter_map(|step| step.outputs.clone().filter(|_| step.status == StepStatus::Succeeded).map(|o| (step.id.clone(), o)))
            .collect()
    }

    /// Checks `entry` against the state machine and applies it. On error the
    /// state is unchanged and the message names the broken rule.
    pub fn apply(&mut self, entry: &JournalEntry) -> Result<(), String> {
        if entry.seq != self.last_seq + 1 {
            return Err(format!("seq {} follows seq {}, expected {}", entry.seq, self.last_seq, self.last_seq + 1));
        }
        if let Some(outcome) = &self.outcome {
            let resumable = outcome.is_resumable() && matches!(entry.record, Record::RunResumed);
            if !resumable {
                return Err(format!("record after run_finished with outcome {outcome:?}"));
            }
        }

        // Check the step's state machine before changing anything.
        if let Some(step_id) = entry.record.step() {
            let Some(step) = self.steps.get(step_id) else {
                return Err(format!("record names step `{step_id}`, which is not in the run header"));
            };
            check_step_transition(step, &entry.record)?;
        }

        let time = entry.time;
        match &entry.record {
            Record::RunHeader(_) => return Err("a second run_header".to_string()),
            Record::RunResumed => {
                self.outcome = None;
                self.finished_at = None;
                self.resumed_at.push(time);
            }
            Record::StepStarted { step, description } => {
                let state = self.step_mut(step);
                state.status = StepStatus::Running;
                state.description = Some(description.clone());
                state.started_at = Some(time);
            }
            Record::AttemptStarted { step, attempt } => self.step_mut(step).attempts = *attempt,
            Record::AttemptFailed { step, attempt, error, retry_in } => {
                self.step_mut(step).failed_attempts.push(FailedAttempt {
                    attempt: *attempt,
                    time,
                    error: error.clone(),
                    retry_in: *retry_in,
                });
            }
            Record::Note { step, key, value } => {
                self.step_mut(step).notes.insert(key.clone(), value.clone());
            }
            Record::Resource { step, resource } => self.step_mut(step).resources.push(resource.clone()),
            Record::Check { step, value } => self.step_mut(step).checks.push(value.clone()),
            Record::Output { step, outputs } => self.step_mut(step).outputs = Some(outputs.clone()),
            Record::StepSucceeded { step } => {
                let seq = entry.seq;
                let state = self.step_mut(step);
                state.status = StepStatus::Succeeded;
                state.finished_at = Some(time);
                state.succeeded_seq = Some(seq);
            }
            Record::StepFailed { step, error } => {
                let state = self.step_mut(step);
                state.status = StepStatus::Failed;
                state.finished_at = Some(time);
                state.error = Some(error.clone());
            }
            Record::StepSkipped { step, cause, reason } => {
                let state = self.step_mut(step);
                state.status = StepStatus::Skipped;
                state.finished_at = Some(time);
                state.skip = Some((*cause, reason.clone()));
            }
            Record::Approval { step, decision } => self.step_mut(step).approval = Some(decision.clone()),
            Record::UnwindStarted { failed_step } => {
                if self.unwinding.is_some() {
                    return Err("a second unwind_started".to_string());
                }
                self.unwinding = Some(failed_step.clone());
            }
            Record::UndoStarted { step } => self.step_mut(step).undo = UndoStatus::Started,
            Record::UndoSucceeded { step } => self.step_mut(step).undo = UndoStatus::Succeeded,
            Record::UndoFailed { step, error } => self.step_mut(step).undo = UndoStatus::Failed { error: error.clone() },
            Record::StepReset { step } => {
                let state = self.step_mut(step);
                state.status = StepStatus::Pending;
                state.finished_at = None;
                state.outputs = None;
                state.error = None;
                state.skip = None;
                state.attempts = 0;
            }
            Record::RtoWarning(warning) => self.rto_warnings.push(warning.clone()),
            Record::RunInterrupted { reason } => self.interruptions.push((time, *reason)),
            Record::RunFinished { outcome, manual_actions } => {
                self.outcome = Some(outcome.clone());
                self.manual_actions = manual_actions.clone();
                self.finished_at = Some(time);
            }
        }

        self.last_seq = entry.seq;
        self.last_time = time;
        Ok(())
    }

    fn step_mut(&mut self, id: &str) -> &mut StepState {
        // `apply` checked that the step exists before calling this.
        self.steps.get_mut(id).expect("step existence checked in apply")
    }
}

/// Returns an error when `record` cannot follow the step's current state.
fn check_step_transition(step: &StepState, record: &Record) -> Result<(), String> {
    use StepStatus::*;

    let status = step.status;
    let allowed = match record {
        Record::Approval { .. } => status == Pending,
        Record::StepStarted { .. } => status == Pending,
        Record::StepSkipped { .. } => status == Pending,
        Record::StepFailed { .. } => matches!(status, Pending | Running),
        Record::AttemptStarted { attempt, .. } => status == Running && *attempt == step.attempts + 1,
        Record::AttemptFailed { attempt, .. } => status == Running && *attempt == step.attempts,
        Record::Note { .. } | Record::Resource { .. } | Record::Check { .. } => {
            status == Running || (status == Succeeded && step.undo == UndoStatus::Started)
        }
        Record::Output { .. } => status == Running && step.outputs.is_none(),
        Record::StepSucceeded { .. } => status == Running && step.outputs.is_some(),
        Record::UnwindStarted { .. } => status == Failed,
        Record::UndoStarted { .. } => status == Succeeded && matches!(step.undo, UndoStatus::NotStarted | UndoStatus::Started),
        Record::UndoSucceeded { .. } | Record::UndoFailed { .. } => status == Succeeded && step.undo == UndoStatus::Started,
        Record::StepReset { .. } => status.is_terminal(),
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "{} for step `{}` is impossible while the step is {:?} (attempt {}, undo {:?})",
            record_name(record),
            step.id,
            status,
            step.attempts,
            step.undo
        ))
    }
}

fn record_name(record: &Record) -> String {
    // The serde tag is the name used in the file, so reuse it in messages.
    serde_json::to_value(record)
        .ok()
        .and_then(|value| value.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "record".to_string())
}
