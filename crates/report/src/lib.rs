//! Run reports and drill history for drctl.
//!
//! A report is built from a run's journal alone ([`build_report`]), so a
//! crashed run without a `run_finished` record still gets one, marked
//! incomplete. One [`Report`] value is rendered as JSON (the versioned
//! evidence record), Markdown (a one-screen summary), HTML (a
//! self-contained page for leadership) and JUnit XML (for CI).
//! [`write_reports`] writes all four into the run directory.

mod builder;
mod error;
mod format;
mod history;
mod html;
mod junit;
mod markdown;
mod meta;
mod model;
mod output;
mod redact;
mod svg;
mod timing;

pub use builder::{build_report, load_run, report_from_entries};
pub use error::{ReportError, Result};
pub use format::format_seconds;
pub use history::{HISTORY_SCHEMA, HistoryEntry, history, history_json, render_history_table};
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use model::*;
pub use output::{ReportFormat, ReportPaths, render, render_json, render_run, write_reports};
pub use redact::is_secret_key;
