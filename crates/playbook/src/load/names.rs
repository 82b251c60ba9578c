//! The names an expression in a step may use, and their static types.
//!
//! `vars.NAME`, `run.id`, `run.mode`, `run.started_at`, `run.incident_time`,
//! `regions.primary`, `regions.backup` and `steps.STEP.outputs.NAME`. A step
//! may only read outputs of steps it depends on, directly or transitively,
//! because only those are guaranteed to have finished. Its own `outputs` may
//! also read its own kind outputs.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use crate::diagnostic::{did_you_mean, suggestion_help};
use crate::expr::{Env, NameError, Scope, Value};
use crate::kinds::ValueType;

/// Fields of `run` with their types.
pub const RUN_FIELDS: &[(&str, ValueType)] = &[
    ("id", ValueType::String),
    ("mode", ValueType::String),
    ("started_at", ValueType::Timestamp),
    ("incident_time", ValueType::Timestamp),
];

/// Static facts shared by all steps of one playbook.
pub struct Names<'a> {
    pub variables: &'a IndexMap<String, ValueType>,
    pub has_backup_region: bool,
    /// Output types of every step id: kind outputs, then named outputs.
    pub outputs: &'a HashMap<String, IndexMap<String, ValueType>>,
    /// Step ids in file order, for suggestions.
    pub step_ids: &'a [String],
}

/// The names visible from one place in one step.
pub struct StepScope<'a> {
    pub names: &'a Names<'a>,
    pub step_id: &'a str,
    pub ancestors: &'a HashSet<String>,
    /// Kind outputs of the step itself, readable only from its `outputs`.
    pub own_outputs: Option<&'a IndexMap<String, ValueType>>,
}

fn unknown(message: String, help: String) -> NameError {
    NameError {
        message,
        help: Some(help),
    }
}

impl Scope for StepScope<'_> {
    fn type_of(&self, path: &[String]) -> Result<ValueType, NameError> {
        let full = path.join(".");
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        match segments.as_slice() {
            ["vars", name] => {
                let names: Vec<&str> = self.names.variables.keys().map(String::as_str).collect();
                self.names.variables.get(*name).copied().ok_or_else(|| {
                    unknown(
                        format!("unknown variable '{full}'"),
                        suggestion_help(name, &names, "variables"),
                    )
                })
            }
            ["run", field] => RUN_FIELDS
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, ty)| *ty)
                .ok_or_else(|| {
                    let fields: Vec<&str> = RUN_FIELDS.iter().map(|(f, _)| *f).collect();
                    unknown(
                        format!("unknown name '{full}'"),
                        suggestion_help(field, &fields, "fields of run"),
                    )
                }),
            ["regions", "primary"] => Ok(ValueType::String),
            ["regions", "backup"] if self.names.has_backup_region => Ok(ValueType::String),
            ["regions", "backup"] => Err(unknown(
                "'regions.backup' is used but the playbook declares no backup region".to_string(),
                "add 'backup: REGION' under 'regions'".to_string(),
            )),
            ["regions", other] => Err(unknown(
                format!("unknown name '{full}'"),
                suggestion_help(other, &["primary", "backup"], "fields of regions"),
            )),
            ["steps", step, "outputs", output] => self.step_output(step, output, &full),
            ["steps", ..] => Err(unknown(
                format!("invalid step reference '{full}'"),
                "write steps.STEP.outputs.NAME".to_string(),
            )),
            [first, ..] => {
                let roots = ["vars", "run", "regions", "steps"];
                let help = match did_you_mean(first, roots) {
                    Some(close) => format!(
                        "did you mean '{close}'? names start with vars., run., regions. or steps."
                    ),
                    None => "names start with vars., run., regions. or steps.".to_string(),
                };
                Err(unknown(format!("unknown name '{full}'"), help))
            }
            [] => Err(unknown("empty name".to_string(), String::new())),
        }
    }
}

impl StepScope<'_> {
    fn step_output(&self, step: &str, output: &str, full: &str) -> Result<ValueType, NameError> {
        let outputs = if step == self.step_id {
            self.own_outputs.ok_or_else(|| {
                unknown(
                    format!("step '{step}' references its own output '{full}'"),
                    "a step's params and 'when' run before it has outputs; read them in its 'outputs' or in a later step"
                        .to_string(),
                )
            })?
        } else {
            let Some(outputs) = self.names.outputs.get(step) else {
                let ids: Vec<&str> = self.names.step_ids.iter().map(String::as_str).collect();
                return Err(unknown(
                    format!("unknown step '{step}' in '{full}'"),
                    suggestion_help(step, &ids, "steps"),
                ));
            };
            if !self.ancestors.contains(step) {
                return Err(unknown(
                    format!(
                        "step '{}' reads '{full}' but does not depend on step '{step}'",
                        self.step_id
                    ),
                    format!(
                        "add '{step}' to the 'needs' of step '{}', so it runs first",
                        self.step_id
                    ),
                ));
            }
            outputs
        };
        outputs.get(output).copied().ok_or_else(|| {
            let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
            unknown(
                format!("step '{step}' has no output '{output}'"),
                suggestion_help(output, &names, "outputs"),
            )
        })
    }
}

/// The values known before a run: variables and regions, and the mode when
/// the check is about one mode. Everything else is unknown, so evaluation of
/// an expression that uses it fails and the caller keeps the expression.
pub struct StaticEnv<'a> {
    pub vars: &'a IndexMap<String, Value>,
    pub primary_region: &'a str,
    pub backup_region: Option<&'a str>,
    pub mode: Option<&'static str>,
}

impl Env for StaticEnv<'_> {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        match segments.as_slice() {
            ["vars", name] => self.vars.get(*name).cloned(),
            ["regions", "primary"] => Some(Value::String(self.primary_region.to_string())),
            ["regions", "backup"] => self.backup_region.map(|r| Value::String(r.to_string())),
            ["run", "mode"] => self.mode.map(|m| Value::String(m.to_string())),
            _ => None,
        }
    }
}
