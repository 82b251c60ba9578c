//! Running one step: prepare, approval gate, attempts with retry and timeout.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::action::{Action, ActionError, ApprovalDecision, ErrorClass, Outputs, Prepared};
use crate::cancel::CancelLevel;
use crate::context::StepContext;
use crate::engine::shared::Shared;
use crate::error::JournalError;
use crate::event::Event;
use crate::journal::record::{Record, SkipCause};
use crate::journal::state::StepStatus;
use crate::plan::{RetryPolicy, StepSpec};

/// The end of a step task, reported to the coordinator.
pub(crate) enum StepResult {
    /// The action is `None` when the step's outputs were already journalled
    /// before a crash and it was only marked succeeded.
    Succeeded(Option<Arc<dyn Action>>),
    Failed,
    Skipped,
    /// Stopped by a cancel before finishing. The step stays resumable.
    Interrupted,
    /// The approver was unavailable; the step stays pending.
    AwaitingApproval,
}

/// Runs `spec` to an end. Journal failures are returned as errors because
/// the run must stop when it can no longer record what it does.
pub(crate) async fn execute_step(shared: Arc<Shared>, spec: StepSpec) -> Result<StepResult, JournalError> {
    let id = spec.id.clone();
    let (status, approved, first_started, finished_outputs) = shared.journal.with_state(|state| {
        let step = &state.steps[&id];
        let approved = matches!(step.approval, Some(ApprovalDecision::Granted { .. }));
        (step.status, approved, step.started_at, step.outputs.clone())
    });

    // A crash between the `output` and `step_succeeded` records: the action
    // finished and its outputs are durable, so only the success is missing.
    if let (StepStatus::Running, Some(outputs)) = (status, finished_outputs) {
        let entry = shared.journal.append(Record::StepSucceeded { step: id.clone() })?;
        let duration = first_started.map(|start| crate::clock::elapsed_between(start, entry.time)).unwrap_or_default();
        let attempts = shared.journal.with_state(|state| state.steps[&id].attempts);
        info!("step finished before the crash; recorded its success");
        shared.events.emit(Event::StepSucceeded { step_id: id, duration, attempts, outputs });
        return Ok(StepResult::Succeeded(None));
    }
    let resumed = status == StepStatus::Running;
    let cancel = shared.cancel.signal(if spec.always { CancelLevel::Abort } else { CancelLevel::Cancel });

    // 1. Build the action from the outputs recorded so far.
    let outputs = shared.journal.with_state(|state| state.outputs());
    let action: Arc<dyn Action> = match shared.resolver.prepare(&spec, &outputs).await {
        Ok(Prepared::Run(action)) => Arc::from(action),
        Ok(Prepared::Skip { reason }) if status == StepStatus::Pending => {
            info!(reason = %reason, "step skipped by condition");
            shared.journal.append(Record::StepSkipped { step: id.clone(), cause: SkipCause::Condition, reason: reason.clone() })?;
            shared.events.emit(Event::StepSkipped { step_id: id, cause: SkipCause::Condition, reason });
            return Ok(StepResult::Skipped);
        }
        Ok(Prepared::Skip { reason }) => {
            let error = ActionError::fatal(format!(
                "the resolver skipped step `{id}` ({reason}) but it had already started before the run was resumed; \
                 check what it created and finish it by hand"
            ));
            return fail_step(&shared, &spec, error);
        }
        Err(error) => {
            warn!(error = %error, "failed to prepare the step");
            return fail_step(&shared, &spec, error);
        }
    };
    let description = action.describe();

    // 2. Approval gate. A dry run changes nothing, so it requests no approval.
    if spec.approval && !shared.dry_run && status == StepStatus::Pending && !approved {
        shared.events.emit(Event::ApprovalWaiting { step_id: id.clone(), description: description.clone() });
        let decision = tokio::select! {
            decision = shared.approver.approve(&spec, &description) => decision,
            () = cancel.cancelled() => return Ok(StepResult::Interrupted),
        };
        info!(decision = %decision, "approval decided");
        shared.journal.append(Record::Approval { step: id.clone(), decision: decision.clone() })?;
        shared.events.emit(Event::ApprovalDecided { step_id: id.clone(), decision: decision.clone() });
        match decision {
            ApprovalDecision::Granted { .. } => {}
            ApprovalDecision::Denied => return fail_step(&shared, &spec, ActionError::fatal("approval denied")),
            ApprovalDecision::Unavailable => return Ok(StepResult::AwaitingApproval),
        }
    }
    if cancel.is_cancelled() {
        return Ok(StepResult::Interrupted);
    }

    // 3. Start, or re-enter a step that was running before a crash.
    let now = shared.journal.clock().now();
    if !resumed {
        shared.journal.append(Record::StepStarted { step: id.clone(), description: description.clone() })?;
    }
    let started_at = first_started.unwrap_or(now);
    let attempt = shared.journal.with_state(|state| state.steps[&id].attempts) + 1;
    shared.events.emit(Event::StepStarted { step_id: id.clone(), attempt, description, resumed });

    // 4. Attempts, all under one timeout. NOTE: a resumed step gets a fresh
    // timeout, because the time spent before the crash is unknown.
    let deadline = now + chrono::Duration::from_std(spec.timeout).unwrap_or(chrono::Duration::MAX);
    let deadline_instant = shared.journal.clock().instant_at(deadline);
    let attempts = run_attempts(&shared, &spec, &action, &cancel, started_at, deadline);
    match tokio::time::timeout_at(deadline_instant, attempts).await {
        Ok(result) => result.map(|end| match end {
            AttemptsEnd::Succeeded => StepResult::Succeeded(Some(action)),
            AttemptsEnd::Failed => StepResult::Failed,
            AttemptsEnd::Interrupted => StepResult::Interrupted,
        }),
        Err(_elapsed) => {
            let attempt = shared.journal.with_state(|state| state.steps[&id].attempts);
            let error = ActionError::new(
                ErrorClass::Timeout,
                format!("step `{id}` timed out after {:?} (attempt {attempt})", spec.timeout),
            );
            warn!(error = %error, "step timed out");
            shared.journal.append(Record::AttemptFailed { step: id.clone(), attempt, error: error.clone(), retry_in: None })?;
            fail_step(&shared, &spec, error)
        }
    }
}

enum AttemptsEnd {
    Succeeded,
    Failed,
    Interrupted,
}

async fn run_attempts(
    shared: &Shared,
    spec: &StepSpec,
    action: &Arc<dyn Action>,
    cancel: &crate::cancel::CancelSignal,
    started_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Result<AttemptsEnd, JournalError> {
    let id = &spec.id;
    let earlier_failures = shared.journal.with_state(|state| state.steps[id].counted_failures());
    let mut delays = retry_delays(&spec.retry, earlier_failures);
    let mut failures = earlier_failures;

    loop {
        let attempt = shared.journal.with_state(|state| state.steps[id].attempts) + 1;
        shared.journal.append(Record::AttemptStarted { step: id.clone(), attempt })?;
        let cx = StepContext {
            run_id: shared.run_id.clone(),
            step_id: id.clone(),
            attempt,
            mode: shared.mode.clone(),
            dry_run: shared.dry_run,
            incident_time: shared.incident_time,
            started_at,
            deadline,
            journal: shared.journal.clone(),
            events: shared.events.clone(),
            cancel: cancel.clone(),
        };

        let result = if shared.faults.fail.contains(id) {
            Err(ActionError::fatal(format!("injected fault fail:{id}")))
        } else if shared.faults.timeout.contains(id) {
            // Hang until the step's timeout drops this future.
            std::future::pending::<Result<Outputs, ActionError>>().await
        } else if shared.dry_run {
            action.dry_run(&cx).await.map(|lines| {
                let mut outputs = Outputs::new();
                outputs.insert("dry_run".to_string(), serde_json::json!(lines));
                outputs
            })
        } else {
            action.run(&cx).await
        };

        let error = match result {
            Ok(outputs) => {
                shared.journal.append(Record::Output { step: id.clone(), outputs: outputs.clone() })?;
                let entry = shared.journal.append(Record::StepSucceeded { step: id.clone() })?;
                let duration = crate::clock::elapsed_between(started_at, entry.time);
                info!(attempt, duration_ms = duration.as_millis() as u64, "step succeeded");
                shared.events.emit(Event::StepSucceeded { step_id: id.clone(), duration, attempts: attempt, outputs });
                return Ok(AttemptsEnd::Succeeded);
            }
            Err(error) => error,
        };

        if error.class == ErrorClass::Cancelled {
            info!(attempt, error = %error, "step stopped by cancellation; it can be resumed");
            shared.journal.append(Record::AttemptFailed { step: id.clone(), attempt, error, retry_in: None })?;
            return Ok(AttemptsEnd::Interrupted);
        }

        failures += 1;
        let delay = if error.class.is_retryable() && failures < spec.retry.attempts { delays.next() } else { None };
        let Some(delay) = delay else {
            warn!(attempt, error = %error, "step failed");
            shared.journal.append(Record::AttemptFailed { step: id.clone(), attempt, error: error.clone(), retry_in: None })?;
            fail_step(shared, spec, error)?;
            return Ok(AttemptsEnd::Failed);
        };

        warn!(attempt, max_attempts = spec.retry.attempts, delay_ms = delay.as_millis() as u64, error = %error, "step attempt failed; retrying");
        shared.journal.append(Record::AttemptFailed { step: id.clone(), attempt, error: error.clone(), retry_in: Some(delay) })?;
        shared.events.emit(Event::StepRetrying { step_id: id.clone(), attempt, error, delay });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cancel.cancelled() => return Ok(AttemptsEnd::Interrupted),
        }
    }
}

/// Journals the failure of `spec` and emits its event.
fn fail_step(shared: &Shared, spec: &StepSpec, error: ActionError) -> Result<StepResult, JournalError> {
    let attempts = shared.journal.with_state(|state| state.steps[&spec.id].attempts);
    shared.journal.append(Record::StepFailed { step: spec.id.clone(), error: error.clone() })?;
    shared.events.emit(Event::StepFailed { step_id: spec.id.clone(), error, attempts });
    Ok(StepResult::Failed)
}

/// Retry delays of `policy`: exponential from `initial` by `multiplier`, at
/// most `max`, with jitter when enabled. `already_used` delays are skipped,
/// so a resumed step continues the sequence instead of restarting it.
pub(crate) fn retry_delays(policy: &RetryPolicy, already_used: u32) -> impl Iterator<Item = Duration> + use<> {
    let retries = usize::try_from(policy.attempts.saturating_sub(1)).unwrap_or(usize::MAX);
    let mut builder = ExponentialBuilder::default()
        .with_min_delay(policy.initial)
        .with_max_delay(policy.max)
        .with_factor(policy.multiplier)
        .with_max_times(retries);
    if policy.jitter {
        // backon is built without `std`, so without a seed every process
        // would draw the same jitter sequence.
        builder = builder.with_jitter().with_jitter_seed(rand::random());
    }
    builder.build().skip(usize::try_from(already_used).unwrap_or(usize::MAX))
}
