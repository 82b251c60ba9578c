//! The run plan: what the executor is asked to do, already resolved from a
//! playbook by the caller.
//!
//! The executor never reads playbook files. The caller turns a playbook into a
//! [`RunPlan`], and the plan's step specs are written into the journal header,
//! so that a resumed run and a report see exactly what was scheduled.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::duration_ms;
use crate::error::ExecutorError;

/// One run of a playbook, in execution order of its step list.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Unique id of the run. It names the journal directory `runs/<run_id>`.
    pub run_id: String,
    /// `"drill"` or `"incident"`. Journalled and shown to actions; the
    /// executor itself treats both the same.
    pub mode: String,
    /// When true, steps call [`Action::dry_run`](crate::Action::dry_run) instead of `run`, and
    /// nothing is undone.
    pub dry_run: bool,
    /// Wall-clock time the run started. Journal times count from here.
    pub started_at: DateTime<Utc>,
    /// When the incident began. RTO is measured from this instant.
    pub incident_time: DateTime<Utc>,
    /// Recovery time objective, measured from `incident_time`.
    pub rto_target: Duration,
    /// Earlier threshold that raises an RTO warning before the target is missed.
    pub rto_warning: Duration,
    /// Maximum number of steps running at the same time. Must be at least 1.
    pub max_parallel: usize,
    /// Hash of the playbook text. A resume is rejected when it differs from the journal.
    pub playbook_hash: String,
    /// Opaque data written into the journal header for reports (playbook
    /// text, variables, step kinds). The executor never reads it.
    pub header_meta: serde_json::Value,
    /// Steps in playbook order. Ties between ready steps start in this order.
    pub steps: Vec<StepSpec>,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSpec {
    /// Step id, unique within the plan.
    pub id: String,
    /// Ids of the steps that must finish before this one starts.
    pub needs: Vec<String>,
    /// Limit on the whole step: every attempt and every retry delay together.
    #[serde(rename = "timeout_ms", with = "duration_ms")]
    pub timeout: Duration,
    /// Share of the RTO this step may use. Reported, never enforced.
    #[serde(rename = "budget_ms", with = "duration_ms::option")]
    pub budget: Option<Duration>,
    /// Typical duration, used to project when the run will finish.
    #[serde(rename = "expected_ms", with = "duration_ms::option")]
    pub expected: Option<Duration>,
    pub retry: RetryPolicy,
    pub on_failure: FailurePolicy,
    /// Runs after success, failure, timeout or cancellation, once its own
    /// `needs` have finished in any state.
    pub always: bool,
    /// When true, the [`Approver`](crate::Approver) must grant the step before it runs.
    pub approval: bool,
    pub description: String,
}

/// Retry behaviour for `Retryable` and `Transitional` errors: exponential
/// backoff, optionally with jitter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Total number of attempts, including the first. 1 means no retry.
    pub attempts: u32,
    /// Delay before the first retry.
    #[serde(rename = "initial_ms", with = "duration_ms")]
    pub initial: Duration,
    /// Upper bound of one retry delay.
    #[serde(rename = "max_ms", with = "duration_ms")]
    pub max: Duration,
    /// Factor applied to the delay after each retry.
    pub multiplier: f32,
    /// When true, each delay gets a random addition between 0 and the delay itself.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 1,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: true,
        }
    }
}

/// What the run does when a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Start no new steps except `always` steps. Running steps finish.
    Abort,
    /// Skip only the steps that depend on the failed one.
    Continue,
    /// Stop like `Abort`, then undo every succeeded step in reverse dependency order.
    Undo,
}

impl RunPlan {
    /// Checks the plan for problems the executor cannot run with: duplicate
    /// ids, unknown `needs`, dependency cycles, `max_parallel` of 0 and a
    /// retry policy with 0 attempts. Every problem is listed in one error.
    pub fn validate(&self) -> Result<(), ExecutorError> {
        let mut problems = Vec::new();

        if self.max_parallel == 0 {
            problems.push("max_parallel is 0; set it to 1 or more".to_string());
        }

        let mut seen = HashSet::new();
        for step in &self.steps {
            if !seen.insert(step.id.as_str()) {
                problems.push(format!("step id `{}` is used more than once; rename one of them", step.id));
            }
            if step.retry.attempts == 0 {
                problems.push(format!("step `{}` has retry attempts 0; use 1 for no retry", step.id));
            }
        }

        for step in &self.steps {
            for need in &step.needs {
                if !seen.contains(need.as_str()) {
                    problems.push(format!(
                        "step `{}` needs unknown step `{need}`; known steps: {}",
                        step.id,
                        self.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }

        if problems.is_empty()
            && let Some(cycle) = find_cycle(&self.steps)
        {
            problems.push(format!("steps form a dependency cycle: {}", cycle.join(" -> ")));
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(ExecutorError::InvalidPlan { problems })
        }
    }

    pub fn step(&self, id: &str) -> Option<&StepSpec> {
        self.steps.iter().find(|step| step.id == id)
    }
}

/// Returns one dependency cycle as a list of step ids whose first and last
/// entries are equal, or `None` when the graph is acyclic.
fn find_cycle(steps: &[StepSpec]) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }

    let index: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut marks = vec![Mark::New; steps.len()];

    // Iterative depth-first search; `path` holds the open steps and the
    // position of the next need to visit for each.
    for root in 0..steps.len() {
        if marks[root] != Mark::New {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::Open;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            match steps[node].needs.get(*next) {
                Some(need) => {
                    *next += 1;
                    let Some(&child) = index.get(need.as_str()) else { continue };
                    match marks[child] {
                        Mark::New => {
                            marks[child] = Mark::Open;
                            path.push((child, 0));
                        }
                        Mark::Open => {
                            let start = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                            let mut cycle: Vec<String> = path[start..].iter().map(|(n, _)| steps[*n].id.clone()).collect();
                            cycle.push(steps[child].id.clone());
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    marks[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    None
}
