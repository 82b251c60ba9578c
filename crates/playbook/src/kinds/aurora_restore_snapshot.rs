//! `aurora.restore_snapshot`: restore an Aurora cluster from a cluster snapshot, in any region.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{RestoredClusterSettings, SnapshotSelector};
use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, PollPolicy, ValueType};

pub const NAME: &str = "aurora.restore_snapshot";

/// Parameters of a restore from a cluster snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreSnapshotParams {
    pub snapshot: SnapshotSelector,
    /// Engine of the restored cluster; defaults to the snapshot's engine.
    pub engine: Option<String>,
    pub target: RestoredClusterSettings,
    pub poll: Option<PollPolicy>,
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "cluster_id", ty: ValueType::String, description: "identifier of the restored cluster" },
    OutputDecl { name: "cluster_arn", ty: ValueType::String, description: "ARN of the restored cluster" },
    OutputDecl { name: "resource_id", ty: ValueType::String, description: "DbClusterResourceId of the restored cluster" },
    OutputDecl { name: "writer_endpoint", ty: ValueType::String, description: "cluster (writer) endpoint host name" },
    OutputDecl { name: "reader_endpoint", ty: ValueType::String, description: "reader endpoint host name" },
    OutputDecl { name: "port", ty: ValueType::Int, description: "database port" },
    OutputDecl { name: "region", ty: ValueType::String, description: "region of the restored cluster" },
    OutputDecl { name: "snapshot_arn", ty: ValueType::String, description: "ARN of the snapshot restored from" },
    OutputDecl { name: "restored_to", ty: ValueType::Timestamp, description: "creation time of the snapshot restored from" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: RestoreSnapshotParams = super::parse_params(value)?;
    params.snapshot.validate("snapshot")?;
    params.target.validate("target")?;
    Ok(vec![Effect::new(
        EffectAction::Create,
        "rds:cluster",
        &params.target.cluster_id,
        &params.target.region,
    )])
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Restore an Aurora cluster from a cluster snapshot into a new cluster, and wait until it is available",
        outputs: OUTPUTS,
        destructive: false,
        check,
        schema: super::schema_of::<RestoreSnapshotParams>,
        example: r#"- id: restore-backup-region
  kind: aurora.restore_snapshot
  needs: [copy-to-backup]
  timeout: 40m
  expected: 10m
  params:
    snapshot:
      id: "${{ steps.copy-to-backup.outputs.snapshot_arn }}"
    target:
      cluster_id: "drill-${{ run.id }}-use1"
      region: us-east-1
      subnet_group: dsit-litellm-rds-pg-subnetgrp-use1
      security_groups: [sg-0dr0backup0000001]
      kms_key: alias/dsit-litellm-rds
      serverless_v2: { min_capacity: 0.5, max_capacity: 4 }
      storage_type: aurora-iopt1
"#,
    }
}
