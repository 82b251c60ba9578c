//! Resolving a step's expressions at run time.
//!
//! The executor keeps a [`RunContext`] with the run metadata and the outputs
//! recorded so far, and asks each step for its condition, its resolved params
//! and its outputs. Outputs are JSON as recorded in the journal; they are read
//! back with the types declared by the kind or inferred at load time for
//! named outputs, so a duration output stays a duration.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use crate::expr::value::format_timestamp;
use crate::expr::{Env, EvalError, Template, Value};
use crate::kinds::ValueType;
use crate::model::{Mode, Playbook, Regions, Step};

/// The values expressions read during one run.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub mode: Mode,
    pub started_at: DateTime<Utc>,
    /// When the incident began; for a drill, the point in time being recovered to.
    pub incident_time: DateTime<Utc>,
    pub regions: Regions,
    /// Variable values as JSON, usually [`Playbook::vars`].
    pub vars: IndexMap<String, serde_json::Value>,
    /// Outputs recorded so far: step id to output name to value.
    pub outputs: HashMap<String, IndexMap<String, serde_json::Value>>,
    variable_types: IndexMap<String, ValueType>,
    output_types: HashMap<String, IndexMap<String, ValueType>>,
}

impl RunContext {
    /// Creates the context for a run of `playbook`, with its variable values and no outputs yet.
    pub fn new(
        playbook: &Playbook,
        run_id: impl Into<String>,
        mode: Mode,
        started_at: DateTime<Utc>,
        incident_time: DateTime<Utc>,
    ) -> RunContext {
        RunContext {
            run_id: run_id.into(),
            mode,
            started_at,
            incident_time,
            regions: playbook.regions.clone(),
            vars: playbook.vars.clone(),
            outputs: HashMap::new(),
            variable_types: playbook
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), v.ty.value_type()))
                .collect(),
            output_types: playbook
                .steps
                .iter()
                .map(|s| (s.id.clone(), s.output_types.clone()))
                .collect(),
        }
    }

    /// Records the outputs of a finished step (as returned by
    /// [`Step::resolve_outputs`]), for later steps to read.
    pub fn record_outputs(&mut self, step_id: &str, outputs: IndexMap<String, serde_json::Value>) {
        self.outputs.insert(step_id.to_string(), outputs);
    }
}

impl Env for RunContext {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        match segments.as_slice() {
            ["vars", name] => {
                let ty = *self.variable_types.get(*name)?;
                Value::from_json(ty, self.vars.get(*name)?).ok()
            }
            ["run", "id"] => Some(Value::String(self.run_id.clone())),
            ["run", "mode"] => Some(Value::String(self.mode.as_str().to_string())),
            ["run", "started_at"] => Some(Value::Timestamp(self.started_at)),
            ["run", "incident_time"] => Some(Value::Timestamp(self.incident_time)),
            ["regions", "primary"] => Some(Value::String(self.regions.primary.clone())),
            ["regions", "backup"] => self.regions.backup.clone().map(Value::String),
            ["steps", step, "outputs", name] => {
                let json = self.outputs.get(*step)?.get(*name)?;
                match self
                    .output_types
                    .get(*step)
                    .and_then(|types| types.get(*name))
                {
                    Some(ty) => Value::from_json(*ty, json).ok(),
                    None => None,
                }
            }
            _ => None,
        }
    }
}

/// An expression of a step that could not be resolved at run time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("step '{step}', {field}: cannot resolve '{text}': {error}")]
pub struct ResolveError {
    pub step: String,
    /// Field path of the expression, such as `params.restore_time` or `when`.
    pub field: String,
    /// The string holding the expression, as written.
    pub text: String,
    #[source]
    pub error: EvalError,
}

impl Step {
    /// Evaluates `when`; a step without one always runs.
    pub fn condition(&self, cx: &RunContext) -> Result<bool, ResolveError> {
        let Some(when) = &self.when else {
            return Ok(true);
        };
        match self.evaluate_text("when", when, cx)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.resolve_error(
                "when",
                when,
                EvalError::Invalid(format!("expected a bool, found {}", other.to_text())),
            )),
        }
    }

    /// Returns the params with every `${{ }}` replaced by its value, ready to
    /// deserialize into the kind's params type.
    pub fn resolve_params(&self, cx: &RunContext) -> Result<serde_json::Value, ResolveError> {
        self.resolve_value("params", &self.params, cx)
    }

    /// Merges the outputs the kind's action returned with the step's named
    /// `outputs`, evaluated with the kind outputs visible as this step's own.
    pub fn resolve_outputs(
        &self,
        cx: &RunContext,
        kind_outputs: &IndexMap<String, serde_json::Value>,
    ) -> Result<IndexMap<String, serde_json::Value>, ResolveError> {
        let mut merged = kind_outputs.clone();
        if self.outputs.is_empty() {
            return Ok(merged);
        }
        let mut scratch = cx.clone();
        scratch
            .outputs
            .insert(self.id.clone(), kind_outputs.clone());
        for (name, text) in &self.outputs {
            let value = self.evaluate_text(&format!("outputs.{name}"), text, &scratch)?;
            merged.insert(name.clone(), value.to_json());
        }
        Ok(merged)
    }

    fn resolve_value(
        &self,
        field: &str,
        value: &serde_json::Value,
        cx: &RunContext,
    ) -> Result<serde_json::Value, ResolveError> {
        Ok(match value {
            serde_json::Value::String(text) => self.evaluate_text(field, text, cx)?.to_json(),
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.resolve_value(&format!("{field}.{i}"), item, cx))
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, item)| {
                        Ok((
                            key.clone(),
                            self.resolve_value(&format!("{field}.{key}"), item, cx)?,
                        ))
                    })
                    .collect::<Result<_, ResolveError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn evaluate_text(
        &self,
        field: &str,
        text: &str,
        cx: &RunContext,
    ) -> Result<Value, ResolveError> {
        let template = Template::parse(text)
            .map_err(|error| self.resolve_error(field, text, EvalError::Invalid(error.message)))?;
        template
            .evaluate(cx)
            .map_err(|error| self.resolve_error(field, text, error))
    }

    fn resolve_error(&self, field: &str, text: &str, error: EvalError) -> ResolveError {
        ResolveError {
            step: self.id.clone(),
            field: field.to_string(),
            text: text.to_string(),
            error,
        }
    }
}

/// Formats a timestamp as expressions and resolved params do (RFC 3339, UTC).
pub fn timestamp_text(timestamp: DateTime<Utc>) -> String {
    format_timestamp(timestamp)
}
