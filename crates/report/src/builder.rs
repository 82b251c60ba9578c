//! Building a [`Report`] from a run's journal alone.
//!
//! Nothing but the journal is read, so a crashed or resumed run (no
//! `run_finished` record) still gets a report, marked incomplete.

use std::path::Path;

use drctl_executor::{
    JournalEntry, ManualActionKind, ResourceEvent, RunOutcome, RunState, SkipCause, StepState, StepStatus, UndoStatus,
    read_journal, replay,
};
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ReportError, Result};
use crate::format::format_seconds;
use crate::meta::RunMeta;
use crate::model::*;
use crate::redact::{redact_object, redact_value};
use crate::timing::{Timeline, round_ms};

/// Reads `<run_dir>/journal.jsonl` and replays it.
pub fn load_run(run_dir: &Path) -> Result<RunState> {
    let path = run_dir.join("journal.jsonl");
    let entries = read_journal(&path)?;
    replay(&entries).map_err(|corrupt| ReportError::Corrupt { path, corrupt })
}

/// Replays `entries` and builds the report. Fails only on a corrupt journal.
pub fn report_from_entries(entries: &[JournalEntry]) -> std::result::Result<Report, drctl_executor::CorruptJournal> {
    replay(entries).map(|state| build_report(&state))
}

/// Builds the report of a replayed run.
pub fn build_report(state: &RunState) -> Report {
    let header = &state.header;
    let meta = RunMeta::parse(&header.header_meta);
    let timeline = Timeline { incident_time: header.incident_time, started_at: header.started_at, time_scale: meta.time_scale };
    let mut redacted = Vec::new();
    let mut warnings = meta.warnings.clone();

    // Steps, in plan order.
    let mut steps: Vec<StepReport> = header
        .steps
        .iter()
        .filter_map(|spec| state.steps.get(&spec.id).map(|step| (spec, step)))
        .map(|(spec, step)| step_report(spec, step, &meta, &timeline, &mut redacted))
        .collect();

    let failed_steps: Vec<String> = steps.iter().filter(|s| s.status == "failed").map(|s| s.id.clone()).collect();
    let status = run_status(state.outcome.as_ref());

    // RTO: the end of the last successful recovery step, if recovery finished.
    let rto_target = meta.rto_target_seconds.unwrap_or_else(|| timeline.scale_millis(header.rto_target.as_millis()));
    let rto_warning = meta.rto_warning_seconds.unwrap_or_else(|| timeline.scale_millis(header.rto_warning.as_millis()));
    let recovery = recovery_end(state);
    let rto = match &recovery {
        Some((step, at)) => {
            let achieved = round_ms(timeline.offset(*at));
            let status = if achieved > rto_target {
                RtoStatus::Missed
            } else if achieved > rto_warning {
                RtoStatus::Warning
            } else {
                RtoStatus::Met
            };
            RtoSection {
                target_seconds: rto_target,
                warning_seconds: rto_warning,
                achieved_seconds: Some(achieved),
                status,
                recovered_by_step: Some(step.clone()),
                recovered_at: Some(*at),
            }
        }
        None => RtoSection {
            target_seconds: rto_target,
            warning_seconds: rto_warning,
            achieved_seconds: None,
            status: RtoStatus::NotReached,
            recovered_by_step: None,
            recovered_at: None,
        },
    };

    // Checks and RPO.
    let checks: Vec<CheckReport> = state
        .steps
        .values()
        .flat_map(|step| step.checks.iter().enumerate().map(move |(index, value)| (step, index, value)))
        .map(|(step, index, value)| check_report(&step.id, index, value, meta.rpo_target_seconds, &mut redacted))
        .collect();
    let rpo = rpo_section(&checks, meta.rpo_target_seconds);

    // Resources and what is left for the operator.
    let resources = resource_reports(state);
    let manual_actions = manual_actions(state, &resources, status);

    // Critical path as run.
    let actual_path = actual_critical_path(state, recovery.as_ref().map(|(step, _)| step.as_str()));
    for step in &mut steps {
        step.on_critical_path = actual_path.contains(&step.id);
    }

    let rto_warnings = state
        .rto_warnings
        .iter()
        .map(|warning| {
            let projected_end = header.incident_time + chrono::Duration::from_std(warning.projected).unwrap_or(chrono::Duration::zero());
            RtoWarningReport {
                level: tag(&warning.level),
                projected_seconds: round_ms(timeline.offset(projected_end)),
                threshold_seconds: timeline.scale_millis(warning.threshold.as_millis()),
            }
        })
        .collect();

    let vars = redact_object(&meta.vars, "vars", &mut redacted);
    if meta.time_scale != 1.0 {
        warnings.push(format!(
            "times are simulated: the run used time_scale {}, so each real second counts as {} simulated seconds",
            meta.time_scale, meta.time_scale
        ));
    }

    let verdict = Verdict { rto: rto.status, rpo: rpo.status, headline: headline(&rto, &rpo, status, &failed_steps, header.dry_run) };

    Report {
        schema: REPORT_SCHEMA.to_string(),
        drctl_version: meta.drctl_version.clone(),
        run: RunSection {
            run_id: header.run_id.clone(),
            mode: header.mode.clone(),
            dry_run: header.dry_run,
            status,
            complete: state.outcome.is_some(),
            failed_steps,
            incident_time: header.incident_time,
            started_at: header.started_at,
            finished_at: state.finished_at,
            last_record_at: state.last_time,
            last_record_offset_seconds: round_ms(timeline.offset(state.last_time)),
            time_scale: meta.time_scale,
            max_parallel: header.max_parallel,
            resumed_at: state.resumed_at.clone(),
            interruptions: state.interruptions.iter().map(|(at, reason)| Interruption { at: *at, reason: tag(reason) }).collect(),
        },
        playbook: PlaybookSection {
            name: meta.playbook.name.clone(),
            description: meta.playbook.description.clone(),
            path: meta.playbook.path.clone(),
            hash: header.playbook_hash.clone(),
            format_version: meta.playbook.format_version,
            text: meta.playbook.text.clone(),
        },
        vars,
        regions: meta.regions.clone(),
        identity: meta.identity.clone(),
        operator: meta.operator.clone(),
        verdict,
        rto,
        rpo,
        steps,
        checks,
        resources,
        manual_actions,
        rto_warnings,
        critical_path: CriticalPath { expected: meta.critical_path.clone(), actual: actual_path },
        redacted,
        warnings,
    }
}

fn step_report(
    spec: &drctl_executor::StepSpec,
    step: &StepState,
    meta: &RunMeta,
    timeline: &Timeline,
    redacted: &mut Vec<String>,
) -> StepReport {
    let step_meta = meta.steps.get(&spec.id).cloned().unwrap_or_default();

    // The plan's budget and expected duration are real milliseconds for the
    // executor; the CLI's metadata carries the playbook's simulated seconds.
    let budget_seconds = step_meta.budget_seconds.or(spec.budget.map(|b| timeline.scale_millis(b.as_millis())));
    let expected_seconds = step_meta.expected_seconds.or(spec.expected.map(|e| timeline.scale_millis(e.as_millis())));
    let duration_seconds = match (step.started_at, step.finished_at) {
        (Some(start), Some(end)) => Some(timeline.duration(start, end)),
        _ => None,
    };
    let over_budget = matches!((duration_seconds, budget_seconds), (Some(d), Some(b)) if d > b);

    let mut dropped = Vec::new();
    let outputs = step
        .outputs
        .as_ref()
        .map(|outputs| {
            let object: Map<String, Value> = outputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            redact_object(&object, "", &mut dropped)
        })
        .unwrap_or_default();
    redacted.extend(dropped.iter().map(|key| format!("steps.{}.outputs.{key}", spec.id)));

    let (undo, undo_error) = match &step.undo {
        UndoStatus::NotStarted => ("not_started".to_string(), None),
        UndoStatus::Started => ("started".to_string(), None),
        UndoStatus::Succeeded => ("succeeded".to_string(), None),
        UndoStatus::Failed { error } => ("failed".to_string(), Some(error_report(error))),
    };

    StepReport {
        id: spec.id.clone(),
        kind: step_meta.kind.clone(),
        description: step.description.clone().filter(|d| !d.is_empty()).or(step_meta.description.clone()).unwrap_or_else(|| spec.description.clone()),
        needs: spec.needs.clone(),
        always: spec.always,
        status: tag(&step.status),
        started_at: step.started_at,
        finished_at: step.finished_at,
        start_offset_seconds: step.started_at.map(|start| round_ms(timeline.offset(start))),
        duration_seconds,
        attempts: step.attempts,
        failed_attempts: step
            .failed_attempts
            .iter()
            .map(|attempt| AttemptReport { attempt: attempt.attempt, at: attempt.time, error: error_report(&attempt.error) })
            .collect(),
        budget_seconds,
        expected_seconds,
        over_budget,
        skip: step.skip.as_ref().map(|(cause, reason)| SkipReport { cause: tag(cause), reason: reason.clone() }),
        error: step.error.as_ref().map(error_report),
        outputs,
        redacted_outputs: dropped,
        undo,
        undo_error,
        approval: step.approval.as_ref().map(|decision| decision.to_string()),
        on_critical_path: false,
    }
}

fn error_report(error: &drctl_executor::ActionError) -> ErrorReport {
    ErrorReport { class: tag(&error.class), message: error.message.clone() }
}

fn run_status(outcome: Option<&RunOutcome>) -> RunStatus {
    match outcome {
        None => RunStatus::Interrupted,
        Some(RunOutcome::Succeeded) => RunStatus::Succeeded,
        Some(RunOutcome::Failed { .. }) => RunStatus::Failed,
        Some(RunOutcome::RolledBack { .. }) => RunStatus::RolledBack,
        Some(RunOutcome::Cancelled) => RunStatus::Cancelled,
        Some(RunOutcome::AwaitingApproval { .. }) => RunStatus::AwaitingApproval,
    }
}

/// Finds the last successful non-`always` step and its end, when recovery
/// finished: every non-`always` step succeeded or was skipped by its
/// condition, and at least one succeeded.
fn recovery_end(state: &RunState) -> Option<(String, chrono::DateTime<chrono::Utc>)> {
    let recovery: Vec<&StepState> =
        state.header.steps.iter().filter(|spec| !spec.always).filter_map(|spec| state.steps.get(&spec.id)).collect();
    let all_done = recovery.iter().all(|step| match step.status {
        StepStatus::Succeeded => true,
        StepStatus::Skipped => matches!(step.skip, Some((SkipCause::Condition, _))),
        _ => false,
    });
    if !all_done {
        return None;
    }
    recovery
        .iter()
        .filter(|step| step.status == StepStatus::Succeeded)
        .filter_map(|step| step.finished_at.map(|at| (step.id.clone(), at)))
        .max_by_key(|(_, at)| *at)
}

fn check_report(step: &str, index: usize, value: &Value, playbook_target: Option<f64>, redacted: &mut Vec<String>) -> CheckReport {
    let details = redact_value(value, &format!("checks.{step}[{index}]"), redacted);
    let text = |key: &str| -> Option<String> {
        match details.get(key)? {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    };
    let number = |key: &str| details.get(key).and_then(Value::as_f64);

    let kind = text("kind").unwrap_or_else(|| "check".to_string());
    let rpo_seconds = number("rpo_seconds");
    let own_target = number("target_seconds");
    let target_seconds = if kind == "rpo" { own_target.or(playbook_target) } else { own_target };

    // An RPO check is judged against its target here too, so a check that
    // recorded `passed` against a different target cannot hide a miss.
    let passed = match (kind.as_str(), rpo_seconds, target_seconds) {
        ("rpo", Some(rpo), Some(target)) => Some(rpo <= target && details.get("passed").and_then(Value::as_bool).unwrap_or(true)),
        _ => details.get("passed").and_then(Value::as_bool),
    };
    let status = match passed {
        Some(true) => "passed",
        Some(false) => "failed",
        None => "unknown",
    };

    CheckReport {
        step: step.to_string(),
        name: text("name").unwrap_or_else(|| format!("{step} check {}", index + 1)),
        kind,
        status: status.to_string(),
        expectation: text("expectation"),
        value: text("value"),
        message: text("message"),
        duration_ms: number("duration_ms"),
        rpo_seconds,
        target_seconds,
        details,
    }
}

fn rpo_section(checks: &[CheckReport], playbook_target: Option<f64>) -> RpoSection {
    let measured: Vec<&CheckReport> = checks.iter().filter(|c| c.kind == "rpo" && c.rpo_seconds.is_some()).collect();
    let worst = measured.iter().copied().max_by(|a, b| a.rpo_seconds.partial_cmp(&b.rpo_seconds).unwrap_or(std::cmp::Ordering::Equal));
    let Some(worst) = worst else {
        return RpoSection { target_seconds: playbook_target, measured_seconds: None, status: RpoStatus::NotMeasured, worst_check: None, checks_measured: 0 };
    };

    // Each check is judged against its own target, so the worst measurement
    // can pass while a smaller one with a tighter target misses.
    let missed = measured.iter().any(|check| match (check.rpo_seconds, check.target_seconds) {
        (Some(rpo), Some(target)) => rpo > target,
        _ => check.status == "failed",
    });
    let status = if missed {
        RpoStatus::Missed
    } else if measured.iter().any(|check| check.target_seconds.is_some() || check.status == "passed") {
        RpoStatus::Met
    } else {
        // Measured, but there is nothing to compare with.
        RpoStatus::NotMeasured
    };
    RpoSection {
        target_seconds: worst.target_seconds.or(playbook_target),
        measured_seconds: worst.rpo_seconds,
        status,
        worst_check: Some(worst.name.clone()),
        checks_measured: measured.len(),
    }
}

fn resource_reports(state: &RunState) -> Vec<ResourceReport> {
    let mut by_key: IndexMap<(String, String, String), ResourceReport> = IndexMap::new();
    for step in state.steps.values() {
        for resource in &step.resources {
            let key = (resource.resource_type.clone(), resource.id.clone(), resource.region.clone());
            let entry = by_key.entry(key).or_insert_with(|| ResourceReport {
                step: step.id.clone(),
                resource_type: resource.resource_type.clone(),
                id: resource.id.clone(),
                region: resource.region.clone(),
                arn: None,
                events: Vec::new(),
                cleaned_up: false,
                left_over: false,
            });
            if entry.arn.is_none() {
                entry.arn = resource.arn.clone();
            }
            entry.events.push(tag(&resource.event));
            if resource.event == ResourceEvent::Deleted {
                entry.cleaned_up = true;
            }
        }
    }
    let mut resources: Vec<ResourceReport> = by_key.into_values().collect();
    for resource in &mut resources {
        let owned = resource.events.iter().any(|event| event == "created" || event == "adopted");
        resource.left_over = owned && !resource.cleaned_up;
    }
    resources
}

fn manual_actions(state: &RunState, resources: &[ResourceReport], status: RunStatus) -> Vec<ManualActionReport> {
    let mut actions: Vec<ManualActionReport> = state
        .manual_actions
        .iter()
        .map(|action| ManualActionReport {
            step: Some(action.step.clone()),
            kind: tag::<ManualActionKind>(&action.kind),
            message: action.message.clone(),
        })
        .collect();

    for resource in resources.iter().filter(|r| r.left_over) {
        actions.push(ManualActionReport {
            step: Some(resource.step.clone()),
            kind: "leftover_resource".to_string(),
            message: format!(
                "{} {} in {} was {} by step {} and not deleted; delete it when it is no longer needed",
                resource.resource_type,
                resource.id,
                resource.region,
                resource.events.first().map(String::as_str).unwrap_or("created"),
                resource.step
            ),
        });
    }

    match status {
        RunStatus::Interrupted => actions.push(ManualActionReport {
            step: None,
            kind: "resume_or_inspect".to_string(),
            message: format!(
                "the journal has no run_finished record, so the run crashed, was aborted or is still running; resume it with `drctl resume {}` or inspect what it left",
                state.header.run_id
            ),
        }),
        RunStatus::Cancelled | RunStatus::AwaitingApproval => actions.push(ManualActionReport {
            step: None,
            kind: "resume_or_inspect".to_string(),
            message: format!("the run stopped as {}; resume it with `drctl resume {}`", status.label(), state.header.run_id),
        }),
        _ => {}
    }
    actions
}

/// Walks back from the recovery step (or the last step to finish) through
/// the need that finished last at each level.
fn actual_critical_path(state: &RunState, end_step: Option<&str>) -> Vec<String> {
    let end = end_step.map(str::to_string).or_else(|| {
        state
            .header
            .steps
            .iter()
            .filter(|spec| !spec.always)
            .filter_map(|spec| state.steps.get(&spec.id))
            .filter_map(|step| step.finished_at.map(|at| (step.id.clone(), at)))
            .max_by_key(|(_, at)| *at)
            .map(|(id, _)| id)
    });
    let Some(mut current) = end else { return Vec::new() };

    let mut path = vec![current.clone()];
    // Bounded by the number of steps, so a malformed header cannot loop.
    for _ in 0..state.header.steps.len() {
        let Some(spec) = state.header.steps.iter().find(|spec| spec.id == current) else { break };
        let previous = spec
            .needs
            .iter()
            .filter_map(|need| state.steps.get(need))
            .filter_map(|step| step.finished_at.map(|at| (step.id.clone(), at)))
            .max_by_key(|(_, at)| *at);
        match previous {
            Some((id, _)) if !path.contains(&id) => {
                path.push(id.clone());
                current = id;
            }
            _ => break,
        }
    }
    path.reverse();
    path
}

fn headline(rto: &RtoSection, rpo: &RpoSection, status: RunStatus, failed_steps: &[String], dry_run: bool) -> String {
    let rto_part = match rto.achieved_seconds {
        Some(achieved) => format!("RTO {} ({} of {} target)", rto.status.label(), format_seconds(achieved), format_seconds(rto.target_seconds)),
        None if !failed_steps.is_empty() => format!("RTO not reached: step {} failed", failed_steps.join(", ")),
        None => format!("RTO not reached: run {}", status.label()),
    };
    let rpo_part = match (rpo.measured_seconds, rpo.target_seconds) {
        (Some(measured), Some(target)) => format!("RPO {} ({} of {} target)", rpo.status.label(), format_seconds(measured), format_seconds(target)),
        (Some(measured), None) => format!("RPO {} ({}, no target)", rpo.status.label(), format_seconds(measured)),
        (None, _) => "RPO not measured".to_string(),
    };
    let prefix = if dry_run { "Dry run, nothing was changed: " } else { "" };
    format!("{prefix}{rto_part}; {rpo_part}")
}

/// Returns the serde name of a unit-like enum value, as written in the journal.
pub(crate) fn tag<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        Ok(Value::Object(object)) => object.values().next().and_then(Value::as_str).unwrap_or("unknown").to_string(),
        _ => "unknown".to_string(),
    }
}
