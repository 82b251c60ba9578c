//! `tfstate.rollback`: make an earlier version of a Terraform state object current again.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, ValueType};

pub const NAME: &str = "tfstate.rollback";

/// Parameters of a Terraform state rollback in a versioned S3 bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TfstateRollbackParams {
    pub bucket: String,
    /// Object key of the state, for example `litellm/prod/terraform.tfstate` or `env:/staging/...`.
    pub key: String,
    pub region: String,
    pub select: VersionSelector,
    /// DynamoDB lock table, when the backend uses one; its digest item is updated too.
    pub lock_table: Option<String>,
    /// Allow a version whose lineage differs from the current state's.
    #[serde(default)]
    pub allow_lineage_change: bool,
}

/// Which earlier version to restore. Exactly one field is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct VersionSelector {
    pub version_id: Option<String>,
    /// The newest version written strictly before this RFC 3339 instant.
    pub before: Option<String>,
    /// This many versions before the current one (1 = the previous version).
    pub versions_back: Option<u32>,
    /// The newest version with this Terraform serial.
    pub serial: Option<u64>,
}

impl VersionSelector {
    pub fn count(&self) -> usize {
        [
            self.version_id.is_some(),
            self.before.is_some(),
            self.versions_back.is_some(),
            self.serial.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "previous_version_id", ty: ValueType::String, description: "version that was current before the rollback" },
    OutputDecl { name: "restored_from_version_id", ty: ValueType::String, description: "version whose content was restored" },
    OutputDecl { name: "new_version_id", ty: ValueType::String, description: "the new current version written by the rollback" },
    OutputDecl { name: "new_serial", ty: ValueType::Int, description: "serial of the new current version" },
    OutputDecl { name: "lineage", ty: ValueType::String, description: "lineage of the restored state" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: TfstateRollbackParams = super::parse_params(value)?;
    if params.select.count() != 1 {
        return Err(ParamError::at(
            "select",
            "choose the version with exactly one of version_id, before, versions_back or serial",
        ));
    }
    if params.select.versions_back == Some(0) {
        return Err(ParamError::at("select.versions_back", "versions_back 0 is the current version; use 1 or more"));
    }
    if let Some(before) = &params.select.before
        && !before.contains("${{")
        && chrono::DateTime::parse_from_rfc3339(before).is_err()
    {
        return Err(ParamError::at(
            "select.before",
            format!("'{before}' is not an RFC 3339 time; write for example 2026-12-04T09:30:00Z"),
        ));
    }
    if params.key.ends_with(".tflock") {
        return Err(ParamError::at("key", "the key names a lock object; give the state object's key"));
    }
    Ok(vec![Effect::new(
        EffectAction::Write,
        "s3:object",
        format!("{}/{}", params.bucket, params.key),
        &params.region,
    )])
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Make an earlier Terraform state version current again, with lock, lineage and serial checks; no version is deleted",
        outputs: OUTPUTS,
        destructive: true,
        check,
        schema: super::schema_of::<TfstateRollbackParams>,
        example: r#"- id: rollback-state
  kind: tfstate.rollback
  timeout: 5m
  expected: 30s
  params:
    bucket: dsit-litellm-tfstate
    key: litellm/prod/terraform.tfstate
    region: eu-west-2
    select: { before: "${{ vars.bad_apply_time }}" }
    lock_table: dsit-litellm-tflock
"#,
    }
}
