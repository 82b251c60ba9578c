//! Runs a playbook: loads it, builds the executor's plan, wires actions,
//! approvals, progress and signals, and writes the reports when the run ends.
//!
//! This is the only module that uses the playbook crate, the executor and the
//! AWS actions together. None of those three depends on the others.

mod approver;
mod resolver;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use drctl_executor::{
    Executor, FailurePolicy, FaultPlan, FileStore, JournalStore, RetryPolicy, RunOutcome, RunPlan, RunReport, StepSpec,
    acquire_target_lock,
};
use drctl_playbook::{LoadOptions, Mode, OnFailure, Overrides, Playbook, RunContext};
use serde::{Deserialize, Serialize};

pub use approver::{GateApprover, operator};
pub use resolver::PlaybookResolver;

use crate::actions::{self, ActionEnv, Protected};
use crate::aws::AwsClients;
use crate::exit::{CliError, ExitStatus};
use crate::progress::{self, ProgressStyle};

/// Everything a run needs from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub playbook: PathBuf,
    pub invocation: Invocation,
    pub dry_run: bool,
    pub incident_start: Option<DateTime<Utc>>,
    pub state_dir: PathBuf,
    pub run_id: Option<String>,
    pub approve: Vec<String>,
    pub yes: bool,
    pub max_parallel: usize,
    pub progress: ProgressStyle,
}

/// The parts of a command line that a resume must repeat exactly. Journalled in
/// the run header, so `drctl resume RUN_ID` needs no other arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invocation {
    pub playbook_path: PathBuf,
    pub mode: Mode,
    pub vars: Vec<String>,
    pub vars_files: Vec<PathBuf>,
    /// Real seconds × `time_scale` = simulated seconds. 1 against real AWS.
    pub time_scale: f64,
}

/// How a run ended, for the caller to print and turn into an exit code.
pub struct RunResult {
    pub run_id: String,
    pub run_dir: PathBuf,
    pub report: RunReport,
    pub reports: Option<drctl_report::ReportPaths>,
    pub exit: ExitStatus,
}

/// Loads a playbook with the invocation's variable overrides, rendering every diagnostic as an error.
pub fn load_playbook(invocation: &Invocation, color: bool) -> Result<Playbook, CliError> {
    let mut overrides = Overrides::new();
    let mut problems = Vec::new();
    for file in &invocation.vars_files {
        if let Err(diagnostic) = overrides.add_file(file) {
            problems.push(diagnostic.render(color));
        }
    }
    for flag in &invocation.vars {
        if let Err(diagnostic) = overrides.add_flag(flag) {
            problems.push(diagnostic.render(color));
        }
    }
    if !problems.is_empty() {
        return Err(CliError::InvalidInput(problems.join("\n")));
    }
    let report = drctl_playbook::load_file(&invocation.playbook_path, &LoadOptions { overrides, require_variable_values: true });
    for warning in report.warnings() {
        eprintln!("{}", warning.render(color));
    }
    if report.has_errors() {
        let rendered: Vec<String> = report.errors().map(|d| d.render(color)).collect();
        return Err(CliError::InvalidPlaybook(rendered.join("\n")));
    }
    report
        .playbook
        .ok_or_else(|| CliError::Internal("the loader returned neither a playbook nor an error".to_string()))
}

/// Starts a new run.
pub async fn run(options: RunOptions) -> Result<RunResult, CliError> {
    let color = options.progress.color();
    let playbook = Arc::new(load_playbook(&options.invocation, color)?);
    let mode = options.invocation.mode;
    if !playbook.allows(mode) {
        let allowed: Vec<&str> = playbook.modes.iter().map(|m| m.as_str()).collect();
        return Err(CliError::InvalidInput(format!(
            "playbook '{}' does not allow mode '{}'; it allows: {}. Choose one with --mode",
            playbook.name,
            mode.as_str(),
            allowed.join(", ")
        )));
    }

    let run_id = match &options.run_id {
        Some(id) => id.clone(),
        None => new_run_id(),
    };
    drctl_executor::validate_run_id(&run_id).map_err(|error| CliError::InvalidInput(error.to_string()))?;
    let started_at = Utc::now();
    let incident_time = options.incident_start.unwrap_or(started_at);

    // A dry run only reads, so it may run beside a real one; everything else
    // takes the playbook's target lock first.
    let _target_lock = if options.dry_run {
        None
    } else {
        let name = target_lock_name(&playbook);
        Some(acquire_target_lock(&options.state_dir, &name, &run_id).map_err(|error| match error {
            drctl_executor::TargetLockError::Held { .. } => CliError::Locked(error.to_string()),
            other => CliError::Internal(other.to_string()),
        })?)
    };

    let aws = AwsClients::from_env(&playbook.regions.primary, options.dry_run).await;
    let identity = aws.caller_identity().await;
    let plan = build_plan(&playbook, &options, &run_id, started_at, incident_time, identity.as_ref());
    let store = FileStore::create(&options.state_dir, &run_id).map_err(|error| CliError::Journal(error.to_string()))?;
    execute(playbook, options, aws, plan, Box::new(store), false).await
}

/// Continues a run from its journal.
pub async fn resume(
    state_dir: &Path,
    run_id: &str,
    approve: Vec<String>,
    yes: bool,
    progress: ProgressStyle,
) -> Result<RunResult, CliError> {
    let path = drctl_executor::journal_path(state_dir, run_id);
    let entries = drctl_executor::read_journal(&path).map_err(|error| CliError::Journal(error.to_string()))?;
    let state = drctl_executor::replay(&entries)
        .map_err(|error| CliError::Journal(format!("corrupt journal {}: {error}", path.display())))?;
    let header = state.header.clone();
    let invocation: Invocation = serde_json::from_value(header.header_meta["invocation"].clone()).map_err(|error| {
        CliError::Journal(format!(
            "the journal header of run {run_id} lacks the invocation drctl needs to resume ({error}); it was not written by this drctl"
        ))
    })?;

    let playbook = Arc::new(load_playbook(&invocation, progress.color())?);
    let options = RunOptions {
        playbook: invocation.playbook_path.clone(),
        invocation: invocation.clone(),
        dry_run: header.dry_run,
        incident_start: Some(header.incident_time),
        state_dir: state_dir.to_path_buf(),
        run_id: Some(run_id.to_string()),
        approve,
        yes,
        max_parallel: header.max_parallel,
        progress,
    };
    let _target_lock = if header.dry_run {
        None
    } else {
        Some(acquire_target_lock(state_dir, &target_lock_name(&playbook), run_id).map_err(|error| match error {
            drctl_executor::TargetLockError::Held { .. } => CliError::Locked(error.to_string()),
            other => CliError::Internal(other.to_string()),
        })?)
    };
    let aws = AwsClients::from_env(&playbook.regions.primary, header.dry_run).await;
    let identity = header.header_meta.get("identity").cloned();
    let mut plan = build_plan(&playbook, &options, run_id, header.started_at, header.incident_time, None);
    if let (Some(meta), Some(identity)) = (plan.header_meta.as_object_mut(), identity) {
        meta.insert("identity".to_string(), identity);
    }
    let store = FileStore::open(state_dir, run_id).map_err(|error| CliError::Journal(error.to_string()))?;
    execute(playbook, options, aws, plan, Box::new(store), true).await
}

async fn execute(
    playbook: Arc<Playbook>,
    options: RunOptions,
    aws: Arc<AwsClients>,
    plan: RunPlan,
    store: Box<dyn JournalStore>,
    resumed: bool,
) -> Result<RunResult, CliError> {
    let run_id = plan.run_id.clone();
    let mode = options.invocation.mode;
    let time_scale = options.invocation.time_scale;
    let context = RunContext::new(&playbook, &run_id, mode, plan.started_at, plan.incident_time);
    let env = ActionEnv {
        aws,
        run_id: run_id.clone(),
        playbook: playbook.name.clone(),
        step_id: String::new(),
        mode: match mode {
            Mode::Drill => actions::Mode::Drill,
            Mode::Incident => actions::Mode::Incident,
        },
        incident_time: plan.incident_time,
        expected: None,
        time_scale,
        protected: Arc::new(
            playbook
                .protected
                .iter()
                .map(|rule| Protected { resource_type: rule.resource_type.clone(), id: rule.id.clone() })
                .collect(),
        ),
        rpo_target: playbook.rpo.map(|rpo| rpo.target.as_std()),
    };
    let resolver = Arc::new(PlaybookResolver::new(playbook.clone(), context, env, time_scale));
    let approver = Arc::new(GateApprover::new(options.approve.clone(), options.yes));
    let faults = FaultPlan::from_env().map_err(|error| CliError::InvalidInput(error.to_string()))?;

    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let executor = Executor::new(resolver, approver)
        .with_events(events_tx)
        .with_faults(faults)
        .with_forecast_interval(Duration::from_secs(5).div_f64(time_scale.max(1.0)).max(Duration::from_millis(200)));
    let times = progress::StepTimes {
        budgets: playbook
            .steps
            .iter()
            .filter_map(|step| Some((step.id.clone(), scaled(step.budget?.as_std(), time_scale))))
            .collect(),
    };
    let reporter = progress::spawn(options.progress, events_rx, time_scale, times);
    let signals = spawn_signal_handler(executor.cancel_handle());

    let outcome = if resumed { executor.resume(store, plan).await } else { executor.run(store, plan).await };
    signals.abort();
    drop(executor);
    let _ = reporter.await;
    let report = outcome.map_err(|error| match error {
        drctl_executor::ExecutorError::PlaybookChanged { .. } => CliError::Journal(error.to_string()),
        drctl_executor::ExecutorError::CorruptJournal(_) => CliError::Journal(error.to_string()),
        drctl_executor::ExecutorError::AlreadyFinished { .. } => CliError::Journal(error.to_string()),
        other => CliError::Internal(other.to_string()),
    })?;

    let run_dir = drctl_executor::journal_path(&options.state_dir, &run_id)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| options.state_dir.clone());
    let reports = match drctl_report::write_reports(&run_dir) {
        Ok(paths) => Some(paths),
        Err(error) => {
            eprintln!("warning: failed to write the reports of run {run_id}: {error}");
            None
        }
    };
    let objectives_met = objectives_met(&run_dir);
    let exit = exit_status(&report, objectives_met);
    Ok(RunResult { run_id, run_dir, report, reports, exit })
}

/// Maps a run's outcome (and, for a successful run, its objectives) to an exit status.
fn exit_status(report: &RunReport, objectives_met: bool) -> ExitStatus {
    match &report.outcome {
        None => ExitStatus::Interrupted,
        Some(RunOutcome::Succeeded) => {
            if objectives_met { ExitStatus::Success } else { ExitStatus::ObjectiveMissed }
        }
        Some(RunOutcome::AwaitingApproval { .. }) => ExitStatus::AwaitingApproval,
        Some(RunOutcome::Cancelled) => ExitStatus::Interrupted,
        Some(_) => ExitStatus::RunFailed,
    }
}

/// Reports whether the run met its RTO and RPO targets, as the report judges them
/// from the journal. A run whose report cannot be built counts as met here;
/// the failure to write reports is printed separately.
fn objectives_met(run_dir: &Path) -> bool {
    let Ok(state) = drctl_report::load_run(run_dir) else { return true };
    let report = drctl_report::build_report(&state);
    let rto_ok = !matches!(report.verdict.rto, drctl_report::RtoStatus::Missed | drctl_report::RtoStatus::NotReached);
    let rpo_ok = !matches!(report.verdict.rpo, drctl_report::RpoStatus::Missed);
    rto_ok && rpo_ok
}

fn spawn_signal_handler(cancel: drctl_executor::CancelHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("\nInterrupted: starting no new steps, running cleanup steps. Press Ctrl-C again to stop at once (the run stays resumable).");
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nStopping now. Resume later with `drctl resume`.");
            cancel.abort();
        }
    })
}

/// Generates a run id that sorts by time and is valid inside RDS identifiers (starts with a letter).
pub fn new_run_id() -> String {
    let suffix: u16 = rand::random();
    format!("r{}-{suffix:04x}", Utc::now().format("%Y%m%d-%H%M%S"))
}

/// Names the lock that keeps two runs of one playbook off the same target:
/// the playbook name and its effective variables, which select the target.
fn target_lock_name(playbook: &Playbook) -> String {
    use sha2::Digest;
    let vars = serde_json::to_string(&playbook.vars).unwrap_or_default();
    let digest = sha2::Sha256::digest(vars.as_bytes());
    format!("{}@{}", playbook.name, &hex::encode(digest)[..12])
}

fn scaled(duration: Duration, time_scale: f64) -> Duration {
    duration.div_f64(time_scale.max(f64::MIN_POSITIVE))
}

/// Builds the executor's plan and the journal header's metadata from a playbook.
fn build_plan(
    playbook: &Playbook,
    options: &RunOptions,
    run_id: &str,
    started_at: DateTime<Utc>,
    incident_time: DateTime<Utc>,
    identity: Option<&crate::aws::CallerIdentity>,
) -> RunPlan {
    let mode = options.invocation.mode;
    let scale = options.invocation.time_scale;
    let steps = playbook
        .steps
        .iter()
        .map(|step| StepSpec {
            id: step.id.clone(),
            needs: step.needs.clone(),
            timeout: scaled(step.timeout.as_std(), scale),
            budget: step.budget.map(|d| scaled(d.as_std(), scale)),
            expected: step.expected.map(|d| scaled(d.as_std(), scale)),
            retry: RetryPolicy {
                attempts: step.retry.attempts,
                initial: scaled(step.retry.initial.as_std(), scale),
                max: scaled(step.retry.max.as_std(), scale),
                multiplier: step.retry.multiplier as f32,
                jitter: step.retry.jitter,
            },
            on_failure: match step.on_failure {
                OnFailure::Abort => FailurePolicy::Abort,
                OnFailure::Continue => FailurePolicy::Continue,
                OnFailure::Undo => FailurePolicy::Undo,
            },
            always: step.always,
            approval: step.requires_approval(mode),
            description: step.description.clone().unwrap_or_else(|| step.kind_info().summary.to_string()),
        })
        .collect();

    // Without objectives the RTO clock still runs, against a day.
    let rto_target = playbook.rto.map(|rto| rto.target.as_std()).unwrap_or(Duration::from_secs(86_400));
    let rto_warning = playbook.rto.and_then(|rto| rto.warning).map(|w| w.as_std()).unwrap_or(rto_target);
    let offline_plan = drctl_playbook::plan(playbook);
    let text = std::fs::read_to_string(&playbook.file).unwrap_or_default();

    let step_meta: serde_json::Map<String, serde_json::Value> = playbook
        .steps
        .iter()
        .map(|step| {
            (
                step.id.clone(),
                serde_json::json!({
                    "kind": step.kind,
                    "description": step.description.clone().unwrap_or_else(|| step.kind_info().summary.to_string()),
                    "needs": step.needs,
                    "always": step.always,
                    "budget_seconds": step.budget.map(|d| d.as_std().as_secs_f64()),
                    "expected_seconds": step.expected.map(|d| d.as_std().as_secs_f64()),
                }),
            )
        })
        .collect();
    let header_meta = serde_json::json!({
        "drctl_version": env!("CARGO_PKG_VERSION"),
        "playbook": {
            "name": playbook.name,
            "description": playbook.description,
            "path": playbook.file,
            "hash": format!("sha256:{}", playbook.hash),
            "format_version": drctl_playbook::FORMAT_VERSION,
            "text": text,
        },
        "vars": playbook.vars,
        "rto": {
            "target_seconds": playbook.rto.map(|r| r.target.as_std().as_secs_f64()),
            "warning_seconds": playbook.rto.and_then(|r| r.warning).map(|w| w.as_std().as_secs_f64()),
        },
        "rpo": { "target_seconds": playbook.rpo.map(|r| r.target.as_std().as_secs_f64()) },
        "regions": playbook.regions,
        "identity": identity,
        "operator": { "user": operator(), "host": hostname() },
        "time_scale": scale,
        "steps": step_meta,
        "critical_path": offline_plan.critical_path.steps,
        "invocation": options.invocation,
    });

    RunPlan {
        run_id: run_id.to_string(),
        mode: mode.as_str().to_string(),
        dry_run: options.dry_run,
        started_at,
        incident_time,
        rto_target: scaled(rto_target, scale),
        rto_warning: scaled(rto_warning, scale),
        max_parallel: options.max_parallel.max(1),
        playbook_hash: playbook.hash.clone(),
        header_meta,
        steps,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}
