//! Parameter shapes shared by the Aurora step kinds.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Deserializer, Serialize};

use super::ParamError;
use crate::duration::Duration;

/// A setting given explicitly, or the keyword `same-as-source`, which copies the
/// value from the source cluster at run time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SameAsSource<T> {
    #[serde(serialize_with = "serialize_same_as_source")]
    SameAsSource,
    Value(T),
}

fn serialize_same_as_source<S: serde::Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(SAME_AS_SOURCE)
}

pub const SAME_AS_SOURCE: &str = "same-as-source";

impl<'de, T: DeserializeOwned> Deserialize<'de> for SameAsSource<T> {
    /// Reads the keyword first, then `T`; an error names both accepted shapes.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.as_str() == Some(SAME_AS_SOURCE) {
            return Ok(SameAsSource::SameAsSource);
        }
        T::deserialize(value.into_deserializer())
            .map(SameAsSource::Value)
            .map_err(|error| {
                serde::de::Error::custom(format!(
                    "{error}; or write '{SAME_AS_SOURCE}' to copy the source cluster's setting"
                ))
            })
    }
}

impl<T: JsonSchema> JsonSchema for SameAsSource<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("SameAsSource_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let inner = generator.subschema_for::<T>();
        schemars::json_schema!({
            "anyOf": [ { "const": SAME_AS_SOURCE }, inner ]
        })
    }
}

/// Serverless v2 capacity range in Aurora capacity units (ACUs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerlessV2Scaling {
    pub min_capacity: f64,
    pub max_capacity: f64,
}

/// Performance Insights settings, applied with ModifyDBCluster after the
/// restore: the restore APIs reject them for Aurora PostgreSQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformanceInsights {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Retention in days: 7, 31 × n (n = 1–23) or 731.
    #[serde(default = "default_pi_retention")]
    pub retention_days: i32,
    pub kms_key: Option<String>,
}

/// Enhanced Monitoring settings, applied with ModifyDBCluster after the restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnhancedMonitoring {
    /// Seconds between samples: 1, 5, 10, 15, 30 or 60.
    pub interval_seconds: i32,
    pub role_arn: String,
}

/// Settings of a cluster that a restore creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoredClusterSettings {
    /// Identifier of the new cluster; template it with `${{ run.id }}`.
    pub cluster_id: String,
    pub region: String,
    pub subnet_group: SameAsSource<String>,
    pub security_groups: SameAsSource<Vec<String>>,
    /// KMS key id, ARN or alias for the restored storage.
    pub kms_key: SameAsSource<String>,
    pub serverless_v2: Option<ServerlessV2Scaling>,
    /// `aurora` or `aurora-iopt1`.
    pub storage_type: Option<String>,
    pub engine_version: Option<String>,
    pub cluster_parameter_group: Option<String>,
    #[serde(default)]
    pub iam_database_authentication: bool,
    #[serde(default)]
    pub deletion_protection: bool,
    pub performance_insights: Option<PerformanceInsights>,
    pub enhanced_monitoring: Option<EnhancedMonitoring>,
    /// Extra tags; drctl adds its ownership tags itself.
    #[serde(default)]
    pub tags: IndexMap<String, String>,
}

impl RestoredClusterSettings {
    pub(super) fn validate(&self, path: &str) -> Result<(), ParamError> {
        if let Some(scaling) = &self.serverless_v2 {
            if !(0.0..=256.0).contains(&scaling.min_capacity) || !(1.0..=256.0).contains(&scaling.max_capacity) {
                return Err(ParamError::at(
                    &format!("{path}.serverless_v2"),
                    format!(
                        "Serverless v2 capacity {}–{} ACU is outside AWS's range; min_capacity must be 0–256 and max_capacity 1–256",
                        scaling.min_capacity, scaling.max_capacity
                    ),
                ));
            }
            if scaling.min_capacity > scaling.max_capacity {
                return Err(ParamError::at(
                    &format!("{path}.serverless_v2"),
                    format!(
                        "min_capacity {} is larger than max_capacity {}; swap them",
                        scaling.min_capacity, scaling.max_capacity
                    ),
                ));
            }
        }
        if let Some(storage) = &self.storage_type {
            if storage != "aurora" && storage != "aurora-iopt1" {
                return Err(ParamError::at(
                    &format!("{path}.storage_type"),
                    format!("storage type '{storage}' is not valid for Aurora; use 'aurora' or 'aurora-iopt1'"),
                ));
            }
        }
        if let Some(monitoring) = &self.enhanced_monitoring {
            if ![1, 5, 10, 15, 30, 60].contains(&monitoring.interval_seconds) {
                return Err(ParamError::at(
                    &format!("{path}.enhanced_monitoring.interval_seconds"),
                    format!(
                        "monitoring interval {} s is not allowed; use 1, 5, 10, 15, 30 or 60",
                        monitoring.interval_seconds
                    ),
                ));
            }
        }
        if self.tags.keys().any(|key| key.starts_with("drctl:")) {
            return Err(ParamError::at(
                &format!("{path}.tags"),
                "tags starting with 'drctl:' are reserved for drctl's ownership tags; rename the tag",
            ));
        }
        Ok(())
    }
}

/// Which kind of cluster snapshot to pick as "latest".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotType {
    Automated,
    Manual,
    #[default]
    Any,
}

/// A cluster snapshot named by id or ARN, or the newest snapshot of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSelector {
    /// Snapshot identifier or ARN.
    pub id: Option<String>,
    /// Pick the newest available snapshot of this cluster.
    pub latest_of: Option<String>,
    #[serde(default, rename = "type")]
    pub snapshot_type: SnapshotType,
}

impl SnapshotSelector {
    pub(super) fn validate(&self, path: &str) -> Result<(), ParamError> {
        match (&self.id, &self.latest_of) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            (Some(_), Some(_)) => Err(ParamError::at(
                path,
                "both 'id' and 'latest_of' are set; choose the snapshot by id or as the latest of a cluster, not both",
            )),
            (None, None) => Err(ParamError::at(
                path,
                "no snapshot chosen; set 'id' (snapshot id or ARN) or 'latest_of' (a cluster identifier)",
            )),
        }
    }

    pub(super) fn describe(&self) -> String {
        match (&self.id, &self.latest_of) {
            (Some(id), _) => id.clone(),
            (None, Some(cluster)) => format!("latest snapshot of {cluster}"),
            (None, None) => "unspecified snapshot".to_string(),
        }
    }
}

/// How often a wait polls: it starts at `initial` and backs off towards `max`,
/// with jitter. Without it, the interval is derived from the step's expected duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
}

fn default_true() -> bool {
    true
}

fn default_pi_retention() -> i32 {
    7
}
