//! Aurora restores and instances against the emulated estate: the
//! restorable-window check, requested settings, adoption after a crash,
//! refusal of a stranger's cluster, throttled waits, dry runs and a snapshot
//! restore in the backup region.

mod support;

use std::time::Duration;

use aws_sdk_rds::types::Tag;
use drctl::actions::{ActionEnv, Mode, build};
use drctl::aws::rds::{tag_pairs, to_utc};
use drctl_executor::{Action, Outputs, StepContext};
use drctl_testkit::{FaultKind, FaultRule, SeedInfo, Tenant};
use serde_json::json;

const SOURCE: &str = SeedInfo::CLUSTER_ID;
const SUBNET_GROUP: &str = "dsit-litellm-rds-pg-subnetgrp";

fn action(kind: &str, params: serde_json::Value, env: &ActionEnv) -> Box<dyn Action> {
    build(kind, params, env.clone()).unwrap_or_else(|error| panic!("building {kind}: {}", error.message))
}

/// Parameters of a point-in-time restore of the seeded cluster into `cluster_id`.
fn pitr_params(cluster_id: &str, restore_to: &str) -> serde_json::Value {
    json!({
        "source_cluster": SOURCE,
        "restore_to": restore_to,
        "target": {
            "cluster_id": cluster_id,
            "region": "eu-west-2",
            "subnet_group": "same-as-source",
            "security_groups": "same-as-source",
            "kms_key": "same-as-source"
        }
    })
}

fn operations(tenant: &Tenant, operation: &str) -> usize {
    tenant.requests().iter().filter(|request| request.operation.as_deref() == Some(operation)).count()
}

async fn describe_cluster(env: &ActionEnv, region: &str, cluster_id: &str) -> Option<aws_sdk_rds::types::DbCluster> {
    drctl::aws::rds::describe_cluster(&env.aws.rds(region), region, cluster_id).await.unwrap()
}

fn output_str<'a>(outputs: &'a Outputs, name: &str) -> &'a str {
    outputs.get(name).and_then(|value| value.as_str()).unwrap_or_else(|| panic!("output {name} missing in {outputs:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_outside_window_rejected_before_mutation() {
    let (_estate, tenant) = support::tenant("pitr-window");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("window"));
    let source = describe_cluster(&env, "eu-west-2", SOURCE).await.expect("seeded cluster");
    let earliest = to_utc(source.earliest_restorable_time()).unwrap();
    let latest = to_utc(source.latest_restorable_time()).unwrap();

    for (name, restore_to) in [
        ("before earliest", (earliest - chrono::Duration::days(1)).to_rfc3339()),
        ("after latest", (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()),
        ("incident offset", "incident-30d".to_string()),
    ] {
        let cluster_id = format!("{}-w", env.run_id);
        let (cx, _cancel) = StepContext::for_tests("restore", "drill");
        let error = action("aurora.restore_pitr", pitr_params(&cluster_id, &restore_to), &env).run(&cx).await.unwrap_err();
        assert!(error.message.contains("outside the restorable window"), "{name}: {}", error.message);
        // Both bounds move with the clock, so check their dates only.
        let earliest_text = format!("earliest {}", earliest.format("%Y-%m-%dT"));
        let latest_text = format!("latest {}", latest.format("%Y-%m-%dT"));
        assert!(error.message.contains(&earliest_text), "{name}: earliest bound missing: {}", error.message);
        assert!(error.message.contains(&latest_text), "{name}: latest bound missing: {}", error.message);
    }
    assert_eq!(tenant.mutating_requests().len(), 0, "no mutating call may precede the window check");
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_restore_with_writer_and_settings() {
    let (estate, tenant) = support::tenant("pitr-settings");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("settings"));
    let cluster_id = format!("{}-c", env.run_id);
    let writer_id = format!("{}-w", env.run_id);

    let mut params = pitr_params(&cluster_id, "latest");
    params["target"]["serverless_v2"] = json!({ "min_capacity": 0.5, "max_capacity": 8 });
    params["target"]["storage_type"] = json!("aurora-iopt1");
    params["target"]["deletion_protection"] = json!(true);
    params["target"]["iam_database_authentication"] = json!(true);
    params["target"]["tags"] = json!({ "purpose": "dr-drill" });
    params["target"]["performance_insights"] = json!({ "retention_days": 7 });
    params["target"]["enhanced_monitoring"] = json!({ "interval_seconds": 60, "role_arn": "arn:aws:iam::072136646002:role/rds-monitoring-role" });
    let restore = action("aurora.restore_pitr", params, &env);
    let (cx, _cancel) = StepContext::for_tests("restore", "drill");
    let outputs = restore.run(&cx).await.unwrap_or_else(|error| panic!("restore failed: {}", error.message));

    assert_eq!(output_str(&outputs, "cluster_id"), cluster_id);
    assert_eq!(output_str(&outputs, "region"), "eu-west-2");
    let suffix = &estate.config().rds_endpoint_suffixes["eu-west-2"];
    assert_eq!(output_str(&outputs, "writer_endpoint"), format!("{cluster_id}.cluster-{suffix}.eu-west-2.rds.amazonaws.com"));
    assert_eq!(outputs["port"], json!(5432));
    assert!(output_str(&outputs, "resource_id").starts_with("cluster-"));
    assert!(chrono::DateTime::parse_from_rfc3339(output_str(&outputs, "restored_to")).is_ok());

    let create = action(
        "aurora.create_instances",
        json!({
            "cluster_id": cluster_id,
            "region": "eu-west-2",
            "writer": { "id": writer_id, "availability_zone": "eu-west-2a" },
            "tags": { "purpose": "dr-drill" }
        }),
        &env,
    );
    let (instances_cx, _cancel) = StepContext::for_tests("writer", "drill");
    let instance_outputs = create.run(&instances_cx).await.unwrap_or_else(|error| panic!("create instances failed: {}", error.message));
    assert_eq!(output_str(&instance_outputs, "writer_instance_id"), writer_id);
    assert_eq!(output_str(&instance_outputs, "instance_ids"), writer_id);
    assert!(instance_outputs["cluster_wait_seconds"].as_f64().unwrap() >= 0.0);
    assert!(instance_outputs["instances_wait_seconds"].as_f64().unwrap() > 0.0, "an instance takes simulated minutes to create");

    // Re-entry adopts the writer instead of creating it again.
    let again = create.run(&instances_cx).await.unwrap_or_else(|error| panic!("create instances re-entry failed: {}", error.message));
    assert_eq!(again["writer_instance_id"], instance_outputs["writer_instance_id"]);
    assert_eq!(operations(&tenant, "CreateDBInstance"), 1);

    // Read the settings back as AWS reports them.
    let cluster = describe_cluster(&env, "eu-west-2", &cluster_id).await.expect("restored cluster");
    let scaling = cluster.serverless_v2_scaling_configuration().expect("Serverless v2 scaling");
    assert_eq!(scaling.min_capacity(), Some(0.5));
    assert_eq!(scaling.max_capacity(), Some(8.0));
    assert_eq!(cluster.storage_type(), Some("aurora-iopt1"));
    assert_eq!(cluster.deletion_protection(), Some(true));
    assert_eq!(cluster.iam_database_authentication_enabled(), Some(true));
    assert_eq!(cluster.db_subnet_group(), Some(SUBNET_GROUP));
    let tags = tag_pairs(cluster.tag_list());
    assert!(env.created_by_this_run(&tags), "ownership tags missing: {tags:?}");
    assert!(tags.contains(&("purpose".to_string(), "dr-drill".to_string())), "{tags:?}");
    // The restore request carries no Performance Insights or monitoring
    // settings, and one ModifyDBCluster after the restore applies them. The
    // request log shows it because moto 5.2.5 does not store either setting
    // on a cluster, so DescribeDBClusters cannot.
    let requests = tenant.requests();
    let restore_request = requests.iter().find(|r| r.operation.as_deref() == Some("RestoreDBClusterToPointInTime")).expect("restore request");
    let restore_params = restore_request.params.to_string();
    assert!(!restore_params.contains("PerformanceInsights"), "{restore_params}");
    assert!(!restore_params.contains("MonitoringInterval"), "{restore_params}");
    let modifies: Vec<_> = requests.iter().filter(|r| r.operation.as_deref() == Some("ModifyDBCluster")).collect();
    assert_eq!(modifies.len(), 1);
    assert!(modifies[0].seq > restore_request.seq);
    assert_eq!(modifies[0].params["EnablePerformanceInsights"], json!("true"), "{:?}", modifies[0].params);
    assert_eq!(modifies[0].params["MonitoringInterval"], json!("60"), "{:?}", modifies[0].params);

    let members = cluster.db_cluster_members();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].db_instance_identifier(), Some(writer_id.as_str()));

    let rds = env.aws.rds("eu-west-2");
    let instance = rds.describe_db_instances().db_instance_identifier(&writer_id).send().await.unwrap().db_instances()[0].clone();
    assert_eq!(instance.db_instance_class(), Some("db.serverless"));
    assert_eq!(instance.db_instance_status(), Some("available"));
    assert_eq!(instance.availability_zone(), Some("eu-west-2a"));
    assert!(env.created_by_this_run(&tag_pairs(instance.tag_list())));

    // Undo both steps: the instance, then the cluster (deletion protection was drctl's).
    create.undo(&instances_cx, &instance_outputs).await.unwrap_or_else(|error| panic!("instance undo: {}", error.message));
    restore.undo(&cx, &outputs).await.unwrap_or_else(|error| panic!("restore undo: {}", error.message));
    assert!(describe_cluster(&env, "eu-west-2", &cluster_id).await.is_none(), "cluster still exists after undo");
    let deletes = tenant.requests().into_iter().filter(|r| r.operation.as_deref() == Some("DeleteDBCluster")).collect::<Vec<_>>();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].params["SkipFinalSnapshot"], json!("true"), "{:?}", deletes[0].params);
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_reentry_after_crash_adopts() {
    let (_estate, tenant) = support::tenant("pitr-crash");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("crash"));
    let cluster_id = format!("{}-c", env.run_id);

    // The first attempt recorded its intent and called the restore, then crashed
    // before recording the resource: the cluster exists, the journal has only the note.
    let (cx, _cancel) = StepContext::for_tests("restore", "drill");
    let restored_to = chrono::Utc::now() - chrono::Duration::hours(1);
    cx.record_note("restore_intent", json!({ "cluster_id": cluster_id, "region": "eu-west-2", "restored_to": restored_to }))
        .await
        .unwrap();
    let rds = env.aws.rds("eu-west-2");
    let tags: Vec<Tag> = drctl::aws::rds::rds_tags(&env.ownership_tags());
    rds.restore_db_cluster_to_point_in_time()
        .db_cluster_identifier(&cluster_id)
        .source_db_cluster_identifier(SOURCE)
        .restore_to_time(aws_smithy_types::DateTime::from_secs(restored_to.timestamp()))
        .db_subnet_group_name(SUBNET_GROUP)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();

    let restore = action("aurora.restore_pitr", pitr_params(&cluster_id, "latest"), &env);
    let outputs = restore.run(&cx).await.unwrap_or_else(|error| panic!("re-entry failed: {}", error.message));
    assert_eq!(output_str(&outputs, "cluster_id"), cluster_id);
    assert_eq!(
        output_str(&outputs, "restored_to"),
        restored_to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "restored_to must come from the intent note"
    );
    assert_eq!(operations(&tenant, "RestoreDBClusterToPointInTime"), 1, "re-entry must not restore again");

    // A second run of the finished step adopts again.
    restore.run(&cx).await.unwrap_or_else(|error| panic!("second re-entry failed: {}", error.message));
    assert_eq!(operations(&tenant, "RestoreDBClusterToPointInTime"), 1);

    restore.undo(&cx, &outputs).await.unwrap_or_else(|error| panic!("undo: {}", error.message));
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_rejects_stranger_cluster() {
    let (_estate, tenant) = support::tenant("pitr-stranger");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("stranger"));
    let cluster_id = format!("{}-c", env.run_id);

    // Another run's cluster already has the identifier.
    let mut other = env.clone();
    other.run_id = format!("{}-other", env.run_id);
    env.aws
        .rds("eu-west-2")
        .restore_db_cluster_to_point_in_time()
        .db_cluster_identifier(&cluster_id)
        .source_db_cluster_identifier(SOURCE)
        .use_latest_restorable_time(true)
        .set_tags(Some(drctl::aws::rds::rds_tags(&other.ownership_tags())))
        .send()
        .await
        .unwrap();
    let restores_before = operations(&tenant, "RestoreDBClusterToPointInTime");

    let (cx, _cancel) = StepContext::for_tests("restore", "drill");
    let restore = action("aurora.restore_pitr", pitr_params(&cluster_id, "latest"), &env);
    let error = restore.run(&cx).await.unwrap_err();
    assert!(error.message.contains("will not adopt"), "{}", error.message);
    assert!(error.message.contains(&cluster_id), "{}", error.message);
    assert_eq!(operations(&tenant, "RestoreDBClusterToPointInTime"), restores_before);

    // The undo must not delete it either.
    let mut outputs = Outputs::new();
    outputs.insert("cluster_id".into(), json!(cluster_id));
    let error = restore.undo(&cx, &outputs).await.unwrap_err();
    assert!(error.message.contains("refusing to delete"), "{}", error.message);
    assert!(describe_cluster(&env, "eu-west-2", &cluster_id).await.is_some());
    assert_eq!(operations(&tenant, "DeleteDBCluster"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_wait_survives_throttling() {
    let (_estate, tenant) = support::tenant("pitr-throttle");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("throttle"));
    let cluster_id = format!("{}-c", env.run_id);

    let restore = action("aurora.restore_pitr", pitr_params(&cluster_id, "latest"), &env);
    let task = tokio::spawn(async move {
        let (cx, _cancel) = StepContext::for_tests("restore", "drill");
        let result = restore.run(&cx).await;
        (restore, cx, result)
    });

    // Throttle the next describes once the restore call is in, so they hit the wait.
    let watcher = tenant.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while operations(&watcher, "RestoreDBClusterToPointInTime") == 0 {
            assert!(std::time::Instant::now() < deadline, "the restore call never arrived");
            std::thread::sleep(Duration::from_millis(20));
        }
        watcher.add_fault(FaultRule::next("DescribeDBClusters", FaultKind::Throttle, 6));
    })
    .await
    .unwrap();

    let (restore, cx, result) = task.await.unwrap();
    let outputs = result.unwrap_or_else(|error| panic!("restore with throttled waits failed: {}", error.message));
    let throttled = tenant
        .requests()
        .iter()
        .filter(|request| request.operation.as_deref() == Some("DescribeDBClusters") && request.fault.as_deref() == Some("throttle"))
        .count();
    assert_eq!(throttled, 6, "every injected throttle should have been hit and retried");
    assert_eq!(operations(&tenant, "RestoreDBClusterToPointInTime"), 1);
    restore.undo(&cx, &outputs).await.unwrap_or_else(|error| panic!("undo: {}", error.message));
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_dry_run_is_read_only() {
    let (_estate, tenant) = support::tenant("pitr-dry");
    let clients = support::clients(&tenant, true).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("dry"));
    let cluster_id = format!("{}-c", env.run_id);
    let mut params = pitr_params(&cluster_id, "incident-10m");
    params["target"]["performance_insights"] = json!({ "retention_days": 7 });

    let (cx, _cancel) = StepContext::for_tests("restore", "drill");
    let lines = action("aurora.restore_pitr", params.clone(), &env).dry_run(&cx).await.unwrap_or_else(|error| panic!("dry run: {}", error.message));
    let text = lines.join("\n");
    assert!(text.contains(&format!("restore source cluster {SOURCE}")), "{text}");
    assert!(text.contains(&format!("create cluster {cluster_id} in eu-west-2 with subnet group {SUBNET_GROUP}")), "{text}");
    assert!(text.contains("ModifyDBCluster"), "{text}");

    let instances = json!({ "cluster_id": cluster_id, "region": "eu-west-2", "writer": { "id": format!("{cluster_id}-w") } });
    let lines = action("aurora.create_instances", instances, &env).dry_run(&cx).await.unwrap_or_else(|error| panic!("dry run: {}", error.message));
    assert!(lines.iter().any(|line| line.contains("create writer")), "{lines:?}");

    assert_eq!(tenant.mutating_requests().len(), 0, "a dry run must make no mutating call");
    assert!(describe_cluster(&env, "eu-west-2", &cluster_id).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_restore_into_us_east_1() {
    let (estate, tenant) = support::tenant("snap-use1");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("use1"));
    let seed = estate.seed();
    let us_key = &seed.kms["us-east-1"];
    let source_arn = seed
        .cluster_snapshots
        .iter()
        .find(|(id, _)| !id.starts_with("rds:"))
        .map(|(_, arn)| arn.clone())
        .expect("seeded manual snapshot");

    // Copy the manual snapshot to us-east-1 with the backup region's key.
    let copy_id = format!("{}-copy", env.run_id);
    let us_rds = env.aws.rds("us-east-1");
    us_rds
        .copy_db_cluster_snapshot()
        .source_db_cluster_snapshot_identifier(&source_arn)
        .target_db_cluster_snapshot_identifier(&copy_id)
        .kms_key_id(&us_key.key_arn)
        .send()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let snapshot = drctl::aws::rds::describe_cluster_snapshot(&us_rds, "us-east-1", &copy_id).await.unwrap().expect("copy");
        if snapshot.status() == Some("available") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "snapshot copy stuck in {:?}", snapshot.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let cluster_id = format!("{}-c", env.run_id);
    let mut params = json!({
        "snapshot": { "latest_of": SOURCE, "type": "manual" },
        "target": {
            "cluster_id": cluster_id,
            "region": "us-east-1",
            "subnet_group": "same-as-source",
            "security_groups": ["sg-0dr0backup0000001"],
            "kms_key": "same-as-source",
            "serverless_v2": { "min_capacity": 0.5, "max_capacity": 4 },
            "storage_type": "aurora-iopt1"
        }
    });

    // The source cluster lives in eu-west-2, so same-as-source cannot supply a subnet group.
    let mutating_before = tenant.mutating_requests().len();
    let (cx, _cancel) = StepContext::for_tests("restore-use1", "drill");
    let error = action("aurora.restore_snapshot", params.clone(), &env).run(&cx).await.unwrap_err();
    assert!(error.message.contains("set target.subnet_group explicitly"), "{}", error.message);
    assert_eq!(tenant.mutating_requests().len(), mutating_before);

    params["target"]["subnet_group"] = json!("dsit-litellm-rds-pg-subnetgrp-use1");

    // Dry runs: a snapshot an earlier step would copy, and the real one.
    let mut missing = params.clone();
    missing["snapshot"] = json!({ "id": format!("{copy_id}-not-yet") });
    let lines = action("aurora.restore_snapshot", missing, &env).dry_run(&cx).await.unwrap_or_else(|error| panic!("dry run: {}", error.message));
    assert!(lines[0].contains("does not exist in us-east-1 yet"), "{lines:?}");
    let lines = action("aurora.restore_snapshot", params.clone(), &env).dry_run(&cx).await.unwrap_or_else(|error| panic!("dry run: {}", error.message));
    assert!(lines[0].contains(&copy_id), "{lines:?}");
    assert!(lines[1].contains("subnet group dsit-litellm-rds-pg-subnetgrp-use1"), "{lines:?}");
    assert_eq!(tenant.mutating_requests().len(), mutating_before);

    let restore = action("aurora.restore_snapshot", params, &env);
    let outputs = restore.run(&cx).await.unwrap_or_else(|error| panic!("snapshot restore failed: {}", error.message));
    assert_eq!(output_str(&outputs, "region"), "us-east-1");
    assert!(output_str(&outputs, "snapshot_arn").contains(":us-east-1:"), "{outputs:?}");
    assert!(output_str(&outputs, "snapshot_arn").ends_with(&copy_id), "{outputs:?}");
    assert!(output_str(&outputs, "writer_endpoint").contains(".us-east-1."), "{outputs:?}");

    let cluster = describe_cluster(&env, "us-east-1", &cluster_id).await.expect("restored cluster");
    assert_eq!(cluster.status(), Some("available"));
    assert_eq!(cluster.storage_type(), Some("aurora-iopt1"));
    assert_eq!(cluster.kms_key_id(), Some(us_key.key_arn.as_str()));
    assert!(env.created_by_this_run(&tag_pairs(cluster.tag_list())));
    let restores = tenant.requests().into_iter().filter(|r| r.operation.as_deref() == Some("RestoreDBClusterFromSnapshot")).collect::<Vec<_>>();
    assert_eq!(restores.len(), 1);
    assert_eq!(restores[0].region.as_deref(), Some("us-east-1"));

    restore.undo(&cx, &outputs).await.unwrap_or_else(|error| panic!("undo: {}", error.message));
    assert!(describe_cluster(&env, "us-east-1", &cluster_id).await.is_none());
}
