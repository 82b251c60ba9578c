//! Writing every report format into a run directory, and rendering one on request.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::builder::{build_report, load_run};
use crate::error::{ReportError, Result};
use crate::history::{HistoryEntry, history};
use crate::html::render_html;
use crate::junit::render_junit;
use crate::markdown::render_markdown;
use crate::model::Report;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Markdown,
    Html,
    Junit,
}

impl std::str::FromStr for ReportFormat {
    type Err = ReportError;

    /// Parses `json`, `markdown` (or `md`), `html` or `junit`.
    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "json" => Ok(ReportFormat::Json),
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            "html" => Ok(ReportFormat::Html),
            "junit" => Ok(ReportFormat::Junit),
            _ => Err(ReportError::UnknownFormat(text.to_string())),
        }
    }
}

/// Paths of the four files [`write_reports`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub html: PathBuf,
    pub junit: PathBuf,
}

/// Renders the JSON report, pretty-printed.
pub fn render_json(report: &Report) -> Result<String> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

/// Renders `report` in `format`. `history` feeds the HTML trend chart only.
pub fn render(report: &Report, format: ReportFormat, history: &[HistoryEntry]) -> Result<String> {
    Ok(match format {
        ReportFormat::Json => render_json(report)?,
        ReportFormat::Markdown => render_markdown(report),
        ReportFormat::Html => render_html(report, history),
        ReportFormat::Junit => render_junit(report),
    })
}

/// Builds the report of `<state_dir>/runs/<run_id>` in `format`, as
/// `drctl report RUN_ID --format FORMAT` prints it.
pub fn render_run(state_dir: &Path, run_id: &str, format: ReportFormat) -> Result<String> {
    drctl_executor::validate_run_id(run_id)?;
    let run_dir = state_dir.join("runs").join(run_id);
    let report = build_report(&load_run(&run_dir)?);
    let trend = if format == ReportFormat::Html { playbook_history(state_dir, &report) } else { Vec::new() };
    render(&report, format, &trend)
}

/// Writes report.json, report.md, report.html and report.junit.xml into
/// `run_dir` (`<state_dir>/runs/<run_id>`), each replaced atomically, from
/// the journal in that directory. Works for runs without `run_finished`.
pub fn write_reports(run_dir: &Path) -> Result<ReportPaths> {
    let state_dir = run_dir
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| ReportError::NotARunDirectory { path: run_dir.to_path_buf() })?;
    let report = build_report(&load_run(run_dir)?);
    let trend = playbook_history(state_dir, &report);

    let paths = ReportPaths {
        json: run_dir.join("report.json"),
        markdown: run_dir.join("report.md"),
        html: run_dir.join("report.html"),
        junit: run_dir.join("report.junit.xml"),
    };
    write_atomically(&paths.json, &render_json(&report)?)?;
    write_atomically(&paths.markdown, &render_markdown(&report))?;
    write_atomically(&paths.html, &render_html(&report, &trend))?;
    write_atomically(&paths.junit, &render_junit(&report))?;
    Ok(paths)
}

/// Readable runs of the report's playbook, for the trend chart. A history
/// that cannot be listed only loses the chart, so the error is logged.
fn playbook_history(state_dir: &Path, report: &Report) -> Vec<HistoryEntry> {
    let Some(name) = report.playbook.name.as_deref() else { return Vec::new() };
    match history(state_dir, Some(name)) {
        Ok(entries) => entries.into_iter().filter(|entry| entry.error.is_none()).collect(),
        Err(error) => {
            tracing::warn!(state_dir = %state_dir.display(), %error, "no RTO trend in the HTML report: failed to read the history");
            Vec::new()
        }
    }
}

/// Writes `text` to a temporary file beside `path`, fsyncs it and renames it
/// over `path`, so a reader never sees a half-written report.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.tmp"));
    let io = |action: &'static str, source: std::io::Error| ReportError::Io { action, path: temporary.clone(), source };

    let mut file = std::fs::File::create(&temporary).map_err(|e| io("create the report file", e))?;
    file.write_all(text.as_bytes()).map_err(|e| io("write the report file", e))?;
    file.sync_all().map_err(|e| io("fsync the report file", e))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(|source| ReportError::Io { action: "replace the report file", path: path.to_path_buf(), source })
}
