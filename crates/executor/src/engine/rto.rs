//! Projection of the recovery time from the remaining critical path.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::elapsed_between;
use crate::event::RtoForecast;
use crate::journal::record::{RtoLevel, RtoWarning};
use crate::journal::state::{RunState, StepStatus};
use crate::plan::StepSpec;

/// Projects the finish of the run at `now`.
///
/// The remaining time is the longest chain of unfinished steps through the
/// dependency graph, where a pending step costs its `expected` duration and
/// a running step costs `max(expected - elapsed, 0)`. A step without
/// `expected` costs nothing. `max_parallel` is ignored, so the projection is
/// a lower bound when more steps are ready than may run at once.
///
/// Always-steps (cleanup) are not part of the recovery, so they add no
/// remaining time, and once every other step has finished the clock stops at
/// the last of them: cleanup after a successful recovery never breaches the RTO.
pub(crate) fn forecast(state: &RunState, steps: &[StepSpec], now: DateTime<Utc>) -> RtoForecast {
    let specs: HashMap<&str, &StepSpec> =
        steps.iter().filter(|spec| !spec.always).map(|spec| (spec.id.as_str(), spec)).collect();
    let mut finish: HashMap<String, Duration> = HashMap::new();
    let mut remaining = Duration::ZERO;
    for spec in steps.iter().filter(|spec| !spec.always) {
        let path = remaining_path(&spec.id, state, &specs, now, &mut finish, &mut HashSet::new());
        remaining = remaining.max(path);
    }

    let end = recovery_end(state, steps).unwrap_or(now);
    let elapsed = elapsed_between(state.header.incident_time, end);
    RtoForecast {
        elapsed,
        remaining,
        projected: elapsed + remaining,
        warning: state.header.rto_warning,
        target: state.header.rto_target,
    }
}

/// When the recovery ended: the finish of the last non-always step, once every
/// non-always step has reached a final state; `None` while any is unfinished.
pub(crate) fn recovery_end(state: &RunState, steps: &[StepSpec]) -> Option<DateTime<Utc>> {
    let mut end: Option<DateTime<Utc>> = None;
    for spec in steps.iter().filter(|spec| !spec.always) {
        let step = state.steps.get(&spec.id)?;
        if !step.status.is_terminal() {
            return None;
        }
        if let Some(finished) = step.finished_at {
            end = Some(end.map_or(finished, |current| current.max(finished)));
        }
    }
    Some(end.unwrap_or(state.header.started_at))
}

/// Length of the longest unfinished chain ending at `id`, memoised in `finish`.
/// `visiting` guards against cycles, which a validated plan never has.
fn remaining_path(
    id: &str,
    state: &RunState,
    specs: &HashMap<&str, &StepSpec>,
    now: DateTime<Utc>,
    finish: &mut HashMap<String, Duration>,
    visiting: &mut HashSet<String>,
) -> Duration {
    if let Some(known) = finish.get(id) {
        return *known;
    }
    let (Some(spec), Some(step)) = (specs.get(id), state.steps.get(id)) else {
        return Duration::ZERO;
    };
    if step.status.is_terminal() || !visiting.insert(id.to_string()) {
        return Duration::ZERO;
    }

    let expected = spec.expected.unwrap_or(Duration::ZERO);
    let own = match (step.status, step.started_at) {
        (StepStatus::Running, Some(started)) => expected.saturating_sub(elapsed_between(started, now)),
        _ => expected,
    };
    let mut before = Duration::ZERO;
    for need in &spec.needs {
        before = before.max(remaining_path(need, state, specs, now, finish, visiting));
    }

    visiting.remove(id);
    let total = before + own;
    finish.insert(id.to_string(), total);
    total
}

/// Returns the warnings a forecast newly crosses, in order (warning before
/// breach). Each level is raised once per run, so `raised` contains the
/// levels already journalled, including by earlier processes.
pub(crate) fn new_warnings(forecast: &RtoForecast, raised: &HashSet<RtoLevel>) -> Vec<RtoWarning> {
    let mut warnings = Vec::new();
    let levels = [(RtoLevel::Warning, forecast.warning), (RtoLevel::Breach, forecast.target)];
    for (level, threshold) in levels {
        if forecast.projected > threshold && !raised.contains(&level) {
            warnings.push(RtoWarning { level, projected: forecast.projected, threshold });
        }
    }
    warnings
}
