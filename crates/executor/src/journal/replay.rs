//! Reading a journal back: parsing lines and rebuilding the run state.

use std::path::Path;

use crate::error::{CorruptJournal, JournalError};
use crate::journal::record::JournalEntry;
use crate::journal::state::RunState;

/// The parsed lines of a journal.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedJournal {
    pub entries: Vec<JournalEntry>,
    /// Byte length of the complete lines. Anything after it is a torn last
    /// line left by a crash during a write; a writer truncates the file here.
    pub valid_len: usize,
    /// True when a torn last line was found and ignored.
    pub torn_tail: bool,
}

/// Parses journal text. A last line without its final newline is torn by a
/// crash during the write and is ignored. Any other line that is not a
/// valid record is corruption, reported with its 1-based line number.
pub fn parse_journal(text: &str) -> Result<ParsedJournal, CorruptJournal> {
    let mut entries = Vec::new();
    let mut offset = 0;
    let mut line_number = 0;

    while offset < text.len() {
        line_number += 1;
        let rest = &text[offset..];
        let Some(end) = rest.find('\n') else {
            // Every record is written as one `write` of the JSON and its
            // newline, so a line without a newline can only be the torn tail.
            return Ok(ParsedJournal { entries, valid_len: offset, torn_tail: true });
        };
        let line = &rest[..end];
        let entry: JournalEntry = serde_json::from_str(line).map_err(|error| CorruptJournal {
            line: line_number,
            reason: format!("not a valid journal record: {error}"),
        })?;
        entries.push(entry);
        offset += end + 1;
    }
    Ok(ParsedJournal { entries, valid_len: offset, torn_tail: false })
}

/// Reads and parses the journal at `path` without changing it. A torn last
/// line is ignored.
pub fn read_journal(path: &Path) -> Result<Vec<JournalEntry>, JournalError> {
    let bytes = std::fs::read(path).map_err(|source| JournalError::Io {
        action: "read the journal",
        path: path.to_path_buf(),
        source,
    })?;
    let text = journal_text(&bytes, path)?;
    let parsed = parse_journal(text).map_err(|corrupt| JournalError::Corrupt { path: path.to_path_buf(), corrupt })?;
    Ok(parsed.entries)
}

/// Decodes journal bytes. Invalid UTF-8 is allowed only in a torn tail,
/// which a crash can cut in the middle of a multi-byte character.
pub(crate) fn journal_text<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, JournalError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(error) => {
            let valid = &bytes[..error.valid_up_to()];
            let torn_tail_only = !bytes[error.valid_up_to()..].contains(&b'\n');
            if torn_tail_only {
                // Safe to unwrap: `valid_up_to` marks the end of valid UTF-8.
                Ok(std::str::from_utf8(valid).expect("prefix is valid UTF-8"))
            } else {
                let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
                Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    corrupt: CorruptJournal { line, reason: "the line is not valid UTF-8".to_string() },
                })
            }
        }
    }
}

/// Rebuilds the run state from journal entries, checking sequence numbers
/// and every step's state machine. Line numbers in errors count entries
/// from 1, which matches the file because every entry is one line.
pub fn replay(entries: &[JournalEntry]) -> Result<RunState, CorruptJournal> {
    let Some(first) = entries.first() else {
        return Err(CorruptJournal { line: 1, reason: "the journal is empty; it has no run_header".to_string() });
    };
    let mut state = RunState::from_header(first).map_err(|reason| CorruptJournal { line: 1, reason })?;
    for (index, entry) in entries.iter().enumerate().skip(1) {
        state.apply(entry).map_err(|reason| CorruptJournal { line: index + 1, reason })?;
    }
    Ok(state)
}
