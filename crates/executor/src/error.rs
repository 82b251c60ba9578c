//! Errors of the executor and its journal.

use std::path::PathBuf;

use thiserror::Error;

/// A journal that cannot be trusted, with the 1-based line that breaks it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("journal line {line}: {reason}")]
pub struct CorruptJournal {
    pub line: usize,
    pub reason: String,
}

/// Failure to read, write or lock a journal.
#[derive(Debug, Error)]
pub enum JournalError {
    #[error("failed to {action} at {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt journal {}: {corrupt}; inspect the file, it cannot be resumed as is", path.display())]
    Corrupt { path: PathBuf, corrupt: CorruptJournal },
    #[error(
        "run directory {} is locked by another drctl process{}; wait for it to finish or stop it",
        path.display(),
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Locked { path: PathBuf, holder: Option<String> },
    #[error("a journal already exists at {}; resume the run or choose a new run id", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("no journal at {}; check the run id and the state directory", path.display())]
    NotFound { path: PathBuf },
    #[error("invalid run id `{run_id}`: use 1 to 128 letters, digits, `.`, `_` or `-`, not starting with `.`")]
    InvalidRunId { run_id: String },
    #[error("failed to encode a journal record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("refusing to write an inconsistent journal record (a bug in the executor): {0}")]
    Inconsistent(String),
    #[error("the journal failed earlier and accepts no more records: {0}")]
    Poisoned(String),
}

/// Failure of a run as a whole (step failures are outcomes, not errors).
#[derive(Debug, Error)]
pub enum ExecutorError {
    #[error("invalid run plan: {}", problems.join("; "))]
    InvalidPlan { problems: Vec<String> },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("corrupt journal: {0}")]
    CorruptJournal(#[from] CorruptJournal),
    #[error(
        "the playbook changed since run {run_id} started (journal hash {journal_hash}, current hash {plan_hash}); \
         restore the original playbook to resume, or start a new run"
    )]
    PlaybookChanged { run_id: String, journal_hash: String, plan_hash: String },
    #[error("the journal belongs to run `{journal_run_id}`, not `{plan_run_id}`")]
    RunIdMismatch { journal_run_id: String, plan_run_id: String },
    #[error("run {run_id} already finished with outcome {outcome}; it cannot be resumed")]
    AlreadyFinished { run_id: String, outcome: String },
}
