//! Exclusive locks on files: one per run directory, and named locks on
//! recovery targets.
//!
//! Locks are `flock(2)` locks taken through `fs4`. The kernel releases them
//! when the process exits, so a crashed run never leaves a stale lock. The
//! holder text written into the file is only for messages.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use crate::error::JournalError;

/// An exclusive lock, released when dropped.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Clear the holder text while still holding the lock; closing the
        // file then releases it.
        let _ = self.file.set_len(0);
    }
}

/// Takes an exclusive lock on `path`, creating the file. Returns
/// `Ok(Err(holder))` with the text the current holder wrote when the lock
/// is held elsewhere (in this process or another).
pub(crate) fn lock_file(path: &Path, holder: &str) -> Result<Result<DirLock, String>, JournalError> {
    let io = |action: &'static str| move |source| JournalError::Io { action, path: path.to_path_buf(), source };

    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io("open the lock file"))?;
    let acquired = FileExt::try_lock_exclusive(&file).map_err(io("lock"))?;
    if !acquired {
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        return Ok(Err(text.trim().to_string()));
    }

    file.set_len(0).map_err(io("write the lock file"))?;
    file.seek(SeekFrom::Start(0)).map_err(io("write the lock file"))?;
    file.write_all(holder.as_bytes()).map_err(io("write the lock file"))?;
    file.sync_data().map_err(io("fsync the lock file"))?;
    Ok(Ok(DirLock { file, path: path.to_path_buf() }))
}

/// A held named lock on a recovery target. Released when dropped.
#[derive(Debug)]
pub struct TargetLockGuard {
    name: String,
    lock: DirLock,
}

impl TargetLockGuard {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.lock.path
    }
}

/// Failure to take a target lock.
#[derive(Debug, thiserror::Error)]
pub enum TargetLockError {
    #[error("target `{name}` is locked by run {run_id}; wait for that run to finish or resume it")]
    Held { name: String, run_id: String },
    #[error(transparent)]
    Io(#[from] JournalError),
}

/// Takes the lock named `name` (for example a cluster identifier and
/// region) for `run_id`, in `<state_dir>/locks/`. A second run against the
/// same target gets `Held` with the holder's run id.
pub fn acquire_target_lock(state_dir: &Path, name: &str, run_id: &str) -> Result<TargetLockGuard, TargetLockError> {
    let dir = state_dir.join("locks");
    std::fs::create_dir_all(&dir).map_err(|source| JournalError::Io {
        action: "create the lock directory",
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(format!("{}.lock", encode_lock_name(name)));
    match lock_file(&path, run_id)? {
        Ok(lock) => Ok(TargetLockGuard { name: name.to_string(), lock }),
        Err(holder) => Err(TargetLockError::Held {
            name: name.to_string(),
            run_id: if holder.is_empty() { "<unknown>".to_string() } else { holder },
        }),
    }
}

/// Encodes a lock name as a file name: letters, digits, `-` and `_` stay,
/// every other byte becomes `%XX`, so distinct names never share a file.
fn encode_lock_name(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_lock_reports_holder() {
        let dir = tempfile::tempdir().unwrap();
        let guard = acquire_target_lock(dir.path(), "cluster:eu-west-2/litellm", "run-1").unwrap();

        let second = acquire_target_lock(dir.path(), "cluster:eu-west-2/litellm", "run-2");
        match second {
            Err(TargetLockError::Held { run_id, name }) => {
                assert_eq!(run_id, "run-1");
                assert_eq!(name, "cluster:eu-west-2/litellm");
            }
            other => panic!("expected Held, got {other:?}"),
        }

        let other_target = acquire_target_lock(dir.path(), "cluster:us-east-1/litellm", "run-2");
        assert!(other_target.is_ok(), "a different target must not be blocked");

        drop(guard);
        let again = acquire_target_lock(dir.path(), "cluster:eu-west-2/litellm", "run-2");
        assert!(again.is_ok(), "the lock must be free after the guard is dropped");
    }

    #[test]
    fn lock_names_are_distinct_files() {
        assert_ne!(encode_lock_name("a/b"), encode_lock_name("a_b"));
        assert_ne!(encode_lock_name("a%2Fb"), encode_lock_name("a/b"));
        assert!(!encode_lock_name("../../etc").contains('/'));
    }
}
