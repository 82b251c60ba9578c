//! The offline plan: what a run would do, in which order, and how long it
//! is expected to take against the RTO.
//!
//! The critical path is the chain of dependent steps with the largest total
//! estimate, where a step's estimate is its `expected` duration, else its
//! `budget`, else its `timeout`. Always-steps (cleanup) are listed and
//! grouped like other steps but kept off the critical path. They run after
//! the recovery is done or abandoned, so they do not delay the service's
//! return, and counting their timeouts would make every forecast look late.

use std::fmt::Write as _;

use serde::Serialize;

use crate::duration::Duration;
use crate::graph::Graph;
use crate::model::{Objective, PlannedEffect, Playbook};

/// The resolved DAG of a playbook with its time forecast.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub playbook: String,
    pub hash: String,
    /// Step ids in an order that respects `needs`, ties in file order.
    pub order: Vec<String>,
    /// Steps grouped by level; the steps of one group may run in parallel.
    pub groups: Vec<Vec<String>>,
    pub steps: Vec<PlanStep>,
    pub critical_path: CriticalPath,
}

/// One step in the plan, with its estimate and effects.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    pub id: String,
    pub kind: String,
    pub needs: Vec<String>,
    /// Index into [`Plan::groups`].
    pub group: usize,
    pub always: bool,
    pub when: Option<String>,
    pub timeout: Duration,
    pub budget: Option<Duration>,
    pub expected: Option<Duration>,
    /// The duration used for the forecast and where it came from.
    pub estimate: Duration,
    pub estimate_source: EstimateSource,
    /// True when the step waits for approval in incident mode.
    pub approval_in_incident: bool,
    pub effects: Vec<PlannedEffect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EstimateSource {
    Expected,
    Budget,
    Timeout,
}

/// The chain with the maximum total estimate, compared with the RTO.
#[derive(Debug, Clone, Serialize)]
pub struct CriticalPath {
    pub steps: Vec<String>,
    pub total: Duration,
    pub rto: Option<Objective>,
    pub status: RtoStatus,
}

/// The comparison of the critical path with the RTO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RtoStatus {
    /// The playbook declares no RTO.
    NoObjective,
    /// At or under the warning threshold (or the target when there is none).
    Within,
    /// Over the warning threshold, at or under the target.
    OverWarning,
    /// Over the target.
    OverTarget,
}

/// Builds the dependency graph of a loaded playbook, nodes in `steps` order.
pub(crate) fn dependency_graph(playbook: &Playbook) -> Graph {
    let edges = playbook
        .steps
        .iter()
        .map(|step| {
            step.needs
                .iter()
                .filter_map(|need| playbook.steps.iter().position(|s| &s.id == need))
                .collect()
        })
        .collect();
    Graph::new(edges)
}

/// Builds the plan of a loaded playbook.
pub fn plan(playbook: &Playbook) -> Plan {
    let graph = dependency_graph(playbook);
    let levels = graph.levels();
    let order: Vec<String> = graph
        .topological_order()
        .iter()
        .map(|&i| playbook.steps[i].id.clone())
        .collect();
    let group_count = levels.iter().max().map(|l| l + 1).unwrap_or(0);
    let mut groups = vec![Vec::new(); group_count];
    for (i, step) in playbook.steps.iter().enumerate() {
        groups[levels[i]].push(step.id.clone());
    }

    let steps: Vec<PlanStep> = playbook
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (estimate, estimate_source) = match (step.expected, step.budget) {
                (Some(expected), _) => (expected, EstimateSource::Expected),
                (None, Some(budget)) => (budget, EstimateSource::Budget),
                (None, None) => (step.timeout, EstimateSource::Timeout),
            };
            PlanStep {
                id: step.id.clone(),
                kind: step.kind.clone(),
                needs: step.needs.clone(),
                group: levels[i],
                always: step.always,
                when: step.when.clone(),
                timeout: step.timeout,
                budget: step.budget,
                expected: step.expected,
                estimate,
                estimate_source,
                approval_in_incident: step.requires_approval(crate::model::Mode::Incident),
                effects: step.effects.clone(),
            }
        })
        .collect();

    let (path, total_ms) = graph.longest_path(
        |i| steps[i].estimate.as_std().as_millis(),
        |i| !steps[i].always,
    );
    let total = Duration(std::time::Duration::from_millis(
        u64::try_from(total_ms).unwrap_or(u64::MAX),
    ));
    let status = match playbook.rto {
        None => RtoStatus::NoObjective,
        Some(rto) if total > rto.target => RtoStatus::OverTarget,
        Some(Objective {
            warning: Some(warning),
            ..
        }) if total > warning => RtoStatus::OverWarning,
        Some(_) => RtoStatus::Within,
    };

    Plan {
        playbook: playbook.name.clone(),
        hash: playbook.hash.clone(),
        order,
        groups,
        critical_path: CriticalPath {
            steps: path.iter().map(|&i| playbook.steps[i].id.clone()).collect(),
            total,
            rto: playbook.rto,
            status,
        },
        steps,
    }
}

impl Plan {
    /// Renders the plan for a terminal, without color.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Plan for playbook '{}' (sha256 {})",
            self.playbook,
            &self.hash[..self.hash.len().min(12)]
        );
        let _ = writeln!(out);
        for (number, group) in self.groups.iter().enumerate() {
            let _ = writeln!(out, "Group {} ({} in parallel)", number + 1, group.len());
            for id in group {
                let Some(step) = self.steps.iter().find(|s| &s.id == id) else {
                    continue;
                };
                let mut flags = Vec::new();
                if step.always {
                    flags.push("always".to_string());
                }
                if step.approval_in_incident {
                    flags.push("approval in incident".to_string());
                }
                if let Some(when) = &step.when {
                    flags.push(format!("when {when}"));
                }
                let flags = if flags.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", flags.join(", "))
                };
                let budget = step
                    .budget
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".to_string());
                let _ = writeln!(
                    out,
                    "  {:<24} {:<26} estimate {:>6} ({}), budget {:>6}, timeout {}{flags}",
                    step.id,
                    step.kind,
                    step.estimate.to_string(),
                    match step.estimate_source {
                        EstimateSource::Expected => "expected",
                        EstimateSource::Budget => "budget",
                        EstimateSource::Timeout => "timeout",
                    },
                    budget,
                    step.timeout
                );
                for effect in &step.effects {
                    let region = effect
                        .region
                        .as_deref()
                        .map(|r| format!(" in {r}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "      {:<7} {} {}{region}",
                        format!("{:?}", effect.action).to_lowercase(),
                        effect.resource_type,
                        effect.id
                    );
                }
            }
        }
        let _ = writeln!(out);
        let path = &self.critical_path;
        let _ = writeln!(
            out,
            "Critical path: {} = {}",
            path.steps.join(" -> "),
            path.total
        );
        let verdict = match (path.status, path.rto) {
            (RtoStatus::NoObjective, _) | (_, None) => "no RTO declared".to_string(),
            (RtoStatus::Within, Some(rto)) => format!("within the RTO target of {}", rto.target),
            (RtoStatus::OverWarning, Some(rto)) => format!(
                "over the RTO warning of {} but within the target of {}",
                rto.warning.map(|w| w.to_string()).unwrap_or_default(),
                rto.target
            ),
            (RtoStatus::OverTarget, Some(rto)) => format!("OVER the RTO target of {}", rto.target),
        };
        let _ = writeln!(out, "Forecast: {verdict} (always-steps are not counted)");
        out
    }
}
