//! `aurora.delete`: delete clusters, instances and cluster snapshots that this run created.
//!
//! Scope `run` finds resources by their `drctl:run-id` tag in each region;
//! scope `listed` takes cluster and snapshot identifiers from the playbook.
//! Either way a resource is deleted only when `ActionEnv::check_may_delete`
//! accepts it: drctl ownership tags naming this run, and not protected by the
//! playbook. Everything else is counted in the `refused` output, logged and
//! journalled as a check, never silently skipped.
//!
//! Deletion protection is turned off only on clusters tagged
//! [`TAG_DELETION_PROTECTION_SET`]`=true`, the tag a drctl restore adds when it
//! turns protection on. A protected cluster without that tag fails the step
//! after the other resources are handled, because someone else chose to
//! protect it.
//!
//! Instances go before their cluster, because RDS rejects DeleteDBCluster
//! while the cluster has instances that are not being deleted.

use async_trait::async_trait;
use aws_sdk_rds::types::{DbCluster, DbClusterSnapshot, DbInstance};
use drctl_executor::{Action, ActionError, Outputs, ResourceEvent, ResourceRecord, StepContext};
use drctl_playbook::kinds::{DeleteParams, DeleteScope};

use super::ActionEnv;
use super::aurora_snapshot_wait::{SNAPSHOT_RESOURCE, delete_snapshot, list_manual_snapshots, wait_snapshot_gone};
use super::ownership::TAG_RUN_ID;
use crate::aws::rds::{describe_cluster, describe_cluster_snapshot, tag_pairs};
use crate::aws::{AwsCall, PollStatus, Poller, is_not_found};

const NAME: &str = "aurora.delete";
const CLUSTER_RESOURCE: &str = "rds:cluster";
const INSTANCE_RESOURCE: &str = "rds:instance";

/// Tag a drctl step sets to `true` on a cluster when it turned deletion
/// protection on; only then may `aurora.delete` turn it off again.
pub(crate) const TAG_DELETION_PROTECTION_SET: &str = "drctl:deletion-protection-set";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: DeleteParams = super::parse(NAME, params)?;
    Ok(Box::new(DeleteAction { params, env }))
}

struct DeleteAction {
    params: DeleteParams,
    env: ActionEnv,
}

/// A cluster to delete, with its member instances as described.
struct ClusterTarget {
    cluster: DbCluster,
    instances: Vec<DbInstance>,
}

/// The resources of one region that this step deletes, and those it rejects.
#[derive(Default)]
struct RegionPlan {
    clusters: Vec<ClusterTarget>,
    /// Instances tagged with the run whose cluster is not deleted by this step.
    instances: Vec<DbInstance>,
    snapshots: Vec<DbClusterSnapshot>,
    /// Resources the ownership check rejected, one sentence each.
    refused: Vec<String>,
}

fn has_run_tag(tags: &[(String, String)], run_id: &str) -> bool {
    tags.iter().any(|(key, value)| key == TAG_RUN_ID && value == run_id)
}

impl DeleteAction {
    fn regions(&self) -> Vec<String> {
        match self.params.scope {
            DeleteScope::Run => self.params.regions.clone(),
            DeleteScope::Listed => self.params.region.iter().cloned().collect(),
        }
    }

    fn poller(&self) -> Poller {
        self.env.poller(self.params.poll.as_ref())
    }

    async fn all_clusters(&self, rds: &aws_sdk_rds::Client, region: &str) -> Result<Vec<DbCluster>, ActionError> {
        let call = AwsCall::new("DescribeDBClusters", "all clusters", region);
        let mut pages = rds.describe_db_clusters().into_paginator().send();
        let mut clusters = Vec::new();
        while let Some(page) = pages.next().await {
            clusters.extend(page.map_err(|error| call.error(&error))?.db_clusters.unwrap_or_default());
        }
        Ok(clusters)
    }

    async fn all_instances(&self, rds: &aws_sdk_rds::Client, region: &str) -> Result<Vec<DbInstance>, ActionError> {
        let call = AwsCall::new("DescribeDBInstances", "all instances", region);
        let mut pages = rds.describe_db_instances().into_paginator().send();
        let mut instances = Vec::new();
        while let Some(page) = pages.next().await {
            instances.extend(page.map_err(|error| call.error(&error))?.db_instances.unwrap_or_default());
        }
        Ok(instances)
    }

    /// Applies the ownership check to a cluster and its instances. Returns the
    /// refusal sentence when any of them may not be deleted.
    fn check_cluster(&self, region: &str, target: &ClusterTarget) -> Option<String> {
        let id = target.cluster.db_cluster_identifier().unwrap_or_default();
        if let Err(error) = self.env.check_may_delete(CLUSTER_RESOURCE, id, region, &tag_pairs(target.cluster.tag_list())) {
            return Some(error.message);
        }
        for instance in &target.instances {
            let instance_id = instance.db_instance_identifier().unwrap_or_default();
            if let Err(error) = self.env.check_may_delete(INSTANCE_RESOURCE, instance_id, region, &tag_pairs(instance.tag_list())) {
                return Some(format!("{}; so cluster {id} is kept as well", error.message));
            }
        }
        None
    }

    /// Finds what to delete in one region and sorts out what the ownership check rejects.
    async fn plan_region(&self, region: &str) -> Result<RegionPlan, ActionError> {
        let rds = self.env.aws.rds(region);
        let run_id = self.env.run_id.as_str();
        let mut plan = RegionPlan::default();

        let (clusters, snapshots) = match self.params.scope {
            DeleteScope::Run => {
                let clusters: Vec<DbCluster> = self
                    .all_clusters(&rds, region)
                    .await?
                    .into_iter()
                    .filter(|cluster| has_run_tag(&tag_pairs(cluster.tag_list()), run_id))
                    .collect();
                let snapshots: Vec<DbClusterSnapshot> = list_manual_snapshots(&rds, region)
                    .await?
                    .into_iter()
                    .filter(|snapshot| has_run_tag(&tag_pairs(snapshot.tag_list()), run_id))
                    .collect();
                (clusters, snapshots)
            }
            DeleteScope::Listed => {
                let mut clusters = Vec::new();
                for id in &self.params.clusters {
                    match describe_cluster(&rds, region, id).await? {
                        Some(cluster) => clusters.push(cluster),
                        None => tracing::info!(run_id, step_id = %self.env.step_id, cluster = %id, region, "listed cluster not found; an earlier attempt may have deleted it"),
                    }
                }
                let mut snapshots = Vec::new();
                for id in &self.params.snapshots {
                    match describe_cluster_snapshot(&rds, region, id).await? {
                        Some(snapshot) => snapshots.push(snapshot),
                        None => tracing::info!(run_id, step_id = %self.env.step_id, snapshot_id = %id, region, "listed snapshot not found; an earlier attempt may have deleted it"),
                    }
                }
                (clusters, snapshots)
            }
        };

        // Instances: the members of each cluster, plus (scope run) strays tagged with the run.
        let instances = self.all_instances(&rds, region).await?;
        let cluster_ids: Vec<String> = clusters.iter().map(|cluster| cluster.db_cluster_identifier().unwrap_or_default().to_string()).collect();
        for cluster in clusters {
            let id = cluster.db_cluster_identifier().unwrap_or_default();
            let members = instances.iter().filter(|instance| instance.db_cluster_identifier() == Some(id)).cloned().collect();
            let target = ClusterTarget { cluster, instances: members };
            match self.check_cluster(region, &target) {
                Some(refusal) => plan.refused.push(refusal),
                None => plan.clusters.push(target),
            }
        }
        if self.params.scope == DeleteScope::Run {
            for instance in instances {
                let in_planned_cluster = instance.db_cluster_identifier().is_some_and(|id| cluster_ids.iter().any(|c| c == id));
                if in_planned_cluster || !has_run_tag(&tag_pairs(instance.tag_list()), run_id) {
                    continue;
                }
                let id = instance.db_instance_identifier().unwrap_or_default();
                match self.env.check_may_delete(INSTANCE_RESOURCE, id, region, &tag_pairs(instance.tag_list())) {
                    Ok(()) => plan.instances.push(instance),
                    Err(error) => plan.refused.push(error.message),
                }
            }
        }
        for snapshot in snapshots {
            let id = snapshot.db_cluster_snapshot_identifier().unwrap_or_default();
            match self.env.check_may_delete(SNAPSHOT_RESOURCE, id, region, &tag_pairs(snapshot.tag_list())) {
                Ok(()) => plan.snapshots.push(snapshot),
                Err(error) => plan.refused.push(error.message),
            }
        }
        Ok(plan)
    }

    /// Deletes one instance (already checked) and journals it; an instance already gone or deleting is fine.
    async fn delete_instance(&self, cx: &StepContext, region: &str, instance: &DbInstance) -> Result<(), ActionError> {
        let rds = self.env.aws.rds(region);
        let id = instance.db_instance_identifier().unwrap_or_default();
        if instance.db_instance_status() != Some("deleting") {
            let call = AwsCall::new("DeleteDBInstance", id, region);
            match rds.delete_db_instance().db_instance_identifier(id).skip_final_snapshot(true).send().await {
                Ok(_) => {}
                Err(error) if is_not_found(AwsCall::code(&error)) => {}
                Err(error) => return Err(call.error(&error)),
            }
        }
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), instance = id, region, "instance deletion started");
        cx.record_resource(ResourceRecord {
            resource_type: INSTANCE_RESOURCE.to_string(),
            id: id.to_string(),
            region: region.to_string(),
            arn: instance.db_instance_arn().map(str::to_string),
            event: ResourceEvent::Deleted,
        })
        .await
    }

    async fn wait_instance_gone(&self, cx: &StepContext, region: &str, id: &str) -> Result<(), ActionError> {
        let rds = &self.env.aws.rds(region);
        let what = format!("deletion of instance {id} in {region}");
        self.poller()
            .wait(cx, &what, move || async move {
                let call = AwsCall::new("DescribeDBInstances", id, region);
                match rds.describe_db_instances().db_instance_identifier(id).send().await {
                    Ok(output) => match output.db_instances.unwrap_or_default().into_iter().next() {
                        None => Ok(PollStatus::Ready(())),
                        Some(instance) => Ok(PollStatus::Pending {
                            status: format!("instance {id} {}", instance.db_instance_status().unwrap_or("unknown")),
                            percent: None,
                        }),
                    },
                    Err(error) if is_not_found(AwsCall::code(&error)) => Ok(PollStatus::Ready(())),
                    Err(error) => Err(call.error(&error)),
                }
            })
            .await
    }

    async fn wait_cluster_gone(&self, cx: &StepContext, region: &str, id: &str) -> Result<(), ActionError> {
        let rds = &self.env.aws.rds(region);
        let what = format!("deletion of cluster {id} in {region}");
        self.poller()
            .wait(cx, &what, move || async move {
                match describe_cluster(rds, region, id).await? {
                    None => Ok(PollStatus::Ready(())),
                    Some(cluster) => Ok(PollStatus::Pending {
                        status: format!("cluster {id} {}", cluster.status().unwrap_or("unknown")),
                        percent: None,
                    }),
                }
            })
            .await
    }

    /// Turns deletion protection off when drctl turned it on, and waits until
    /// the cluster is available again. Errors when someone else turned it on.
    async fn lift_deletion_protection(&self, cx: &StepContext, region: &str, cluster: &DbCluster) -> Result<(), ActionError> {
        let id = cluster.db_cluster_identifier().unwrap_or_default();
        let tags = tag_pairs(cluster.tag_list());
        let set_by_drctl = tags.iter().any(|(key, value)| key == TAG_DELETION_PROTECTION_SET && value == "true");
        if !set_by_drctl {
            return Err(ActionError::fatal(format!(
                "cluster {id} in {region} has deletion protection on, and no {TAG_DELETION_PROTECTION_SET}=true tag shows \
                 that drctl turned it on; drctl does not lift protection someone else chose. Turn it off by hand if the cluster must go"
            )));
        }
        self.env.check_may_modify(CLUSTER_RESOURCE, id, region, &tags)?;

        let rds = &self.env.aws.rds(region);
        let call = AwsCall::new("ModifyDBCluster", id, region);
        rds.modify_db_cluster()
            .db_cluster_identifier(id)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|error| call.error(&error))?;
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), cluster = id, region, "turned off deletion protection that drctl had set");

        let what = format!("cluster {id} in {region} after turning off deletion protection");
        self.poller()
            .wait(cx, &what, move || async move {
                let Some(cluster) = describe_cluster(rds, region, id).await? else {
                    return Ok(PollStatus::Ready(()));
                };
                let status = cluster.status().unwrap_or("unknown");
                if status == "available" && cluster.deletion_protection() == Some(false) {
                    Ok(PollStatus::Ready(()))
                } else {
                    Ok(PollStatus::Pending { status: format!("cluster {id} {status}"), percent: None })
                }
            })
            .await
    }

    /// Deletes a checked cluster: its instances first (waiting until they are gone), then the cluster.
    async fn delete_cluster(&self, cx: &StepContext, region: &str, target: &ClusterTarget) -> Result<(), ActionError> {
        let cluster = &target.cluster;
        let id = cluster.db_cluster_identifier().unwrap_or_default();
        let rds = self.env.aws.rds(region);

        for instance in &target.instances {
            self.delete_instance(cx, region, instance).await?;
        }
        for instance in &target.instances {
            self.wait_instance_gone(cx, region, instance.db_instance_identifier().unwrap_or_default()).await?;
        }

        if cluster.status() != Some("deleting") {
            if cluster.deletion_protection() == Some(true) {
                self.lift_deletion_protection(cx, region, cluster).await?;
            }
            let call = AwsCall::new("DeleteDBCluster", id, region);
            let mut request = rds.delete_db_cluster().db_cluster_identifier(id);
            request = if self.params.final_snapshot {
                request.skip_final_snapshot(false).final_db_snapshot_identifier(final_snapshot_id(id, &self.env.run_id))
            } else {
                request.skip_final_snapshot(true)
            };
            match request.send().await {
                Ok(_) => {}
                Err(error) if is_not_found(AwsCall::code(&error)) => {}
                Err(error) => return Err(call.error(&error)),
            }
        }
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), cluster = id, region, "cluster deletion started");
        cx.record_resource(ResourceRecord {
            resource_type: CLUSTER_RESOURCE.to_string(),
            id: id.to_string(),
            region: region.to_string(),
            arn: cluster.db_cluster_arn().map(str::to_string),
            event: ResourceEvent::Deleted,
        })
        .await?;
        if self.params.wait {
            self.wait_cluster_gone(cx, region, id).await?;
        }
        Ok(())
    }
}

/// Identifier of a cluster's final snapshot: at most 255 characters, no double
/// hyphen and no trailing hyphen, as RDS requires.
/// What one region's cleanup did.
#[derive(Default)]
struct RegionOutcome {
    deleted: usize,
    refused: Vec<String>,
    protection_errors: Vec<String>,
}

impl DeleteAction {
    /// Deletes this run's clusters (with their instances), loose instances and
    /// snapshots in one region, clusters concurrently.
    async fn clean_region(&self, cx: &StepContext, region: &str) -> Result<RegionOutcome, ActionError> {
        let mut outcome = RegionOutcome::default();
        let plan = self.plan_region(region).await?;
        for refusal in &plan.refused {
            tracing::warn!(run_id = cx.run_id(), step_id = cx.step_id(), region = %region, "{refusal}");
        }
        outcome.refused.extend(plan.refused.iter().cloned());

        let clusters = futures_util::future::join_all(
            plan.clusters.iter().map(|target| async move { (target, self.delete_cluster(cx, region, target).await) }),
        )
        .await;
        for (target, result) in clusters {
            match result {
                Ok(()) => outcome.deleted += 1 + target.instances.len(),
                Err(error) if error.message.contains(TAG_DELETION_PROTECTION_SET) => {
                    outcome.protection_errors.push(error.message)
                }
                Err(error) => return Err(error),
            }
        }

        for instance in &plan.instances {
            self.delete_instance(cx, region, instance).await?;
            outcome.deleted += 1;
        }
        if self.params.wait {
            for instance in &plan.instances {
                self.wait_instance_gone(cx, region, instance.db_instance_identifier().unwrap_or_default()).await?;
            }
        }

        let rds = self.env.aws.rds(region);
        for snapshot in &plan.snapshots {
            let id = snapshot.db_cluster_snapshot_identifier().unwrap_or_default();
            delete_snapshot(cx, &rds, region, id, snapshot.db_cluster_snapshot_arn().map(str::to_string)).await?;
            outcome.deleted += 1;
        }
        if self.params.wait {
            for snapshot in &plan.snapshots {
                let id = snapshot.db_cluster_snapshot_identifier().unwrap_or_default();
                wait_snapshot_gone(cx, self.poller(), &rds, region, id).await?;
            }
        }
        Ok(outcome)
    }
}

fn final_snapshot_id(cluster: &str, run_id: &str) -> String {
    let mut id: String = format!("{cluster}-final-{run_id}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    id.truncate(255);
    id.trim_end_matches('-').to_string()
}

#[async_trait]
impl Action for DeleteAction {
    fn describe(&self) -> String {
        match self.params.scope {
            DeleteScope::Run => format!(
                "delete every cluster, instance and cluster snapshot tagged with run {} in {}",
                self.env.run_id,
                self.params.regions.join(", ")
            ),
            DeleteScope::Listed => format!(
                "delete clusters [{}] and snapshots [{}] in {} if this run created them",
                self.params.clusters.join(", "),
                self.params.snapshots.join(", "),
                self.params.region.as_deref().unwrap_or("(no region)")
            ),
        }
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        let mut lines = Vec::new();
        for region in self.regions() {
            let plan = self.plan_region(&region).await?;
            for target in &plan.clusters {
                let id = target.cluster.db_cluster_identifier().unwrap_or_default();
                let members: Vec<&str> = target.instances.iter().map(|i| i.db_instance_identifier().unwrap_or_default()).collect();
                lines.push(format!("would delete cluster {id} in {region} with instances [{}]", members.join(", ")));
            }
            for instance in &plan.instances {
                lines.push(format!("would delete instance {} in {region}", instance.db_instance_identifier().unwrap_or_default()));
            }
            for snapshot in &plan.snapshots {
                lines.push(format!("would delete cluster snapshot {} in {region}", snapshot.db_cluster_snapshot_identifier().unwrap_or_default()));
            }
            lines.extend(plan.refused.iter().map(|refusal| format!("would leave alone: {refusal}")));
        }
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        // Regions, and clusters within a region, are cleaned up concurrently:
        // each delete is a wait of minutes on AWS's side, and a drill's
        // cleanup would otherwise take the sum of them.
        let regions = self.regions();
        let outcomes = futures_util::future::join_all(regions.iter().map(|region| self.clean_region(cx, region))).await;
        let mut deleted = 0usize;
        let mut refused = Vec::new();
        let mut protection_errors = Vec::new();
        for outcome in outcomes {
            let outcome = outcome?;
            deleted += outcome.deleted;
            refused.extend(outcome.refused);
            protection_errors.extend(outcome.protection_errors);
        }

        // A note, not a check: reports list checks as pass/fail evidence of the restore.
        cx.record_note("cleanup", serde_json::json!({ "deleted": deleted, "refused": refused })).await?;
        if !protection_errors.is_empty() {
            return Err(ActionError::fatal(protection_errors.join("; ")));
        }
        // With scope `listed` the playbook named each resource, so leaving one
        // behind is a failure; scope `run` only reports what it left alone.
        if self.params.scope == DeleteScope::Listed && !refused.is_empty() {
            return Err(ActionError::fatal(format!(
                "refused to delete {} listed resource(s): {}",
                refused.len(),
                refused.join("; ")
            )));
        }
        let mut outputs = Outputs::new();
        outputs.insert("deleted".into(), deleted.into());
        outputs.insert("refused".into(), refused.len().into());
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        // A deletion cannot be reversed; the final snapshots, if any, remain for a manual restore.
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), "nothing to undo for a delete");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_snapshot_id_is_valid() {
        assert_eq!(final_snapshot_id("restored", "drill-42"), "restored-final-drill-42");
        assert_eq!(final_snapshot_id("a", "run--x-"), "a-final-run-x");
        assert!(final_snapshot_id(&"c".repeat(300), "r").len() <= 255);
    }
}
