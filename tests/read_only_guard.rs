//! The read-only clients used by dry runs and preflight: reads pass, writes
//! are rejected before anything is sent.

mod support;

#[tokio::test]
async fn read_only_clients_allow_reads_and_reject_writes() {
    let (_estate, tenant) = support::tenant("read-only-guard");
    let aws = support::clients(&tenant, true).await;
    let rds = aws.rds("eu-west-2");

    let clusters = rds
        .describe_db_clusters()
        .db_cluster_identifier("dsit-litellm-rds-pg-prod")
        .send()
        .await
        .expect("a describe call passes the read-only guard");
    assert_eq!(clusters.db_clusters().len(), 1);

    let error = rds
        .create_db_cluster_snapshot()
        .db_cluster_identifier("dsit-litellm-rds-pg-prod")
        .db_cluster_snapshot_identifier("must-not-exist")
        .send()
        .await
        .expect_err("a mutating call must be rejected");
    let text = aws_smithy_types::error::display::DisplayErrorContext(&error).to_string();
    assert!(text.contains("refusing mutating call"), "{text}");
    assert!(text.contains("CreateDBClusterSnapshot"), "{text}");

    let sent: Vec<String> = tenant.requests().into_iter().filter_map(|request| request.operation).collect();
    assert!(sent.contains(&"DescribeDBClusters".to_string()), "{sent:?}");
    assert!(!sent.contains(&"CreateDBClusterSnapshot".to_string()), "the write reached the emulator: {sent:?}");
}
