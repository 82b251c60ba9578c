//! `aurora.copy_snapshot`: copy a cluster snapshot to another region, re-encrypted with a key there.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::SnapshotSelector;
use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, PollPolicy, ValueType};

pub const NAME: &str = "aurora.copy_snapshot";

/// Parameters of a cross-region snapshot copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopySnapshotParams {
    pub source: SnapshotSelector,
    pub source_region: String,
    pub destination_region: String,
    /// Identifier of the copy; template it with `${{ run.id }}`.
    pub target_snapshot_id: String,
    /// KMS key id, ARN or alias in the destination region. Required when the source is encrypted.
    pub kms_key: Option<String>,
    #[serde(default = "default_true")]
    pub copy_tags: bool,
    /// Copies in flight to the destination region that this step waits for before starting (AWS allows 5).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    pub prune: Option<PrunePolicy>,
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    pub poll: Option<PollPolicy>,
}

/// Deletes older copies that drctl made of the same source cluster, keeping the newest `keep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrunePolicy {
    pub keep: u32,
}

fn default_true() -> bool {
    true
}

fn default_max_in_flight() -> u32 {
    5
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "snapshot_id", ty: ValueType::String, description: "identifier of the copy" },
    OutputDecl { name: "snapshot_arn", ty: ValueType::String, description: "ARN of the copy in the destination region" },
    OutputDecl { name: "source_snapshot_arn", ty: ValueType::String, description: "ARN of the snapshot that was copied" },
    OutputDecl { name: "region", ty: ValueType::String, description: "destination region" },
    OutputDecl { name: "pruned", ty: ValueType::Int, description: "number of older copies deleted by pruning" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: CopySnapshotParams = super::parse_params(value)?;
    params.source.validate("source")?;
    if params.max_in_flight == 0 {
        return Err(ParamError::at("max_in_flight", "max_in_flight must be at least 1"));
    }
    if params.source_region == params.destination_region {
        return Err(ParamError::at(
            "destination_region",
            format!(
                "destination region '{}' equals the source region; a cross-region copy needs another region",
                params.destination_region
            ),
        ));
    }
    if let Some(prune) = &params.prune {
        if prune.keep == 0 {
            return Err(ParamError::at("prune.keep", "prune.keep must be at least 1, so the new copy survives"));
        }
    }
    let mut effects = vec![Effect::new(
        EffectAction::Create,
        "rds:cluster-snapshot",
        &params.target_snapshot_id,
        &params.destination_region,
    )];
    if params.prune.is_some() {
        let owner = format!("copies of {} made by drctl", params.source.describe());
        effects.push(Effect::new(EffectAction::Delete, "rds:cluster-snapshot", owner, &params.destination_region).owned());
    }
    Ok(effects)
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Copy a cluster snapshot to another region with a destination KMS key, and optionally prune older copies",
        outputs: OUTPUTS,
        destructive: false,
        check,
        schema: super::schema_of::<CopySnapshotParams>,
        example: r#"- id: copy-to-backup
  kind: aurora.copy_snapshot
  timeout: 60m
  expected: 15m
  params:
    source: { latest_of: dsit-litellm-rds-pg-prod, type: any }
    source_region: eu-west-2
    destination_region: us-east-1
    target_snapshot_id: "drill-${{ run.id }}-copy"
    kms_key: alias/dsit-litellm-rds
    max_in_flight: 5
"#,
    }
}
