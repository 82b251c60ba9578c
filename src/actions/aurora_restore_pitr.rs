//! `aurora.restore_pitr`: restore an Aurora cluster to a point in time into a
//! new cluster, with RestoreDBClusterToPointInTime.
//!
//! The restore point is checked against the source's restorable window before
//! any mutating call, so a wrong time fails in seconds with both bounds in the
//! message instead of after a half-created cluster. The shared protocol
//! (adopt, intent note, restore, wait) is described in `aurora_cluster`.

use async_trait::async_trait;
use aws_sdk_rds::types::{DbCluster, ServerlessV2ScalingConfiguration};
use chrono::{DateTime, Utc};
use drctl_executor::{Action, ActionError, Outputs, ResourceEvent, StepContext};
use drctl_playbook::kinds::{RestorePitrParams, RestorePoint, RestoreType};
use serde::{Deserialize, Serialize};

use super::ActionEnv;
use super::aurora_cluster::{self, ResolvedTarget, SourceSettings};
use crate::aws::rds::{describe_cluster, to_utc};
use crate::aws::{AwsCall, is_not_found};

pub const NAME: &str = "aurora.restore_pitr";

/// Key of the intent note recorded just before the restore call.
const INTENT_NOTE: &str = "restore_intent";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: RestorePitrParams = super::parse(NAME, params)?;
    Ok(Box::new(RestorePitr { params, env }))
}

struct RestorePitr {
    params: RestorePitrParams,
    env: ActionEnv,
}

/// The intent note: what the restore call is about to create, and the
/// instant it restores to, so a later attempt reports the same `restored_to`.
#[derive(Debug, Serialize, Deserialize)]
struct RestoreIntent {
    cluster_id: String,
    region: String,
    restored_to: DateTime<Utc>,
}

/// The source of the restore and its restorable window.
struct Source {
    /// How the request names the source.
    reference: SourceReference,
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
    /// `None` when the source does not report it (retained backups of a deleted cluster).
    engine_version: Option<String>,
    settings: SourceSettings,
}

enum SourceReference {
    ClusterId(String),
    ResourceId(String),
}

impl Source {
    fn label(&self) -> String {
        match &self.reference {
            SourceReference::ClusterId(id) => format!("source cluster {id}"),
            SourceReference::ResourceId(id) => format!("source cluster resource {id}"),
        }
    }
}

/// The instant the restore goes to, and whether the request asks for the latest restorable time.
struct RestoreTime {
    instant: DateTime<Utc>,
    use_latest: bool,
}

impl RestorePitr {
    fn target_region(&self) -> &str {
        &self.params.target.region
    }

    fn source_region(&self) -> &str {
        self.params.source_region.as_deref().unwrap_or(&self.params.target.region)
    }

    fn check_request_shape(&self) -> Result<(), ActionError> {
        if self.source_region() != self.target_region() {
            return Err(ActionError::fatal(format!(
                "source_region {} differs from target.region {}: a point-in-time restore creates the cluster in the source's region; \
                 copy a snapshot with aurora.copy_snapshot and use aurora.restore_snapshot for another region",
                self.source_region(),
                self.target_region()
            )));
        }
        if self.params.restore_type == RestoreType::CopyOnWrite && self.params.restore_to != RestorePoint::Latest {
            return Err(ActionError::fatal(format!(
                "restore_to '{}' with restore_type copy-on-write: RDS accepts a clone only at the latest restorable time; \
                 set restore_to: latest or restore_type: full-copy",
                String::from(self.params.restore_to.clone())
            )));
        }
        Ok(())
    }

    /// Reads the source (an existing cluster, or the retained automated
    /// backups of a deleted one) with its restorable window.
    async fn read_source(&self) -> Result<Source, ActionError> {
        let region = self.source_region();
        let rds = self.env.aws.rds(region);

        if let Some(cluster_id) = &self.params.source_cluster {
            let cluster = describe_cluster(&rds, region, cluster_id).await?.ok_or_else(|| {
                ActionError::fatal(format!(
                    "DescribeDBClusters: source cluster {cluster_id} not found in {region}; check source_cluster, or set source_resource_id if the cluster was deleted"
                ))
            })?;
            return source_from_cluster(&cluster, SourceReference::ClusterId(cluster_id.clone()), region);
        }

        let Some(resource_id) = &self.params.source_resource_id else {
            return Err(ActionError::fatal("no source cluster: set source_cluster, or source_resource_id for a deleted cluster"));
        };

        // The cluster may still exist under that resource id.
        let call = AwsCall::new("DescribeDBClusters", resource_id, region);
        let filter = aws_sdk_rds::types::Filter::builder().name("db-cluster-resource-id").values(resource_id).build();
        match rds.describe_db_clusters().filters(filter).send().await {
            Ok(output) => {
                if let Some(cluster) = output.db_clusters().first() {
                    return source_from_cluster(cluster, SourceReference::ResourceId(resource_id.clone()), region);
                }
            }
            Err(error) if is_not_found(AwsCall::code(&error)) => {}
            Err(error) => return Err(call.error(&error)),
        }

        // A deleted cluster's window comes from its retained automated backups.
        // NOTE: moto 5.2.5 does not implement DescribeDBClusterAutomatedBackups
        // (nor restores by SourceDbClusterResourceId), so this path is not
        // exercised by the emulated estate's tests.
        let call = AwsCall::new("DescribeDBClusterAutomatedBackups", resource_id, region);
        let output = rds
            .describe_db_cluster_automated_backups()
            .db_cluster_resource_id(resource_id)
            .send()
            .await
            .map_err(|error| call.error(&error))?;
        let backup = output.db_cluster_automated_backups().first().ok_or_else(|| {
            ActionError::fatal(format!(
                "no cluster and no retained automated backups with resource id {resource_id} in {region}; \
                 check source_resource_id (DbClusterResourceId, 'cluster-…') and the region"
            ))
        })?;
        let window = backup.restore_window();
        let earliest = to_utc(window.and_then(|window| window.earliest_time()));
        let latest = to_utc(window.and_then(|window| window.latest_time()));
        let (Some(earliest), Some(latest)) = (earliest, latest) else {
            return Err(call.fatal("the retained automated backups report no restore window; the backups cannot be restored"));
        };
        Ok(Source {
            reference: SourceReference::ResourceId(resource_id.clone()),
            earliest,
            latest,
            engine_version: backup.engine_version().map(str::to_string),
            settings: SourceSettings {
                described_as: format!("the retained automated backups of deleted cluster resource {resource_id} (no subnet group or security groups)"),
                subnet_group: None,
                security_groups: None,
                kms_key: backup.kms_key_id().map(str::to_string),
            },
        })
    }

    /// Turns the restore point into an instant and checks it against the window.
    fn restore_time(&self, source: &Source) -> Result<RestoreTime, ActionError> {
        let requested = match &self.params.restore_to {
            // NOTE: with UseLatestRestorableTime, RDS picks the instant when it
            // handles the call and does not report it, so `restored_to` is the
            // LatestRestorableTime read just before, a lower bound.
            RestorePoint::Latest => return Ok(RestoreTime { instant: source.latest, use_latest: true }),
            RestorePoint::At(instant) => *instant,
            RestorePoint::BeforeIncident(offset) => {
                let offset = chrono::Duration::from_std(offset.as_std()).map_err(|_| {
                    ActionError::fatal(format!("restore_to offset {offset} is too large to subtract from the incident time"))
                })?;
                self.env.incident_time - offset
            }
        };
        if requested < source.earliest || requested > source.latest {
            return Err(ActionError::fatal(format!(
                "restore time {} (restore_to '{}') is outside the restorable window of {} in {}: earliest {}, latest {}; \
                 choose a time inside the window or use restore_to: latest",
                seconds(requested),
                String::from(self.params.restore_to.clone()),
                source.label(),
                self.source_region(),
                seconds(source.earliest),
                seconds(source.latest)
            )));
        }
        Ok(RestoreTime { instant: requested, use_latest: false })
    }

    /// RestoreDBClusterToPointInTime has no EngineVersion parameter: the new
    /// cluster runs the source's version. A different `target.engine_version`
    /// is rejected before any mutating call rather than silently ignored.
    fn check_engine_version(&self, source: &Source) -> Result<(), ActionError> {
        let Some(wanted) = &self.params.target.engine_version else {
            return Ok(());
        };
        if source.engine_version.as_deref() == Some(wanted.as_str()) {
            return Ok(());
        }
        Err(ActionError::fatal(format!(
            "target.engine_version {wanted} differs from the engine version {} of {}: a point-in-time restore keeps the source's version; \
             remove target.engine_version and upgrade the restored cluster afterwards",
            source.engine_version.as_deref().unwrap_or("unknown"),
            source.label()
        )))
    }

    /// Sends RestoreDBClusterToPointInTime with every setting the API accepts.
    async fn send_restore(&self, source: &Source, time: &RestoreTime, resolved: &ResolvedTarget) -> Result<DbCluster, ActionError> {
        let target = &self.params.target;
        let region = self.target_region();
        let restore_type = match self.params.restore_type {
            RestoreType::FullCopy => "full-copy",
            RestoreType::CopyOnWrite => "copy-on-write",
        };
        let mut request = self
            .env
            .aws
            .rds(region)
            .restore_db_cluster_to_point_in_time()
            .db_cluster_identifier(&target.cluster_id)
            .restore_type(restore_type)
            .db_subnet_group_name(&resolved.subnet_group)
            .set_vpc_security_group_ids(Some(resolved.security_groups.clone()))
            .set_kms_key_id(resolved.kms_key.clone())
            .enable_iam_database_authentication(target.iam_database_authentication)
            .deletion_protection(target.deletion_protection)
            .copy_tags_to_snapshot(true)
            .set_tags(Some(aurora_cluster::cluster_tags(&self.env, &target.tags)))
            .set_storage_type(target.storage_type.clone())
            .set_db_cluster_parameter_group_name(target.cluster_parameter_group.clone());
        request = match &source.reference {
            SourceReference::ClusterId(id) => request.source_db_cluster_identifier(id),
            SourceReference::ResourceId(id) => request.source_db_cluster_resource_id(id),
        };
        request = if time.use_latest {
            request.use_latest_restorable_time(true)
        } else {
            request.restore_to_time(aurora_cluster::to_sdk_time(time.instant))
        };
        if let Some(scaling) = &target.serverless_v2 {
            request = request.serverless_v2_scaling_configuration(
                ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(scaling.min_capacity)
                    .max_capacity(scaling.max_capacity)
                    .build(),
            );
        }

        let output = request
            .send()
            .await
            .map_err(|error| AwsCall::new("RestoreDBClusterToPointInTime", &target.cluster_id, region).error(&error))?;
        output.db_cluster.ok_or_else(|| {
            AwsCall::new("RestoreDBClusterToPointInTime", &target.cluster_id, region).fatal("the response contains no DBCluster")
        })
    }

    /// The instant an adopted cluster was restored to, from the intent note.
    fn noted_restore_time(&self, cx: &StepContext, cluster: &DbCluster) -> DateTime<Utc> {
        let noted = cx
            .notes()
            .get(INTENT_NOTE)
            .and_then(|value| serde_json::from_value::<RestoreIntent>(value.clone()).ok())
            .filter(|intent| intent.cluster_id == self.params.target.cluster_id);
        match noted {
            Some(intent) => intent.restored_to,
            None => {
                // Only a journal from before intent notes existed lacks it.
                tracing::warn!(run_id = %self.env.run_id, step_id = cx.step_id(), "no restore intent note; reporting the cluster creation time as restored_to");
                to_utc(cluster.cluster_create_time()).unwrap_or_else(Utc::now)
            }
        }
    }
}

fn seconds(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn source_from_cluster(cluster: &DbCluster, reference: SourceReference, region: &str) -> Result<Source, ActionError> {
    let id = cluster.db_cluster_identifier().unwrap_or_default();
    let call = AwsCall::new("DescribeDBClusters", id, region);
    let earliest = to_utc(cluster.earliest_restorable_time())
        .ok_or_else(|| call.fatal("the source reports no EarliestRestorableTime; are automated backups enabled?"))?;
    let latest = to_utc(cluster.latest_restorable_time())
        .ok_or_else(|| call.fatal("the source reports no LatestRestorableTime; are automated backups enabled?"))?;
    Ok(Source {
        reference,
        earliest,
        latest,
        engine_version: cluster.engine_version().map(str::to_string),
        settings: SourceSettings::from_cluster(cluster, format!("source cluster {id}")),
    })
}

#[async_trait]
impl Action for RestorePitr {
    fn describe(&self) -> String {
        let source = self.params.source_cluster.as_deref().or(self.params.source_resource_id.as_deref()).unwrap_or("?");
        format!(
            "restore {source} to {} into new cluster {} in {}",
            String::from(self.params.restore_to.clone()),
            self.params.target.cluster_id,
            self.params.target.region
        )
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        self.check_request_shape()?;
        let target = &self.params.target;
        if let Some(cluster) = aurora_cluster::find_owned_cluster(&self.env, &target.region, &target.cluster_id).await? {
            return Ok(vec![format!(
                "adopt cluster {} in {} (status {}), which this run created earlier, and wait until it is available",
                target.cluster_id,
                target.region,
                cluster.status().unwrap_or("unknown")
            )]);
        }
        let source = self.read_source().await?;
        let time = self.restore_time(&source)?;
        self.check_engine_version(&source)?;
        let resolved = aurora_cluster::resolve_target(target, &source.settings)?;
        let mut lines = vec![format!(
            "restore {} ({}) to {}{}, restorable window {} to {}",
            source.label(),
            match self.params.restore_type {
                RestoreType::FullCopy => "full-copy",
                RestoreType::CopyOnWrite => "copy-on-write",
            },
            seconds(time.instant),
            if time.use_latest { " (latest restorable time, as of now)" } else { "" },
            seconds(source.earliest),
            seconds(source.latest)
        )];
        lines.extend(aurora_cluster::describe_target(target, &resolved));
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        self.check_request_shape()?;
        let target = &self.params.target;
        let region = self.target_region();
        let poll = self.params.poll.as_ref();

        // Re-entry: adopt what an earlier attempt created, never restore twice.
        let restored_to = match aurora_cluster::find_owned_cluster(&self.env, region, &target.cluster_id).await? {
            Some(cluster) => {
                tracing::info!(run_id = %self.env.run_id, step_id = cx.step_id(), cluster_id = %target.cluster_id, region, "adopting cluster restored by an earlier attempt");
                aurora_cluster::record_cluster(cx, &cluster, region, ResourceEvent::Adopted).await?;
                self.noted_restore_time(cx, &cluster)
            }
            None => {
                let source = self.read_source().await?;
                let time = self.restore_time(&source)?;
                self.check_engine_version(&source)?;
                let resolved = aurora_cluster::resolve_target(target, &source.settings)?;

                let intent = RestoreIntent { cluster_id: target.cluster_id.clone(), region: region.to_string(), restored_to: time.instant };
                let intent = serde_json::to_value(&intent).map_err(|error| ActionError::fatal(format!("failed to encode the restore intent note: {error}")))?;
                cx.record_note(INTENT_NOTE, intent).await?;

                tracing::info!(
                    run_id = %self.env.run_id, step_id = cx.step_id(), cluster_id = %target.cluster_id, region,
                    restore_to = %time.instant.to_rfc3339(), "calling RestoreDBClusterToPointInTime"
                );
                let cluster = self.send_restore(&source, &time, &resolved).await?;
                aurora_cluster::record_cluster(cx, &cluster, region, ResourceEvent::Created).await?;
                time.instant
            }
        };

        let cluster = aurora_cluster::wait_cluster_available(&self.env, cx, region, &target.cluster_id, poll).await?;
        let cluster = aurora_cluster::apply_post_restore_settings(&self.env, cx, cluster, target, poll).await?;

        let mut outputs = aurora_cluster::cluster_outputs(&cluster, region)?;
        outputs.insert("restored_to".into(), aurora_cluster::timestamp(restored_to));
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, outputs: &Outputs) -> Result<(), ActionError> {
        let target = &self.params.target;
        let cluster_id = outputs.get("cluster_id").and_then(|value| value.as_str()).unwrap_or(&target.cluster_id);
        aurora_cluster::delete_restored_cluster(&self.env, cx, &target.region, cluster_id, target.deletion_protection, self.params.poll.as_ref())
            .await
    }
}
