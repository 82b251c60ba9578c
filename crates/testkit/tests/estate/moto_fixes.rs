//! Regression tests for each fix of moto behaviour that differs from AWS.

use std::time::{Duration, SystemTime};

use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::primitives::DateTime;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};
use drctl_testkit::{Estate, SeedInfo};

use crate::rds_timing::restored_cluster;
use crate::support::{cluster_status, rds, s3_from, sdk_config, unique, wait_until};

#[tokio::test]
async fn aurora_iopt1_cluster_create_succeeds() {
    let client = rds(&Estate::shared().tenant("iopt1"), "eu-west-2").await;
    let id = unique("iopt1");
    let output = client
        .create_db_cluster()
        .db_cluster_identifier(&id)
        .engine("aurora-postgresql")
        .engine_version("17.4")
        .master_username("litellm_admin")
        .master_user_password("a-long-enough-password")
        .storage_type("aurora-iopt1")
        .serverless_v2_scaling_configuration(
            aws_sdk_rds::types::ServerlessV2ScalingConfiguration::builder()
                .min_capacity(0.5)
                .max_capacity(4.0)
                .build(),
        )
        .send()
        .await
        .expect("CreateDBCluster with aurora-iopt1");
    let cluster = output.db_cluster().unwrap();
    assert_eq!(cluster.storage_type(), Some("aurora-iopt1"));
    let scaling = cluster.serverless_v2_scaling_configuration().unwrap();
    assert_eq!(scaling.min_capacity(), Some(0.5));
    assert_eq!(scaling.max_capacity(), Some(4.0));
}

#[tokio::test]
async fn seeded_cluster_reads_back_through_sdk() {
    let client = rds(&Estate::shared().tenant("seeded"), "eu-west-2").await;
    let output = client
        .describe_db_clusters()
        .db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .send()
        .await
        .expect("describe the seeded cluster");
    let cluster = &output.db_clusters()[0];
    assert_eq!(cluster.status(), Some("available"));
    assert_eq!(cluster.engine_version(), Some("17.4"));
    assert_eq!(cluster.storage_type(), Some("aurora-iopt1"));
    assert_eq!(cluster.backup_retention_period(), Some(7));
    assert_eq!(cluster.preferred_backup_window(), Some("23:43-00:13"));
    assert_eq!(cluster.deletion_protection(), Some(false));
    assert_eq!(cluster.storage_encrypted(), Some(true));
    assert_eq!(cluster.db_cluster_members().len(), 2);
    assert!(cluster.tag_list().iter().any(|t| t.key() == Some("Organisation") && t.value() == Some("DSIT")));
}

#[tokio::test]
async fn get_bucket_versioning_parses_in_sdk() {
    let estate = Estate::shared();
    let s3 = s3_from(&sdk_config(&estate.tenant("versioning"), "eu-west-2").await);
    let output = s3
        .get_bucket_versioning()
        .bucket(&estate.seed().tfstate.bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(output.status(), Some(&BucketVersioningStatus::Enabled));
}

#[tokio::test]
async fn pitr_outside_window_is_invalid_restore() {
    let client = rds(&Estate::shared().tenant("window"), "eu-west-2").await;
    let now = SystemTime::now();

    for (label, time) in [
        ("future", now + Duration::from_secs(3600)),
        ("before retention", now - Duration::from_secs(8 * 86_400)),
    ] {
        let error = client
            .restore_db_cluster_to_point_in_time()
            .db_cluster_identifier(unique("out-of-window"))
            .source_db_cluster_identifier(SeedInfo::CLUSTER_ID)
            .restore_to_time(DateTime::from(time))
            .send()
            .await
            .expect_err(label);
        assert_eq!(error.code(), Some("InvalidRestoreFault"), "{label}");
        assert_eq!(error.raw_response().unwrap().status().as_u16(), 400, "{label}");
        let message = error.message().unwrap_or_default();
        assert!(message.contains("restorable window"), "{label}: {message}");
    }

    let inside = now - Duration::from_secs(2 * 86_400);
    client
        .restore_db_cluster_to_point_in_time()
        .db_cluster_identifier(unique("in-window"))
        .source_db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .restore_to_time(DateTime::from(inside))
        .send()
        .await
        .expect("a time inside the window is accepted");
}

#[tokio::test]
async fn restorable_window_lags_and_clamps() {
    let estate = Estate::shared();
    let config = estate.config();
    let client = rds(&estate.tenant("lag"), "eu-west-2").await;
    let before = SystemTime::now();
    let output = client
        .describe_db_clusters()
        .db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .send()
        .await
        .unwrap();
    let cluster = &output.db_clusters()[0];

    let latest = SystemTime::try_from(*cluster.latest_restorable_time().unwrap()).unwrap();
    let lag = Duration::from_secs_f64(config.restorable_lag_seconds / config.time_scale);
    assert!(latest + lag <= before + Duration::from_secs(1), "latest {latest:?} does not lag by {lag:?}");
    assert!(latest + lag + Duration::from_secs(5) >= before, "latest {latest:?} lags too much");

    // The seeded cluster is ten days old, so retention (7 days) sets the earliest time.
    let earliest = SystemTime::try_from(*cluster.earliest_restorable_time().unwrap()).unwrap();
    let seven_days_ago = before - Duration::from_secs(7 * 86_400);
    let skew = earliest
        .duration_since(seven_days_ago)
        .unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_secs(60), "earliest {earliest:?} is not 7 days ago");
}

#[tokio::test]
async fn cross_region_encrypted_copy_needs_kms_key() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("nokms"), "us-east-1").await;
    let error = client
        .copy_db_cluster_snapshot()
        .source_db_cluster_snapshot_identifier(&estate.seed().cluster_snapshots["dsit-litellm-rds-pg-prod-pre-upgrade"])
        .target_db_cluster_snapshot_identifier(unique("no-key"))
        .send()
        .await
        .expect_err("a cross-region copy of an encrypted snapshot without KmsKeyId must fail");
    assert_eq!(error.code(), Some("InvalidParameterValue"));
    assert!(error.message().unwrap_or_default().contains("KmsKeyId"));
}

#[tokio::test]
async fn copy_object_applies_bucket_kms_default() {
    let estate = Estate::shared();
    let s3 = s3_from(&sdk_config(&estate.tenant("sse"), "eu-west-2").await);
    let bucket = &estate.seed().tfstate.bucket;
    let target = format!("scratch/{}/terraform.tfstate", unique("sse"));

    let output = s3
        .copy_object()
        .bucket(bucket)
        .key(&target)
        .copy_source(format!("{bucket}/{}", estate.seed().tfstate.key))
        .send()
        .await
        .expect("copy object");
    assert_eq!(output.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));

    let head = s3.head_object().bucket(bucket).key(&target).send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    let key_id = head.ssekms_key_id().unwrap_or_default();
    assert!(key_id.contains(&estate.seed().kms["eu-west-2"].key_id), "key id {key_id}");
}

#[tokio::test]
async fn restore_honours_deletion_protection() {
    let client = rds(&Estate::shared().tenant("protect"), "eu-west-2").await;
    for protect in [false, true] {
        let id = unique("protect");
        let output = client
            .restore_db_cluster_from_snapshot()
            .db_cluster_identifier(&id)
            .snapshot_identifier("dsit-litellm-rds-pg-prod-pre-upgrade")
            .engine("aurora-postgresql")
            .deletion_protection(protect)
            .send()
            .await
            .expect("restore");
        assert_eq!(output.db_cluster().unwrap().deletion_protection(), Some(protect));
        let described = client.describe_db_clusters().db_cluster_identifier(&id).send().await.unwrap();
        assert_eq!(described.db_clusters()[0].deletion_protection(), Some(protect));
    }
}

#[tokio::test]
async fn restore_accepts_snapshot_arn() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("snapshot-arn"), "eu-west-2").await;
    let arn = &estate.seed().cluster_snapshots["dsit-litellm-rds-pg-prod-pre-upgrade"];

    let described = client
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(arn)
        .send()
        .await
        .expect("DescribeDBClusterSnapshots by ARN");
    assert_eq!(described.db_cluster_snapshots().len(), 1);

    let id = unique("from-arn");
    let output = client
        .restore_db_cluster_from_snapshot()
        .db_cluster_identifier(&id)
        .snapshot_identifier(arn)
        .engine("aurora-postgresql")
        .send()
        .await
        .expect("RestoreDBClusterFromSnapshot by ARN");
    assert_eq!(output.db_cluster().unwrap().db_cluster_identifier(), Some(id.as_str()));
}

#[tokio::test]
async fn reused_cluster_id_already_exists() {
    let client = rds(&Estate::shared().tenant("reuse"), "eu-west-2").await;
    let id = restored_cluster(&client, "reuse").await;

    let error = client
        .restore_db_cluster_from_snapshot()
        .db_cluster_identifier(&id)
        .snapshot_identifier("dsit-litellm-rds-pg-prod-pre-upgrade")
        .engine("aurora-postgresql")
        .send()
        .await
        .expect_err("reusing an identifier must fail");
    assert!(error.into_service_error().is_db_cluster_already_exists_fault());

    let error = client
        .restore_db_cluster_to_point_in_time()
        .db_cluster_identifier(&id)
        .source_db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .use_latest_restorable_time(true)
        .send()
        .await
        .expect_err("reusing an identifier must fail");
    assert_eq!(error.code(), Some("DBClusterAlreadyExistsFault"));
    // The existing cluster was not replaced: it is still available, not creating.
    assert_eq!(cluster_status(&client, &id).await.as_deref(), Some("available"));
}

#[tokio::test]
async fn endpoints_follow_region_pattern() {
    let estate = Estate::shared();
    let suffixes = estate.config().rds_endpoint_suffixes;
    let client = rds(&estate.tenant("endpoint"), "eu-west-2").await;
    let id = unique("endpoint");
    let output = client
        .restore_db_cluster_to_point_in_time()
        .db_cluster_identifier(&id)
        .source_db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .use_latest_restorable_time(true)
        .send()
        .await
        .expect("restore");
    let cluster = output.db_cluster().unwrap();
    let suffix = &suffixes["eu-west-2"];
    assert_eq!(
        cluster.endpoint(),
        Some(format!("{id}.cluster-{suffix}.eu-west-2.rds.amazonaws.com").as_str())
    );
    assert_eq!(
        cluster.reader_endpoint(),
        Some(format!("{id}.cluster-ro-{suffix}.eu-west-2.rds.amazonaws.com").as_str())
    );
    assert_eq!(cluster.port(), Some(5432));
    wait_until(&id, Some("available"), Duration::from_secs(30), || cluster_status(&client, &id)).await;

    let instances = client
        .describe_db_instances()
        .db_instance_identifier("dsit-litellm-rds-pg-prod-instance-1")
        .send()
        .await
        .unwrap();
    let endpoint = instances.db_instances()[0].endpoint().unwrap();
    assert_eq!(
        endpoint.address(),
        Some(format!("dsit-litellm-rds-pg-prod-instance-1.{suffix}.eu-west-2.rds.amazonaws.com").as_str())
    );
    assert_eq!(endpoint.port(), Some(5432));
}

#[tokio::test]
async fn deleted_cluster_id_can_be_reused() {
    let client = rds(&Estate::shared().tenant("recreate"), "eu-west-2").await;
    let id = restored_cluster(&client, "recreate").await;
    client
        .delete_db_cluster()
        .db_cluster_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete");
    wait_until(&id, None, Duration::from_secs(30), || cluster_status(&client, &id)).await;

    // Within the same minute as the first restore: moto's automated snapshot name collided here.
    client
        .restore_db_cluster_from_snapshot()
        .db_cluster_identifier(&id)
        .snapshot_identifier("dsit-litellm-rds-pg-prod-pre-upgrade")
        .engine("aurora-postgresql")
        .send()
        .await
        .expect("restore under the identifier of a deleted cluster");
}
