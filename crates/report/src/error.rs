//! Errors of report generation.

use std::path::PathBuf;

use drctl_executor::{CorruptJournal, JournalError};
use thiserror::Error;

/// Failure to build or write a report.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("corrupt journal {}: {corrupt}; inspect the file, no report can be built from it", path.display())]
    Corrupt { path: PathBuf, corrupt: CorruptJournal },
    #[error("failed to {action} at {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to encode the JSON report: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("unknown report format `{0}`; use json, markdown, html or junit")]
    UnknownFormat(String),
    #[error("run directory {} has no parent state directory; pass <state_dir>/runs/<run_id>", path.display())]
    NotARunDirectory { path: PathBuf },
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;
