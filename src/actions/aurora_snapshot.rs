//! `aurora.snapshot`: a manual cluster snapshot taken as a safety net before risky steps.
//!
//! The snapshot identifier comes from the playbook and is deterministic per
//! run, so a re-entered step finds the snapshot an earlier attempt started and
//! adopts it, provided its ownership tags name this run. Undo keeps the
//! snapshot unless `delete_on_undo` is set, because a safety snapshot is most
//! useful exactly when the run is being rolled back.

use async_trait::async_trait;
use drctl_executor::{Action, ActionError, Outputs, ResourceEvent, ResourceRecord, StepContext};
use drctl_playbook::kinds::SnapshotParams;

use super::ActionEnv;
use super::aurora_snapshot_wait::{SNAPSHOT_RESOURCE, delete_snapshot, wait_available};
use crate::aws::AwsCall;
use crate::aws::rds::{describe_cluster, describe_cluster_snapshot, rds_tags, tag_pairs, to_utc};

const NAME: &str = "aurora.snapshot";
const INTENT_NOTE: &str = "snapshot_intent";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: SnapshotParams = super::parse(NAME, params)?;
    Ok(Box::new(SnapshotAction { params, env }))
}

struct SnapshotAction {
    params: SnapshotParams,
    env: ActionEnv,
}

impl SnapshotAction {
    fn tags(&self) -> Vec<(String, String)> {
        let mut tags = self.env.ownership_tags();
        tags.extend(self.params.tags.iter().map(|(key, value)| (key.clone(), value.clone())));
        tags
    }

    /// Rejects an existing snapshot with the target identifier unless this run created it.
    fn check_adoptable(&self, tags: &[(String, String)]) -> Result<(), ActionError> {
        if self.env.created_by_this_run(tags) {
            return Ok(());
        }
        Err(ActionError::fatal(format!(
            "cluster snapshot '{}' already exists in {} and its tags do not show that run {} created it; \
             choose another snapshot_id (template it with ${{{{ run.id }}}})",
            self.params.snapshot_id, self.params.region, self.env.run_id
        )))
    }
}

#[async_trait]
impl Action for SnapshotAction {
    fn describe(&self) -> String {
        format!(
            "take manual snapshot {} of cluster {} in {}",
            self.params.snapshot_id, self.params.cluster, self.params.region
        )
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        let params = &self.params;
        let rds = self.env.aws.rds(&params.region);
        let mut lines = Vec::new();

        match describe_cluster(&rds, &params.region, &params.cluster).await? {
            Some(cluster) => lines.push(format!(
                "cluster {} in {} is {}",
                params.cluster,
                params.region,
                cluster.status().unwrap_or("unknown")
            )),
            None => {
                return Err(ActionError::fatal(format!(
                    "DescribeDBClusters: cluster '{}' not found in {}; check the cluster parameter and the region",
                    params.cluster, params.region
                )));
            }
        }
        match describe_cluster_snapshot(&rds, &params.region, &params.snapshot_id).await? {
            Some(existing) => {
                self.check_adoptable(&tag_pairs(existing.tag_list()))?;
                lines.push(format!("would adopt snapshot {} created earlier by this run", params.snapshot_id));
            }
            None => lines.push(format!("would create manual cluster snapshot {} and wait until it is available", params.snapshot_id)),
        }
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let params = &self.params;
        let region = params.region.as_str();
        let rds = self.env.aws.rds(region);

        // Adopt what an earlier attempt created: the identifier is deterministic.
        let existing = describe_cluster_snapshot(&rds, region, &params.snapshot_id).await?;
        let event = match existing {
            Some(snapshot) => {
                self.check_adoptable(&tag_pairs(snapshot.tag_list()))?;
                tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id = %params.snapshot_id, region, "adopting cluster snapshot from an earlier attempt");
                ResourceEvent::Adopted
            }
            None => {
                cx.record_note(
                    INTENT_NOTE,
                    serde_json::json!({ "snapshot_id": params.snapshot_id, "region": region, "cluster": params.cluster }),
                )
                .await?;
                let call = AwsCall::new("CreateDBClusterSnapshot", &params.snapshot_id, region);
                rds.create_db_cluster_snapshot()
                    .db_cluster_identifier(&params.cluster)
                    .db_cluster_snapshot_identifier(&params.snapshot_id)
                    .set_tags(Some(rds_tags(&self.tags())))
                    .send()
                    .await
                    .map_err(|error| call.error(&error))?;
                tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id = %params.snapshot_id, cluster = %params.cluster, region, "cluster snapshot started");
                ResourceEvent::Created
            }
        };

        let snapshot = wait_available(cx, self.env.poller(params.poll.as_ref()), &rds, region, &params.snapshot_id).await?;
        let arn = snapshot.db_cluster_snapshot_arn().unwrap_or_default().to_string();
        cx.record_resource(ResourceRecord {
            resource_type: SNAPSHOT_RESOURCE.to_string(),
            id: params.snapshot_id.clone(),
            region: region.to_string(),
            arn: Some(arn.clone()),
            event,
        })
        .await?;

        let created_at = to_utc(snapshot.snapshot_create_time()).ok_or_else(|| {
            AwsCall::new("DescribeDBClusterSnapshots", &params.snapshot_id, region).fatal("the response has no SnapshotCreateTime")
        })?;
        let mut outputs = Outputs::new();
        outputs.insert("snapshot_id".into(), params.snapshot_id.clone().into());
        outputs.insert("snapshot_arn".into(), arn.into());
        outputs.insert("created_at".into(), created_at.to_rfc3339().into());
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        let params = &self.params;
        if !params.delete_on_undo {
            tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id = %params.snapshot_id, "keeping the safety snapshot on undo (delete_on_undo is off)");
            return Ok(());
        }
        let region = params.region.as_str();
        let rds = self.env.aws.rds(region);
        let Some(snapshot) = describe_cluster_snapshot(&rds, region, &params.snapshot_id).await? else {
            return Ok(());
        };
        self.env
            .check_may_delete(SNAPSHOT_RESOURCE, &params.snapshot_id, region, &tag_pairs(snapshot.tag_list()))?;
        delete_snapshot(cx, &rds, region, &params.snapshot_id, snapshot.db_cluster_snapshot_arn().map(str::to_string)).await
    }
}
