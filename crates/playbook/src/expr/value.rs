//! Runtime values of expressions and their conversion to and from JSON.
//!
//! In JSON (resolved params, recorded outputs, variable values) durations are
//! strings in the canonical unit form (`"15m"`) and timestamps are RFC 3339
//! strings in UTC, so a resolved parameter deserializes into the kind's
//! `Params` type like a value written literally in YAML.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::duration::Duration;
use crate::kinds::ValueType;

/// A typed value produced by evaluating an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    Duration(std::time::Duration),
    Timestamp(DateTime<Utc>),
}

impl Value {
    /// The static type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::String(_) => ValueType::String,
            Value::Int(_) => ValueType::Int,
            Value::Number(_) => ValueType::Number,
            Value::Bool(_) => ValueType::Bool,
            Value::Duration(_) => ValueType::Duration,
            Value::Timestamp(_) => ValueType::Timestamp,
        }
    }

    /// Converts to JSON as described in the module documentation.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::String(text) => serde_json::Value::String(text.clone()),
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Duration(d) => serde_json::Value::String(format_duration(*d)),
            Value::Timestamp(t) => serde_json::Value::String(format_timestamp(*t)),
        }
    }

    /// Text used when the value is interpolated into a longer string.
    pub fn to_text(&self) -> String {
        match self {
            Value::String(text) => text.clone(),
            Value::Int(n) => n.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Duration(d) => format_duration(*d),
            Value::Timestamp(t) => format_timestamp(*t),
        }
    }

    /// Reads a JSON value as type `ty`. An int is accepted where a number is
    /// expected. The error describes what was found, for the caller to prefix
    /// with where the value came from.
    pub fn from_json(ty: ValueType, json: &serde_json::Value) -> Result<Value, String> {
        use serde_json::Value as Json;
        match (ty, json) {
            (ValueType::String, Json::String(text)) => Ok(Value::String(text.clone())),
            (ValueType::Int, Json::Number(n)) if n.as_i64().is_some() => {
                Ok(Value::Int(n.as_i64().unwrap_or_default()))
            }
            (ValueType::Number, Json::Number(n)) if n.as_f64().is_some() => {
                Ok(Value::Number(n.as_f64().unwrap_or_default()))
            }
            (ValueType::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
            (ValueType::Duration, Json::String(text)) => parse_duration(text).map(Value::Duration),
            (ValueType::Timestamp, Json::String(text)) => {
                parse_timestamp(text).map(Value::Timestamp)
            }
            _ => Err(format!(
                "expected {}, found {}",
                type_name(ty),
                describe_json(json)
            )),
        }
    }

    /// Parses text typed on a command line (`--var name=value`) as type `ty`.
    pub fn from_text(ty: ValueType, text: &str) -> Result<Value, String> {
        match ty {
            ValueType::String => Ok(Value::String(text.to_string())),
            ValueType::Int => text
                .trim()
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| format!("'{text}' is not an integer")),
            ValueType::Number => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::Number)
                .ok_or_else(|| format!("'{text}' is not a number")),
            ValueType::Bool => match text.trim() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("'{text}' is not a bool: write true or false")),
            },
            ValueType::Duration => parse_duration(text).map(Value::Duration),
            ValueType::Timestamp => parse_timestamp(text).map(Value::Timestamp),
        }
    }

    /// A stand-in value of type `ty`, used to check params before run time.
    pub fn placeholder(ty: ValueType) -> Value {
        match ty {
            ValueType::String => Value::String("x".to_string()),
            ValueType::Int => Value::Int(0),
            ValueType::Number => Value::Number(0.5),
            ValueType::Bool => Value::Bool(false),
            ValueType::Duration => Value::Duration(std::time::Duration::from_secs(1)),
            ValueType::Timestamp => Value::Timestamp(DateTime::<Utc>::UNIX_EPOCH),
        }
    }
}

/// The type's name as playbooks spell it.
pub fn type_name(ty: ValueType) -> &'static str {
    match ty {
        ValueType::String => "string",
        ValueType::Int => "int",
        ValueType::Number => "number",
        ValueType::Bool => "bool",
        ValueType::Duration => "duration",
        ValueType::Timestamp => "timestamp",
    }
}

/// True when a value of type `found` may be used where `expected` is required.
/// The only widening is int to number.
pub fn assignable(found: ValueType, expected: ValueType) -> bool {
    found == expected || (found == ValueType::Int && expected == ValueType::Number)
}

/// Parses a duration with units (`90s`, `15m`, `1h30m`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    Duration::parse(text).map(Duration::as_std)
}

/// Formats a duration in the canonical unit form.
pub fn format_duration(duration: std::time::Duration) -> String {
    Duration::from(duration).to_string()
}

/// Parses an RFC 3339 timestamp such as `2026-12-04T03:10:00Z`.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|error| {
            format!("'{text}' is not an RFC 3339 timestamp such as 2026-12-04T03:10:00Z ({error})")
        })
}

/// Formats a timestamp as RFC 3339 in UTC with a `Z` suffix.
pub fn format_timestamp(timestamp: DateTime<Utc>) -> String {
    timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A short description of a JSON value for error messages.
pub fn describe_json(json: &serde_json::Value) -> String {
    match json {
        serde_json::Value::Null => "null".to_string(),
        serde_json::Value::Bool(b) => format!("bool {b}"),
        serde_json::Value::Number(n) => format!("number {n}"),
        serde_json::Value::String(s) => format!("string '{s}'"),
        serde_json::Value::Array(_) => "a list".to_string(),
        serde_json::Value::Object(_) => "a mapping".to_string(),
    }
}
