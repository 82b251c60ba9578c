//! `aurora.delete`: delete clusters, instances and snapshots that drctl created.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, PollPolicy, ValueType};

pub const NAME: &str = "aurora.delete";

/// Parameters of a cleanup. Only resources whose drctl ownership tags name the
/// current run are deleted; anything else is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    #[serde(default)]
    pub scope: DeleteScope,
    /// Regions to search when `scope` is `run`.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Clusters to delete (with their instances) when `scope` is `listed`.
    #[serde(default)]
    pub clusters: Vec<String>,
    /// Snapshots to delete when `scope` is `listed`.
    #[serde(default)]
    pub snapshots: Vec<String>,
    /// Region of the listed resources.
    pub region: Option<String>,
    /// Take a final snapshot before deleting each cluster.
    #[serde(default)]
    pub final_snapshot: bool,
    /// Wait until each resource is gone.
    #[serde(default = "default_true")]
    pub wait: bool,
    pub poll: Option<PollPolicy>,
}

/// `run` deletes every resource tagged with the current run id in `regions`;
/// `listed` deletes the named resources, which must carry the run's tags too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeleteScope {
    #[default]
    Run,
    Listed,
}

fn default_true() -> bool {
    true
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "deleted", ty: ValueType::Int, description: "number of resources deleted" },
    OutputDecl { name: "refused", ty: ValueType::Int, description: "number of resources left alone because drctl did not create them in this run" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: DeleteParams = super::parse_params(value)?;
    match params.scope {
        DeleteScope::Run => {
            if params.regions.is_empty() {
                return Err(ParamError::at("regions", "scope 'run' needs the regions to clean up, for example [eu-west-2, us-east-1]"));
            }
            if !params.clusters.is_empty() || !params.snapshots.is_empty() {
                return Err(ParamError::at(
                    "clusters",
                    "clusters and snapshots are only used with scope 'listed'; scope 'run' finds the run's resources by tag",
                ));
            }
            Ok(params
                .regions
                .iter()
                .map(|region| {
                    Effect::new(EffectAction::Delete, "rds:cluster", "resources tagged with this run", region).owned()
                })
                .collect())
        }
        DeleteScope::Listed => {
            let Some(region) = &params.region else {
                return Err(ParamError::at("region", "scope 'listed' needs the region of the listed resources"));
            };
            if params.clusters.is_empty() && params.snapshots.is_empty() {
                return Err(ParamError::at("clusters", "scope 'listed' needs at least one cluster or snapshot"));
            }
            let clusters = params
                .clusters
                .iter()
                .map(|id| Effect::new(EffectAction::Delete, "rds:cluster", id, region).owned());
            let snapshots = params
                .snapshots
                .iter()
                .map(|id| Effect::new(EffectAction::Delete, "rds:cluster-snapshot", id, region).owned());
            Ok(clusters.chain(snapshots).collect())
        }
    }
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Delete the clusters, instances and snapshots that this run created, checked by ownership tags",
        outputs: OUTPUTS,
        destructive: true,
        check,
        schema: super::schema_of::<DeleteParams>,
        example: r#"- id: cleanup
  kind: aurora.delete
  always: true
  needs: [verify-primary]
  timeout: 30m
  params:
    scope: run
    regions: [eu-west-2, us-east-1]
    final_snapshot: false
"#,
    }
}
