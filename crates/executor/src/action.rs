//! The contract between the executor and the code that does the work.
//!
//! The executor has no AWS code. For each step it asks a
//! [`StepResolver`] for an [`Action`] just before the step runs, then calls
//! the action through this trait, journalling around every call.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::context::StepContext;
use crate::plan::StepSpec;

/// Named values a step produced. Later steps see them only through the
/// journal, never through shared memory.
pub type Outputs = IndexMap<String, serde_json::Value>;

/// Builds the action of a step.
#[async_trait]
pub trait StepResolver: Send + Sync {
    /// Builds the action for `step` just before it runs, from the outputs
    /// recorded so far by finished steps (keyed by step id). The caller
    /// resolves expressions and conditions here.
    ///
    /// Also called for a step that succeeded before a crash and must be
    /// undone after a resume. `outputs` then contains its own outputs too.
    ///
    /// An error fails the step without running it.
    async fn prepare(&self, step: &StepSpec, outputs: &HashMap<String, Outputs>) -> Result<Prepared, ActionError>;
}

/// The resolver's decision for a step.
pub enum Prepared {
    /// Do not run the step. Dependents still run: a skip by condition is not a failure.
    Skip { reason: String },
    Run(Box<dyn Action>),
}

/// The work of one step.
///
/// # Contract
///
/// - **Idempotent.** `run` may be entered again for the same step: after a
///   retry, and after a crash when the run is resumed. Before creating
///   anything, an action looks for what an earlier attempt created (using
///   [`StepContext::notes`] and read-only calls) and adopts it instead of
///   creating a second copy.
/// - **Intent first.** Before a creating call, record the intent with
///   [`StepContext::record_note`] (for example the name about to be used),
///   and after it record what was created. `record_note` returns only once
///   the note is fsynced, so after a crash the notes tell the next attempt
///   what may exist.
/// - **Data flows through outputs.** A later step receives data only through
///   the outputs returned by `run` and recorded in the journal.
/// - **Cancellation is cooperative.** Long waits should select on
///   [`StepContext::cancelled`] and return an error of class
///   [`ErrorClass::Cancelled`]; the step then stays resumable.
/// - **Record resources.** Report each resource created, adopted or deleted
///   with [`StepContext::record_resource`], so reports can show what is left.
#[async_trait]
pub trait Action: Send + Sync {
    /// One line saying what the step will do, used in approval prompts and dry runs.
    fn describe(&self) -> String;

    /// Lists what `run` would do, using read-only calls only. Each line becomes
    /// part of the step's outputs in a dry run.
    async fn dry_run(&self, cx: &StepContext) -> Result<Vec<String>, ActionError>;

    /// Does the work and returns the outputs. See the trait contract.
    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError>;

    /// Reverses a successful `run`, given the outputs it returned. It must
    /// also be idempotent: it may be entered again after a crash.
    async fn undo(&self, cx: &StepContext, outputs: &Outputs) -> Result<(), ActionError>;
}

/// Handling class of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Throttling, 5xx responses, transient network errors. Retried.
    Retryable,
    /// The resource is busy in another operation (for example a cluster
    /// still `modifying`). Retried.
    Transitional,
    /// Retrying cannot help. The step fails.
    Fatal,
    /// The action stopped because the run was cancelled. The step stays resumable.
    Cancelled,
    /// The step ran past its timeout.
    Timeout,
}

impl ErrorClass {
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Retryable | ErrorClass::Transitional)
    }
}

/// An error from an action or resolver. Serialisable, so it survives in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{class:?}: {message}")]
pub struct ActionError {
    pub class: ErrorClass,
    pub message: String,
}

impl ActionError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ActionError { class, message: message.into() }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Retryable, message)
    }

    pub fn transitional(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Transitional, message)
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Fatal, message)
    }

    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Cancelled, message)
    }
}

/// Asks a human (or a policy) whether a gated step may run.
#[async_trait]
pub trait Approver: Send + Sync {
    /// Called before a step with `approval: true` runs. `description` is the
    /// action's [`Action::describe`] line. May wait as long as it needs; the
    /// step's timeout does not run while waiting.
    async fn approve(&self, step: &StepSpec, description: &str) -> ApprovalDecision;
}

/// The decision of an [`Approver`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// The step may run. `by` names who approved it and is journalled.
    Granted { by: String },
    /// The step fails without running.
    Denied,
    /// No approver is reachable now (for example no terminal). The run stops at the
    /// gate with outcome `AwaitingApproval` and can be resumed.
    Unavailable,
}

impl fmt::Display for ApprovalDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApprovalDecision::Granted { by } => write!(f, "granted by {by}"),
            ApprovalDecision::Denied => f.write_str("denied"),
            ApprovalDecision::Unavailable => f.write_str("unavailable"),
        }
    }
}
