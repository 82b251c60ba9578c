//! `aurora.restore_pitr`: point-in-time restore of an Aurora cluster into a new cluster.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::common::RestoredClusterSettings;
use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, PollPolicy, ValueType};

pub const NAME: &str = "aurora.restore_pitr";

/// Parameters of a point-in-time restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestorePitrParams {
    /// Source cluster identifier.
    pub source_cluster: Option<String>,
    /// Source cluster resource id (`cluster-...`), for a source cluster that has been deleted.
    pub source_resource_id: Option<String>,
    /// Region of the source cluster; defaults to the target's region.
    pub source_region: Option<String>,
    /// `latest`, an RFC 3339 instant, or `incident-<duration>` (for example `incident-5m`).
    pub restore_to: RestorePoint,
    #[serde(default)]
    pub restore_type: RestoreType,
    pub target: RestoredClusterSettings,
    pub poll: Option<PollPolicy>,
}

/// The instant a point-in-time restore goes back to.
#[derive(Debug, Clone, PartialEq)]
pub enum RestorePoint {
    /// The cluster's LatestRestorableTime.
    Latest,
    At(chrono::DateTime<chrono::Utc>),
    /// This long before the run's incident time.
    BeforeIncident(crate::duration::Duration),
}

impl From<RestorePoint> for String {
    fn from(point: RestorePoint) -> String {
        match point {
            RestorePoint::Latest => "latest".to_string(),
            RestorePoint::At(time) => time.to_rfc3339(),
            RestorePoint::BeforeIncident(offset) => format!("incident-{offset}"),
        }
    }
}

impl Serialize for RestorePoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&String::from(self.clone()))
    }
}

impl JsonSchema for RestorePoint {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RestorePoint".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "'latest', an RFC 3339 instant, or 'incident-<duration>' such as incident-5m"
        })
    }
}

impl RestorePoint {
    pub fn parse(text: &str) -> Result<RestorePoint, String> {
        if text == "latest" {
            return Ok(RestorePoint::Latest);
        }
        if let Some(offset) = text.strip_prefix("incident-") {
            return crate::duration::Duration::parse(offset).map(RestorePoint::BeforeIncident);
        }
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| RestorePoint::At(time.with_timezone(&chrono::Utc)))
            .map_err(|_| {
                format!(
                    "invalid restore point '{text}'; use 'latest', an RFC 3339 time such as 2026-12-04T09:30:00Z, or 'incident-<duration>' such as incident-5m"
                )
            })
    }
}

impl<'de> Deserialize<'de> for RestorePoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RestorePoint::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `full-copy` restores a full copy; `copy-on-write` makes a fast clone that shares
/// storage with the source, suited to short-lived restore tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreType {
    #[default]
    FullCopy,
    CopyOnWrite,
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "cluster_id", ty: ValueType::String, description: "identifier of the restored cluster" },
    OutputDecl { name: "cluster_arn", ty: ValueType::String, description: "ARN of the restored cluster" },
    OutputDecl { name: "resource_id", ty: ValueType::String, description: "DbClusterResourceId of the restored cluster" },
    OutputDecl { name: "writer_endpoint", ty: ValueType::String, description: "cluster (writer) endpoint host name" },
    OutputDecl { name: "reader_endpoint", ty: ValueType::String, description: "reader endpoint host name" },
    OutputDecl { name: "port", ty: ValueType::Int, description: "database port" },
    OutputDecl { name: "region", ty: ValueType::String, description: "region of the restored cluster" },
    OutputDecl { name: "restored_to", ty: ValueType::Timestamp, description: "the instant the data was restored to" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: RestorePitrParams = super::parse_params(value)?;
    match (&params.source_cluster, &params.source_resource_id) {
        (Some(_), None) | (None, Some(_)) => {}
        (Some(_), Some(_)) => {
            return Err(ParamError::at(
                "source_cluster",
                "both source_cluster and source_resource_id are set; name the source once",
            ));
        }
        (None, None) => {
            return Err(ParamError::at(
                "",
                "no source cluster; set source_cluster, or source_resource_id for a deleted cluster",
            ));
        }
    }
    if params.restore_type == RestoreType::CopyOnWrite && params.restore_to != RestorePoint::Latest {
        return Err(ParamError::at(
            "restore_to",
            "RDS clones (restore_type: copy-on-write) only at the latest restorable time; set restore_to: latest or restore_type: full-copy",
        ));
    }
    if let Some(source_region) = &params.source_region {
        if source_region != &params.target.region {
            return Err(ParamError::at(
                "source_region",
                format!(
                    "source_region {source_region} differs from target.region {}: a point-in-time restore stays in the source's region; \
                     copy a snapshot with aurora.copy_snapshot and restore it with aurora.restore_snapshot instead",
                    params.target.region
                ),
            ));
        }
    }
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
        summary: "Restore an Aurora cluster to a point in time into a new cluster, and wait until it is available",
        outputs: OUTPUTS,
        destructive: false,
        check,
        schema: super::schema_of::<RestorePitrParams>,
        example: r#"- id: restore-primary
  kind: aurora.restore_pitr
  timeout: 40m
  budget: 15m
  expected: 12m
  params:
    source_cluster: dsit-litellm-rds-pg-prod
    restore_to: latest
    restore_type: full-copy
    target:
      cluster_id: "drill-${{ run.id }}"
      region: eu-west-2
      subnet_group: dsit-litellm-rds-pg-subnetgrp
      security_groups: same-as-source
      kms_key: same-as-source
      serverless_v2: { min_capacity: 0.5, max_capacity: 4 }
      storage_type: aurora-iopt1
      deletion_protection: false
"#,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(extra: serde_json::Value) -> serde_json::Value {
        let mut value = serde_json::json!({
            "source_cluster": "prod",
            "restore_to": "2026-12-04T09:30:00Z",
            "target": {
                "cluster_id": "drill-1", "region": "eu-west-2",
                "subnet_group": "same-as-source", "security_groups": "same-as-source", "kms_key": "same-as-source"
            }
        });
        for (key, field) in extra.as_object().unwrap() {
            value[key] = field.clone();
        }
        value
    }

    #[test]
    fn copy_on_write_needs_latest() {
        let error = check(&params(serde_json::json!({ "restore_type": "copy-on-write" }))).unwrap_err();
        assert!(error.message.contains("restore_to: latest"), "{}", error.message);
        assert!(check(&params(serde_json::json!({ "restore_type": "copy-on-write", "restore_to": "latest" }))).is_ok());
    }

    #[test]
    fn source_region_must_match_target() {
        let error = check(&params(serde_json::json!({ "source_region": "us-east-1" }))).unwrap_err();
        assert!(error.message.contains("aurora.restore_snapshot"), "{}", error.message);
        assert!(check(&params(serde_json::json!({ "source_region": "eu-west-2" }))).is_ok());
    }
}
