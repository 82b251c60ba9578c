//! The records of the journal, one JSON object per line.
//!
//! Every line is a [`JournalEntry`]: a sequence number starting at 1, the
//! time it was written, and a [`Record`] tagged by `"type"`. Durations are
//! whole milliseconds in fields ending in `_ms`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::{ActionError, ApprovalDecision, Outputs};
use crate::duration_ms;
use crate::plan::StepSpec;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position in the journal, starting at 1 with no gaps.
    pub seq: u64,
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub record: Record,
}

/// The event a line records. The per-step order is checked by [`replay`](crate::replay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// Always the first record.
    RunHeader(RunHeader),
    /// A process took over the run from the journal (after a crash, a cancel
    /// or a stop at an approval gate).
    RunResumed,
    /// The step's action was prepared and is about to run for the first time.
    StepStarted { step: String, description: String },
    AttemptStarted { step: String, attempt: u32 },
    /// An attempt ended with an error. `retry_in_ms` is set when another attempt follows.
    AttemptFailed {
        step: String,
        attempt: u32,
        error: ActionError,
        #[serde(rename = "retry_in_ms", with = "duration_ms::option")]
        retry_in: Option<Duration>,
    },
    Note { step: String, key: String, value: serde_json::Value },
    Resource { step: String, resource: ResourceRecord },
    Check { step: String, value: serde_json::Value },
    Output { step: String, outputs: Outputs },
    StepSucceeded { step: String },
    StepFailed { step: String, error: ActionError },
    StepSkipped { step: String, cause: SkipCause, reason: String },
    Approval { step: String, decision: ApprovalDecision },
    /// The run entered the undo phase because `step` failed with `on_failure: undo`.
    UnwindStarted { failed_step: String },
    UndoStarted { step: String },
    UndoSucceeded { step: String },
    UndoFailed { step: String, error: ActionError },
    /// A finished `always` step becomes pending again, because a resumed run
    /// will do more work after it (a cleanup ran at a cancel, then the
    /// cancelled steps go on). Its earlier notes, resources and checks stay.
    StepReset { step: String },
    RtoWarning(RtoWarning),
    /// A cancel or abort was requested. After a cancel the run still records
    /// `RunFinished`; after an abort it stops without it.
    RunInterrupted { reason: InterruptReason },
    RunFinished { outcome: RunOutcome, manual_actions: Vec<ManualAction> },
}

impl Record {
    /// Returns the step this record is about, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            Record::StepStarted { step, .. }
            | Record::AttemptStarted { step, .. }
            | Record::AttemptFailed { step, .. }
            | Record::Note { step, .. }
            | Record::Resource { step, .. }
            | Record::Check { step, .. }
            | Record::Output { step, .. }
            | Record::StepSucceeded { step }
            | Record::StepFailed { step, .. }
            | Record::StepSkipped { step, .. }
            | Record::Approval { step, .. }
            | Record::UndoStarted { step }
            | Record::UndoSucceeded { step }
            | Record::UndoFailed { step, .. }
            | Record::StepReset { step } => Some(step),
            Record::UnwindStarted { failed_step } => Some(failed_step),
            Record::RunHeader(_)
            | Record::RunResumed
            | Record::RtoWarning(_)
            | Record::RunInterrupted { .. }
            | Record::RunFinished { .. } => None,
        }
    }
}

/// The first record of every journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    pub run_id: String,
    pub playbook_hash: String,
    pub mode: String,
    pub dry_run: bool,
    pub incident_time: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    #[serde(rename = "rto_target_ms", with = "duration_ms")]
    pub rto_target: Duration,
    #[serde(rename = "rto_warning_ms", with = "duration_ms")]
    pub rto_warning: Duration,
    pub max_parallel: usize,
    pub header_meta: serde_json::Value,
    pub steps: Vec<StepSpec>,
}

/// A cloud resource a step created, adopted or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Kind of resource, for example `db-cluster` or `db-cluster-snapshot`.
    pub resource_type: String,
    pub id: String,
    pub region: String,
    pub arn: Option<String>,
    pub event: ResourceEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceEvent {
    Created,
    /// Found and reused, because an earlier attempt had created it.
    Adopted,
    Deleted,
}

/// Cause of a skipped step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipCause {
    /// The resolver returned `Prepared::Skip`. Dependents still run.
    Condition,
    /// A step it needs failed, or was itself skipped because of a failure.
    DependencyFailed,
    /// The run stopped starting new steps after a failure.
    RunAborted,
}

impl SkipCause {
    /// True when the skip comes from a failure, so dependents are skipped too.
    pub fn is_failure(self) -> bool {
        !matches!(self, SkipCause::Condition)
    }
}

/// Final result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every step succeeded or was skipped by condition.
    Succeeded,
    /// At least one step failed and nothing was undone.
    Failed { failed_steps: Vec<String> },
    /// A step failed with `on_failure: undo` and the undo phase ran. Check
    /// the manual actions: when any are listed, the undo is incomplete.
    RolledBack { failed_steps: Vec<String> },
    /// A cancel stopped the run. It can be resumed.
    Cancelled,
    /// The approver was unavailable at `step`. It can be resumed.
    AwaitingApproval { step: String },
}

impl RunOutcome {
    /// True when `resume` may continue a run that ended this way.
    pub fn is_resumable(&self) -> bool {
        matches!(self, RunOutcome::Cancelled | RunOutcome::AwaitingApproval { .. })
    }
}

/// Something the operator must still do by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualAction {
    pub step: String,
    pub kind: ManualActionKind,
    /// A sentence saying what is left and why.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualActionKind {
    /// The step's undo failed; reverse its effects by hand.
    UndoFailed,
    /// The step was not undone because the undo of a step depending on it failed.
    UndoBlocked,
    /// The step has no action to undo with (the resolver skipped it on resume).
    UndoUnavailable,
}

/// An RTO threshold crossed by the projected finish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RtoWarning {
    pub level: RtoLevel,
    /// Projected time from the incident start to the end of the run.
    #[serde(rename = "projected_ms", with = "duration_ms")]
    pub projected: Duration,
    #[serde(rename = "threshold_ms", with = "duration_ms")]
    pub threshold: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RtoLevel {
    /// The projection passed the RTO warning threshold.
    Warning,
    /// The projection passed the RTO target.
    Breach,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptReason {
    /// First cancel: no new steps, always-steps still run.
    Cancel,
    /// Second cancel or abort: everything stopped at once.
    Abort,
}
