//! `aurora.copy_snapshot`: copy a cluster snapshot to another region, re-encrypted with a key there.
//!
//! The copy request goes to the DESTINATION region with the source snapshot's
//! ARN, as CopyDBClusterSnapshot requires for cross-region copies. Outside
//! GovCloud AWS needs no presigned URL for this call.
//!
//! AWS allows 5 cluster snapshot copies in flight per destination region. The
//! step counts copies in `creating` state in the destination before starting
//! its own and waits while `max_in_flight` or more are running. Within one
//! drctl process a lock per destination region makes the count and the copy
//! request one critical section, so steps running in parallel cannot all see
//! a free slot at once. Separate processes can still race. AWS then returns
//! a quota error for copies in progress, and this step waits that out too.
//!
//! Each copy carries, besides the ownership tags, [`TAG_SOURCE_CLUSTER`] and
//! [`TAG_PURPOSE`]. Pruning deletes only snapshots with both of them and
//! `drctl:managed-by=drctl`, so it never touches a copy made by anyone else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, OnceLock};

use async_trait::async_trait;
use aws_sdk_rds::types::DbClusterSnapshot;
use drctl_executor::{Action, ActionError, Outputs, ResourceEvent, ResourceRecord, StepContext};
use drctl_playbook::kinds::{CopySnapshotParams, SnapshotSelector};
use tokio::sync::Mutex;

use super::ActionEnv;
use super::aurora_snapshot_wait::{SNAPSHOT_RESOURCE, delete_snapshot, list_manual_snapshots, wait_available};
use super::ownership::{OWNERSHIP_TAG_PREFIX, TAG_MANAGED_BY};
use crate::aws::rds::{describe_cluster_snapshot, rds_tags, resolve_snapshot, tag_pairs};
use crate::aws::{AwsCall, PollStatus, is_not_found};

const NAME: &str = "aurora.copy_snapshot";
const INTENT_NOTE: &str = "copy_intent";

/// Tag naming the cluster whose snapshot was copied; pruning groups copies by it.
pub(crate) const TAG_SOURCE_CLUSTER: &str = "drctl:source-cluster";
/// Tag marking what a drctl snapshot is for; copies carry [`PURPOSE_CROSS_REGION_COPY`].
pub(crate) const TAG_PURPOSE: &str = "drctl:purpose";
pub(crate) const PURPOSE_CROSS_REGION_COPY: &str = "cross-region-copy";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: CopySnapshotParams = super::parse(NAME, params)?;
    Ok(Box::new(CopySnapshotAction { params, env }))
}

struct CopySnapshotAction {
    params: CopySnapshotParams,
    env: ActionEnv,
}

/// The snapshot being copied, as resolved in the source region.
struct Source {
    id: String,
    arn: String,
    cluster: String,
    encrypted: bool,
    tags: Vec<(String, String)>,
}

/// Serialises "count copies in flight, then start one" per destination region within this process.
fn slot_lock(region: &str) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<StdMutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(region.to_string()).or_default().clone()
}

/// Returns whether a snapshot in the destination is a copy that counts against the in-flight limit.
fn is_copy_in_flight(snapshot: &DbClusterSnapshot) -> bool {
    let is_copy = snapshot.source_db_cluster_snapshot_arn().is_some()
        || snapshot.tag_list().iter().any(|tag| tag.key() == Some(TAG_PURPOSE) && tag.value() == Some(PURPOSE_CROSS_REGION_COPY));
    is_copy && snapshot.status() == Some("creating")
}

/// Returns whether a quota error is about copies in progress (wait) rather than the number of manual snapshots (fail).
// NOTE: both quotas share the code SnapshotQuotaExceeded, so the message is matched by
// keyword. The exact wording AWS uses for the copy limit is not verified here.
fn is_copy_in_progress_quota(code: Option<&str>, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code == Some("SnapshotQuotaExceeded")
        && (message.contains("concurrent") || message.contains("in progress") || message.contains("copy") || message.contains("copies"))
}

/// Replaces a snapshot ARN in the selector by the snapshot's name, after
/// checking that the ARN is in the source region. The name is what
/// DescribeDBClusterSnapshots matches for the account's own snapshots.
// NOTE: a snapshot shared from another account is described only by ARN with
// IncludeShared, which this step does not send.
fn selector_by_name(selector: &SnapshotSelector, source_region: &str) -> Result<SnapshotSelector, ActionError> {
    let Some(arn) = selector.id.as_deref().filter(|id| id.starts_with("arn:")) else {
        return Ok(selector.clone());
    };
    // arn:PARTITION:rds:REGION:ACCOUNT:cluster-snapshot:NAME
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() != 7 || parts[2] != "rds" || parts[5] != "cluster-snapshot" {
        return Err(ActionError::fatal(format!(
            "source snapshot '{arn}' is not a cluster snapshot ARN (arn:aws:rds:REGION:ACCOUNT:cluster-snapshot:NAME); \
             name the snapshot by identifier or by its cluster snapshot ARN"
        )));
    }
    if parts[3] != source_region {
        return Err(ActionError::fatal(format!(
            "source snapshot '{arn}' is in region {}, but source_region is {source_region}; set source_region to {}",
            parts[3], parts[3]
        )));
    }
    Ok(SnapshotSelector { id: Some(parts[6].to_string()), ..selector.clone() })
}

impl CopySnapshotAction {
    fn destination(&self) -> &str {
        &self.params.destination_region
    }

    async fn resolve_source(&self) -> Result<Source, ActionError> {
        let region = &self.params.source_region;
        let rds = self.env.aws.rds(region);
        let selector = selector_by_name(&self.params.source, region)?;
        let snapshot = resolve_snapshot(&rds, region, &selector).await?;
        let id = snapshot.db_cluster_snapshot_identifier().unwrap_or_default().to_string();
        let arn = snapshot.db_cluster_snapshot_arn().map(str::to_string).ok_or_else(|| {
            AwsCall::new("DescribeDBClusterSnapshots", &id, region).fatal("the response has no DBClusterSnapshotArn")
        })?;
        Ok(Source {
            cluster: snapshot.db_cluster_identifier().unwrap_or_default().to_string(),
            encrypted: snapshot.storage_encrypted().unwrap_or(false),
            tags: tag_pairs(snapshot.tag_list()),
            id,
            arn,
        })
    }

    /// Checks with KMS DescribeKey in the destination that the key exists and is
    /// Enabled, before any mutating call. An encrypted source needs a key.
    async fn check_destination_key(&self, source: &Source) -> Result<(), ActionError> {
        let params = &self.params;
        let Some(key) = &params.kms_key else {
            if source.encrypted {
                return Err(ActionError::fatal(format!(
                    "source snapshot {} in {} is encrypted, so copying it to {} needs kms_key naming a KMS key in {}; \
                     a single-region key of {} cannot be used there. Set kms_key to a key id, ARN or alias in {}",
                    source.id, params.source_region, params.destination_region, params.destination_region,
                    params.source_region, params.destination_region
                )));
            }
            return Ok(());
        };

        let kms = self.env.aws.kms(self.destination());
        let call = AwsCall::new("DescribeKey", key, self.destination());
        let described = match kms.describe_key().key_id(key).send().await {
            Ok(output) => output,
            Err(error) if is_not_found(AwsCall::code(&error)) => {
                return Err(ActionError::fatal(format!(
                    "DescribeKey: KMS key '{key}' not found in destination region {} (copying snapshot {} from {}); \
                     create the key or alias in {} or name one that exists there",
                    params.destination_region, source.id, params.source_region, params.destination_region
                )));
            }
            Err(error) => return Err(call.error(&error)),
        };
        let metadata = described.key_metadata().ok_or_else(|| call.fatal("the response has no KeyMetadata"))?;
        let state = metadata.key_state().map(|state| state.as_str().to_string()).unwrap_or_else(|| "unknown".into());
        if !metadata.enabled() || state != "Enabled" {
            return Err(ActionError::fatal(format!(
                "KMS key '{key}' in destination region {} is {state}, not Enabled, so snapshot {} from {} cannot be \
                 re-encrypted with it; enable the key or name another key in {}",
                params.destination_region, source.id, params.source_region, params.destination_region
            )));
        }
        Ok(())
    }

    /// Builds the tags of the copy. A request that sets Tags gets no tags from
    /// CopyTags (moto 5.2.5 notes this as checked against AWS), and a copy always
    /// carries ownership tags, so with `copy_tags` the source's tags are copied
    /// here, except drctl's own.
    fn copy_tags(&self, source: &Source) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = if self.params.copy_tags {
            source.tags.iter().filter(|(key, _)| !key.starts_with(OWNERSHIP_TAG_PREFIX)).cloned().collect()
        } else {
            Vec::new()
        };
        tags.extend(self.env.ownership_tags());
        tags.push((TAG_SOURCE_CLUSTER.to_string(), source.cluster.clone()));
        tags.push((TAG_PURPOSE.to_string(), PURPOSE_CROSS_REGION_COPY.to_string()));
        tags.extend(self.params.tags.iter().map(|(key, value)| (key.clone(), value.clone())));

        // Each key is sent once, and a later value wins (playbook tags over source tags).
        let unique: indexmap::IndexMap<String, String> = tags.into_iter().collect();
        unique.into_iter().collect()
    }

    async fn destination_snapshots(&self) -> Result<Vec<DbClusterSnapshot>, ActionError> {
        list_manual_snapshots(&self.env.aws.rds(self.destination()), self.destination()).await
    }

    async fn copies_in_flight(&self) -> Result<usize, ActionError> {
        Ok(self.destination_snapshots().await?.iter().filter(|snapshot| is_copy_in_flight(snapshot)).count())
    }

    /// Rejects an existing snapshot with the target identifier unless this run created it.
    fn check_adoptable(&self, snapshot: &DbClusterSnapshot) -> Result<(), ActionError> {
        if self.env.created_by_this_run(&tag_pairs(snapshot.tag_list())) {
            return Ok(());
        }
        Err(ActionError::fatal(format!(
            "cluster snapshot '{}' already exists in {} and its tags do not show that run {} created it; \
             choose another target_snapshot_id (template it with ${{{{ run.id }}}})",
            self.params.target_snapshot_id,
            self.destination(),
            self.env.run_id
        )))
    }

    /// Waits for a free copy slot in the destination, then sends CopyDBClusterSnapshot.
    async fn start_copy(&self, cx: &StepContext, source: &Source) -> Result<(), ActionError> {
        let params = &self.params;
        let region = self.destination();
        let rds = self.env.aws.rds(region);
        let limit = params.max_in_flight as usize;
        let lock = &slot_lock(region);
        let target = params.target_snapshot_id.as_str();
        let rds = &rds;

        let poller = self.env.poller(params.poll.as_ref());
        poller
            .wait(cx, &format!("a free copy slot in {region}"), move || async move {
                let _slot = lock.lock().await;

                let in_flight = self.copies_in_flight().await?;
                if in_flight >= limit {
                    return Ok(PollStatus::Pending {
                        status: format!("waiting: {in_flight} snapshot copies in flight to {region}, limit {limit}"),
                        percent: None,
                    });
                }

                let mut request = rds
                    .copy_db_cluster_snapshot()
                    .source_db_cluster_snapshot_identifier(&source.arn)
                    .target_db_cluster_snapshot_identifier(target)
                    .copy_tags(params.copy_tags)
                    .set_tags(Some(rds_tags(&self.copy_tags(source))));
                if let Some(key) = &params.kms_key {
                    request = request.kms_key_id(key);
                }
                let call = AwsCall::new("CopyDBClusterSnapshot", target, region);
                match request.send().await {
                    Ok(_) => Ok(PollStatus::Ready(())),
                    Err(error) => {
                        let code = AwsCall::code(&error);
                        let message = aws_smithy_types::error::metadata::ProvideErrorMetadata::message(&error).unwrap_or_default();
                        if is_copy_in_progress_quota(code, message) {
                            tracing::warn!(run_id = cx.run_id(), step_id = cx.step_id(), region, error = message, "copy quota reached; waiting for a running copy to finish");
                            return Ok(PollStatus::Pending {
                                status: format!("waiting: AWS rejected the copy because too many copies to {region} are in progress"),
                                percent: None,
                            });
                        }
                        if code == Some("SnapshotQuotaExceeded") {
                            return Err(self.manual_quota_error(&error).await);
                        }
                        if code == Some("DBClusterSnapshotAlreadyExistsFault") {
                            // A copy from an earlier attempt whose response was lost; adopted by the caller.
                            return Ok(PollStatus::Ready(()));
                        }
                        Err(call.error(&error))
                    }
                }
            })
            .await
    }

    /// Builds the fatal error for the manual snapshot quota, with the number of manual snapshots in the destination.
    async fn manual_quota_error<E>(&self, error: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>) -> ActionError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let region = self.destination();
        let base = AwsCall::new("CopyDBClusterSnapshot", &self.params.target_snapshot_id, region).error(error);
        let count = match self.destination_snapshots().await {
            Ok(snapshots) => format!("{} manual cluster snapshots exist in {region}", snapshots.len()),
            Err(_) => format!("the number of manual cluster snapshots in {region} could not be read"),
        };
        // NOTE: the quota itself is not read from Service Quotas; 100 is AWS's default per region.
        ActionError::fatal(format!(
            "{}. The manual cluster snapshot quota of {region} is reached: {count} (AWS's default quota is 100 per region). \
             Delete old manual snapshots there or raise the quota in Service Quotas, then run the step again",
            base.message
        ))
    }

    /// Deletes older drctl copies of the same source cluster in the destination, keeping the newest `keep`.
    async fn prune(&self, cx: &StepContext, source: &Source, keep: usize) -> Result<usize, ActionError> {
        let region = self.destination();
        let rds = self.env.aws.rds(region);
        let mut copies: Vec<DbClusterSnapshot> = self
            .destination_snapshots()
            .await?
            .into_iter()
            .filter(|snapshot| {
                let tags = tag_pairs(snapshot.tag_list());
                let has = |key: &str, value: &str| tags.iter().any(|(k, v)| k == key && v == value);
                has(TAG_MANAGED_BY, "drctl")
                    && has(TAG_SOURCE_CLUSTER, &source.cluster)
                    && has(TAG_PURPOSE, PURPOSE_CROSS_REGION_COPY)
                    && snapshot.status() == Some("available")
            })
            .collect();
        copies.sort_by_key(|snapshot| {
            let time = snapshot.snapshot_create_time().map(|time| (time.secs(), time.subsec_nanos()));
            std::cmp::Reverse((time, snapshot.db_cluster_snapshot_identifier().unwrap_or_default().to_string()))
        });

        let mut pruned = 0;
        for snapshot in copies.iter().skip(keep) {
            let id = snapshot.db_cluster_snapshot_identifier().unwrap_or_default();
            // The new copy is never pruned, even when equal creation times sort it after older copies.
            if id == self.params.target_snapshot_id {
                continue;
            }
            if let Some(rule) = self.env.protected.iter().find(|rule| rule.matches(SNAPSHOT_RESOURCE, id)) {
                tracing::warn!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id = id, region, %rule, "not pruning a protected snapshot");
                continue;
            }
            delete_snapshot(cx, &rds, region, id, snapshot.db_cluster_snapshot_arn().map(str::to_string)).await?;
            tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id = id, region, "pruned an older copy");
            pruned += 1;
        }
        Ok(pruned)
    }
}

#[async_trait]
impl Action for CopySnapshotAction {
    fn describe(&self) -> String {
        let params = &self.params;
        let prune = match &params.prune {
            Some(prune) => format!(", keeping the newest {} drctl copies", prune.keep),
            None => String::new(),
        };
        format!(
            "copy cluster snapshot {} from {} to {} as {}{prune}",
            params.source.id.clone().unwrap_or_else(|| format!("(latest of {})", params.source.latest_of.clone().unwrap_or_default())),
            params.source_region,
            params.destination_region,
            params.target_snapshot_id
        )
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        let params = &self.params;
        let source = self.resolve_source().await?;
        self.check_destination_key(&source).await?;
        let mut lines = vec![format!("source snapshot {} ({}) in {}", source.id, source.arn, params.source_region)];

        let rds = self.env.aws.rds(self.destination());
        match describe_cluster_snapshot(&rds, self.destination(), &params.target_snapshot_id).await? {
            Some(existing) => {
                self.check_adoptable(&existing)?;
                lines.push(format!("would adopt copy {} started earlier by this run", params.target_snapshot_id));
            }
            None => {
                let in_flight = self.copies_in_flight().await?;
                lines.push(format!(
                    "would copy it to {} as {} ({in_flight} copies in flight there now, limit {})",
                    params.destination_region, params.target_snapshot_id, params.max_in_flight
                ));
            }
        }
        if let Some(prune) = &params.prune {
            lines.push(format!(
                "would then delete drctl copies of cluster {} in {} beyond the newest {}",
                source.cluster, params.destination_region, prune.keep
            ));
        }
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let params = &self.params;
        let region = self.destination();
        let rds = self.env.aws.rds(region);
        let target = params.target_snapshot_id.as_str();

        // Everything that can be checked is checked before the first mutating call.
        let source = self.resolve_source().await?;
        if region.starts_with("us-gov-") {
            // TODO: build the presigned URL that GovCloud cross-region copies need.
            return Err(ActionError::fatal(format!(
                "copying to GovCloud region {region} needs a presigned URL, which drctl does not build; copy snapshot {} by hand",
                source.arn
            )));
        }
        self.check_destination_key(&source).await?;

        let event = match describe_cluster_snapshot(&rds, region, target).await? {
            Some(existing) => {
                self.check_adoptable(&existing)?;
                tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id = target, region, "adopting snapshot copy from an earlier attempt");
                ResourceEvent::Adopted
            }
            None => {
                cx.record_note(
                    INTENT_NOTE,
                    serde_json::json!({ "target_snapshot_id": target, "region": region, "source_snapshot_arn": source.arn }),
                )
                .await?;
                self.start_copy(cx, &source).await?;
                tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id = target, source = %source.arn, region, "snapshot copy started");

                // A lost response followed by DBClusterSnapshotAlreadyExistsFault also lands here, so check the owner.
                let created = describe_cluster_snapshot(&rds, region, target).await?.ok_or_else(|| {
                    AwsCall::new("DescribeDBClusterSnapshots", target, region).fatal("the copy was accepted but the snapshot is not listed")
                })?;
                self.check_adoptable(&created)?;
                ResourceEvent::Created
            }
        };

        let copy = wait_available(cx, self.env.poller(params.poll.as_ref()), &rds, region, target).await?;
        let arn = copy.db_cluster_snapshot_arn().unwrap_or_default().to_string();
        cx.record_resource(ResourceRecord {
            resource_type: SNAPSHOT_RESOURCE.to_string(),
            id: target.to_string(),
            region: region.to_string(),
            arn: Some(arn.clone()),
            event,
        })
        .await?;

        let pruned = match &params.prune {
            Some(prune) => self.prune(cx, &source, prune.keep as usize).await?,
            None => 0,
        };

        let mut outputs = Outputs::new();
        outputs.insert("snapshot_id".into(), target.into());
        outputs.insert("snapshot_arn".into(), arn.into());
        outputs.insert("source_snapshot_arn".into(), source.arn.into());
        outputs.insert("region".into(), region.into());
        outputs.insert("pruned".into(), pruned.into());
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        let region = self.destination();
        let rds = self.env.aws.rds(region);
        let target = self.params.target_snapshot_id.as_str();
        let Some(copy) = describe_cluster_snapshot(&rds, region, target).await? else {
            return Ok(());
        };
        self.env.check_may_delete(SNAPSHOT_RESOURCE, target, region, &tag_pairs(copy.tag_list()))?;
        delete_snapshot(cx, &rds, region, target, copy.db_cluster_snapshot_arn().map(str::to_string)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_quota_differs_from_manual_quota() {
        assert!(is_copy_in_progress_quota(
            Some("SnapshotQuotaExceeded"),
            "Cannot have more than 5 concurrent copy snapshot requests in progress"
        ));
        assert!(!is_copy_in_progress_quota(
            Some("SnapshotQuotaExceeded"),
            "The request cannot be processed because it would exceed the maximum number of snapshots."
        ));
        assert!(!is_copy_in_progress_quota(Some("Throttling"), "copy"));
    }
}
