//! Installation of the emulator's Python environment and start of its launcher process.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::EstateError;

/// Maximum time for the launcher to print its ready line. Seeding and the
/// PostgreSQL start took a few seconds in the testkit's own runs. Builds of
/// other crates on the same cores can slow that down several times, so the
/// limit is generous.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// Returns the `integration/` directory: `DRCTL_ESTATE_DIR`, or the one of this workspace.
pub(crate) fn integration_dir() -> PathBuf {
    match std::env::var_os("DRCTL_ESTATE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integration"),
    }
}

/// Runs `integration/estate install`, which returns at once when the virtualenv is current.
pub(crate) fn install(log_dir: &Path) -> Result<(), EstateError> {
    let script = integration_dir().join("estate");
    let log = log_dir.join("install.log");
    let output = File::create(&log).map_err(|source| EstateError::Spawn {
        command: format!("create {}", log.display()),
        source,
    })?;
    let errors = output.try_clone().map_err(|source| EstateError::Spawn {
        command: format!("open {}", log.display()),
        source,
    })?;
    let status = Command::new("bash")
        .arg(&script)
        .arg("install")
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors)
        .status()
        .map_err(|source| EstateError::Spawn {
            command: format!("bash {} install", script.display()),
            source,
        })?;
    if !status.success() {
        return Err(EstateError::Install {
            status: status.to_string(),
            log,
        });
    }
    Ok(())
}

/// A running launcher and the JSON line it printed when ready.
pub(crate) struct Launched {
    pub child: Child,
    pub ready: serde_json::Value,
}

/// Starts `python -m emulator.launcher ARGS` and waits for its ready line.
/// Its stderr goes to `log`.
pub(crate) fn launch(args: &[String], log: &Path) -> Result<Launched, EstateError> {
    let dir = integration_dir();
    let python = dir.join(".venv/bin/python");
    let stderr = File::create(log).map_err(|source| EstateError::Spawn {
        command: format!("create {}", log.display()),
        source,
    })?;
    let mut child = Command::new(&python)
        .args(["-m", "emulator.launcher"])
        .args(args)
        .current_dir(&dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|source| EstateError::Spawn {
            command: format!("{} -m emulator.launcher", python.display()),
            source,
        })?;

    // Read the ready line on a helper thread so that the wait can time out.
    let stdout = child.stdout.take().expect("stdout is piped above");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = sender.send(result);
    });

    let tail = || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    let line = match receiver.recv_timeout(READY_TIMEOUT) {
        Ok(Ok(line)) if !line.trim().is_empty() => line,
        Ok(_) => {
            let _ = child.wait();
            return Err(EstateError::LauncherExited {
                log: log.to_owned(),
                tail: tail(),
            });
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(EstateError::NotReady {
                seconds: READY_TIMEOUT.as_secs(),
                log: log.to_owned(),
                tail: tail(),
            });
        }
    };
    let ready = serde_json::from_str(&line).map_err(|source| EstateError::ReadyLine {
        line: line.clone(),
        source,
    })?;
    Ok(Launched { child, ready })
}
