//! The CLI's `header_meta` object, read leniently.
//!
//! The executor stores `header_meta` without reading it, so a journal
//! written by an older or newer CLI may lack fields or carry unknown ones.
//! Every field is optional here. A field of the wrong type is dropped, and
//! a warning in the report says so, because one bad field should not cost
//! the whole report.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Playbook identity as the CLI recorded it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlaybookMeta {
    pub name: Option<String>,
    pub description: Option<String>,
    pub path: Option<String>,
    pub hash: Option<String>,
    pub format_version: Option<u64>,
    pub text: Option<String>,
}

/// Per-step metadata from the plan. Durations are simulated seconds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StepMeta {
    pub kind: Option<String>,
    pub description: Option<String>,
    pub needs: Vec<String>,
    pub always: bool,
    pub budget_seconds: Option<f64>,
    pub expected_seconds: Option<f64>,
}

/// Everything the report reads from `header_meta`.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub drctl_version: Option<String>,
    pub playbook: PlaybookMeta,
    pub vars: Map<String, Value>,
    pub rto_target_seconds: Option<f64>,
    pub rto_warning_seconds: Option<f64>,
    pub rpo_target_seconds: Option<f64>,
    pub regions: Value,
    /// STS caller identity, or `null` when STS was unreachable.
    pub identity: Value,
    pub operator: Value,
    /// Simulated seconds per real second; 1.0 outside the emulated estate.
    pub time_scale: f64,
    pub steps: IndexMap<String, StepMeta>,
    /// Critical path the plan expected, in order.
    pub critical_path: Vec<String>,
    /// Fields that were present but unusable, as sentences.
    pub warnings: Vec<String>,
}

impl RunMeta {
    /// Reads `header_meta`. Never fails: unusable fields become warnings.
    pub fn parse(meta: &Value) -> RunMeta {
        let mut warnings = Vec::new();
        let empty = Map::new();
        let object = match meta {
            Value::Object(object) => object,
            Value::Null => &empty,
            other => {
                warnings.push(format!("header_meta is a {}, not an object; the report has no playbook metadata", kind_of(other)));
                &empty
            }
        };

        let playbook = field::<PlaybookMeta>(object, "playbook", &mut warnings).unwrap_or_default();
        let steps = field::<IndexMap<String, StepMeta>>(object, "steps", &mut warnings).unwrap_or_default();
        let vars = field::<Map<String, Value>>(object, "vars", &mut warnings).unwrap_or_default();
        let critical_path = field::<Vec<String>>(object, "critical_path", &mut warnings).unwrap_or_default();
        let drctl_version = field::<String>(object, "drctl_version", &mut warnings);

        let rto = object.get("rto").cloned().unwrap_or(Value::Null);
        let rpo = object.get("rpo").cloned().unwrap_or(Value::Null);
        let rto_target_seconds = seconds(&rto, "rto.target_seconds", "target_seconds", &mut warnings);
        let rto_warning_seconds = seconds(&rto, "rto.warning_seconds", "warning_seconds", &mut warnings);
        let rpo_target_seconds = seconds(&rpo, "rpo.target_seconds", "target_seconds", &mut warnings);

        let time_scale = match object.get("time_scale") {
            None | Some(Value::Null) => 1.0,
            Some(value) => match value.as_f64() {
                Some(scale) if scale.is_finite() && scale > 0.0 => scale,
                _ => {
                    warnings.push(format!("time_scale {value} is not a positive number; times are shown unscaled"));
                    1.0
                }
            },
        };

        RunMeta {
            drctl_version,
            playbook,
            vars,
            rto_target_seconds,
            rto_warning_seconds,
            rpo_target_seconds,
            regions: object.get("regions").cloned().unwrap_or(Value::Null),
            identity: object.get("identity").cloned().unwrap_or(Value::Null),
            operator: object.get("operator").cloned().unwrap_or(Value::Null),
            time_scale,
            steps,
            critical_path,
            warnings,
        }
    }
}

fn field<T: serde::de::DeserializeOwned>(object: &Map<String, Value>, key: &str, warnings: &mut Vec<String>) -> Option<T> {
    let value = object.get(key)?;
    if value.is_null() {
        return None;
    }
    match serde_json::from_value(value.clone()) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            warnings.push(format!("header_meta.{key} is unusable and was ignored: {error}"));
            None
        }
    }
}

fn seconds(parent: &Value, path: &str, key: &str, warnings: &mut Vec<String>) -> Option<f64> {
    let value = parent.get(key)?;
    if value.is_null() {
        return None;
    }
    match value.as_f64() {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Some(seconds),
        _ => {
            warnings.push(format!("header_meta.{path} {value} is not a number of seconds and was ignored"));
            None
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
