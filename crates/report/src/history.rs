//! Drill history: one summary line per run journal under a state directory.
//!
//! Every journal is replayed on its own, so one unreadable or corrupt
//! journal becomes a warning entry and never hides the others.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::Serialize;

use crate::builder::{build_report, load_run};
use crate::error::{ReportError, Result};
use crate::format::{format_optional, format_seconds};

/// Value of the `schema` field of the JSON history.
pub const HISTORY_SCHEMA: &str = "drctl.history/v1";

/// One run, summarised from its journal. `*_seconds` are simulated seconds.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// Set when the journal could not be read or replayed; the other
    /// fields are then empty.
    pub error: Option<String>,
    pub playbook: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub mode: Option<String>,
    pub dry_run: bool,
    /// Run status as in the report (`succeeded`, `failed`, `interrupted`, ...).
    pub status: Option<String>,
    pub rto_seconds: Option<f64>,
    pub rto_target_seconds: Option<f64>,
    /// `met`, `warning`, `missed` or `not_reached`; empty for unreadable journals.
    pub rto_status: String,
    pub rpo_seconds: Option<f64>,
    pub rpo_target_seconds: Option<f64>,
    /// `met`, `missed` or `not_measured`; empty for unreadable journals.
    pub rpo_status: String,
    pub verdict: Option<String>,
    /// Duration of each step that started and finished, in plan order.
    pub step_durations: IndexMap<String, f64>,
}

/// Summarises every run under `<state_dir>/runs`, oldest first, keeping only
/// runs of `playbook_name` when given. Unreadable journals are listed last
/// as entries with `error` set, whatever the filter, because their playbook
/// is unknown. A missing `runs` directory gives an empty history.
pub fn history(state_dir: &Path, playbook_name: Option<&str>) -> Result<Vec<HistoryEntry>> {
    let runs_dir = state_dir.join("runs");
    let listing = match std::fs::read_dir(&runs_dir) {
        Ok(listing) => listing,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ReportError::Io { action: "list the run directories", path: runs_dir, source }),
    };

    let mut entries = Vec::new();
    let mut broken = Vec::new();
    for item in listing {
        let item = item.map_err(|source| ReportError::Io { action: "list the run directories", path: runs_dir.clone(), source })?;
        let run_dir = item.path();
        if !run_dir.is_dir() {
            continue;
        }
        let run_id = item.file_name().to_string_lossy().into_owned();
        match load_run(&run_dir) {
            Ok(state) => {
                let entry = summarise(&run_dir, &build_report(&state));
                if playbook_name.is_none_or(|name| entry.playbook.as_deref() == Some(name)) {
                    entries.push(entry);
                }
            }
            Err(error) => {
                tracing::warn!(run_dir = %run_dir.display(), %error, "skipping an unreadable run journal in the history");
                broken.push(unreadable(run_id, run_dir, error.to_string()));
            }
        }
    }

    entries.sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
    broken.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    entries.extend(broken);
    Ok(entries)
}

fn summarise(run_dir: &Path, report: &crate::model::Report) -> HistoryEntry {
    HistoryEntry {
        run_id: report.run.run_id.clone(),
        run_dir: run_dir.to_path_buf(),
        error: None,
        playbook: report.playbook.name.clone(),
        started_at: Some(report.run.started_at),
        mode: Some(report.run.mode.clone()),
        dry_run: report.run.dry_run,
        status: Some(crate::builder::tag(&report.run.status)),
        rto_seconds: report.rto.achieved_seconds,
        rto_target_seconds: Some(report.rto.target_seconds),
        rto_status: crate::builder::tag(&report.rto.status),
        rpo_seconds: report.rpo.measured_seconds,
        rpo_target_seconds: report.rpo.target_seconds,
        rpo_status: crate::builder::tag(&report.rpo.status),
        verdict: Some(report.verdict.headline.clone()),
        step_durations: report.steps.iter().filter_map(|step| step.duration_seconds.map(|d| (step.id.clone(), d))).collect(),
    }
}

fn unreadable(run_id: String, run_dir: PathBuf, error: String) -> HistoryEntry {
    HistoryEntry {
        run_id,
        run_dir,
        error: Some(error),
        playbook: None,
        started_at: None,
        mode: None,
        dry_run: false,
        status: None,
        rto_seconds: None,
        rto_target_seconds: None,
        rto_status: String::new(),
        rpo_seconds: None,
        rpo_target_seconds: None,
        rpo_status: String::new(),
        verdict: None,
        step_durations: IndexMap::new(),
    }
}

/// Renders the history as JSON: `{"schema": "drctl.history/v1", "runs": [...]}`.
pub fn history_json(entries: &[HistoryEntry]) -> Result<String> {
    let document = serde_json::json!({ "schema": HISTORY_SCHEMA, "runs": entries });
    Ok(serde_json::to_string_pretty(&document)?)
}

/// Renders a plain-text table of the runs, then the median, minimum and
/// maximum duration of each step over the runs that finished it, then one
/// warning line per unreadable journal.
pub fn render_history_table(entries: &[HistoryEntry]) -> String {
    let readable: Vec<&HistoryEntry> = entries.iter().filter(|entry| entry.error.is_none()).collect();
    let mut out = String::new();
    if readable.is_empty() {
        out.push_str("No runs found.\n");
    } else {
        let header = ["DATE", "RUN", "PLAYBOOK", "MODE", "STATUS", "RTO", "RTO TARGET", "RTO RESULT", "RPO", "RPO RESULT"];
        let rows: Vec<Vec<String>> = readable
            .iter()
            .map(|entry| {
                let mode = entry.mode.clone().unwrap_or_default();
                vec![
                    entry.started_at.map(|at| at.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
                    entry.run_id.clone(),
                    entry.playbook.clone().unwrap_or_else(|| "-".to_string()),
                    if entry.dry_run { format!("{mode} (dry run)") } else { mode },
                    entry.status.clone().unwrap_or_default(),
                    format_optional(entry.rto_seconds),
                    format_optional(entry.rto_target_seconds),
                    entry.rto_status.replace('_', " "),
                    format_optional(entry.rpo_seconds),
                    entry.rpo_status.replace('_', " "),
                ]
            })
            .collect();
        out.push_str(&table(&header, &rows));

        // Per-step medians over the runs that finished the step.
        let mut durations: IndexMap<&str, Vec<f64>> = IndexMap::new();
        for entry in &readable {
            for (step, seconds) in &entry.step_durations {
                durations.entry(step.as_str()).or_default().push(*seconds);
            }
        }
        if !durations.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = durations
                .iter_mut()
                .map(|(step, values)| {
                    values.sort_by(|a, b| a.total_cmp(b));
                    vec![
                        step.to_string(),
                        values.len().to_string(),
                        format_seconds(median(values)),
                        format_seconds(values[0]),
                        format_seconds(values[values.len() - 1]),
                    ]
                })
                .collect();
            out.push_str(&table(&["STEP", "RUNS", "MEDIAN", "MIN", "MAX"], &rows));
        }
    }
    for entry in entries.iter().filter(|entry| entry.error.is_some()) {
        out.push_str(&format!("warning: skipped run {}: {}\n", entry.run_id, entry.error.as_deref().unwrap_or_default()));
    }
    out
}

/// Median of sorted, non-empty `values`.
fn median(values: &[f64]) -> f64 {
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] }
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median(&[1.0, 3.0]), 2.0);
    }
}
