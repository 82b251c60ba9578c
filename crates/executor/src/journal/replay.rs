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

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"seq":1,"time":"2026-03-01T12:00:00Z","type":"run_header","run_id":"r","playbook_hash":"h","mode":"drill","dry_run":false,"incident_time":"2026-03-01T12:00:00Z","started_at":"2026-03-01T12:00:00Z","rto_target_ms":3600000,"rto_warning_ms":1800000,"max_parallel":1,"header_meta":null,"steps":[{"id":"a","needs":[],"timeout_ms":1000,"budget_ms":null,"expected_ms":null,"retry":{"attempts":1,"initial_ms":1000,"max_ms":1000,"multiplier":2.0,"jitter":false},"on_failure":"abort","always":false,"approval":false,"description":""}]}"#;

    fn line(seq: u64, record: &str) -> String {
        format!(r#"{{"seq":{seq},"time":"2026-03-01T12:00:0{seq}Z",{record}}}"#)
    }

    fn journal(records: &[&str]) -> String {
        let mut text = format!("{HEADER}\n");
        for (index, record) in records.iter().enumerate() {
            text.push_str(&line(index as u64 + 2, record));
            text.push('\n');
        }
        text
    }

    fn replay_text(text: &str) -> Result<RunState, CorruptJournal> {
        replay(&parse_journal(text)?.entries)
    }

    #[test]
    fn complete_step_replays() {
        let text = journal(&[
            r#""type":"step_started","step":"a","description":"d""#,
            r#""type":"attempt_started","step":"a","attempt":1"#,
            r#""type":"note","step":"a","key":"intent","value":"x""#,
            r#""type":"output","step":"a","outputs":{"id":"x"}"#,
            r#""type":"step_succeeded","step":"a""#,
        ]);
        let state = replay_text(&text).unwrap();
        let step = &state.steps["a"];
        assert_eq!(step.status, crate::journal::state::StepStatus::Succeeded);
        assert_eq!(step.notes["intent"], serde_json::json!("x"));
        assert_eq!(step.duration(), Some(std::time::Duration::from_secs(4)));
    }

    #[test]
    fn torn_tail_is_ignored() {
        let text = format!("{}{}", journal(&[r#""type":"step_started","step":"a","description":"d""#]), r#"{"seq":3,"ti"#);
        let parsed = parse_journal(&text).unwrap();
        assert!(parsed.torn_tail);
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(&text[..parsed.valid_len], journal(&[r#""type":"step_started","step":"a","description":"d""#]));
    }

    #[test]
    fn torn_tail_may_split_a_character() {
        let mut bytes = journal(&[]).into_bytes();
        bytes.extend_from_slice(&"{\"note\":\"é".as_bytes()[..10]);
        let text = journal_text(&bytes, Path::new("j")).unwrap();
        assert_eq!(parse_journal(text).unwrap().entries.len(), 1);
    }

    #[test]
    fn impossible_sequences_name_the_line() {
        let cases: [(&[&str], usize, &str); 7] = [
            (&[r#""type":"step_succeeded","step":"a""#], 2, "impossible while the step is Pending"),
            (&[r#""type":"step_started","step":"zz","description":"d""#], 2, "not in the run header"),
            (
                &[r#""type":"step_started","step":"a","description":"d""#, r#""type":"attempt_started","step":"a","attempt":2"#],
                3,
                "attempt_started",
            ),
            (
                &[r#""type":"step_started","step":"a","description":"d""#, r#""type":"step_succeeded","step":"a""#],
                3,
                "step_succeeded",
            ),
            (&[r#""type":"run_header","run_id":"r""#], 2, "not a valid journal record"),
            (
                &[r#""type":"run_finished","outcome":{"kind":"succeeded"},"manual_actions":[]"#, r#""type":"run_resumed""#],
                3,
                "after run_finished",
            ),
            (&[r#""type":"undo_started","step":"a""#], 2, "undo_started"),
        ];
        for (records, expected_line, expected_reason) in cases {
            let error = replay_text(&journal(records)).unwrap_err();
            assert_eq!(error.line, expected_line, "{records:?}: {error}");
            assert!(error.reason.contains(expected_reason), "{records:?}: {error}");
        }
    }

    #[test]
    fn blank_line_is_corrupt() {
        let text = format!("{HEADER}\n\n");
        let error = parse_journal(&text).unwrap_err();
        assert_eq!(error.line, 2);
    }

    #[test]
    fn empty_journal_is_corrupt() {
        let error = replay(&[]).unwrap_err();
        assert_eq!(error.line, 1);
    }

    #[test]
    fn first_record_must_be_header() {
        let text = format!("{}\n", line(1, r#""type":"run_resumed""#));
        let error = replay_text(&text).unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.reason.contains("not a run_header"), "{error}");
    }
}
