//! RDS statuses change over simulated time with the configured durations.

use std::time::Duration;

use drctl_testkit::{Estate, SeedInfo};

use crate::support::{cluster_status, instance_status, rds, real, unique, wait_until};

const LIMIT: Duration = Duration::from_secs(30);

/// Restores a cluster from the seeded manual snapshot and waits until it is available.
pub async fn restored_cluster(client: &aws_sdk_rds::Client, prefix: &str) -> String {
    let id = unique(prefix);
    client
        .restore_db_cluster_from_snapshot()
        .db_cluster_identifier(&id)
        .snapshot_identifier("dsit-litellm-rds-pg-prod-pre-upgrade")
        .engine("aurora-postgresql")
        .send()
        .await
        .expect("restore from the seeded manual snapshot");
    wait_until(&id, Some("available"), LIMIT, || cluster_status(client, &id)).await;
    id
}

#[tokio::test]
async fn pitr_restore_creating_then_available() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("pitr"), "eu-west-2").await;
    let id = unique("pitr");

    let output = client
        .restore_db_cluster_to_point_in_time()
        .db_cluster_identifier(&id)
        .source_db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .use_latest_restorable_time(true)
        .send()
        .await
        .expect("point-in-time restore");
    assert_eq!(output.db_cluster().unwrap().status(), Some("creating"));
    assert_eq!(cluster_status(&client, &id).await.as_deref(), Some("creating"));

    let took = wait_until(&id, Some("available"), LIMIT, || cluster_status(&client, &id)).await;
    let expected = real(estate.config().durations["cluster_restore_pitr"]);
    assert!(took >= expected.mul_f64(0.8), "available after {took:?}, expected about {expected:?}");
}

#[tokio::test]
async fn snapshot_restore_creating_then_available() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("snaprest"), "eu-west-2").await;
    let id = unique("from-snap");

    client
        .restore_db_cluster_from_snapshot()
        .db_cluster_identifier(&id)
        .snapshot_identifier("dsit-litellm-rds-pg-prod-pre-upgrade")
        .engine("aurora-postgresql")
        .send()
        .await
        .expect("restore from snapshot");
    assert_eq!(cluster_status(&client, &id).await.as_deref(), Some("creating"));

    let took = wait_until(&id, Some("available"), LIMIT, || cluster_status(&client, &id)).await;
    let expected = real(estate.config().durations["cluster_restore_snapshot"]);
    assert!(took >= expected.mul_f64(0.8), "available after {took:?}, expected about {expected:?}");
}

#[tokio::test]
async fn instance_create_then_delete() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("instance"), "eu-west-2").await;
    let cluster = restored_cluster(&client, "inst-host").await;
    let instance = format!("{cluster}-instance-1");

    let created = client
        .create_db_instance()
        .db_instance_identifier(&instance)
        .db_cluster_identifier(&cluster)
        .engine("aurora-postgresql")
        .db_instance_class("db.serverless")
        .send()
        .await
        .expect("create instance");
    assert_eq!(created.db_instance().unwrap().db_instance_status(), Some("creating"));
    let took = wait_until(&instance, Some("available"), LIMIT, || instance_status(&client, &instance)).await;
    let expected = real(estate.config().durations["instance_create"]);
    assert!(took >= expected.mul_f64(0.8), "available after {took:?}, expected about {expected:?}");

    let deleted = client
        .delete_db_instance()
        .db_instance_identifier(&instance)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete instance");
    assert_eq!(deleted.db_instance().unwrap().db_instance_status(), Some("deleting"));
    wait_until(&instance, None, LIMIT, || instance_status(&client, &instance)).await;
}

#[tokio::test]
async fn cluster_delete_deleting_then_not_found() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("delete"), "eu-west-2").await;
    let id = restored_cluster(&client, "to-delete").await;

    let output = client
        .delete_db_cluster()
        .db_cluster_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete cluster");
    assert_eq!(output.db_cluster().unwrap().status(), Some("deleting"));
    assert_eq!(cluster_status(&client, &id).await.as_deref(), Some("deleting"));

    let took = wait_until(&id, None, LIMIT, || cluster_status(&client, &id)).await;
    let expected = real(estate.config().durations["cluster_delete"]);
    assert!(took >= expected.mul_f64(0.8), "gone after {took:?}, expected about {expected:?}");
}

#[tokio::test]
async fn cluster_modify_modifying_then_available() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("modify"), "eu-west-2").await;
    let id = restored_cluster(&client, "to-modify").await;

    let output = client
        .modify_db_cluster()
        .db_cluster_identifier(&id)
        .backup_retention_period(14)
        .apply_immediately(true)
        .send()
        .await
        .expect("modify cluster");
    assert_eq!(output.db_cluster().unwrap().status(), Some("modifying"));
    wait_until(&id, Some("available"), LIMIT, || cluster_status(&client, &id)).await;
}

async fn snapshot_state(client: &aws_sdk_rds::Client, id: &str) -> (String, i32) {
    let output = client
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(id)
        .send()
        .await
        .expect("describe snapshot");
    let snapshot = &output.db_cluster_snapshots()[0];
    (
        snapshot.status().unwrap_or_default().to_owned(),
        snapshot.percent_progress().unwrap_or_default(),
    )
}

#[tokio::test]
async fn snapshot_create_progress_rises() {
    let estate = Estate::shared();
    let client = rds(&estate.tenant("snapshot"), "eu-west-2").await;
    let id = unique("manual-snap");

    // Manual snapshots take 20 simulated minutes here, so that several polls see
    // intermediate progress. No other test of this binary waits for one.
    let mut durations = std::collections::BTreeMap::new();
    durations.insert("snapshot_create".to_owned(), 1200.0);
    estate
        .set_config(&drctl_testkit::ConfigUpdate {
            durations,
            ..Default::default()
        })
        .expect("lengthen snapshot creation");

    client
        .create_db_cluster_snapshot()
        .db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .db_cluster_snapshot_identifier(&id)
        .send()
        .await
        .expect("create snapshot");

    let (status, first) = snapshot_state(&client, &id).await;
    assert_eq!(status, "creating");
    assert!(first < 100, "progress {first} right after creation");

    let mut progress = vec![first];
    let start = std::time::Instant::now();
    loop {
        let (status, percent) = snapshot_state(&client, &id).await;
        progress.push(percent);
        if status == "available" {
            assert_eq!(percent, 100);
            break;
        }
        assert!(start.elapsed() < LIMIT, "snapshot still {status} at {percent}%");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "progress went down: {progress:?}");
    assert!(progress.iter().any(|p| *p > first && *p < 100), "no intermediate progress: {progress:?}");
}

#[tokio::test]
async fn cross_region_copy_creating_then_available() {
    let estate = Estate::shared();
    let tenant = estate.tenant("copy");
    let client = rds(&tenant, "us-east-1").await;
    let id = unique("dr-copy");
    let source = &estate.seed().cluster_snapshots["dsit-litellm-rds-pg-prod-pre-upgrade"];

    client
        .copy_db_cluster_snapshot()
        .source_db_cluster_snapshot_identifier(source)
        .target_db_cluster_snapshot_identifier(&id)
        .kms_key_id(&estate.seed().kms["us-east-1"].key_arn)
        .send()
        .await
        .expect("cross-region copy with a destination key");
    assert_eq!(snapshot_state(&client, &id).await.0, "creating");

    let start = std::time::Instant::now();
    while snapshot_state(&client, &id).await.0 != "available" {
        assert!(start.elapsed() < LIMIT, "copy not available after {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected = real(estate.config().durations["snapshot_copy_cross_region"]);
    assert!(start.elapsed() >= expected.mul_f64(0.7), "copy took {:?}, expected about {expected:?}", start.elapsed());
}
