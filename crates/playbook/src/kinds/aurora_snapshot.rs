//! `aurora.snapshot`: a manual cluster snapshot, taken as a safety net before risky steps.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, PollPolicy, ValueType};

pub const NAME: &str = "aurora.snapshot";

/// Parameters of a manual cluster snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotParams {
    pub cluster: String,
    pub region: String,
    /// Identifier of the snapshot; template it with `${{ run.id }}`.
    pub snapshot_id: String,
    /// Delete the snapshot when the step is undone. Off by default: a safety snapshot is kept.
    #[serde(default)]
    pub delete_on_undo: bool,
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    pub poll: Option<PollPolicy>,
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "snapshot_id", ty: ValueType::String, description: "identifier of the snapshot" },
    OutputDecl { name: "snapshot_arn", ty: ValueType::String, description: "ARN of the snapshot" },
    OutputDecl { name: "created_at", ty: ValueType::Timestamp, description: "when the snapshot was taken" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: SnapshotParams = super::parse_params(value)?;
    Ok(vec![Effect::new(
        EffectAction::Create,
        "rds:cluster-snapshot",
        &params.snapshot_id,
        &params.region,
    )])
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Take a manual cluster snapshot and wait until it is available",
        outputs: OUTPUTS,
        destructive: false,
        check,
        schema: super::schema_of::<SnapshotParams>,
        example: r#"- id: safety-snapshot
  kind: aurora.snapshot
  timeout: 20m
  expected: 4m
  params:
    cluster: dsit-litellm-rds-pg-prod
    region: eu-west-2
    snapshot_id: "pre-recovery-${{ run.id }}"
"#,
    }
}
