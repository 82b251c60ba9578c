//! Fault injection built into the engine, for tests and the crash matrix.
//!
//! A spec is a comma-separated list of `KIND:VALUE` items:
//!
//! - `fail:STEP` makes every attempt of STEP fail with a fatal error instead of running.
//! - `fail-undo:STEP` makes the undo of STEP fail with a fatal error.
//! - `timeout:STEP` makes STEP hang until its timeout fires.
//! - `crash-after:N` calls `std::process::abort()` right after journal
//!   record N is fsynced, which ends the process like a kill.

use std::collections::HashSet;

/// Name of the environment variable the CLI reads a fault spec from.
pub const FAULTS_ENV_VAR: &str = "DRCTL_FAULTS";

/// Faults to inject into one run. The default injects nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    pub fail: HashSet<String>,
    pub fail_undo: HashSet<String>,
    pub timeout: HashSet<String>,
    pub crash_after: Option<u64>,
}

/// An invalid fault spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec item `{item}`: {reason}; expected fail:STEP, fail-undo:STEP, timeout:STEP or crash-after:N")]
pub struct FaultSpecError {
    pub item: String,
    pub reason: String,
}

impl FaultPlan {
    /// Parses a spec such as `fail:restore,crash-after:12`. Empty items are ignored.
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let mut plan = FaultPlan::default();
        for item in spec.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let error = |reason: &str| FaultSpecError { item: item.to_string(), reason: reason.to_string() };
            let Some((kind, value)) = item.split_once(':') else {
                return Err(error("missing `:`"));
            };
            let value = value.trim();
            if value.is_empty() {
                return Err(error("missing value after `:`"));
            }
            match kind.trim() {
                "fail" => {
                    plan.fail.insert(value.to_string());
                }
                "fail-undo" => {
                    plan.fail_undo.insert(value.to_string());
                }
                "timeout" => {
                    plan.timeout.insert(value.to_string());
                }
                "crash-after" => {
                    let n: u64 = value.parse().map_err(|_| error("N must be a positive whole number"))?;
                    if n == 0 {
                        return Err(error("N must be at least 1"));
                    }
                    plan.crash_after = Some(n);
                }
                _ => return Err(error("unknown fault kind")),
            }
        }
        Ok(plan)
    }

    /// Reads [`FAULTS_ENV_VAR`]. Unset or empty means no faults.
    pub fn from_env() -> Result<Self, FaultSpecError> {
        match std::env::var(FAULTS_ENV_VAR) {
            Ok(spec) => Self::parse(&spec),
            Err(_) => Ok(FaultPlan::default()),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == FaultPlan::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_every_kind() {
        let plan = FaultPlan::parse("fail:a, fail-undo:b,timeout:c,crash-after:7").unwrap();
        assert!(plan.fail.contains("a"));
        assert!(plan.fail_undo.contains("b"));
        assert!(plan.timeout.contains("c"));
        assert_eq!(plan.crash_after, Some(7));
    }

    #[test]
    fn parse_rejects_bad_items() {
        let cases = [
            ("explode:a", "unknown fault kind"),
            ("fail", "missing `:`"),
            ("fail:", "missing value"),
            ("crash-after:x", "positive whole number"),
            ("crash-after:0", "at least 1"),
        ];
        for (spec, expected) in cases {
            let error = FaultPlan::parse(spec).unwrap_err();
            assert!(error.to_string().contains(expected), "{spec}: {error}");
            assert!(error.to_string().contains(spec.split(',').next().unwrap()), "{spec}: {error}");
        }
    }

    #[test]
    fn empty_spec_injects_nothing() {
        assert!(FaultPlan::parse(" , ").unwrap().is_empty());
    }
}
