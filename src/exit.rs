//! Exit codes and the errors that lead to them.
//!
//! | code | meaning |
//! |-----:|---------|
//! | 0 | success (for `run`: every step succeeded and the RTO/RPO targets were met) |
//! | 1 | the run failed: a step failed (the report says which, and what was undone) |
//! | 2 | invalid playbook, variables or command-line input |
//! | 3 | the run stopped at an approval gate; resume it with `--approve STEP` or `--yes` |
//! | 4 | the run was interrupted (Ctrl-C, or stopped at once); `drctl resume RUN_ID` continues it |
//! | 5 | another run holds the target lock |
//! | 6 | the journal cannot be used: missing, corrupt, or the playbook changed since the run started |
//! | 7 | AWS or another service rejected a read-only check (`plan --preflight` found a problem) |
//! | 8 | the run succeeded but missed its RTO or RPO target |
//! | 10 | internal error: a bug in drctl |

use std::process::ExitCode;

/// A process exit status with a documented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    RunFailed = 1,
    InvalidInput = 2,
    AwaitingApproval = 3,
    Interrupted = 4,
    Locked = 5,
    Journal = 6,
    PreflightFailed = 7,
    ObjectiveMissed = 8,
    Internal = 10,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// An error that ends a command, with the exit status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Already rendered diagnostics.
    #[error("{0}")]
    InvalidPlaybook(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Journal(String),
    #[error("{0}")]
    Preflight(String),
    #[error("{0}")]
    Io(String),
    #[error("internal error: {0}; please report this as a bug")]
    Internal(String),
}

impl CliError {
    pub fn status(&self) -> ExitStatus {
        match self {
            CliError::InvalidPlaybook(_) | CliError::InvalidInput(_) => ExitStatus::InvalidInput,
            CliError::Locked(_) => ExitStatus::Locked,
            CliError::Journal(_) => ExitStatus::Journal,
            CliError::Preflight(_) => ExitStatus::PreflightFailed,
            CliError::Io(_) => ExitStatus::InvalidInput,
            CliError::Internal(_) => ExitStatus::Internal,
        }
    }
}
