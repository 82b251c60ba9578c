//! Events for reporters. The executor sends them on an unbounded channel,
//! so it never waits for a reader, and it ignores a dropped receiver.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::action::{ActionError, ApprovalDecision, Outputs};
use crate::duration_ms;
use crate::journal::record::{InterruptReason, ManualAction, RtoWarning, RunOutcome, SkipCause};

/// Something that happened in a run, in the order the executor saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        mode: String,
        dry_run: bool,
        /// True when this process continues a journalled run.
        resumed: bool,
        incident_time: DateTime<Utc>,
        started_at: DateTime<Utc>,
        /// Step ids in plan order.
        steps: Vec<String>,
    },
    StepStarted {
        step_id: String,
        attempt: u32,
        description: String,
        /// True when the step was already running before a crash or cancel.
        resumed: bool,
    },
    StepProgress { step_id: String, message: String, percent: Option<f64> },
    StepRetrying {
        step_id: String,
        /// The attempt that failed.
        attempt: u32,
        error: ActionError,
        #[serde(rename = "delay_ms", with = "duration_ms")]
        delay: Duration,
    },
    StepSucceeded {
        step_id: String,
        #[serde(rename = "duration_ms", with = "duration_ms")]
        duration: Duration,
        attempts: u32,
        outputs: Outputs,
    },
    StepFailed { step_id: String, error: ActionError, attempts: u32 },
    StepSkipped { step_id: String, cause: SkipCause, reason: String },
    ApprovalWaiting { step_id: String, description: String },
    ApprovalDecided { step_id: String, decision: ApprovalDecision },
    UndoStarted { step_id: String },
    UndoSucceeded { step_id: String },
    UndoFailed { step_id: String, error: ActionError },
    RtoForecast(RtoForecast),
    RtoWarning(RtoWarning),
    RunInterrupted { reason: InterruptReason },
    RunFinished { outcome: RunOutcome, manual_actions: Vec<ManualAction>, summary: RunSummary },
}

/// Projection of when the run will finish, measured from the incident start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtoForecast {
    /// Time since the incident started.
    #[serde(rename = "elapsed_ms", with = "duration_ms")]
    pub elapsed: Duration,
    /// Maximum total of expected durations over the remaining dependency chains.
    #[serde(rename = "remaining_ms", with = "duration_ms")]
    pub remaining: Duration,
    /// `elapsed + remaining`: the projected recovery time.
    #[serde(rename = "projected_ms", with = "duration_ms")]
    pub projected: Duration,
    #[serde(rename = "warning_ms", with = "duration_ms")]
    pub warning: Duration,
    #[serde(rename = "target_ms", with = "duration_ms")]
    pub target: Duration,
}

/// Step counts and the RTO result of a finished run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Steps that never finished (cancelled, awaiting approval).
    pub unfinished: usize,
    /// Time from the incident start to the end of the run.
    #[serde(rename = "recovery_time_ms", with = "duration_ms")]
    pub recovery_time: Duration,
    #[serde(rename = "rto_target_ms", with = "duration_ms")]
    pub rto_target: Duration,
    pub rto_met: bool,
}
