//! Errors of the fixture. Tests usually `expect` them, so each message names the
//! value, where it came from and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EstateError {
    #[error("failed to run {command}: {source}; check that python3 (3.11+) and bash are installed")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("installing the emulator's Python dependencies failed (exit {status}); see {log} and integration/requirements.txt")]
    Install { status: String, log: PathBuf },

    #[error("the estate launcher did not become ready within {seconds} s; its log is {log}:\n{tail}")]
    NotReady { seconds: u64, log: PathBuf, tail: String },

    #[error("the estate launcher exited before it was ready; its log is {log}:\n{tail}")]
    LauncherExited { log: PathBuf, tail: String },

    #[error("the estate launcher printed an invalid ready line {line:?}: {source}")]
    ReadyLine {
        line: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("control API request {method} {url} failed: {message}")]
    Control {
        method: &'static str,
        url: String,
        message: String,
    },

    #[error("{name}={value:?} is invalid: {reason}")]
    InvalidEnv {
        name: &'static str,
        value: String,
        reason: String,
    },
}
