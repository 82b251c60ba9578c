//! Code shared by the Aurora restore and instance step kinds: resolving
//! `same-as-source` settings, adopting or rejecting an existing cluster,
//! waiting for clusters and instances, the post-restore ModifyDBCluster, and
//! deleting what a restore created.
//!
//! Both restore kinds follow one protocol, so a crash at any point leaves the
//! next attempt able to decide what exists:
//!
//! 1. Describe the target identifier. If a cluster exists and carries this
//!    run's ownership tags, adopt it; if it exists without them, fail.
//! 2. Otherwise record the intent note (target id, restore point), then call
//!    the restore API, then record the resource as created.
//! 3. Wait for `available`, apply the settings the restore API rejects, wait again.

use aws_sdk_rds::types::{DbCluster, DbInstance, Tag};
use chrono::{DateTime, Utc};
use drctl_executor::{ActionError, Outputs, ResourceEvent, ResourceRecord, StepContext};
use drctl_playbook::kinds::{PollPolicy, RestoredClusterSettings, SameAsSource};

use super::ActionEnv;
use crate::aws::rds::{describe_cluster, rds_tags, tag_pairs};
use crate::aws::{AwsCall, PollStatus, is_not_found};

/// Statuses from which a cluster or instance never becomes available; a wait
/// that sees one fails at once and names the status.
pub(super) const FINAL_FAILURE_STATUSES: &[&str] = &[
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "inaccessible-encryption-credentials",
    "incompatible-network",
];

pub(super) const CLUSTER: &str = "rds:cluster";
pub(super) const INSTANCE: &str = "rds:instance";

/// Settings a `same-as-source` value can be copied from, with a phrase naming
/// where they came from for error messages.
#[derive(Debug, Clone, Default)]
pub(super) struct SourceSettings {
    pub described_as: String,
    pub subnet_group: Option<String>,
    pub security_groups: Option<Vec<String>>,
    pub kms_key: Option<String>,
}

impl SourceSettings {
    /// Reads the settings of an existing cluster.
    pub fn from_cluster(cluster: &DbCluster, described_as: String) -> SourceSettings {
        SourceSettings {
            described_as,
            subnet_group: cluster.db_subnet_group().map(str::to_string),
            security_groups: Some(
                cluster
                    .vpc_security_groups()
                    .iter()
                    .filter_map(|group| group.vpc_security_group_id().map(str::to_string))
                    .collect(),
            ),
            kms_key: cluster.kms_key_id().map(str::to_string),
        }
    }
}

/// Network and encryption settings of a restore after `same-as-source` is resolved.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ResolvedTarget {
    pub subnet_group: String,
    pub security_groups: Vec<String>,
    /// `None` only for an unencrypted source with `same-as-source`.
    pub kms_key: Option<String>,
}

/// Replaces each `same-as-source` in `target` with the source's value, or fails
/// naming the setting when the source does not provide it.
pub(super) fn resolve_target(target: &RestoredClusterSettings, source: &SourceSettings) -> Result<ResolvedTarget, ActionError> {
    let missing = |setting: &str| {
        ActionError::fatal(format!(
            "target.{setting} is 'same-as-source' but {} does not provide it; set target.{setting} explicitly for cluster {} in {}",
            source.described_as,
            target.cluster_id,
            target.region
        ))
    };
    let subnet_group = match &target.subnet_group {
        SameAsSource::Value(name) => name.clone(),
        SameAsSource::SameAsSource => source.subnet_group.clone().ok_or_else(|| missing("subnet_group"))?,
    };
    let security_groups = match &target.security_groups {
        SameAsSource::Value(groups) => groups.clone(),
        SameAsSource::SameAsSource => source.security_groups.clone().ok_or_else(|| missing("security_groups"))?,
    };
    let kms_key = match &target.kms_key {
        SameAsSource::Value(key) => Some(key.clone()),
        SameAsSource::SameAsSource => source.kms_key.clone(),
    };
    Ok(ResolvedTarget { subnet_group, security_groups, kms_key })
}

/// Builds the tags of a restored cluster: this run's ownership tags, then the playbook's.
pub(super) fn cluster_tags(env: &ActionEnv, extra: &indexmap::IndexMap<String, String>) -> Vec<Tag> {
    let mut pairs = env.ownership_tags();
    pairs.extend(extra.iter().map(|(key, value)| (key.clone(), value.clone())));
    rds_tags(&pairs)
}

/// Looks for a cluster already carrying the target identifier. Returns it when
/// this run created it (an earlier attempt), `None` when the identifier is
/// free, and an error when a cluster this run does not own has the identifier.
pub(super) async fn find_owned_cluster(env: &ActionEnv, region: &str, cluster_id: &str) -> Result<Option<DbCluster>, ActionError> {
    let rds = env.aws.rds(region);
    let Some(cluster) = describe_cluster(&rds, region, cluster_id).await? else {
        return Ok(None);
    };
    if env.created_by_this_run(&tag_pairs(cluster.tag_list())) {
        return Ok(Some(cluster));
    }
    Err(ActionError::fatal(format!(
        "cluster {cluster_id} already exists in {region} and its tags do not show that run {} created it; \
         drctl will not adopt it. Choose another target.cluster_id, or delete that cluster by hand if it is a leftover",
        env.run_id
    )))
}

/// Records a cluster as created or adopted by this step.
pub(super) async fn record_cluster(cx: &StepContext, cluster: &DbCluster, region: &str, event: ResourceEvent) -> Result<(), ActionError> {
    cx.record_resource(ResourceRecord {
        resource_type: CLUSTER.to_string(),
        id: cluster.db_cluster_identifier().unwrap_or_default().to_string(),
        region: region.to_string(),
        arn: cluster.db_cluster_arn().map(str::to_string),
        event,
    })
    .await
}

/// Polls a cluster until it is `available`. A final failure status or a
/// vanished cluster ends the wait with an error naming the status.
pub(super) async fn wait_cluster_available(
    env: &ActionEnv,
    cx: &StepContext,
    region: &str,
    cluster_id: &str,
    poll: Option<&PollPolicy>,
) -> Result<DbCluster, ActionError> {
    let rds = env.aws.rds(region);
    let what = format!("cluster {cluster_id} in {region} to be available");
    env.poller(poll)
        .wait(cx, &what, || {
            let rds = rds.clone();
            async move {
                let Some(cluster) = describe_cluster(&rds, region, cluster_id).await? else {
                    return Err(ActionError::fatal(format!(
                        "cluster {cluster_id} disappeared from {region} while drctl waited for it to be available; \
                         check CloudTrail for a DeleteDBCluster call, then rerun the step"
                    )));
                };
                let status = cluster.status().unwrap_or("unknown").to_string();
                if status == "available" {
                    return Ok(PollStatus::Ready(cluster));
                }
                if FINAL_FAILURE_STATUSES.contains(&status.as_str()) {
                    return Err(ActionError::fatal(format!(
                        "cluster {cluster_id} in {region} entered status '{status}', from which it cannot become available; \
                         check the KMS key, parameter group and restore settings, delete the cluster, and rerun the step"
                    )));
                }
                let percent = cluster.percent_progress().and_then(|text| text.trim_end_matches('%').trim().parse::<f64>().ok());
                let text = match percent {
                    Some(percent) => format!("cluster {cluster_id} {status} {percent:.0} %"),
                    None => format!("cluster {cluster_id} {status}"),
                };
                Ok(PollStatus::Pending { status: text, percent })
            }
        })
        .await
}

/// Applies Performance Insights and Enhanced Monitoring with ModifyDBCluster,
/// because RestoreDBClusterToPointInTime and RestoreDBClusterFromSnapshot
/// reject them for Aurora PostgreSQL. Skips the call when the cluster already
/// has the requested values, so re-entry does not modify twice.
pub(super) async fn apply_post_restore_settings(
    env: &ActionEnv,
    cx: &StepContext,
    cluster: DbCluster,
    target: &RestoredClusterSettings,
    poll: Option<&PollPolicy>,
) -> Result<DbCluster, ActionError> {
    let region = target.region.as_str();
    let cluster_id = target.cluster_id.as_str();
    let rds = env.aws.rds(region);
    let mut request = rds.modify_db_cluster().db_cluster_identifier(cluster_id).apply_immediately(true);
    let mut needed = false;

    if let Some(insights) = &target.performance_insights {
        let enabled_now = cluster.performance_insights_enabled().unwrap_or(false);
        let retention_now = cluster.performance_insights_retention_period();
        let requested_retention = insights.enabled.then_some(insights.retention_days);
        if enabled_now != insights.enabled || (insights.enabled && retention_now != requested_retention) {
            needed = true;
            request = request.enable_performance_insights(insights.enabled);
            if insights.enabled {
                request = request.performance_insights_retention_period(insights.retention_days);
                if let Some(key) = &insights.kms_key {
                    request = request.performance_insights_kms_key_id(key);
                }
            }
        }
    }
    if let Some(monitoring) = &target.enhanced_monitoring {
        let interval_now = cluster.monitoring_interval().unwrap_or(0);
        let role_now = cluster.monitoring_role_arn().unwrap_or_default();
        if interval_now != monitoring.interval_seconds || role_now != monitoring.role_arn {
            needed = true;
            request = request
                .monitoring_interval(monitoring.interval_seconds)
                .monitoring_role_arn(&monitoring.role_arn);
        }
    }
    if !needed {
        return Ok(cluster);
    }

    env.check_may_modify(CLUSTER, cluster_id, region, &tag_pairs(cluster.tag_list()))?;
    tracing::info!(run_id = %env.run_id, step_id = cx.step_id(), cluster_id, region, "applying Performance Insights and Enhanced Monitoring with ModifyDBCluster");
    request
        .send()
        .await
        .map_err(|error| AwsCall::new("ModifyDBCluster", cluster_id, region).error(&error))?;
    wait_cluster_available(env, cx, region, cluster_id, poll).await
}

/// Builds the outputs both restore kinds share from an available cluster.
pub(super) fn cluster_outputs(cluster: &DbCluster, region: &str) -> Result<Outputs, ActionError> {
    let cluster_id = cluster.db_cluster_identifier().unwrap_or_default();
    let call = AwsCall::new("DescribeDBClusters", cluster_id, region);
    let field = |value: Option<&str>, name: &str| {
        value
            .map(|text| serde_json::Value::String(text.to_string()))
            .ok_or_else(|| call.fatal(format!("the response lacks {name} for an available cluster")))
    };
    let mut outputs = Outputs::new();
    outputs.insert("cluster_id".into(), serde_json::Value::String(cluster_id.to_string()));
    outputs.insert("cluster_arn".into(), field(cluster.db_cluster_arn(), "DBClusterArn")?);
    outputs.insert("resource_id".into(), field(cluster.db_cluster_resource_id(), "DbClusterResourceId")?);
    outputs.insert("writer_endpoint".into(), field(cluster.endpoint(), "Endpoint")?);
    outputs.insert("reader_endpoint".into(), field(cluster.reader_endpoint(), "ReaderEndpoint")?);
    let port = cluster.port().ok_or_else(|| call.fatal("the response lacks Port for an available cluster"))?;
    outputs.insert("port".into(), serde_json::Value::from(port));
    outputs.insert("region".into(), serde_json::Value::String(region.to_string()));
    Ok(outputs)
}

/// Formats an instant the way outputs of type timestamp carry it.
pub(super) fn timestamp(time: DateTime<Utc>) -> serde_json::Value {
    serde_json::Value::String(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Converts a chrono instant to the SDK's type.
pub(super) fn to_sdk_time(time: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(time.timestamp_millis())
}

/// Describes one instance; `Ok(None)` when it does not exist.
pub(super) async fn describe_instance(env: &ActionEnv, region: &str, instance_id: &str) -> Result<Option<DbInstance>, ActionError> {
    let rds = env.aws.rds(region);
    match rds.describe_db_instances().db_instance_identifier(instance_id).send().await {
        Ok(output) => Ok(output.db_instances.unwrap_or_default().into_iter().next()),
        Err(error) if is_not_found(AwsCall::code(&error)) => Ok(None),
        Err(error) => Err(AwsCall::new("DescribeDBInstances", instance_id, region).error(&error)),
    }
}

/// Polls an instance until it is `available`, failing on a final failure status.
pub(super) async fn wait_instance_available(
    env: &ActionEnv,
    cx: &StepContext,
    region: &str,
    instance_id: &str,
    poll: Option<&PollPolicy>,
) -> Result<DbInstance, ActionError> {
    let what = format!("instance {instance_id} in {region} to be available");
    env.poller(poll)
        .wait(cx, &what, || async move {
            let Some(instance) = describe_instance(env, region, instance_id).await? else {
                return Err(ActionError::fatal(format!(
                    "instance {instance_id} disappeared from {region} while drctl waited for it to be available; rerun the step"
                )));
            };
            let status = instance.db_instance_status().unwrap_or("unknown").to_string();
            if status == "available" {
                return Ok(PollStatus::Ready(instance));
            }
            if FINAL_FAILURE_STATUSES.contains(&status.as_str()) {
                return Err(ActionError::fatal(format!(
                    "instance {instance_id} in {region} entered status '{status}', from which it cannot become available; \
                     check the instance class, subnet group and parameter group, delete the instance, and rerun the step"
                )));
            }
            Ok(PollStatus::Pending { status: format!("instance {instance_id} {status}"), percent: None })
        })
        .await
}

/// Deletes one instance this run created and waits until it is gone.
/// An instance that no longer exists counts as deleted.
pub(super) async fn delete_instance(
    env: &ActionEnv,
    cx: &StepContext,
    region: &str,
    instance_id: &str,
    poll: Option<&PollPolicy>,
) -> Result<(), ActionError> {
    let Some(instance) = describe_instance(env, region, instance_id).await? else {
        return Ok(());
    };
    env.check_may_delete(INSTANCE, instance_id, region, &tag_pairs(instance.tag_list()))?;

    if instance.db_instance_status() != Some("deleting") {
        tracing::info!(run_id = %env.run_id, step_id = cx.step_id(), instance_id, region, "deleting instance");
        let rds = env.aws.rds(region);
        match rds.delete_db_instance().db_instance_identifier(instance_id).send().await {
            Ok(_) => {}
            Err(error) if is_not_found(AwsCall::code(&error)) => return Ok(()),
            Err(error) => return Err(AwsCall::new("DeleteDBInstance", instance_id, region).error(&error)),
        }
    }

    let what = format!("instance {instance_id} in {region} to be deleted");
    env.poller(poll)
        .wait(cx, &what, || async move {
            match describe_instance(env, region, instance_id).await? {
                None => Ok(PollStatus::Ready(())),
                Some(instance) => Ok(PollStatus::Pending {
                    status: format!("instance {instance_id} {}", instance.db_instance_status().unwrap_or("unknown")),
                    percent: None,
                }),
            }
        })
        .await?;
    cx.record_resource(ResourceRecord {
        resource_type: INSTANCE.to_string(),
        id: instance_id.to_string(),
        region: region.to_string(),
        arn: instance.db_instance_arn().map(str::to_string),
        event: ResourceEvent::Deleted,
    })
    .await
}

/// Deletes a cluster this run restored, with its instances, skipping the final
/// snapshot, and waits until it is gone. A cluster that no longer exists counts
/// as deleted, so the undo may be entered again.
///
/// `drctl_enabled_protection` is true when the restore request turned deletion
/// protection on. Only then is it turned off here; protection that someone
/// else turned on makes the undo fail instead.
pub(super) async fn delete_restored_cluster(
    env: &ActionEnv,
    cx: &StepContext,
    region: &str,
    cluster_id: &str,
    drctl_enabled_protection: bool,
    poll: Option<&PollPolicy>,
) -> Result<(), ActionError> {
    let Some(cluster) = describe_cluster(&env.aws.rds(region), region, cluster_id).await? else {
        tracing::info!(run_id = %env.run_id, step_id = cx.step_id(), cluster_id, region, "cluster already gone; nothing to undo");
        return Ok(());
    };
    let tags = tag_pairs(cluster.tag_list());
    env.check_may_delete(CLUSTER, cluster_id, region, &tags)?;

    // DeleteDBCluster fails while the cluster still has instances.
    for member in cluster.db_cluster_members() {
        if let Some(instance_id) = member.db_instance_identifier() {
            delete_instance(env, cx, region, instance_id, poll).await?;
        }
    }

    if cluster.deletion_protection() == Some(true) {
        if !drctl_enabled_protection {
            return Err(ActionError::fatal(format!(
                "cluster {cluster_id} in {region} has deletion protection, which drctl did not turn on; \
                 turn it off by hand if the cluster must go, then rerun the undo"
            )));
        }
        env.check_may_modify(CLUSTER, cluster_id, region, &tags)?;
        env.aws
            .rds(region)
            .modify_db_cluster()
            .db_cluster_identifier(cluster_id)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|error| AwsCall::new("ModifyDBCluster", cluster_id, region).error(&error))?;
        wait_cluster_available(env, cx, region, cluster_id, poll).await?;
    }

    if cluster.status() != Some("deleting") {
        tracing::info!(run_id = %env.run_id, step_id = cx.step_id(), cluster_id, region, "deleting restored cluster without a final snapshot");
        match env
            .aws
            .rds(region)
            .delete_db_cluster()
            .db_cluster_identifier(cluster_id)
            .skip_final_snapshot(true)
            .send()
            .await
        {
            Ok(_) => {}
            Err(error) if is_not_found(AwsCall::code(&error)) => {}
            Err(error) => return Err(AwsCall::new("DeleteDBCluster", cluster_id, region).error(&error)),
        }
    }

    let rds = env.aws.rds(region);
    let what = format!("cluster {cluster_id} in {region} to be deleted");
    env.poller(poll)
        .wait(cx, &what, || {
            let rds = rds.clone();
            async move {
                match describe_cluster(&rds, region, cluster_id).await? {
                    None => Ok(PollStatus::Ready(())),
                    Some(cluster) => Ok(PollStatus::Pending {
                        status: format!("cluster {cluster_id} {}", cluster.status().unwrap_or("unknown")),
                        percent: None,
                    }),
                }
            }
        })
        .await?;
    record_cluster(cx, &cluster, region, ResourceEvent::Deleted).await
}

/// Describes, as dry-run lines, the cluster both restore kinds create.
pub(super) fn describe_target(target: &RestoredClusterSettings, resolved: &ResolvedTarget) -> Vec<String> {
    let mut lines = vec![format!(
        "create cluster {} in {} with subnet group {}, security groups [{}], KMS key {}",
        target.cluster_id,
        target.region,
        resolved.subnet_group,
        resolved.security_groups.join(", "),
        resolved.kms_key.as_deref().unwrap_or("none (unencrypted source)")
    )];
    let mut settings = Vec::new();
    if let Some(scaling) = &target.serverless_v2 {
        settings.push(format!("Serverless v2 {}–{} ACU", scaling.min_capacity, scaling.max_capacity));
    }
    if let Some(storage) = &target.storage_type {
        settings.push(format!("storage type {storage}"));
    }
    if let Some(version) = &target.engine_version {
        settings.push(format!("engine version {version}"));
    }
    if let Some(group) = &target.cluster_parameter_group {
        settings.push(format!("cluster parameter group {group}"));
    }
    settings.push(format!("IAM authentication {}", if target.iam_database_authentication { "on" } else { "off" }));
    settings.push(format!("deletion protection {}", if target.deletion_protection { "on" } else { "off" }));
    lines.push(format!("restore request settings: {}", settings.join(", ")));
    if target.performance_insights.is_some() || target.enhanced_monitoring.is_some() {
        lines.push("after the cluster is available, apply Performance Insights and Enhanced Monitoring with ModifyDBCluster".to_string());
    }
    lines.push(format!("wait for cluster {} to be available", target.cluster_id));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(json: serde_json::Value) -> RestoredClusterSettings {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn same_as_source_copies_source_values() {
        let settings = target(serde_json::json!({
            "cluster_id": "drill-1", "region": "eu-west-2",
            "subnet_group": "same-as-source", "security_groups": "same-as-source", "kms_key": "same-as-source"
        }));
        let source = SourceSettings {
            described_as: "source cluster prod".into(),
            subnet_group: Some("subnets".into()),
            security_groups: Some(vec!["sg-1".into()]),
            kms_key: Some("arn:aws:kms:eu-west-2:1:key/k".into()),
        };
        let resolved = resolve_target(&settings, &source).unwrap();
        assert_eq!(resolved.subnet_group, "subnets");
        assert_eq!(resolved.security_groups, vec!["sg-1".to_string()]);
        assert_eq!(resolved.kms_key.as_deref(), Some("arn:aws:kms:eu-west-2:1:key/k"));
    }

    #[test]
    fn same_as_source_without_source_value_names_setting() {
        let settings = target(serde_json::json!({
            "cluster_id": "drill-1", "region": "us-east-1",
            "subnet_group": "same-as-source", "security_groups": ["sg-9"], "kms_key": "alias/k"
        }));
        let source = SourceSettings { described_as: "snapshot s1 (source cluster not in us-east-1)".into(), ..Default::default() };
        let error = resolve_target(&settings, &source).unwrap_err();
        assert!(error.message.contains("target.subnet_group"), "{}", error.message);
        assert!(error.message.contains("set target.subnet_group explicitly"), "{}", error.message);
    }

    #[test]
    fn explicit_values_win() {
        let settings = target(serde_json::json!({
            "cluster_id": "drill-1", "region": "us-east-1",
            "subnet_group": "sg-grp", "security_groups": ["sg-9"], "kms_key": "alias/k"
        }));
        let resolved = resolve_target(&settings, &SourceSettings::default()).unwrap();
        assert_eq!(resolved.subnet_group, "sg-grp");
        assert_eq!(resolved.kms_key.as_deref(), Some("alias/k"));
    }
}
