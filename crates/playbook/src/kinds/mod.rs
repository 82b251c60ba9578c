//! The registry of step kinds: each kind's parameters, outputs and effects.
//!
//! This module holds only data shapes, so that the playbook loader can check a
//! step's parameters without knowing how the step is carried out. The behaviour
//! of each kind (its AWS or SQL calls) lives in the `drctl` crate's `actions`
//! module, one file per kind, and deserializes the same `Params` type from the
//! resolved parameters.

mod alb_repoint;
mod aurora_copy_snapshot;
mod aurora_create_instances;
mod aurora_delete;
mod aurora_restore_pitr;
mod aurora_restore_snapshot;
mod aurora_snapshot;
mod common;
mod restore_test;
mod tfstate_rollback;

use std::sync::OnceLock;

use serde::de::DeserializeOwned;

pub use alb_repoint::{AlbRepointParams, ListenerShift, Stickiness, TargetSpec, TargetsShift};
pub use aurora_copy_snapshot::{CopySnapshotParams, PrunePolicy};
pub use aurora_create_instances::{CreateInstancesParams, InstanceSpec};
pub use aurora_delete::{DeleteParams, DeleteScope};
pub use aurora_restore_pitr::{RestorePitrParams, RestorePoint, RestoreType};
pub use aurora_restore_snapshot::RestoreSnapshotParams;
pub use aurora_snapshot::SnapshotParams;
pub use common::{
    EnhancedMonitoring, PerformanceInsights, PollPolicy, RestoredClusterSettings, SameAsSource,
    ServerlessV2Scaling, SnapshotSelector, SnapshotType,
};
pub use restore_test::{
    Check, Credentials, Expectation, RestoreTestParams, RpoCheck, RpoReference, SecretRef, TlsSettings,
};
pub use tfstate_rollback::{TfstateRollbackParams, VersionSelector};

/// The static type of a value: a variable, an expression or a step output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Int,
    Number,
    Bool,
    Duration,
    Timestamp,
}

/// One output a step kind records for later steps.
#[derive(Debug, Clone, Copy)]
pub struct OutputDecl {
    pub name: &'static str,
    pub ty: ValueType,
    pub description: &'static str,
}

/// What a step does to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectAction {
    Create,
    Modify,
    Delete,
    Repoint,
    Write,
}

/// A resource a step would change, as declared by its parameters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Effect {
    pub action: EffectAction,
    /// `rds:cluster`, `rds:instance`, `rds:cluster-snapshot`, `elbv2:target-group`,
    /// `elbv2:listener` or `s3:object`.
    pub resource_type: &'static str,
    /// The resource id, ARN or `bucket/key`. It may still contain `${{ }}` expressions.
    pub id: String,
    /// The region, when the parameters name one. It may contain expressions.
    pub region: Option<String>,
    /// True when the action checks drctl's ownership tags before touching any
    /// resource, so it can only change what drctl created (cleanup and pruning).
    pub owned_only: bool,
}

impl Effect {
    fn new(action: EffectAction, resource_type: &'static str, id: impl Into<String>, region: &str) -> Self {
        Effect {
            action,
            resource_type,
            id: id.into(),
            region: Some(region.to_string()),
            owned_only: false,
        }
    }

    fn owned(mut self) -> Self {
        self.owned_only = true;
        self
    }
}

/// One segment of the path from a step's `params` to the value an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A problem with a step's parameters, located by its path inside `params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub path: Vec<PathSegment>,
    pub message: String,
    /// The unknown key and the keys that are valid at that place.
    pub unknown_field: Option<(String, Vec<String>)>,
    /// The name of a required key that is absent.
    pub missing_field: Option<String>,
}

impl ParamError {
    /// An error about the value at `path` (keys separated by dots, indexes as numbers).
    pub fn at(path: &str, message: impl Into<String>) -> Self {
        let path = path
            .split('.')
            .filter(|segment| !segment.is_empty())
            .map(|segment| match segment.parse::<usize>() {
                Ok(index) => PathSegment::Index(index),
                Err(_) => PathSegment::Key(segment.to_string()),
            })
            .collect();
        ParamError {
            path,
            message: message.into(),
            unknown_field: None,
            missing_field: None,
        }
    }
}

/// Everything the loader, the plan and the schema need to know about a step kind.
pub struct KindInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub outputs: &'static [OutputDecl],
    /// Destructive kinds need approval by default in incident mode.
    pub destructive: bool,
    /// Deserializes the parameters strictly and lists the step's effects.
    pub check: fn(&serde_json::Value) -> Result<Vec<Effect>, ParamError>,
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
    /// A complete step of this kind in YAML, for the docs and tests.
    pub example: &'static str,
}

impl KindInfo {
    pub fn output(&self, name: &str) -> Option<&OutputDecl> {
        self.outputs.iter().find(|output| output.name == name)
    }
}

impl std::fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindInfo").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Every step kind, in the order the docs list them.
pub fn all() -> &'static [KindInfo] {
    static KINDS: OnceLock<Vec<KindInfo>> = OnceLock::new();
    KINDS.get_or_init(|| {
        vec![
            aurora_restore_pitr::info(),
            aurora_restore_snapshot::info(),
            aurora_create_instances::info(),
            aurora_copy_snapshot::info(),
            aurora_snapshot::info(),
            aurora_delete::info(),
            restore_test::info(),
            tfstate_rollback::info(),
            alb_repoint::info(),
        ]
    })
}

pub fn lookup(name: &str) -> Option<&'static KindInfo> {
    all().iter().find(|kind| kind.name == name)
}

/// Deserializes `value` into `P`, turning a serde error into a located [`ParamError`].
pub fn parse_params<P: DeserializeOwned>(value: &serde_json::Value) -> Result<P, ParamError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(PathSegment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(PathSegment::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(PathSegment::Key(variant.clone())),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = error.inner().to_string();
        ParamError {
            path,
            unknown_field: parse_unknown_field(&message),
            missing_field: parse_missing_field(&message),
            message,
        }
    })
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" message.
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest.split('`').skip(1).step_by(2).map(str::to_string).collect();
    Some((field.to_string(), expected))
}

fn parse_missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    let (field, _) = rest.split_once('`')?;
    Some(field.to_string())
}

fn schema_of<P: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<P>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_lists_valid_fields() {
        let params = serde_json::json!({"cluster": "a", "region": "eu-west-2", "snapshot_id": "s", "colour": 1});
        let error = (lookup("aurora.snapshot").unwrap().check)(&params).unwrap_err();
        let (field, expected) = error.unknown_field.expect("unknown field reported");
        assert_eq!(field, "colour");
        assert!(expected.iter().any(|name| name == "cluster"), "{expected:?}");
    }

    #[test]
    fn missing_field_is_named() {
        let params = serde_json::json!({"region": "eu-west-2", "snapshot_id": "s"});
        let error = (lookup("aurora.snapshot").unwrap().check)(&params).unwrap_err();
        assert_eq!(error.missing_field.as_deref(), Some("cluster"));
    }

}
