//! Safety checks on the effects of a loaded playbook, and the RTO budget warning.
//!
//! Two rules protect production:
//! - No step may modify, delete, repoint or write a resource listed under
//!   `protected`, in any mode. Effect ids are compared after variables and
//!   regions are substituted. An id that still depends on a run-time value
//!   (a step output) cannot be matched before the run, so it is not flagged.
//! - In a playbook that allows drill mode, every such change must target a
//!   resource whose id derives from `run.id` or from an earlier step's output,
//!   so a drill only changes what the run created. Steps whose `when` is false
//!   in drill mode are exempt. Effects marked `owned_only` are exempt from this
//!   rule, because the action checks drctl's ownership tags before it acts, but
//!   not from the first: naming a protected resource is an error even then.

use indexmap::IndexMap;

use crate::diagnostic::{Diagnostic, Severity};
use crate::document::Document;
use crate::expr::{Template, Value};
use crate::kinds::EffectAction;
use crate::load::names::StaticEnv;
use crate::model::{Mode, Playbook};
use crate::plan::dependency_graph;

/// Returns errors for effects that break the rules above. `file_indexes[i]`
/// is the position in the file's `steps` list of `playbook.steps[i]`.
pub fn check(
    document: &Document,
    playbook: &Playbook,
    file_indexes: &[usize],
    values: &IndexMap<String, Value>,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let drill_env = StaticEnv {
        vars: values,
        primary_region: &playbook.regions.primary,
        backup_region: playbook.regions.backup.as_deref(),
        mode: Some(Mode::Drill.as_str()),
    };

    for (step, &index) in playbook.steps.iter().zip(file_indexes) {
        let position = document.locate(&format!("/steps/{index}/kind"), false);
        for effect in step.effects.iter().filter(|e| e.mutates()) {
            for protected in &playbook.protected {
                if protected.resource_type == effect.resource_type
                    && glob_match(&protected.id, &effect.id)
                {
                    diagnostics.push(document.error_at(
                        "protected-resource",
                        position,
                        format!(
                            "step '{}' would {} protected {} '{}'",
                            step.id,
                            action_verb(effect.action),
                            effect.resource_type,
                            effect.id
                        ),
                        Some(format!(
                            "'{}' matches the protected pattern '{}'; point the step at a resource this run creates",
                            effect.id, protected.id
                        )),
                    ));
                }
            }
        }

        if !playbook.allows(Mode::Drill) || skipped_in_drill(step.when.as_deref(), &drill_env) {
            continue;
        }
        for effect in step
            .effects
            .iter()
            .filter(|e| e.mutates() && !e.owned_only && !e.run_scoped)
        {
            diagnostics.push(document.error_at(
                "drill-mutation",
                position,
                format!(
                    "in drill mode, step '{}' would {} {} '{}', which this run did not create",
                    step.id,
                    action_verb(effect.action),
                    effect.resource_type,
                    effect.id
                ),
                Some(DRILL_HELP.to_string()),
            ));
        }
    }
    diagnostics
}

const DRILL_HELP: &str = "build the id from ${{ run.id }} or from an output of an earlier step, \
     add when: \"${{ run.mode == 'incident' }}\", or remove 'drill' from 'modes'";

/// True when `when` is known to be false in drill mode before the run.
fn skipped_in_drill(when: Option<&str>, env: &StaticEnv) -> bool {
    let Some(when) = when else {
        return false;
    };
    matches!(
        Template::parse(when).map(|t| t.evaluate(env)),
        Ok(Ok(Value::Bool(false)))
    )
}

fn action_verb(action: EffectAction) -> &'static str {
    match action {
        EffectAction::Create => "create",
        EffectAction::Modify => "modify",
        EffectAction::Delete => "delete",
        EffectAction::Repoint => "repoint",
        EffectAction::Write => "write",
    }
}

/// Matches `text` against `pattern`, where `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(found) => rest = &rest[found + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Warns when the step budgets along the longest chain of budgets exceed the
/// RTO target. Always-steps are left out, as in the plan's critical path.
pub fn check_budgets(document: &Document, playbook: &Playbook) -> Vec<Diagnostic> {
    let Some(rto) = playbook.rto else {
        return Vec::new();
    };
    let graph = dependency_graph(playbook);
    let (path, total_ms) = graph.longest_path(
        |i| {
            playbook.steps[i]
                .budget
                .map(|b| b.as_std().as_millis())
                .unwrap_or(0)
        },
        |i| !playbook.steps[i].always,
    );
    let total = std::time::Duration::from_millis(u64::try_from(total_ms).unwrap_or(u64::MAX));
    if total <= rto.target.as_std() {
        return Vec::new();
    }
    let chain: Vec<&str> = path
        .iter()
        .filter(|&&i| playbook.steps[i].budget.is_some())
        .map(|&i| playbook.steps[i].id.as_str())
        .collect();
    vec![document.diagnostic(
        Severity::Warning,
        "rto-budget",
        document.locate("/rto/target", false),
        format!(
            "step budgets on the critical path ({}) add up to {}, over the RTO target of {}",
            chain.join(" -> "),
            crate::duration::Duration::from(total),
            rto.target
        ),
        Some("shorten the budgets, run steps in parallel, or revisit the RTO target".to_string()),
    )]
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob_matches_stars() {
        assert!(glob_match("dsit-*-prod", "dsit-litellm-rds-pg-prod"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(glob_match("a*b*c", "a-b-c"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
