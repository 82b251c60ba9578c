//! Plain timestamped lines, for logs, CI and pipes.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use drctl_executor::{Event, RunOutcome};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{StepTimes, human};

/// The same status text is not repeated, and a step's progress is printed at
/// most this often, so a long wait does not flood the log.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);
const MIN_REAL_INTERVAL: Duration = Duration::from_secs(2);

pub struct PlainReporter {
    time_scale: f64,
    times: StepTimes,
    last_progress: HashMap<String, (Instant, String)>,
}

impl PlainReporter {
    pub fn new(time_scale: f64, times: StepTimes) -> Self {
        PlainReporter { time_scale, times, last_progress: HashMap::new() }
    }

    pub async fn consume(mut self, mut events: UnboundedReceiver<Event>) {
        while let Some(event) = events.recv().await {
            if let Some(line) = self.render(&event) {
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (`drctl run ... | head`) must not stop the run.
                let _ = writeln!(stdout, "{} {line}", Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
            }
        }
    }

    /// Formats one event as a line; events not worth a line give `None`.
    pub fn render(&mut self, event: &Event) -> Option<String> {
        let scale = self.time_scale;
        Some(match event {
            Event::RunStarted { run_id, mode, dry_run, resumed, steps, .. } => {
                let verb = if *resumed { "resumed" } else { "started" };
                let dry = if *dry_run { " (dry run)" } else { "" };
                let scale_note = if scale > 1.0 { format!(", time scale x{scale}") } else { String::new() };
                format!("run {run_id} {verb}: mode {mode}{dry}, {} steps{scale_note}", steps.len())
            }
            Event::StepStarted { step_id, attempt, description, resumed } => {
                let budget = self
                    .times
                    .budgets
                    .get(step_id)
                    .map(|budget| format!(", budget {}", human(*budget, scale)))
                    .unwrap_or_default();
                let again = if *resumed { " again after an interruption" } else { "" };
                format!("[{step_id}] started{again} (attempt {attempt}{budget}): {description}")
            }
            Event::StepProgress { step_id, message, .. } => {
                let now = Instant::now();
                if let Some((at, last)) = self.last_progress.get(step_id) {
                    // In simulated time the interval shrinks, but never below
                    // MIN_REAL_INTERVAL, so a fast demo still reads as a log.
                    let interval = PROGRESS_INTERVAL.div_f64(scale.max(1.0)).max(MIN_REAL_INTERVAL);
                    if last == message || now.duration_since(*at) < interval {
                        return None;
                    }
                }
                self.last_progress.insert(step_id.clone(), (now, message.clone()));
                format!("[{step_id}] {message}")
            }
            Event::StepRetrying { step_id, attempt, error, delay } => {
                format!("[{step_id}] attempt {attempt} failed, retrying in {}: {}", human(*delay, scale), error.message)
            }
            Event::StepSucceeded { step_id, duration, attempts, outputs } => {
                let mut line = format!("[{step_id}] succeeded in {} ({attempts} attempt{})", human(*duration, scale), plural(*attempts));
                for (key, value) in outputs {
                    let text = value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
                    line.push_str(&format!("\n    {key}: {text}"));
                }
                line
            }
            Event::StepFailed { step_id, error, attempts } => {
                format!("[{step_id}] FAILED after {attempts} attempt{}: {}", plural(*attempts), error.message)
            }
            Event::StepSkipped { step_id, reason, .. } => format!("[{step_id}] skipped: {reason}"),
            Event::ApprovalWaiting { step_id, description } => format!("[{step_id}] waiting for approval: {description}"),
            Event::ApprovalDecided { step_id, decision } => format!("[{step_id}] approval {decision}"),
            Event::UndoStarted { step_id } => format!("[{step_id}] undo started"),
            Event::UndoSucceeded { step_id } => format!("[{step_id}] undone"),
            Event::UndoFailed { step_id, error } => format!("[{step_id}] UNDO FAILED: {}", error.message),
            Event::RtoForecast(_) => return None,
            Event::RtoWarning(warning) => format!(
                "RTO {:?}: projected recovery {} against {}",
                warning.level,
                human(warning.projected, scale),
                human(warning.threshold, scale)
            ),
            Event::RunInterrupted { reason } => format!("run interrupted ({reason:?}); always-steps still run"),
            Event::RunFinished { outcome, manual_actions, summary } => {
                let mut line = format!(
                    "run finished: {} — {} succeeded, {} failed, {} skipped; recovery time {} (RTO target {}, {})",
                    outcome_text(outcome),
                    summary.succeeded,
                    summary.failed,
                    summary.skipped,
                    human(summary.recovery_time, scale),
                    human(summary.rto_target, scale),
                    if summary.rto_met { "met" } else { "missed" }
                );
                for action in manual_actions {
                    line.push_str(&format!("\n    manual action needed: [{}] {}", action.step, action.message));
                }
                line
            }
        })
    }
}

fn plural(count: u32) -> &'static str {
    if count == 1 { "" } else { "s" }
}

pub fn outcome_text(outcome: &RunOutcome) -> String {
    match outcome {
        RunOutcome::Succeeded => "succeeded".to_string(),
        RunOutcome::Failed { failed_steps } => format!("FAILED ({})", failed_steps.join(", ")),
        RunOutcome::RolledBack { failed_steps } => format!("FAILED and rolled back ({})", failed_steps.join(", ")),
        RunOutcome::Cancelled => "cancelled".to_string(),
        RunOutcome::AwaitingApproval { step } => format!("stopped at the approval gate of step {step}"),
    }
}
