//! Durable storage of journal lines: a file per run, or memory for tests.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::JournalError;
use crate::journal::lock::{DirLock, lock_file};
use crate::journal::replay::{ParsedJournal, journal_text, parse_journal};

/// Append-only storage of journal lines.
///
/// Implementations must make each appended line durable (fsynced for files)
/// before `append` returns, because the executor treats a returned append as
/// a fact that survives a crash.
pub trait JournalStore: Send {
    /// Reads every complete line. A torn last line is removed from storage
    /// so that the next append starts on a fresh line.
    fn load(&mut self) -> Result<ParsedJournal, JournalError>;

    /// Appends `line` (JSON without a newline) and a newline in one write,
    /// then makes it durable.
    fn append(&mut self, line: &str) -> Result<(), JournalError>;

    /// Returns the journal's location, for messages.
    fn location(&self) -> String;
}

/// Path of the journal of `run_id` under `state_dir`.
pub fn journal_path(state_dir: &Path, run_id: &str) -> PathBuf {
    state_dir.join("runs").join(run_id).join("journal.jsonl")
}

/// Rejects run ids that are not a plain file name, because the id becomes a directory name.
pub fn validate_run_id(run_id: &str) -> Result<(), JournalError> {
    let valid = !run_id.is_empty()
        && run_id.len() <= 128
        && !run_id.starts_with('.')
        && run_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid { Ok(()) } else { Err(JournalError::InvalidRunId { run_id: run_id.to_string() }) }
}

/// The journal file `<state_dir>/runs/<run_id>/journal.jsonl`, with an
/// exclusive lock on `<state_dir>/runs/<run_id>/lock` held while the store lives.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    file: File,
    _lock: DirLock,
}

impl FileStore {
    /// Creates the journal of a new run. Fails with `AlreadyExists` when the
    /// run already has records, and with `Locked` when another process has the run locked.
    pub fn create(state_dir: &Path, run_id: &str) -> Result<Self, JournalError> {
        let store = Self::open_locked(state_dir, run_id)?;
        let len = store.file.metadata().map_err(|source| store.io("inspect the journal", source))?.len();
        if len > 0 {
            return Err(JournalError::AlreadyExists { path: store.path });
        }
        Ok(store)
    }

    /// Opens the journal of an existing run for resuming. Fails with
    /// `NotFound` when the run has no journal.
    pub fn open(state_dir: &Path, run_id: &str) -> Result<Self, JournalError> {
        validate_run_id(run_id)?;
        let path = journal_path(state_dir, run_id);
        if !path.is_file() {
            return Err(JournalError::NotFound { path });
        }
        Self::open_locked(state_dir, run_id)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_locked(state_dir: &Path, run_id: &str) -> Result<Self, JournalError> {
        validate_run_id(run_id)?;
        let path = journal_path(state_dir, run_id);
        let dir = path.parent().expect("journal path has a parent").to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| JournalError::Io {
            action: "create the run directory",
            path: dir.clone(),
            source,
        })?;

        // Lock before touching the journal, so two processes never both write it.
        let lock = lock_file(&dir.join("lock"), &format!("pid {}", std::process::id()))?.map_err(|holder| {
            JournalError::Locked { path: dir.clone(), holder: Some(holder).filter(|h| !h.is_empty()) }
        })?;

        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|source| JournalError::Io { action: "open the journal", path: path.clone(), source })?;
        Ok(FileStore { path, file, _lock: lock })
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> JournalError {
        JournalError::Io { action, path: self.path.clone(), source }
    }
}

impl JournalStore for FileStore {
    fn load(&mut self) -> Result<ParsedJournal, JournalError> {
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0)).map_err(|source| self.io("read the journal", source))?;
        self.file.read_to_end(&mut bytes).map_err(|source| self.io("read the journal", source))?;
        let text = journal_text(&bytes, &self.path)?;
        let parsed = parse_journal(text).map_err(|corrupt| JournalError::Corrupt { path: self.path.clone(), corrupt })?;

        if parsed.valid_len < bytes.len() {
            tracing::warn!(
                path = %self.path.display(),
                torn_bytes = bytes.len() - parsed.valid_len,
                "removing a torn last journal line left by a crash"
            );
            let valid_len = u64::try_from(parsed.valid_len).unwrap_or(u64::MAX);
            self.file.set_len(valid_len).map_err(|source| self.io("truncate the torn journal line", source))?;
            self.file.sync_all().map_err(|source| self.io("fsync the journal", source))?;
        }
        Ok(parsed)
    }

    fn append(&mut self, line: &str) -> Result<(), JournalError> {
        let mut buffer = String::with_capacity(line.len() + 1);
        buffer.push_str(line);
        buffer.push('\n');
        self.file.write_all(buffer.as_bytes()).map_err(|source| self.io("append to the journal", source))?;
        self.file.sync_data().map_err(|source| self.io("fsync the journal", source))
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// A journal in memory. Clones share the same text, so a test can keep one
/// handle, give another to the executor, and then inspect or damage the text.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    text: Arc<Mutex<String>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_text(text: impl Into<String>) -> Self {
        MemoryStore { text: Arc::new(Mutex::new(text.into())) }
    }

    pub fn text(&self) -> String {
        self.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Replaces the whole text, for example to cut it or add a torn line.
    pub fn set_text(&self, text: impl Into<String>) {
        *self.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = text.into();
    }
}

impl JournalStore for MemoryStore {
    fn load(&mut self) -> Result<ParsedJournal, JournalError> {
        let mut text = self.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let parsed = parse_journal(&text)
            .map_err(|corrupt| JournalError::Corrupt { path: PathBuf::from("<memory>"), corrupt })?;
        text.truncate(parsed.valid_len);
        Ok(parsed)
    }

    fn append(&mut self, line: &str) -> Result<(), JournalError> {
        let mut text = self.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        text.push_str(line);
        text.push('\n');
        Ok(())
    }

    fn location(&self) -> String {
        "<memory>".to_string()
    }
}
