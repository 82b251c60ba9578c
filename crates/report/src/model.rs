//! The report of one run: the evidence record that every format renders.
//!
//! Units: every `*_seconds` field is simulated seconds, which equal real
//! seconds unless `run.time_scale` is above 1 (the emulated estate), and
//! every `*_at` field is the real UTC time from the journal.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// Value of the `schema` field of every JSON report of this shape.
pub const REPORT_SCHEMA: &str = "drctl.report/v1";

/// JSON Schema (draft 2020-12) of the JSON report, also shipped as `schema/report.v1.schema.json`.
pub const REPORT_JSON_SCHEMA: &str = include_str!("../schema/report.v1.schema.json");

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: String,
    pub drctl_version: Option<String>,
    pub run: RunSection,
    pub playbook: PlaybookSection,
    /// Playbook variables, with secret-looking keys dropped.
    pub vars: Map<String, Value>,
    pub regions: Value,
    /// STS caller identity, or `null` when STS was unreachable.
    pub identity: Value,
    pub operator: Value,
    pub verdict: Verdict,
    pub rto: RtoSection,
    pub rpo: RpoSection,
    /// Steps in plan order.
    pub steps: Vec<StepReport>,
    /// Check results in journal order.
    pub checks: Vec<CheckReport>,
    pub resources: Vec<ResourceReport>,
    pub manual_actions: Vec<ManualActionReport>,
    pub rto_warnings: Vec<RtoWarningReport>,
    pub critical_path: CriticalPath,
    /// Paths of values dropped because their key looks secret.
    pub redacted: Vec<String>,
    /// Problems found while reading the journal's metadata.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSection {
    pub run_id: String,
    /// `drill` or `incident`.
    pub mode: String,
    pub dry_run: bool,
    pub status: RunStatus,
    /// False when the journal has no `run_finished` record (a crash, an
    /// abort, or a run still in progress).
    pub complete: bool,
    /// Steps that failed, in plan order.
    pub failed_steps: Vec<String>,
    pub incident_time: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Time of the last journal record.
    pub last_record_at: DateTime<Utc>,
    /// The same time in simulated seconds after the incident. Steps still
    /// running when the journal ends are drawn up to here.
    pub last_record_offset_seconds: f64,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    pub max_parallel: usize,
    pub resumed_at: Vec<DateTime<Utc>>,
    pub interruptions: Vec<Interruption>,
}

/// Final state of the run, from the journal alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    Failed,
    RolledBack,
    Cancelled,
    AwaitingApproval,
    /// No `run_finished` record: the run crashed, was aborted or is still running.
    Interrupted,
}

impl RunStatus {
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::RolledBack => "rolled back",
            RunStatus::Cancelled => "cancelled",
            RunStatus::AwaitingApproval => "awaiting approval",
            RunStatus::Interrupted => "incomplete/interrupted",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Interruption {
    pub at: DateTime<Utc>,
    /// `cancel` or `abort`.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlaybookSection {
    pub name: Option<String>,
    pub description: Option<String>,
    pub path: Option<String>,
    /// Hash from the journal header, which resume checks against.
    pub hash: String,
    pub format_version: Option<u64>,
    /// The playbook text as run, when the CLI recorded it.
    pub text: Option<String>,
}

/// Verdict for leadership.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub rto: RtoStatus,
    pub rpo: RpoStatus,
    /// One sentence, for example "RTO met (12m 00s of 30m 00s target); RPO met (3.2s of 15m 00s target)".
    pub headline: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RtoStatus {
    /// Recovered within the warning threshold.
    Met,
    /// Recovered within the target but past the warning threshold.
    Warning,
    Missed,
    /// The recovery steps did not all finish.
    NotReached,
}

impl RtoStatus {
    pub fn label(self) -> &'static str {
        match self {
            RtoStatus::Met => "met",
            RtoStatus::Warning => "met, past warning",
            RtoStatus::Missed => "missed",
            RtoStatus::NotReached => "not reached",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RpoStatus {
    Met,
    Missed,
    NotMeasured,
}

impl RpoStatus {
    pub fn label(self) -> &'static str {
        match self {
            RpoStatus::Met => "met",
            RpoStatus::Missed => "missed",
            RpoStatus::NotMeasured => "not measured",
        }
    }
}

/// Recovery time: from the incident to the end of the last successful
/// step that is not an `always` step (cleanup is excluded).
#[derive(Debug, Clone, Serialize)]
pub struct RtoSection {
    pub target_seconds: f64,
    pub warning_seconds: f64,
    /// `None` when the recovery was not reached.
    pub achieved_seconds: Option<f64>,
    pub status: RtoStatus,
    /// The step whose end marks the recovery.
    pub recovered_by_step: Option<String>,
    pub recovered_at: Option<DateTime<Utc>>,
}

/// Recovery point: the largest `rpo_seconds` among the RPO checks.
#[derive(Debug, Clone, Serialize)]
pub struct RpoSection {
    /// Target from the playbook; a check's own target overrides it for that check.
    pub target_seconds: Option<f64>,
    pub measured_seconds: Option<f64>,
    pub status: RpoStatus,
    /// Name of the check with the largest measurement.
    pub worst_check: Option<String>,
    pub checks_measured: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    /// Step kind, for example `aurora.restore_pitr`.
    pub kind: Option<String>,
    pub description: String,
    pub needs: Vec<String>,
    pub always: bool,
    /// `pending`, `running`, `succeeded`, `failed` or `skipped`.
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Start, in simulated seconds after the incident.
    pub start_offset_seconds: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub attempts: u32,
    pub failed_attempts: Vec<AttemptReport>,
    pub budget_seconds: Option<f64>,
    pub expected_seconds: Option<f64>,
    /// True when the step took longer than its budget.
    pub over_budget: bool,
    pub skip: Option<SkipReport>,
    pub error: Option<ErrorReport>,
    /// Outputs with secret-looking keys dropped.
    pub outputs: Map<String, Value>,
    /// Output keys dropped because they look secret.
    pub redacted_outputs: Vec<String>,
    /// `not_started`, `started`, `succeeded` or `failed`.
    pub undo: String,
    pub undo_error: Option<ErrorReport>,
    pub approval: Option<String>,
    /// True when the step is on the actual critical path.
    pub on_critical_path: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub error: ErrorReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// `retryable`, `transitional`, `fatal`, `cancelled` or `timeout`.
    pub class: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkipReport {
    /// `condition`, `dependency_failed` or `run_aborted`.
    pub cause: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub step: String,
    pub name: String,
    /// `sql`, `rpo` or another kind named by the action.
    pub kind: String,
    /// `passed`, `failed` or `unknown` when the record has no `passed` field.
    pub status: String,
    pub expectation: Option<String>,
    /// Observed value, as text.
    pub value: Option<String>,
    pub message: Option<String>,
    pub duration_ms: Option<f64>,
    pub rpo_seconds: Option<f64>,
    /// The target this check was judged against (its own, else the playbook's).
    pub target_seconds: Option<f64>,
    /// The whole check record, with secret-looking keys dropped.
    pub details: Value,
}

/// One resource, with every event recorded for it.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceReport {
    pub step: String,
    pub resource_type: String,
    pub id: String,
    pub region: String,
    pub arn: Option<String>,
    /// `created`, `adopted` and `deleted`, in journal order.
    pub events: Vec<String>,
    /// True when a `deleted` event exists for the same type, id and region.
    pub cleaned_up: bool,
    /// True when the run created or adopted it and nothing deleted it.
    pub left_over: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManualActionReport {
    pub step: Option<String>,
    /// Executor kinds (`undo_failed`, `undo_blocked`, `undo_unavailable`),
    /// or `leftover_resource` and `resume_or_inspect` added by the report.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RtoWarningReport {
    /// `warning` or `breach`.
    pub level: String,
    /// Projection in simulated seconds after the incident.
    pub projected_seconds: f64,
    pub threshold_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CriticalPath {
    /// Path the plan expected, from `header_meta`.
    pub expected: Vec<String>,
    /// Path as run: from the recovery step back through the latest-finishing need at each level.
    pub actual: Vec<String>,
}
