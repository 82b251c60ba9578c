//! `aurora.create_instances`: add the writer (and readers) that a restored cluster lacks.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, PollPolicy, ValueType};

pub const NAME: &str = "aurora.create_instances";

/// Parameters for creating a restored cluster's instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInstancesParams {
    pub cluster_id: String,
    pub region: String,
    pub writer: InstanceSpec,
    #[serde(default)]
    pub readers: Vec<InstanceSpec>,
    /// Instance class; Serverless v2 clusters use `db.serverless`.
    #[serde(default = "default_instance_class")]
    pub instance_class: String,
    pub db_parameter_group: Option<String>,
    /// Enable Performance Insights on each instance, with this retention in days.
    pub performance_insights_retention_days: Option<i32>,
    /// Enhanced Monitoring interval in seconds (1, 5, 10, 15, 30 or 60) and its role.
    pub monitoring_interval_seconds: Option<i32>,
    pub monitoring_role_arn: Option<String>,
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    pub poll: Option<PollPolicy>,
}

/// One instance to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub id: String,
    pub availability_zone: Option<String>,
}

fn default_instance_class() -> String {
    "db.serverless".to_string()
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "writer_instance_id", ty: ValueType::String, description: "identifier of the writer instance" },
    OutputDecl { name: "writer_instance_endpoint", ty: ValueType::String, description: "the writer instance's own endpoint host name" },
    OutputDecl { name: "instance_ids", ty: ValueType::String, description: "all created instance ids, comma-separated" },
    OutputDecl { name: "cluster_wait_seconds", ty: ValueType::Number, description: "seconds spent waiting for the cluster to be available" },
    OutputDecl { name: "instances_wait_seconds", ty: ValueType::Number, description: "seconds from the create calls until every instance was available" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: CreateInstancesParams = super::parse_params(value)?;
    if params.monitoring_interval_seconds.is_some() != params.monitoring_role_arn.is_some() {
        return Err(ParamError::at(
            "monitoring_interval_seconds",
            "Enhanced Monitoring needs both monitoring_interval_seconds and monitoring_role_arn",
        ));
    }
    let mut ids: Vec<&str> = vec![params.writer.id.as_str()];
    for reader in &params.readers {
        if ids.contains(&reader.id.as_str()) {
            return Err(ParamError::at("readers", format!("instance id '{}' is used twice", reader.id)));
        }
        ids.push(reader.id.as_str());
    }
    // Adding instances changes the cluster too, so a protected cluster is caught.
    let cluster = Effect::new(EffectAction::Modify, "rds:cluster", &params.cluster_id, &params.region);
    Ok(std::iter::once(cluster)
        .chain(ids.into_iter().map(|id| Effect::new(EffectAction::Create, "rds:instance", id, &params.region)))
        .collect())
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Create a restored cluster's writer and readers (db.serverless by default) and wait until each is available",
        outputs: OUTPUTS,
        destructive: false,
        check,
        schema: super::schema_of::<CreateInstancesParams>,
        example: r#"- id: writer
  kind: aurora.create_instances
  needs: [restore-primary]
  timeout: 30m
  expected: 6m
  params:
    cluster_id: "${{ steps.restore-primary.outputs.cluster_id }}"
    region: eu-west-2
    writer: { id: "drill-${{ run.id }}-writer", availability_zone: eu-west-2a }
    instance_class: db.serverless
"#,
    }
}
