//! The request log: operations, regions, mutating flags and redacted secrets.

use drctl_testkit::{Estate, SeedInfo};

use crate::support::{rds, s3_from, sdk_config, unique};

#[tokio::test]
async fn log_classifies_and_redacts() {
    let estate = Estate::shared();
    let tenant = estate.tenant("log");
    let client = rds(&tenant, "eu-west-2").await;
    let s3 = s3_from(&sdk_config(&tenant, "eu-west-2").await);
    let copy_id = unique("log-copy");
    let cluster_id = unique("log-cluster");

    client
        .describe_db_clusters()
        .db_cluster_identifier(SeedInfo::CLUSTER_ID)
        .send()
        .await
        .expect("describe");
    s3.get_bucket_versioning()
        .bucket(&estate.seed().tfstate.bucket)
        .send()
        .await
        .expect("get versioning");
    client
        .copy_db_cluster_snapshot()
        .source_db_cluster_snapshot_identifier("dsit-litellm-rds-pg-prod-pre-upgrade")
        .target_db_cluster_snapshot_identifier(&copy_id)
        .send()
        .await
        .expect("copy snapshot");
    client
        .create_db_cluster()
        .db_cluster_identifier(&cluster_id)
        .engine("aurora-postgresql")
        .master_username("admin_user")
        .master_user_password("very-secret-password")
        .send()
        .await
        .expect("create cluster");

    let requests = tenant.requests();
    let operations: Vec<&str> = requests.iter().filter_map(|r| r.operation.as_deref()).collect();
    assert_eq!(
        operations,
        ["DescribeDBClusters", "GetBucketVersioning", "CopyDBClusterSnapshot", "CreateDBCluster"]
    );
    let mutating: Vec<bool> = requests.iter().map(|r| r.mutating).collect();
    assert_eq!(mutating, [false, false, true, true]);
    assert!(requests.iter().all(|r| r.region.as_deref() == Some("eu-west-2")));
    assert_eq!(requests[0].service.as_deref(), Some("rds"));
    assert_eq!(requests[1].service.as_deref(), Some("s3"));
    assert!(requests.windows(2).all(|w| w[0].seq < w[1].seq));

    let create = &requests[3];
    assert_eq!(create.params["MasterUserPassword"], "REDACTED");
    assert_eq!(create.params["DBClusterIdentifier"], cluster_id.as_str());
    assert!(!serde_json::to_string(&create.params).unwrap().contains("very-secret-password"));

    let mutating = tenant.mutating_requests();
    assert_eq!(mutating.len(), 2);
    assert_eq!(mutating[0].operation.as_deref(), Some("CopyDBClusterSnapshot"));
}
