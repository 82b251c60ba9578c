//! Snapshot copies, safety snapshots and owned deletes against the local emulated estate.
//!
//! Each test takes its own tenant (isolated fault rules and request log) and
//! run id. Resources are shared across the tests of this binary, so every
//! assertion looks only at identifiers the test made itself.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_rds::types::Tag;
use drctl::actions::{self, ActionEnv, Mode};
use drctl_executor::{ActionError, Outputs, StepContext};
use drctl_testkit::{FaultKind, FaultRule, SeedInfo, Tenant};
use serde_json::json;

const SOURCE_REGION: &str = "eu-west-2";
const DESTINATION_REGION: &str = "us-east-1";
const KMS_ALIAS: &str = "alias/dsit-litellm-rds";

async fn run_step(kind: &str, step: &str, params: serde_json::Value, env: ActionEnv) -> Result<Outputs, ActionError> {
    let mut env = env;
    env.step_id = step.to_string();
    let action = actions::build(kind, params, env)?;
    let (cx, _cancel) = StepContext::for_tests(step, "drill");
    action.run(&cx).await
}

/// Returns the ARN of the seeded manual snapshot of the production cluster, which is encrypted.
fn seeded_manual_snapshot_arn() -> String {
    let seed = drctl_testkit::Estate::shared().seed();
    seed.cluster_snapshots
        .iter()
        .find(|(id, _)| !id.starts_with("rds:"))
        .map(|(_, arn)| arn.clone())
        .expect("the seeded estate has a manual cluster snapshot")
}

fn operations(tenant: &Tenant) -> Vec<String> {
    tenant.requests().into_iter().filter_map(|request| request.operation).collect()
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(key, value)| Tag::builder().key(*key).value(*value).build()).collect()
}

/// Tags like drctl's ownership tags for `run_id`.
fn owned_tags(run_id: &str) -> Vec<(String, String)> {
    vec![
        ("drctl:managed-by".to_string(), "drctl".to_string()),
        ("drctl:run-id".to_string(), run_id.to_string()),
        ("drctl:playbook".to_string(), "test-playbook".to_string()),
        ("drctl:step".to_string(), "restore".to_string()),
    ]
}

fn to_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

/// Creates an unencrypted Aurora PostgreSQL cluster with the SDK and waits until it is available.
async fn create_cluster(rds: &aws_sdk_rds::Client, id: &str, tags: Vec<Tag>, deletion_protection: bool) {
    rds.create_db_cluster()
        .db_cluster_identifier(id)
        .engine("aurora-postgresql")
        .engine_version("17.4")
        .master_username("tester")
        .master_user_password("test-password-1")
        .deletion_protection(deletion_protection)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap_or_else(|error| panic!("creating test cluster {id}: {error:?}"));
    wait_for(&format!("cluster {id} available"), || async {
        let output = rds.describe_db_clusters().db_cluster_identifier(id).send().await.ok()?;
        let cluster = output.db_clusters?.into_iter().next()?;
        (cluster.status() == Some("available")).then_some(())
    })
    .await;
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most 60 s.
async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn snapshot_exists(rds: &aws_sdk_rds::Client, id: &str) -> bool {
    match rds.describe_db_cluster_snapshots().db_cluster_snapshot_identifier(id).send().await {
        Ok(output) => !output.db_cluster_snapshots().is_empty(),
        Err(_) => false,
    }
}

async fn cluster_exists(rds: &aws_sdk_rds::Client, id: &str) -> bool {
    match rds.describe_db_clusters().db_cluster_identifier(id).send().await {
        Ok(output) => !output.db_clusters().is_empty(),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_without_key_fails_before_mutating() {
    let (_estate, tenant) = support::tenant("copy-no-key");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("nokey");
    let env = support::env(clients, Mode::Drill, &run_id);

    let params = json!({
        "source": { "id": seeded_manual_snapshot_arn() },
        "source_region": SOURCE_REGION,
        "destination_region": DESTINATION_REGION,
        "target_snapshot_id": format!("{run_id}-copy"),
    });
    let error = run_step("aurora.copy_snapshot", "copy", params, env).await.unwrap_err();

    assert!(error.message.contains("kms_key"), "{}", error.message);
    assert!(error.message.contains(SOURCE_REGION), "{}", error.message);
    assert!(error.message.contains(DESTINATION_REGION), "{}", error.message);
    assert!(tenant.mutating_requests().is_empty(), "mutating calls: {:?}", operations(&tenant));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_with_bad_key_is_rejected() {
    let (_estate, tenant) = support::tenant("copy-bad-key");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("badkey");

    // A key that does not exist in the destination.
    let params = json!({
        "source": { "id": seeded_manual_snapshot_arn() },
        "source_region": SOURCE_REGION,
        "destination_region": DESTINATION_REGION,
        "target_snapshot_id": format!("{run_id}-missing"),
        "kms_key": "alias/no-such-key",
    });
    let error = run_step("aurora.copy_snapshot", "copy", params, support::env(clients.clone(), Mode::Drill, &run_id))
        .await
        .unwrap_err();
    assert!(error.message.contains("not found"), "{}", error.message);
    assert!(error.message.contains(SOURCE_REGION), "{}", error.message);
    assert!(error.message.contains(DESTINATION_REGION), "{}", error.message);

    // A disabled key in the destination.
    let kms = clients.kms(DESTINATION_REGION);
    let key = kms.create_key().description("disabled test key").send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let params = json!({
        "source": { "id": seeded_manual_snapshot_arn() },
        "source_region": SOURCE_REGION,
        "destination_region": DESTINATION_REGION,
        "target_snapshot_id": format!("{run_id}-disabled"),
        "kms_key": key_id,
    });
    let error = run_step("aurora.copy_snapshot", "copy", params, support::env(clients.clone(), Mode::Drill, &run_id))
        .await
        .unwrap_err();
    assert!(error.message.contains("Disabled"), "{}", error.message);
    assert!(error.message.contains(SOURCE_REGION), "{}", error.message);
    assert!(error.message.contains(DESTINATION_REGION), "{}", error.message);

    let copies = operations(&tenant).into_iter().filter(|op| op == "CopyDBClusterSnapshot").count();
    assert_eq!(copies, 0, "no copy may be sent with a bad key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_concurrency_limit_holds() {
    let (_estate, tenant) = support::tenant("copy-limit");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("limit");
    let source = seeded_manual_snapshot_arn();
    let copies = 4;

    // A monitor counts this test's copies in `creating` state, from outside the actions.
    let rds = clients.rds(DESTINATION_REGION);
    let done = Arc::new(AtomicBool::new(false));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let monitor = {
        let (rds, done, max_seen, prefix) = (rds.clone(), done.clone(), max_seen.clone(), format!("{run_id}-copy-"));
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                if let Ok(output) = rds.describe_db_cluster_snapshots().snapshot_type("manual").send().await {
                    let creating = output
                        .db_cluster_snapshots()
                        .iter()
                        .filter(|s| s.db_cluster_snapshot_identifier().unwrap_or_default().starts_with(&prefix))
                        .filter(|s| s.status() == Some("creating"))
                        .count();
                    max_seen.fetch_max(creating, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let mut steps = Vec::new();
    for index in 0..copies {
        let params = json!({
            "source": { "id": source },
            "source_region": SOURCE_REGION,
            "destination_region": DESTINATION_REGION,
            "target_snapshot_id": format!("{run_id}-copy-{index}"),
            "kms_key": KMS_ALIAS,
            "max_in_flight": 2,
        });
        let env = support::env(clients.clone(), Mode::Drill, &run_id);
        steps.push(tokio::spawn(async move { run_step("aurora.copy_snapshot", &format!("copy-{index}"), params, env).await }));
    }
    let mut outputs = Vec::new();
    for step in steps {
        outputs.push(step.await.unwrap().expect("every copy succeeds"));
    }
    done.store(true, Ordering::SeqCst);
    monitor.await.unwrap();

    let max_seen = max_seen.load(Ordering::SeqCst);
    assert!(max_seen <= 2, "{max_seen} copies were creating at once with max_in_flight 2");
    assert!(max_seen >= 1, "the monitor never saw a copy in flight");

    // Each copy went to the destination with the source ARN, the key and the ownership tags.
    let requests: Vec<_> = tenant
        .requests()
        .into_iter()
        .filter(|request| request.operation.as_deref() == Some("CopyDBClusterSnapshot") && request.status == 200)
        .collect();
    assert_eq!(requests.len(), copies);
    for request in &requests {
        assert_eq!(request.region.as_deref(), Some(DESTINATION_REGION));
        let params = request.params.to_string();
        assert!(params.contains(&source), "source ARN missing in {params}");
        assert!(params.contains(KMS_ALIAS), "KMS key missing in {params}");
        assert!(params.contains("drctl:run-id"), "ownership tags missing in {params}");
        assert!(!params.contains("PreSignedUrl"), "no presigned URL outside GovCloud: {params}");
    }
    for output in &outputs {
        assert_eq!(output["region"], json!(DESTINATION_REGION));
        assert_eq!(output["source_snapshot_arn"], json!(source));
        assert_eq!(output["pruned"], json!(0));
    }

    // Undo deletes each copy made by this run.
    for (index, output) in outputs.iter().enumerate() {
        let params = json!({
            "source": { "id": source },
            "source_region": SOURCE_REGION,
            "destination_region": DESTINATION_REGION,
            "target_snapshot_id": format!("{run_id}-copy-{index}"),
            "kms_key": KMS_ALIAS,
        });
        let action = actions::build("aurora.copy_snapshot", params, support::env(clients.clone(), Mode::Drill, &run_id)).unwrap();
        let (cx, _cancel) = StepContext::for_tests("copy", "drill");
        action.undo(&cx, output).await.unwrap();
        assert!(!snapshot_exists(&rds, &format!("{run_id}-copy-{index}")).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prune_keeps_newest_drctl_copies() {
    let (_estate, tenant) = support::tenant("copy-prune");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("prune");
    let source_rds = clients.rds(SOURCE_REGION);
    let destination_rds = clients.rds(DESTINATION_REGION);

    // A cluster of this test's own, so pruning groups only this test's copies.
    let cluster = format!("{run_id}-src");
    create_cluster(&source_rds, &cluster, Vec::new(), false).await;
    let source_snapshot = format!("{run_id}-src-snap");
    let created = source_rds
        .create_db_cluster_snapshot()
        .db_cluster_identifier(&cluster)
        .db_cluster_snapshot_identifier(&source_snapshot)
        .set_tags(Some(tags(&[("cost-centre", "payments")])))
        .send()
        .await
        .unwrap();
    let source_arn = created.db_cluster_snapshot().unwrap().db_cluster_snapshot_arn().unwrap().to_string();
    wait_for("source snapshot available", || async {
        let output = source_rds.describe_db_cluster_snapshots().db_cluster_snapshot_identifier(&source_snapshot).send().await.ok()?;
        (output.db_cluster_snapshots().first()?.status() == Some("available")).then_some(())
    })
    .await;

    // A copy of the same cluster made by someone else, without drctl's tags.
    let foreign = format!("{run_id}-foreign");
    destination_rds
        .copy_db_cluster_snapshot()
        .source_db_cluster_snapshot_identifier(&source_arn)
        .target_db_cluster_snapshot_identifier(&foreign)
        .set_tags(Some(tags(&[("drctl:source-cluster", &cluster), ("team", "data")])))
        .send()
        .await
        .unwrap();

    // Three drctl copies in turn, each pruning down to the newest two.
    let mut pruned = Vec::new();
    for index in 0..3 {
        let params = json!({
            "source": { "latest_of": cluster, "type": "manual" },
            "source_region": SOURCE_REGION,
            "destination_region": DESTINATION_REGION,
            "target_snapshot_id": format!("{run_id}-copy-{index}"),
            "prune": { "keep": 2 },
        });
        let env = support::env(clients.clone(), Mode::Drill, &format!("{run_id}-r{index}"));
        let outputs = run_step("aurora.copy_snapshot", "copy", params, env).await.unwrap();
        pruned.push(outputs["pruned"].clone());
        // Distinct creation times, so "newest" is well defined.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }

    assert_eq!(pruned, vec![json!(0), json!(0), json!(1)]);

    // Running the last copy step again adopts its copy: no second copy, nothing more pruned.
    let params = json!({
        "source": { "latest_of": cluster, "type": "manual" },
        "source_region": SOURCE_REGION,
        "destination_region": DESTINATION_REGION,
        "target_snapshot_id": format!("{run_id}-copy-2"),
        "prune": { "keep": 2 },
    });
    let env = support::env(clients.clone(), Mode::Drill, &format!("{run_id}-r2"));
    let again = run_step("aurora.copy_snapshot", "copy", params, env).await.unwrap();
    assert_eq!(again["pruned"], json!(0));
    let copy_requests = operations(&tenant).into_iter().filter(|op| op == "CopyDBClusterSnapshot").count();
    assert_eq!(copy_requests, 4, "three drctl copies and the foreign one");
    assert!(!snapshot_exists(&destination_rds, &format!("{run_id}-copy-0")).await, "the oldest copy is pruned");
    assert!(snapshot_exists(&destination_rds, &format!("{run_id}-copy-1")).await);
    assert!(snapshot_exists(&destination_rds, &format!("{run_id}-copy-2")).await);
    assert!(snapshot_exists(&destination_rds, &foreign).await, "a snapshot without drctl tags is never pruned");

    // copy_tags brings the source's own tags along with drctl's.
    let copy = destination_rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(format!("{run_id}-copy-2"))
        .send()
        .await
        .unwrap();
    let copy_tags = copy.db_cluster_snapshots()[0].tag_list().to_vec();
    assert!(copy_tags.iter().any(|tag| tag.key() == Some("cost-centre") && tag.value() == Some("payments")), "{copy_tags:?}");
    assert!(copy_tags.iter().any(|tag| tag.key() == Some("drctl:source-cluster") && tag.value() == Some(cluster.as_str())), "{copy_tags:?}");

    let deletes: Vec<_> = tenant
        .requests()
        .into_iter()
        .filter(|request| request.operation.as_deref() == Some("DeleteDBClusterSnapshot"))
        .collect();
    assert_eq!(deletes.len(), 1, "exactly one snapshot is pruned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_of_unowned_cluster_is_refused() {
    let (_estate, tenant) = support::tenant("delete-unowned");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("unowned");
    let rds = clients.rds(SOURCE_REGION);

    // Created without tags, so no run owns it.
    let untagged = format!("{run_id}-untagged");
    create_cluster(&rds, &untagged, Vec::new(), false).await;

    let params = json!({
        "scope": "listed",
        "region": SOURCE_REGION,
        "clusters": [SeedInfo::CLUSTER_ID, untagged],
    });
    let error = run_step("aurora.delete", "cleanup", params, support::env(clients, Mode::Drill, &run_id))
        .await
        .expect_err("a listed delete that leaves its resources alone fails");

    // The playbook named both clusters, so the step fails and names them.
    assert!(error.message.contains("refused to delete 2 listed resource(s)"), "{}", error.message);
    assert!(error.message.contains(SeedInfo::CLUSTER_ID), "{}", error.message);
    assert!(error.message.contains(&untagged), "{}", error.message);
    let ops = operations(&tenant);
    assert!(!ops.iter().any(|op| op == "DeleteDBCluster"), "operations: {ops:?}");
    assert!(!ops.iter().any(|op| op == "DeleteDBInstance"), "operations: {ops:?}");
    assert!(cluster_exists(&rds, SeedInfo::CLUSTER_ID).await);
    assert!(cluster_exists(&rds, &untagged).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_run_scope_removes_run_resources() {
    let (_estate, tenant) = support::tenant("delete-run");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("cleanup");
    let rds = clients.rds(SOURCE_REGION);
    let owned = owned_tags(&run_id);

    // A cluster with deletion protection that drctl turned on, an instance and a snapshot, all tagged with the run.
    let cluster = format!("{run_id}-restored");
    let mut cluster_tags = owned.clone();
    cluster_tags.push(("drctl:deletion-protection-set".to_string(), "true".to_string()));
    create_cluster(&rds, &cluster, to_tags(&cluster_tags), true).await;
    let instance = format!("{run_id}-restored-1");
    rds.create_db_instance()
        .db_instance_identifier(&instance)
        .db_cluster_identifier(&cluster)
        .engine("aurora-postgresql")
        .db_instance_class("db.serverless")
        .set_tags(Some(to_tags(&owned)))
        .send()
        .await
        .unwrap();
    let snapshot = format!("{run_id}-safety");
    rds.create_db_cluster_snapshot()
        .db_cluster_identifier(&cluster)
        .db_cluster_snapshot_identifier(&snapshot)
        .set_tags(Some(to_tags(&owned)))
        .send()
        .await
        .unwrap();
    wait_for("instance and snapshot available", || async {
        let instance = rds.describe_db_instances().db_instance_identifier(&instance).send().await.ok()?;
        let snapshot = rds.describe_db_cluster_snapshots().db_cluster_snapshot_identifier(&snapshot).send().await.ok()?;
        let ready = instance.db_instances().first()?.db_instance_status() == Some("available")
            && snapshot.db_cluster_snapshots().first()?.status() == Some("available");
        ready.then_some(())
    })
    .await;

    // A cluster of another run is left alone.
    let other = format!("{run_id}-other");
    create_cluster(&rds, &other, to_tags(&owned_tags("another-run")), false).await;

    let params = json!({ "scope": "run", "regions": [SOURCE_REGION, DESTINATION_REGION] });
    let outputs = run_step("aurora.delete", "cleanup", params, support::env(clients, Mode::Drill, &run_id)).await.unwrap();

    assert_eq!(outputs["deleted"], json!(3));
    assert_eq!(outputs["refused"], json!(0));
    assert!(!cluster_exists(&rds, &cluster).await, "the step waits until the cluster is gone");
    assert!(!snapshot_exists(&rds, &snapshot).await);
    assert!(cluster_exists(&rds, &other).await);

    let ops = operations(&tenant);
    let position = |name: &str| ops.iter().position(|op| op == name).unwrap_or_else(|| panic!("{name} missing in {ops:?}"));
    assert!(position("DeleteDBInstance") < position("DeleteDBCluster"), "instances go first: {ops:?}");
    assert!(position("ModifyDBCluster") < position("DeleteDBCluster"), "protection is lifted first: {ops:?}");
    let deleted: HashSet<String> = tenant
        .requests()
        .into_iter()
        .filter(|request| request.operation.as_deref() == Some("DeleteDBCluster"))
        .map(|request| request.params.to_string())
        .collect();
    assert!(deleted.iter().all(|params| !params.contains(&other)), "another run's cluster was deleted: {deleted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_keeps_protection_set_by_others() {
    let (_estate, tenant) = support::tenant("delete-protected");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("protected");
    let rds = clients.rds(SOURCE_REGION);

    // Owned by the run, but protection was not turned on by drctl.
    let cluster = format!("{run_id}-guarded");
    create_cluster(&rds, &cluster, to_tags(&owned_tags(&run_id)), true).await;

    let params = json!({ "scope": "listed", "region": SOURCE_REGION, "clusters": [cluster] });
    let error = run_step("aurora.delete", "cleanup", params, support::env(clients, Mode::Drill, &run_id)).await.unwrap_err();

    assert!(error.message.contains("deletion protection"), "{}", error.message);
    assert!(error.message.contains(&cluster), "{}", error.message);
    let ops = operations(&tenant);
    assert!(!ops.iter().any(|op| op == "ModifyDBCluster" || op == "DeleteDBCluster"), "operations: {ops:?}");
    assert!(cluster_exists(&rds, &cluster).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_wait_retries_throttling() {
    let (_estate, tenant) = support::tenant("snapshot-throttle");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("safety");
    let rds = clients.rds(SOURCE_REGION);
    let cluster = format!("{run_id}-db");
    create_cluster(&rds, &cluster, Vec::new(), false).await;

    tenant.add_fault(FaultRule::rate("DescribeDBClusterSnapshots", FaultKind::Throttle, 0.5, 11));
    let snapshot_id = format!("{run_id}-pre");
    let params = json!({ "cluster": cluster, "region": SOURCE_REGION, "snapshot_id": snapshot_id, "delete_on_undo": true });
    let env = support::env(clients.clone(), Mode::Drill, &run_id);
    let action = actions::build("aurora.snapshot", params.clone(), env.clone()).unwrap();
    let (cx, _cancel) = StepContext::for_tests("snapshot", "drill");
    let outputs = action.run(&cx).await.expect("throttled polls are retried");
    tenant.clear_faults();

    let throttled = tenant.requests().iter().filter(|request| request.fault.as_deref() == Some("throttle")).count();
    assert!(throttled >= 1, "the fault rule never fired, so the test proved nothing");
    assert_eq!(outputs["snapshot_id"], json!(snapshot_id));
    assert!(outputs["created_at"].as_str().is_some_and(|time| chrono::DateTime::parse_from_rfc3339(time).is_ok()));
    let snapshot = rds.describe_db_cluster_snapshots().db_cluster_snapshot_identifier(&snapshot_id).send().await.unwrap();
    let snapshot = &snapshot.db_cluster_snapshots()[0];
    assert_eq!(snapshot.status(), Some("available"));
    assert!(snapshot.tag_list().iter().any(|tag| tag.key() == Some("drctl:run-id") && tag.value() == Some(run_id.as_str())));

    // Running it again adopts the snapshot instead of creating a second one.
    let again = action.run(&cx).await.unwrap();
    assert_eq!(again["snapshot_arn"], outputs["snapshot_arn"]);
    let creates = operations(&tenant).into_iter().filter(|op| op == "CreateDBClusterSnapshot").count();
    assert_eq!(creates, 1);

    // delete_on_undo removes it.
    action.undo(&cx, &outputs).await.unwrap();
    assert!(!snapshot_exists(&rds, &snapshot_id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_runs_make_no_mutating_calls() {
    // Clients without the read-only guard, so the request log shows what the actions themselves send.
    let (_estate, tenant) = support::tenant("dry-run");
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id("dry");
    let env = support::env(clients, Mode::Drill, &run_id);

    let steps = [
        (
            "aurora.copy_snapshot",
            json!({
                "source": { "latest_of": SeedInfo::CLUSTER_ID, "type": "any" },
                "source_region": SOURCE_REGION,
                "destination_region": DESTINATION_REGION,
                "target_snapshot_id": format!("{run_id}-copy"),
                "kms_key": KMS_ALIAS,
                "prune": { "keep": 2 },
            }),
        ),
        ("aurora.snapshot", json!({ "cluster": SeedInfo::CLUSTER_ID, "region": SOURCE_REGION, "snapshot_id": format!("{run_id}-pre") })),
        ("aurora.delete", json!({ "scope": "run", "regions": [SOURCE_REGION, DESTINATION_REGION] })),
        ("aurora.delete", json!({ "scope": "listed", "region": SOURCE_REGION, "clusters": [SeedInfo::CLUSTER_ID] })),
    ];
    let steps_again = steps.clone();
    for (kind, params) in steps {
        let action = actions::build(kind, params, env.clone()).unwrap();
        let (cx, _cancel) = StepContext::for_tests("dry", "drill");
        let lines = action.dry_run(&cx).await.unwrap_or_else(|error| panic!("dry run of {kind}: {error}"));
        if kind != "aurora.delete" {
            assert!(!lines.is_empty(), "{kind} listed nothing");
        }
    }
    assert!(tenant.mutating_requests().is_empty(), "mutating calls: {:?}", operations(&tenant));
    assert!(!tenant.requests().is_empty(), "the dry runs made no calls at all");

    // The same dry runs also pass through the read-only guard that real dry runs use.
    let guarded = support::env(support::clients(&tenant, true).await, Mode::Drill, &run_id);
    for (kind, params) in steps_again {
        let action = actions::build(kind, params, guarded.clone()).unwrap();
        let (cx, _cancel) = StepContext::for_tests("dry", "drill");
        action.dry_run(&cx).await.unwrap_or_else(|error| panic!("guarded dry run of {kind}: {error}"));
    }
    assert!(tenant.mutating_requests().is_empty(), "mutating calls: {:?}", operations(&tenant));
}
