//! `drctl plan --preflight`: read-only AWS checks that a plan can work now.
//!
//! Each step's parameters are resolved as far as possible before the run:
//! variables, regions and times resolve, while values that come from run ids
//! or earlier steps' outputs stay unknown and their checks wait for the run.
//! Every client is read-only, so a preflight cannot change anything even if
//! a check here were written wrongly.

use std::sync::Arc;

use chrono::Utc;
use drctl_playbook::kinds::{
    self, AlbRepointParams, CopySnapshotParams, CreateInstancesParams, RestorePitrParams, RestorePoint,
    RestoreSnapshotParams, RestoreTestParams, RestoredClusterSettings, SameAsSource, SnapshotParams,
    TfstateRollbackParams,
};
use drctl_playbook::{Mode, Playbook, RunContext, Step};
use serde::Serialize;

use crate::aws::rds::{describe_cluster, resolve_snapshot, to_utc};
use crate::aws::{AwsCall, AwsClients, is_not_found};

/// One preflight result.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub step: Option<String>,
    pub check: String,
    pub status: FindingStatus,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    Ok,
    /// Cannot be checked before the run, or worth a look.
    Warning,
    Failed,
}

impl Finding {
    pub fn is_failure(&self) -> bool {
        self.status == FindingStatus::Failed
    }
}

/// Collects the findings of one step.
struct Findings<'a> {
    step: &'a str,
    list: Vec<Finding>,
}

impl Findings<'_> {
    fn push(&mut self, check: &str, status: FindingStatus, message: impl Into<String>) {
        self.list.push(Finding {
            step: Some(self.step.to_string()),
            check: check.to_string(),
            status,
            message: message.into(),
        });
    }

    fn ok(&mut self, check: &str, message: impl Into<String>) {
        self.push(check, FindingStatus::Ok, message);
    }

    fn warn(&mut self, check: &str, message: impl Into<String>) {
        self.push(check, FindingStatus::Warning, message);
    }

    fn fail(&mut self, check: &str, message: impl Into<String>) {
        self.push(check, FindingStatus::Failed, message);
    }
}

/// Runs every read-only check of the playbook's steps, in step order.
pub async fn run(playbook: &Playbook, mode: Mode) -> Vec<Finding> {
    let aws = AwsClients::from_env(&playbook.regions.primary, true).await;
    run_with(playbook, mode, aws).await
}

/// Runs the checks with the given clients, which must be read-only.
pub async fn run_with(playbook: &Playbook, mode: Mode, aws: Arc<AwsClients>) -> Vec<Finding> {
    let now = Utc::now();
    let context = RunContext::new(playbook, "preflight", mode, now, now);
    let mut findings = Vec::new();
    match aws.caller_identity().await {
        Some(identity) => findings.push(Finding {
            step: None,
            check: "credentials".to_string(),
            status: FindingStatus::Ok,
            message: format!("account {} as {}", identity.account, identity.arn),
        }),
        None => findings.push(Finding {
            step: None,
            check: "credentials".to_string(),
            status: FindingStatus::Failed,
            message: "STS GetCallerIdentity failed; check AWS_PROFILE or the credentials in the environment".to_string(),
        }),
    }
    for step in &playbook.steps {
        let mut step_findings = Findings { step: &step.id, list: Vec::new() };
        check_step(&aws, step, &context, &mut step_findings).await;
        findings.extend(step_findings.list);
    }
    findings
}

/// Resolves what can be resolved before the run; leaves that need run-time
/// values (run id, earlier outputs) become `null`.
fn partially_resolve(step: &Step, context: &RunContext, value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(_) => {
            let mut probe = step.clone();
            probe.params = value.clone();
            probe.resolve_params(context).unwrap_or(serde_json::Value::Null)
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|item| partially_resolve(step, context, item)).collect())
        }
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter().map(|(key, item)| (key.clone(), partially_resolve(step, context, item))).collect(),
        ),
        other => other.clone(),
    }
}

/// True when the parameters still hold a value only known at run time.
fn has_unknowns(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Array(items) => items.iter().any(has_unknowns),
        serde_json::Value::Object(map) => map.values().any(has_unknowns),
        _ => false,
    }
}

async fn check_step(aws: &AwsClients, step: &Step, context: &RunContext, out: &mut Findings<'_>) {
    let resolved = partially_resolve(step, context, &step.params);
    macro_rules! parse_or_note {
        ($ty:ty) => {
            match kinds::parse_params::<$ty>(&resolved) {
                Ok(params) => params,
                Err(_) if has_unknowns(&resolved) => {
                    out.warn("parameters", "some parameters come from earlier steps or the run id; they are checked when the step runs");
                    return;
                }
                Err(error) => {
                    out.fail("parameters", error.message);
                    return;
                }
            }
        };
    }
    match step.kind.as_str() {
        "aurora.restore_pitr" => {
            let mut params = resolved.clone();
            // The target id usually embeds the run id; checks do not need it.
            if params["target"]["cluster_id"].is_null() {
                params["target"]["cluster_id"] = serde_json::Value::String(format!("<run>-{}", step.id));
            }
            match kinds::parse_params::<RestorePitrParams>(&params) {
                Ok(params) => check_restore_pitr(aws, &params, context, out).await,
                Err(error) => out.warn("parameters", format!("checked at run time: {}", error.message)),
            }
        }
        "aurora.restore_snapshot" => {
            let mut params = resolved.clone();
            if params["target"]["cluster_id"].is_null() {
                params["target"]["cluster_id"] = serde_json::Value::String(format!("<run>-{}", step.id));
            }
            let snapshot_known = !has_unknowns(&params["snapshot"]);
            match kinds::parse_params::<RestoreSnapshotParams>(&params) {
                Ok(params) if snapshot_known => {
                    check_snapshot_selector(aws, &params.snapshot, &params.target.region, out).await;
                    check_cluster_settings(aws, &params.target, None, out).await;
                }
                _ => {
                    if let Ok(target) = serde_json::from_value::<RestoredClusterSettings>(params["target"].clone()) {
                        check_cluster_settings(aws, &target, None, out).await;
                    }
                    out.warn("snapshot", "the snapshot comes from an earlier step; checked when the step runs");
                }
            }
        }
        "aurora.copy_snapshot" => {
            let mut params = resolved.clone();
            if params["target_snapshot_id"].is_null() {
                params["target_snapshot_id"] = serde_json::Value::String(format!("<run>-{}", step.id));
            }
            match kinds::parse_params::<CopySnapshotParams>(&params) {
                Ok(params) => check_copy(aws, &params, out).await,
                Err(error) => out.warn("parameters", format!("checked at run time: {}", error.message)),
            }
        }
        "aurora.create_instances" => {
            let params = parse_or_note!(CreateInstancesParams);
            check_cluster_exists(aws, &params.cluster_id, &params.region, out).await;
        }
        "aurora.snapshot" => {
            let mut params = resolved.clone();
            if params["snapshot_id"].is_null() {
                params["snapshot_id"] = serde_json::Value::String(format!("<run>-{}", step.id));
            }
            match kinds::parse_params::<SnapshotParams>(&params) {
                Ok(params) => check_cluster_exists(aws, &params.cluster, &params.region, out).await,
                Err(error) => out.warn("parameters", format!("checked at run time: {}", error.message)),
            }
        }
        "aurora.delete" => out.ok("ownership", "deletes only resources tagged with the run's id; nothing to check before the run"),
        "restore_test" => {
            let mut params = resolved.clone();
            for key in ["host", "port"] {
                if params[key].is_null() {
                    params[key] = if key == "port" { serde_json::json!(5432) } else { serde_json::json!("<from an earlier step>") };
                }
            }
            match kinds::parse_params::<RestoreTestParams>(&params) {
                Ok(params) => check_restore_test(&params, out),
                Err(error) => out.warn("parameters", format!("checked at run time: {}", error.message)),
            }
        }
        "tfstate.rollback" => {
            let params = parse_or_note!(TfstateRollbackParams);
            check_tfstate(aws, &params, out).await;
        }
        "alb.repoint" => {
            let params = parse_or_note!(AlbRepointParams);
            check_alb(aws, &params, step, out).await;
        }
        other => out.warn("kind", format!("no preflight checks for kind {other}")),
    }
}

async fn check_cluster_exists(aws: &AwsClients, cluster: &str, region: &str, out: &mut Findings<'_>) {
    match describe_cluster(&aws.rds(region), region, cluster).await {
        Ok(Some(found)) => out.ok("cluster", format!("{cluster} exists in {region} ({})", found.status().unwrap_or("unknown status"))),
        Ok(None) => out.fail("cluster", format!("cluster {cluster} not found in {region}")),
        Err(error) => out.fail("cluster", error.message),
    }
}

async fn check_restore_pitr(aws: &AwsClients, params: &RestorePitrParams, context: &RunContext, out: &mut Findings<'_>) {
    let region = params.source_region.as_deref().unwrap_or(&params.target.region);
    let Some(source) = &params.source_cluster else {
        out.warn("source", "the source is named by resource id; its restore window is checked when the step runs");
        check_cluster_settings(aws, &params.target, None, out).await;
        return;
    };
    let cluster = match describe_cluster(&aws.rds(region), region, source).await {
        Ok(Some(cluster)) => cluster,
        Ok(None) => {
            out.fail("source", format!("source cluster {source} not found in {region}"));
            return;
        }
        Err(error) => {
            out.fail("source", error.message);
            return;
        }
    };
    out.ok("source", format!("{source} exists in {region}"));

    let earliest = to_utc(cluster.earliest_restorable_time());
    let latest = to_utc(cluster.latest_restorable_time());
    let wanted = match &params.restore_to {
        RestorePoint::Latest => latest,
        RestorePoint::At(time) => Some(*time),
        RestorePoint::BeforeIncident(offset) => {
            Some(context.incident_time - chrono::Duration::from_std(offset.as_std()).unwrap_or_default())
        }
    };
    match (earliest, latest, wanted) {
        (Some(earliest), Some(latest), Some(wanted)) if wanted >= earliest && wanted <= latest => {
            out.ok("restore window", format!("{wanted} lies within {earliest} – {latest}"))
        }
        (Some(earliest), Some(latest), Some(wanted)) => out.fail(
            "restore window",
            format!("restore time {wanted} is outside the restorable window {earliest} – {latest}"),
        ),
        _ => out.fail("restore window", format!("{source} reports no restorable window; are automated backups enabled?")),
    }
    check_cluster_settings(aws, &params.target, Some(&cluster), out).await;
}

/// Checks the subnet group, security groups and KMS key a restore will use.
async fn check_cluster_settings(
    aws: &AwsClients,
    target: &RestoredClusterSettings,
    source: Option<&aws_sdk_rds::types::DbCluster>,
    out: &mut Findings<'_>,
) {
    let region = target.region.as_str();
    match &target.subnet_group {
        SameAsSource::Value(group) => {
            let call = AwsCall::new("DescribeDBSubnetGroups", group, region);
            match aws.rds(region).describe_db_subnet_groups().db_subnet_group_name(group).send().await {
                Ok(_) => out.ok("subnet group", format!("{group} exists in {region}")),
                Err(error) if is_not_found(AwsCall::code(&error)) || AwsCall::code(&error) == Some("DBSubnetGroupNotFoundFault") => {
                    out.fail("subnet group", format!("DB subnet group {group} not found in {region}"))
                }
                Err(error) => out.fail("subnet group", call.error(&error).message),
            }
        }
        SameAsSource::SameAsSource => match source {
            Some(cluster) => out.ok("subnet group", format!("same as source: {}", cluster.db_subnet_group().unwrap_or("unknown"))),
            None => out.fail("subnet group", "same-as-source needs a source cluster; set the subnet group explicitly"),
        },
    }
    match &target.security_groups {
        SameAsSource::Value(groups) if !groups.is_empty() => {
            let call = AwsCall::new("DescribeSecurityGroups", "security groups", region);
            match aws.ec2(region).describe_security_groups().set_group_ids(Some(groups.clone())).send().await {
                Ok(found) => {
                    let found: Vec<&str> = found.security_groups().iter().filter_map(|group| group.group_id()).collect();
                    let missing: Vec<&String> = groups.iter().filter(|id| !found.contains(&id.as_str())).collect();
                    if missing.is_empty() {
                        out.ok("security groups", format!("{} exist in {region}", groups.join(", ")));
                    } else {
                        out.fail("security groups", format!("not found in {region}: {missing:?}"));
                    }
                }
                Err(error) => out.fail("security groups", call.error(&error).message),
            }
        }
        SameAsSource::Value(_) => out.warn("security groups", "none given; the VPC's default security group applies"),
        SameAsSource::SameAsSource => match source {
            Some(cluster) => out.ok(
                "security groups",
                format!("same as source: {} group(s)", cluster.vpc_security_groups().len()),
            ),
            None => out.fail("security groups", "same-as-source needs a source cluster; list the groups explicitly"),
        },
    }
    match &target.kms_key {
        SameAsSource::Value(key) => check_kms_key(aws, key, region, out).await,
        SameAsSource::SameAsSource => match source.and_then(|cluster| cluster.kms_key_id()) {
            Some(key) => out.ok("kms key", format!("same as source: {key}")),
            None => out.warn("kms key", "the source is not encrypted or names no key"),
        },
    }
}

async fn check_kms_key(aws: &AwsClients, key: &str, region: &str, out: &mut Findings<'_>) {
    let call = AwsCall::new("DescribeKey", key, region);
    match aws.kms(region).describe_key().key_id(key).send().await {
        Ok(found) => {
            let state = found.key_metadata().and_then(|meta| meta.key_state()).map(|state| state.as_str().to_string());
            match state.as_deref() {
                Some("Enabled") => out.ok("kms key", format!("{key} is enabled in {region}")),
                Some(other) => out.fail("kms key", format!("KMS key {key} in {region} is {other}, not Enabled")),
                None => out.warn("kms key", format!("KMS key {key} in {region} reports no state")),
            }
        }
        Err(error) => out.fail("kms key", call.error(&error).message),
    }
}

async fn check_snapshot_selector(aws: &AwsClients, selector: &kinds::SnapshotSelector, region: &str, out: &mut Findings<'_>) {
    match resolve_snapshot(&aws.rds(region), region, selector).await {
        Ok(snapshot) => out.ok(
            "snapshot",
            format!(
                "{} ({}) in {region}",
                snapshot.db_cluster_snapshot_identifier().unwrap_or("unknown"),
                snapshot.status().unwrap_or("unknown status")
            ),
        ),
        Err(error) => out.fail("snapshot", error.message),
    }
}

async fn check_copy(aws: &AwsClients, params: &CopySnapshotParams, out: &mut Findings<'_>) {
    let source_region = params.source_region.as_str();
    let destination = params.destination_region.as_str();
    let snapshot = match resolve_snapshot(&aws.rds(source_region), source_region, &params.source).await {
        Ok(snapshot) => snapshot,
        Err(error) => {
            out.fail("source snapshot", error.message);
            return;
        }
    };
    out.ok(
        "source snapshot",
        format!("{} in {source_region}", snapshot.db_cluster_snapshot_identifier().unwrap_or("unknown")),
    );
    match (&params.kms_key, snapshot.storage_encrypted()) {
        (Some(key), _) => check_kms_key(aws, key, destination, out).await,
        (None, Some(true)) => out.fail(
            "kms key",
            format!("the source snapshot in {source_region} is encrypted, so a KMS key in {destination} is required; set kms_key"),
        ),
        (None, _) => out.ok("kms key", "the source is not encrypted; no destination key needed"),
    }
}

fn check_restore_test(params: &RestoreTestParams, out: &mut Findings<'_>) {
    if params.tls.insecure_plaintext {
        out.warn("tls", "TLS is off (insecure_plaintext); passwords and data cross the network unencrypted");
    } else {
        let bundle = params
            .tls
            .ca_bundle
            .clone()
            .or_else(|| std::env::var("DRCTL_RDS_CA_BUNDLE").ok())
            .unwrap_or_else(|| "/etc/ssl/certs/rds-global-bundle.pem".to_string());
        if std::path::Path::new(&bundle).is_file() {
            out.ok("ca bundle", format!("{bundle} is readable"));
        } else {
            out.fail("ca bundle", format!("CA bundle {bundle} not found; download the RDS global bundle or set tls.ca_bundle"));
        }
    }
    let credentials = &params.credentials;
    if let Some(variable) = &credentials.env {
        if std::env::var_os(variable).is_some() {
            out.ok("credentials", format!("environment variable {variable} is set"));
        } else {
            out.fail("credentials", format!("environment variable {variable} is not set; export the database password in it"));
        }
    } else if let Some(file) = &credentials.file {
        if std::fs::File::open(file).is_ok() {
            out.ok("credentials", format!("{file} is readable"));
        } else {
            out.fail("credentials", format!("password file {file} cannot be read"));
        }
    } else if credentials.secret.is_some() {
        out.warn("credentials", "the Secrets Manager secret is read when the step runs");
    } else if credentials.iam {
        out.ok("credentials", "IAM authentication token, generated when the step runs");
    }
}

async fn check_tfstate(aws: &AwsClients, params: &TfstateRollbackParams, out: &mut Findings<'_>) {
    let region = params.region.as_str();
    let s3 = aws.s3(region);
    let bucket = params.bucket.as_str();
    let call = AwsCall::new("GetBucketVersioning", bucket, region);
    match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(versioning) if versioning.status().map(|s| s.as_str()) == Some("Enabled") => {
            out.ok("versioning", format!("s3://{bucket} has versioning enabled"))
        }
        Ok(_) => out.fail("versioning", format!("s3://{bucket} does not have versioning enabled; a rollback needs earlier versions")),
        Err(error) => out.fail("versioning", call.error(&error).message),
    }
    let call = AwsCall::new("ListObjectVersions", &params.key, region);
    match s3.list_object_versions().bucket(bucket).prefix(&params.key).send().await {
        Ok(listing) => {
            let count = listing.versions().iter().filter(|version| version.key() == Some(params.key.as_str())).count();
            if count >= 2 {
                out.ok("versions", format!("{count} versions of s3://{bucket}/{}", params.key));
            } else {
                out.fail("versions", format!("s3://{bucket}/{} has {count} version(s); nothing to roll back to", params.key));
            }
        }
        Err(error) => out.fail("versions", call.error(&error).message),
    }
    let lock_key = format!("{}.tflock", params.key);
    match s3.head_object().bucket(bucket).key(&lock_key).send().await {
        Ok(_) => out.fail("lock", format!("a Terraform lock is held: s3://{bucket}/{lock_key} exists")),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => out.ok("lock", "no S3 lock object"),
        Err(error) => out.fail("lock", AwsCall::new("HeadObject", &lock_key, region).error(&error).message),
    }
    if let Some(table) = &params.lock_table {
        let lock_id = format!("{bucket}/{}", params.key);
        let call = AwsCall::new("GetItem", table, region);
        match aws
            .dynamodb(region)
            .get_item()
            .table_name(table)
            .key("LockID", aws_sdk_dynamodb::types::AttributeValue::S(lock_id.clone()))
            .send()
            .await
        {
            Ok(item) if item.item().is_some() => out.fail("lock", format!("a Terraform lock is held in {table}: {lock_id}")),
            Ok(_) => out.ok("lock", format!("no lock item in {table}")),
            Err(error) => out.fail("lock", call.error(&error).message),
        }
    }
}

async fn check_alb(aws: &AwsClients, params: &AlbRepointParams, step: &Step, out: &mut Findings<'_>) {
    let region = params.region.as_str();
    let elbv2 = aws.elbv2(region);
    let group = match (&params.targets, &params.listener) {
        (Some(targets), _) => targets.target_group.clone(),
        (None, Some(listener)) => listener.to_target_group.clone(),
        (None, None) => return,
    };
    let request = if group.starts_with("arn:") {
        elbv2.describe_target_groups().target_group_arns(&group)
    } else {
        elbv2.describe_target_groups().names(&group)
    };
    let found = match request.send().await {
        Ok(output) => output.target_groups().first().cloned(),
        Err(error) => {
            out.fail("target group", AwsCall::new("DescribeTargetGroups", &group, region).error(&error).message);
            return;
        }
    };
    let Some(found) = found else {
        out.fail("target group", format!("target group {group} not found in {region}"));
        return;
    };
    let arn = found.target_group_arn().unwrap_or_default().to_string();
    let interval = found.health_check_interval_seconds().unwrap_or(30) as u64;
    let threshold = found.healthy_threshold_count().unwrap_or(5) as u64;
    let delay = match elbv2.describe_target_group_attributes().target_group_arn(&arn).send().await {
        Ok(attributes) => attributes
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(300),
        Err(error) => {
            out.fail("target group", AwsCall::new("DescribeTargetGroupAttributes", &arn, region).error(&error).message);
            return;
        }
    };
    let delay = params.deregistration_delay.map(|d| d.as_std().as_secs()).unwrap_or(delay);
    let healthy = interval * threshold;
    let predicted = healthy + delay;
    let message = format!(
        "{group}: healthy after at least {healthy} s (interval {interval} s × {threshold}), drained after {delay} s; predicted cutover {predicted} s"
    );
    match step.budget.map(|b| b.as_std().as_secs()) {
        Some(budget) if predicted > budget => out.warn("cutover time", format!("{message}, over the step budget of {budget} s")),
        Some(budget) => out.ok("cutover time", format!("{message}, within the step budget of {budget} s")),
        None => out.ok("cutover time", message),
    }
}

/// Renders findings for people.
pub fn render(findings: &[Finding]) -> String {
    let mut text = String::from("\nPreflight (read-only AWS checks):\n");
    for finding in findings {
        let marker = match finding.status {
            FindingStatus::Ok => "ok  ",
            FindingStatus::Warning => "warn",
            FindingStatus::Failed => "FAIL",
        };
        let step = finding.step.as_deref().map(|s| format!("[{s}] ")).unwrap_or_default();
        text.push_str(&format!("  {marker} {step}{}: {}\n", finding.check, finding.message));
    }
    let failed = findings.iter().filter(|f| f.is_failure()).count();
    text.push_str(&format!("{failed} problem(s) found\n"));
    text
}
