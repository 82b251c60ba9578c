//! The undo phase: reversing succeeded steps after a failure with
//! `on_failure: undo`.
//!
//! Steps are undone one at a time in reverse order of success. A step
//! succeeds only after everything it needs succeeded, so this order undoes
//! every dependent before the steps it depends on. When an undo fails, the
//! steps it needs (its ancestors) are left alone, because undoing them
//! under a live dependent could break it. Each of them is listed as a
//! manual action instead.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tracing::{Instrument, info, info_span, warn};

use crate::action::{Action, ActionError, ErrorClass, Prepared};
use crate::cancel::CancelLevel;
use crate::context::StepContext;
use crate::engine::shared::Shared;
use crate::engine::step::retry_delays;
use crate::error::JournalError;
use crate::event::Event;
use crate::journal::record::{ManualAction, ManualActionKind, Record};
use crate::journal::state::{StepStatus, UndoStatus};
use crate::plan::StepSpec;

pub(crate) enum UnwindEnd {
    Finished(Vec<ManualAction>),
    /// A cancel arrived between two undos; the rest is left for a resume.
    Interrupted,
}

/// Undoes every succeeded, non-`always` step not yet undone. `actions`
/// contains the actions of steps that ran in this process; the others are
/// prepared again through the resolver.
pub(crate) async fn unwind(
    shared: &Shared,
    steps: &[StepSpec],
    actions: &HashMap<String, Arc<dyn Action>>,
) -> Result<UnwindEnd, JournalError> {
    let specs: HashMap<&str, &StepSpec> = steps.iter().map(|spec| (spec.id.as_str(), spec)).collect();
    let mut order: Vec<(u64, String)> = shared.journal.with_state(|state| {
        state
            .steps
            .values()
            .filter(|step| step.status == StepStatus::Succeeded)
            .filter(|step| specs.get(step.id.as_str()).is_some_and(|spec| !spec.always))
            .filter_map(|step| step.succeeded_seq.map(|seq| (seq, step.id.clone())))
            .collect()
    });
    order.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));

    let mut manual = Vec::new();
    // Step id -> the dependent whose undo failed, which blocks this step.
    let mut blocked: HashMap<String, String> = HashMap::new();

    for (_, id) in order {
        let undo = shared.journal.with_state(|state| state.steps[&id].undo.clone());
        if undo == UndoStatus::Succeeded {
            continue;
        }
        if let Some(dependent) = blocked.get(&id) {
            manual.push(ManualAction {
                step: id.clone(),
                kind: ManualActionKind::UndoBlocked,
                message: format!(
                    "step `{id}` was not undone because the undo of `{dependent}`, which depends on it, failed; \
                     undo `{dependent}` by hand first, then `{id}`"
                ),
            });
            continue;
        }
        if let UndoStatus::Failed { error } = &undo {
            manual.push(undo_failed_action(&id, error));
            block_ancestors(&id, &id, &specs, &mut blocked);
            continue;
        }
        if shared.cancel.level() >= CancelLevel::Cancel {
            return Ok(UnwindEnd::Interrupted);
        }

        let spec = specs[id.as_str()];
        let span = info_span!("undo", run_id = %shared.run_id, step_id = %id);
        let result = undo_step(shared, spec, actions.get(&id).cloned()).instrument(span).await?;
        match result {
            UndoResult::Done => {}
            UndoResult::Failed(error) => {
                manual.push(undo_failed_action(&id, &error));
                block_ancestors(&id, &id, &specs, &mut blocked);
            }
            UndoResult::Unavailable(reason) => {
                manual.push(ManualAction {
                    step: id.clone(),
                    kind: ManualActionKind::UndoUnavailable,
                    message: format!("step `{id}` could not be undone because no action was available: {reason}; undo it by hand"),
                });
                block_ancestors(&id, &id, &specs, &mut blocked);
            }
        }
    }
    Ok(UnwindEnd::Finished(manual))
}

enum UndoResult {
    Done,
    Failed(ActionError),
    Unavailable(String),
}

async fn undo_step(shared: &Shared, spec: &StepSpec, action: Option<Arc<dyn Action>>) -> Result<UndoResult, JournalError> {
    let id = &spec.id;
    let outputs = shared.journal.with_state(|state| state.outputs());
    let Some(own_outputs) = outputs.get(id).cloned() else {
        return Ok(UndoResult::Unavailable(format!("no outputs recorded for `{id}`")));
    };

    // A step that succeeded before a crash has no action in this process.
    let action = match action {
        Some(action) => action,
        None => match shared.resolver.prepare(spec, &outputs).await {
            Ok(Prepared::Run(action)) => Arc::from(action),
            Ok(Prepared::Skip { reason }) => return Ok(UndoResult::Unavailable(format!("the resolver skipped it: {reason}"))),
            Err(error) => return Ok(UndoResult::Unavailable(format!("the resolver failed: {error}"))),
        },
    };

    info!("undo started");
    let entry = shared.journal.append(Record::UndoStarted { step: id.clone() })?;
    shared.events.emit(Event::UndoStarted { step_id: id.clone() });

    let deadline = entry.time + chrono::Duration::from_std(spec.timeout).unwrap_or(chrono::Duration::MAX);
    let cx = StepContext {
        run_id: shared.run_id.clone(),
        step_id: id.clone(),
        attempt: 0,
        mode: shared.mode.clone(),
        dry_run: false,
        incident_time: shared.incident_time,
        started_at: entry.time,
        deadline,
        journal: shared.journal.clone(),
        events: shared.events.clone(),
        cancel: shared.cancel.signal(CancelLevel::Abort),
    };

    // Same retry policy and timeout as the step itself.
    let attempts = async {
        let mut delays = retry_delays(&spec.retry, 0);
        let mut attempt = 1;
        loop {
            let result = if shared.faults.fail_undo.contains(id) {
                Err(ActionError::fatal(format!("injected fault fail-undo:{id}")))
            } else {
                action.undo(&cx, &own_outputs).await
            };
            match result {
                Ok(()) => return Ok(()),
                Err(error) if error.class.is_retryable() && attempt < spec.retry.attempts => {
                    let Some(delay) = delays.next() else { return Err(error) };
                    warn!(attempt, delay_ms = delay.as_millis() as u64, error = %error, "undo attempt failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    };
    let result = match tokio::time::timeout_at(shared.journal.clock().instant_at(deadline), attempts).await {
        Ok(result) => result,
        Err(_elapsed) => Err(ActionError::new(ErrorClass::Timeout, format!("undo of `{id}` timed out after {:?}", spec.timeout))),
    };

    match result {
        Ok(()) => {
            info!("undo succeeded");
            shared.journal.append(Record::UndoSucceeded { step: id.clone() })?;
            shared.events.emit(Event::UndoSucceeded { step_id: id.clone() });
            Ok(UndoResult::Done)
        }
        Err(error) => {
            warn!(error = %error, "undo failed; the steps it depends on will not be undone");
            shared.journal.append(Record::UndoFailed { step: id.clone(), error: error.clone() })?;
            shared.events.emit(Event::UndoFailed { step_id: id.clone(), error: error.clone() });
            Ok(UndoResult::Failed(error))
        }
    }
}

fn undo_failed_action(id: &str, error: &ActionError) -> ManualAction {
    ManualAction {
        step: id.to_string(),
        kind: ManualActionKind::UndoFailed,
        message: format!("the undo of step `{id}` failed ({error}); reverse its effects by hand"),
    }
}

/// Marks every step that `id` needs, directly or not, as blocked by `cause`.
fn block_ancestors(id: &str, cause: &str, specs: &HashMap<&str, &StepSpec>, blocked: &mut HashMap<String, String>) {
    let mut stack = vec![id.to_string()];
    let mut seen = HashSet::new();
    while let Some(current) = stack.pop() {
        let Some(spec) = specs.get(current.as_str()) else { continue };
        for need in &spec.needs {
            if seen.insert(need.clone()) {
                blocked.entry(need.clone()).or_insert_with(|| cause.to_string());
                stack.push(need.clone());
            }
        }
    }
}
