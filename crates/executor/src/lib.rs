//! Step executor and crash-safe journal for drctl.
//!
//! The executor runs the steps of a [`RunPlan`] through the [`Action`] and
//! [`StepResolver`] traits, records every step transition in an append-only
//! journal before acting on it, and reports progress as [`Event`]s. It has no
//! code for AWS, playbook files or terminals.

mod action;
mod cancel;
mod clock;
mod context;
mod duration_ms;
mod engine;
mod error;
mod event;
mod faults;
mod journal;
mod plan;

pub use action::{Action, ActionError, ApprovalDecision, Approver, ErrorClass, Outputs, Prepared, StepResolver};
pub use cancel::{CancelHandle, CancelLevel, CancelSignal};
pub use clock::RunClock;
pub use context::StepContext;
pub use engine::executor::{Executor, RunReport};
pub use error::{CorruptJournal, ExecutorError, JournalError};
pub use event::{Event, RtoForecast, RunSummary};
pub use faults::{FAULTS_ENV_VAR, FaultPlan, FaultSpecError};
pub use journal::lock::{TargetLockError, TargetLockGuard, acquire_target_lock};
pub use journal::record::{
    InterruptReason, JournalEntry, ManualAction, ManualActionKind, Record, ResourceEvent, ResourceRecord, RtoLevel,
    RtoWarning, RunHeader, RunOutcome, SkipCause,
};
pub use journal::replay::{ParsedJournal, parse_journal, read_journal, replay};
pub use journal::state::{FailedAttempt, RunState, StepState, StepStatus, UndoStatus};
pub use journal::store::{FileStore, JournalStore, MemoryStore, journal_path, validate_run_id};
pub use plan::{FailurePolicy, RetryPolicy, RunPlan, StepSpec};
