//! `aurora.restore_snapshot`: restore an Aurora cluster from a cluster
//! snapshot into a new cluster, in the target's region, with
//! RestoreDBClusterFromSnapshot.
//!
//! The snapshot is looked up in the target region, so restoring in a backup
//! region means naming a snapshot already copied there. `same-as-source`
//! settings come from the snapshot's source cluster when that cluster exists
//! in the target region; the KMS key comes from the snapshot itself.

use async_trait::async_trait;
use aws_sdk_rds::types::{DbCluster, DbClusterSnapshot, ServerlessV2ScalingConfiguration};
use drctl_executor::{Action, ActionError, Outputs, ResourceEvent, StepContext};
use drctl_playbook::kinds::RestoreSnapshotParams;
use serde::{Deserialize, Serialize};

use super::ActionEnv;
use super::aurora_cluster::{self, ResolvedTarget, SourceSettings};
use crate::aws::AwsCall;
use crate::aws::rds::{describe_cluster, describe_cluster_snapshot, resolve_snapshot, to_utc};

pub const NAME: &str = "aurora.restore_snapshot";

/// Key of the intent note recorded just before the restore call.
const INTENT_NOTE: &str = "restore_intent";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: RestoreSnapshotParams = super::parse(NAME, params)?;
    Ok(Box::new(RestoreSnapshot { params, env }))
}

struct RestoreSnapshot {
    params: RestoreSnapshotParams,
    env: ActionEnv,
}

/// The intent note: the cluster about to be created and the snapshot it comes
/// from, so a later attempt reports the same snapshot even when the selector
/// (`latest_of`) would now pick a newer one.
#[derive(Debug, Serialize, Deserialize)]
struct RestoreIntent {
    cluster_id: String,
    region: String,
    snapshot_arn: String,
    snapshot_created: chrono::DateTime<chrono::Utc>,
}

impl RestoreSnapshot {
    fn region(&self) -> &str {
        &self.params.target.region
    }

    /// Reads what `same-as-source` copies: the snapshot's source cluster, when
    /// it exists in the target region, and the snapshot's KMS key.
    async fn source_settings(&self, snapshot: &DbClusterSnapshot) -> Result<SourceSettings, ActionError> {
        let region = self.region();
        let snapshot_id = snapshot.db_cluster_snapshot_identifier().unwrap_or_default();
        let source_cluster = snapshot.db_cluster_identifier().unwrap_or_default();
        let cluster = if source_cluster.is_empty() {
            None
        } else {
            describe_cluster(&self.env.aws.rds(region), region, source_cluster).await?
        };
        let mut settings = match &cluster {
            Some(cluster) => SourceSettings::from_cluster(cluster, format!("snapshot {snapshot_id}'s source cluster {source_cluster}")),
            None => SourceSettings {
                described_as: format!("snapshot {snapshot_id} (its source cluster '{source_cluster}' does not exist in {region})"),
                ..SourceSettings::default()
            },
        };
        // The snapshot's own key is the one that decrypts it in this region.
        settings.kms_key = snapshot.kms_key_id().map(str::to_string).or(settings.kms_key);
        Ok(settings)
    }

    async fn send_restore(&self, snapshot: &DbClusterSnapshot, resolved: &ResolvedTarget) -> Result<DbCluster, ActionError> {
        let target = &self.params.target;
        let region = self.region();
        // The snapshot was found in the target region, so its identifier names it there.
        let snapshot_ref = snapshot
            .db_cluster_snapshot_identifier()
            .or(snapshot.db_cluster_snapshot_arn())
            .unwrap_or_default();
        let engine = self
            .params
            .engine
            .clone()
            .or_else(|| snapshot.engine().map(str::to_string))
            .ok_or_else(|| ActionError::fatal(format!("snapshot {snapshot_ref} in {region} names no engine; set engine explicitly")))?;

        let mut request = self
            .env
            .aws
            .rds(region)
            .restore_db_cluster_from_snapshot()
            .db_cluster_identifier(&target.cluster_id)
            .snapshot_identifier(snapshot_ref)
            .engine(engine)
            .db_subnet_group_name(&resolved.subnet_group)
            .set_vpc_security_group_ids(Some(resolved.security_groups.clone()))
            .set_kms_key_id(resolved.kms_key.clone())
            .enable_iam_database_authentication(target.iam_database_authentication)
            .deletion_protection(target.deletion_protection)
            .copy_tags_to_snapshot(true)
            .set_tags(Some(aurora_cluster::cluster_tags(&self.env, &target.tags)))
            .set_storage_type(target.storage_type.clone())
            .set_engine_version(target.engine_version.clone())
            .set_db_cluster_parameter_group_name(target.cluster_parameter_group.clone());
        if let Some(scaling) = &target.serverless_v2 {
            request = request.serverless_v2_scaling_configuration(
                ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(scaling.min_capacity)
                    .max_capacity(scaling.max_capacity)
                    .build(),
            );
        }

        let call = AwsCall::new("RestoreDBClusterFromSnapshot", &target.cluster_id, region);
        let output = request.send().await.map_err(|error| call.error(&error))?;
        output.db_cluster.ok_or_else(|| call.fatal("the response contains no DBCluster"))
    }

    fn noted_intent(&self, cx: &StepContext) -> Option<RestoreIntent> {
        cx.notes()
            .get(INTENT_NOTE)
            .and_then(|value| serde_json::from_value::<RestoreIntent>(value.clone()).ok())
            .filter(|intent| intent.cluster_id == self.params.target.cluster_id)
    }
}

fn snapshot_created(snapshot: &DbClusterSnapshot, region: &str) -> Result<chrono::DateTime<chrono::Utc>, ActionError> {
    to_utc(snapshot.snapshot_create_time()).ok_or_else(|| {
        AwsCall::new("DescribeDBClusterSnapshots", snapshot.db_cluster_snapshot_identifier().unwrap_or_default(), region)
            .fatal("the snapshot reports no SnapshotCreateTime")
    })
}

#[async_trait]
impl Action for RestoreSnapshot {
    fn describe(&self) -> String {
        let snapshot = match (&self.params.snapshot.id, &self.params.snapshot.latest_of) {
            (Some(id), _) => format!("snapshot {id}"),
            (None, Some(cluster)) => format!("the latest snapshot of {cluster}"),
            (None, None) => "an unspecified snapshot".to_string(),
        };
        format!("restore {snapshot} into new cluster {} in {}", self.params.target.cluster_id, self.region())
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        let target = &self.params.target;
        let region = self.region();
        if let Some(cluster) = aurora_cluster::find_owned_cluster(&self.env, region, &target.cluster_id).await? {
            return Ok(vec![format!(
                "adopt cluster {} in {region} (status {}), which this run created earlier, and wait until it is available",
                target.cluster_id,
                cluster.status().unwrap_or("unknown")
            )]);
        }
        // In a dry run the snapshot often comes from a copy step that did not run.
        if let Some(id) = &self.params.snapshot.id {
            if describe_cluster_snapshot(&self.env.aws.rds(region), region, id).await?.is_none() {
                return Ok(vec![
                    format!("snapshot {id} does not exist in {region} yet; an earlier step must create it"),
                    format!("restore it into new cluster {} in {region} and wait until it is available", target.cluster_id),
                ]);
            }
        }
        let snapshot = resolve_snapshot(&self.env.aws.rds(region), region, &self.params.snapshot).await?;
        let settings = self.source_settings(&snapshot).await?;
        let resolved = aurora_cluster::resolve_target(target, &settings)?;
        let mut lines = vec![format!(
            "restore snapshot {} (created {}, status {}) in {region}",
            snapshot.db_cluster_snapshot_arn().unwrap_or_default(),
            snapshot_created(&snapshot, region)?.to_rfc3339(),
            snapshot.status().unwrap_or("unknown")
        )];
        lines.extend(aurora_cluster::describe_target(target, &resolved));
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let target = &self.params.target;
        let region = self.region();
        let poll = self.params.poll.as_ref();

        let (snapshot_arn, snapshot_created) = match aurora_cluster::find_owned_cluster(&self.env, region, &target.cluster_id).await? {
            Some(cluster) => {
                tracing::info!(run_id = %self.env.run_id, step_id = cx.step_id(), cluster_id = %target.cluster_id, region, "adopting cluster restored by an earlier attempt");
                aurora_cluster::record_cluster(cx, &cluster, region, ResourceEvent::Adopted).await?;
                match self.noted_intent(cx) {
                    Some(intent) => (intent.snapshot_arn, intent.snapshot_created),
                    None => {
                        let snapshot = resolve_snapshot(&self.env.aws.rds(region), region, &self.params.snapshot).await?;
                        (snapshot.db_cluster_snapshot_arn().unwrap_or_default().to_string(), snapshot_created(&snapshot, region)?)
                    }
                }
            }
            None => {
                let snapshot = resolve_snapshot(&self.env.aws.rds(region), region, &self.params.snapshot).await?;
                if snapshot.status() != Some("available") {
                    return Err(ActionError::transitional(format!(
                        "snapshot {} in {region} has status '{}'; a restore needs an available snapshot, so the step will retry",
                        snapshot.db_cluster_snapshot_identifier().unwrap_or_default(),
                        snapshot.status().unwrap_or("unknown")
                    )));
                }
                let settings = self.source_settings(&snapshot).await?;
                let resolved = aurora_cluster::resolve_target(target, &settings)?;
                let intent = RestoreIntent {
                    cluster_id: target.cluster_id.clone(),
                    region: region.to_string(),
                    snapshot_arn: snapshot.db_cluster_snapshot_arn().unwrap_or_default().to_string(),
                    snapshot_created: snapshot_created(&snapshot, region)?,
                };
                let note = serde_json::to_value(&intent).map_err(|error| ActionError::fatal(format!("failed to encode the restore intent note: {error}")))?;
                cx.record_note(INTENT_NOTE, note).await?;

                tracing::info!(
                    run_id = %self.env.run_id, step_id = cx.step_id(), cluster_id = %target.cluster_id, region,
                    snapshot = %intent.snapshot_arn, "calling RestoreDBClusterFromSnapshot"
                );
                let cluster = self.send_restore(&snapshot, &resolved).await?;
                aurora_cluster::record_cluster(cx, &cluster, region, ResourceEvent::Created).await?;
                (intent.snapshot_arn, intent.snapshot_created)
            }
        };

        let cluster = aurora_cluster::wait_cluster_available(&self.env, cx, region, &target.cluster_id, poll).await?;
        let cluster = aurora_cluster::apply_post_restore_settings(&self.env, cx, cluster, target, poll).await?;

        let mut outputs = aurora_cluster::cluster_outputs(&cluster, region)?;
        outputs.insert("snapshot_arn".into(), serde_json::Value::String(snapshot_arn));
        outputs.insert("restored_to".into(), aurora_cluster::timestamp(snapshot_created));
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, outputs: &Outputs) -> Result<(), ActionError> {
        let target = &self.params.target;
        let cluster_id = outputs.get("cluster_id").and_then(|value| value.as_str()).unwrap_or(&target.cluster_id);
        aurora_cluster::delete_restored_cluster(&self.env, cx, self.region(), cluster_id, target.deletion_protection, self.params.poll.as_ref())
            .await
    }
}
