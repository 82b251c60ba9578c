//! `tfstate.rollback` against the emulated estate's Terraform state bucket.
//!
//! Read-only tests use the seeded key. Tests that write copy the seeded
//! versions into a key of their own in the same bucket, so they never
//! disturb each other or the seeded history.

mod support;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use drctl::actions::{self, ActionEnv, Mode};
use drctl::tfstate::{self, StateVersion, TerraformState, md5_hex};
use drctl_executor::{ActionError, Outputs, StepContext};
use drctl_testkit::{Estate, Tenant};
use serde_json::json;

const KIND: &str = "tfstate.rollback";

struct Fixture {
    estate: &'static Estate,
    tenant: Tenant,
    env: ActionEnv,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    run_id: String,
}

async fn fixture(name: &str, mode: Mode) -> Fixture {
    let (estate, tenant) = support::tenant(name);
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id(name);
    let env = support::env(clients.clone(), mode, &run_id);
    Fixture { estate, s3: clients.s3("eu-west-2"), dynamodb: clients.dynamodb("eu-west-2"), tenant, env, run_id }
}

impl Fixture {
    fn bucket(&self) -> String {
        self.estate.seed().tfstate.bucket.clone()
    }

    /// Reads the seeded versions' contents, oldest first (serials 1, 2, ...).
    async fn seeded_documents(&self) -> Vec<Vec<u8>> {
        let info = &self.estate.seed().tfstate;
        let mut documents = Vec::new();
        for version_id in &info.version_ids {
            documents.push(tfstate::fetch_version(&self.s3, &info.bucket, &info.key, "eu-west-2", version_id).await.unwrap());
        }
        documents
    }

    /// Writes `documents` as successive versions of `key`; returns their version ids, oldest first.
    async fn write_versions(&self, key: &str, documents: &[Vec<u8>], pause: std::time::Duration) -> Vec<String> {
        let mut ids = Vec::new();
        for (i, document) in documents.iter().enumerate() {
            if i > 0 && !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let output = self
                .s3
                .put_object()
                .bucket(self.bucket())
                .key(key)
                .body(ByteStream::from(document.clone()))
                .content_type("application/json")
                .send()
                .await
                .unwrap();
            ids.push(output.version_id().unwrap().to_string());
        }
        ids
    }

    async fn versions(&self, key: &str) -> Vec<StateVersion> {
        tfstate::list_versions(&self.s3, &self.bucket(), key, "eu-west-2").await.unwrap()
    }

    async fn current_bytes(&self, key: &str) -> Vec<u8> {
        let output = self.s3.get_object().bucket(self.bucket()).key(key).send().await.unwrap();
        output.body.collect().await.unwrap().into_bytes().to_vec()
    }

    fn params(&self, key: &str, select: serde_json::Value) -> serde_json::Value {
        json!({ "bucket": self.bucket(), "key": key, "region": "eu-west-2", "select": select })
    }

    fn test_key(&self, suffix: &str) -> String {
        format!("drctl-tests/{}/{suffix}/terraform.tfstate", self.run_id)
    }
}

async fn run(env: &ActionEnv, cx: &StepContext, params: serde_json::Value) -> Result<Outputs, ActionError> {
    let action = actions::build(KIND, params, env.clone())?;
    action.run(cx).await
}

fn state(bytes: &[u8]) -> TerraformState {
    TerraformState::parse(bytes).unwrap()
}

/// Parses the document and removes its serial, to compare content across serials.
fn without_serial(bytes: &[u8]) -> serde_json::Value {
    let mut document: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    document.as_object_mut().unwrap().remove("serial");
    document
}

#[tokio::test]
async fn lists_seeded_versions() {
    let f = fixture("tfstate-list", Mode::Incident).await;
    let info = &f.estate.seed().tfstate;
    let versions = f.versions(&info.key).await;
    assert!(versions.len() >= 5, "expected at least 5 seeded versions, found {}", versions.len());
    assert!(versions[0].is_latest);
    let serials: Vec<u64> = versions.iter().filter_map(|v| v.serial).collect();
    let mut sorted = serials.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(serials, sorted, "versions are listed newest first");
    assert!(versions.iter().all(|v| v.lineage.is_some() && v.parse_error.is_none()));
    assert_ne!(versions[0].resource_count, versions.last().unwrap().resource_count);

    let table = tfstate::render_versions_table(&versions);
    assert_eq!(table.lines().count(), versions.len() + 1);
    assert!(table.contains(&format!("{} (current)", versions[0].version_id)));
}

#[tokio::test]
async fn rollback_with_each_selector() {
    let f = fixture("tfstate-select", Mode::Incident).await;
    let documents: Vec<Vec<u8>> = f.seeded_documents().await.into_iter().take(5).collect();

    // Versions one second apart, so `before` can fall between two of them.
    let key = f.test_key("selectors");
    let ids = f.write_versions(&key, &documents, std::time::Duration::from_millis(1100)).await;
    let listed = f.versions(&key).await;
    let fourth_time = listed.iter().find(|v| v.version_id == ids[3]).unwrap().last_modified.unwrap();

    // Each case starts from the same five versions; `before` uses the key
    // written with pauses, the others a key of their own.
    let cases = [("version_id", 1usize), ("versions_back", 2), ("serial", 0), ("before", 2)];
    for (name, source) in cases {
        let (case_key, case_ids) = if name == "before" {
            (key.clone(), ids.clone())
        } else {
            let case_key = f.test_key(name);
            let case_ids = f.write_versions(&case_key, &documents, std::time::Duration::ZERO).await;
            (case_key, case_ids)
        };
        let select = match name {
            "version_id" => json!({ "version_id": case_ids[1] }),
            "versions_back" => json!({ "versions_back": 2 }),
            "serial" => json!({ "serial": 1 }),
            _ => json!({ "before": fourth_time.to_rfc3339() }),
        };

        let before_versions = f.versions(&case_key).await;
        let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
        let outputs = run(&f.env, &cx, f.params(&case_key, select)).await.unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(outputs["restored_from_version_id"], json!(case_ids[source]), "{name}: restored version");
        assert_eq!(outputs["previous_version_id"], json!(case_ids[4]), "{name}: previous version");
        assert_eq!(outputs["new_serial"], json!(6), "{name}: serial is the current serial plus one");

        let current = f.current_bytes(&case_key).await;
        assert_eq!(state(&current).serial, 6, "{name}");
        assert_eq!(without_serial(&current), without_serial(&documents[source]), "{name}: content");

        let after_versions = f.versions(&case_key).await;
        assert_eq!(after_versions.len(), before_versions.len() + 1, "{name}: exactly one new version");
        assert_eq!(after_versions[0].version_id, outputs["new_version_id"].as_str().unwrap(), "{name}");
        for (id, document) in case_ids.iter().zip(&documents) {
            let bytes = tfstate::fetch_version(&f.s3, &f.bucket(), &case_key, "eu-west-2", id).await.unwrap();
            assert_eq!(&bytes, document, "{name}: version {id} is unchanged");
        }
    }

    // No version was deleted: no DeleteObjectVersion at all, and DeleteObject only on lock objects.
    let mutating = f.tenant.mutating_requests();
    assert!(!mutating.iter().any(|r| r.operation.as_deref() == Some("DeleteObjectVersion")));
    for request in mutating.iter().filter(|r| r.operation.as_deref() == Some("DeleteObject")) {
        assert!(request.params.to_string().contains(".tflock"), "DeleteObject on a non-lock key: {}", request.params);
    }
}

#[tokio::test]
async fn lineage_change_needs_flag() {
    let f = fixture("tfstate-lineage", Mode::Incident).await;
    let documents = f.seeded_documents().await;
    let workspace = {
        let info = &f.estate.seed().tfstate;
        f.current_bytes(&info.workspace_key).await
    };
    assert_ne!(state(&workspace).lineage, state(&documents[0]).lineage, "the workspace state has its own lineage");

    let key = f.test_key("lineage");
    let ids = f.write_versions(&key, &[documents[0].clone(), workspace.clone()], std::time::Duration::ZERO).await;

    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let error = run(&f.env, &cx, f.params(&key, json!({ "versions_back": 1 }))).await.unwrap_err();
    assert!(error.message.contains("lineage"), "{}", error.message);
    assert!(error.message.contains(&ids[0]), "{}", error.message);
    assert_eq!(f.versions(&key).await.len(), 2, "nothing was written");

    let mut params = f.params(&key, json!({ "versions_back": 1 }));
    params["allow_lineage_change"] = json!(true);
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let outputs = run(&f.env, &cx, params).await.unwrap();
    assert_eq!(outputs["lineage"], json!(state(&documents[0]).lineage));
    assert_eq!(outputs["new_serial"], json!(state(&workspace).serial + 1));
    assert_eq!(state(&f.current_bytes(&key).await).lineage, state(&documents[0]).lineage);
}

#[tokio::test]
async fn held_locks_reject_naming_holder() {
    let f = fixture("tfstate-locks", Mode::Incident).await;
    let documents: Vec<Vec<u8>> = f.seeded_documents().await.into_iter().take(3).collect();
    let key = f.test_key("locks");
    f.write_versions(&key, &documents, std::time::Duration::ZERO).await;

    // A native lock object as Terraform 1.10 writes it.
    let native = json!({"ID": "0b9e6a2c-1111-4222-8333-444455556666", "Operation": "OperationTypeApply", "Info": "",
                        "Who": "alice@ops-laptop", "Version": "1.10.2", "Created": "2026-12-04T09:00:00.5Z", "Path": ""});
    f.s3.put_object().bucket(f.bucket()).key(format!("{key}.tflock")).body(ByteStream::from(native.to_string().into_bytes())).send().await.unwrap();
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let error = run(&f.env, &cx, f.params(&key, json!({ "versions_back": 1 }))).await.unwrap_err();
    assert!(error.message.contains("alice@ops-laptop"), "{}", error.message);
    assert!(error.message.contains("OperationTypeApply"), "{}", error.message);
    assert!(error.message.contains("0b9e6a2c-1111-4222-8333-444455556666"), "{}", error.message);
    assert_eq!(f.versions(&key).await.len(), 3, "nothing was written under a held lock");
    let lock_still_there = f.s3.head_object().bucket(f.bucket()).key(format!("{key}.tflock")).send().await;
    assert!(lock_still_there.is_ok(), "someone else's lock object is left alone");
    f.s3.delete_object().bucket(f.bucket()).key(format!("{key}.tflock")).send().await.unwrap();

    // A DynamoDB lock item, as the S3 backend's dynamodb_table setting writes it.
    let table = f.estate.seed().tfstate.lock_table.clone();
    let info = json!({"ID": "7d0c2b6e-aaaa-4bbb-8ccc-ddddeeeeffff", "Operation": "OperationTypePlan", "Info": "",
                      "Who": "bob@ci-runner", "Version": "1.9.8", "Created": "2026-12-04T09:05:00Z", "Path": ""});
    let lock_id = format!("{}/{key}", f.bucket());
    f.dynamodb
        .put_item()
        .table_name(&table)
        .set_item(Some(HashMap::from([
            ("LockID".to_string(), AttributeValue::S(lock_id.clone())),
            ("Info".to_string(), AttributeValue::S(info.to_string())),
        ])))
        .send()
        .await
        .unwrap();
    let mut params = f.params(&key, json!({ "versions_back": 1 }));
    params["lock_table"] = json!(table);
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let error = run(&f.env, &cx, params.clone()).await.unwrap_err();
    assert!(error.message.contains("bob@ci-runner"), "{}", error.message);
    assert!(error.message.contains(&table), "{}", error.message);
    assert_eq!(f.versions(&key).await.len(), 3, "nothing was written under a held lock");

    // Once the lock is gone the same rollback goes through.
    f.dynamodb.delete_item().table_name(&table).key("LockID", AttributeValue::S(lock_id)).send().await.unwrap();
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    run(&f.env, &cx, params).await.unwrap();
    assert_eq!(f.versions(&key).await.len(), 4, "one version written after the lock was released");
}

#[tokio::test]
async fn keeps_kms_key_and_updates_digest() {
    let f = fixture("tfstate-kms", Mode::Incident).await;
    let documents: Vec<Vec<u8>> = f.seeded_documents().await.into_iter().take(3).collect();
    let key = f.test_key("kms");
    f.write_versions(&key, &documents, std::time::Duration::ZERO).await;
    let table = f.estate.seed().tfstate.lock_table.clone();

    let mut params = f.params(&key, json!({ "serial": 2 }));
    params["lock_table"] = json!(table);
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let outputs = run(&f.env, &cx, params).await.unwrap();
    let new_version = outputs["new_version_id"].as_str().unwrap();

    let head = f.s3.head_object().bucket(f.bucket()).key(&key).version_id(new_version).send().await.unwrap();
    assert_eq!(head.server_side_encryption().map(|e| e.as_str()), Some("aws:kms"));
    let kms = &f.estate.seed().kms["eu-west-2"];
    let key_id = head.ssekms_key_id().unwrap_or_default();
    assert!(key_id == kms.key_arn || key_id == kms.key_id, "written with {key_id}, the bucket key is {}", kms.key_arn);

    let current = f.current_bytes(&key).await;
    let digest = tfstate::lock::read_digest(&f.dynamodb, &table, &f.bucket(), &key, "eu-west-2").await.unwrap();
    assert_eq!(digest, Some(md5_hex(&current)));

    // The lock object drctl took is released: the key has a delete marker as its newest version.
    let lock = f.s3.head_object().bucket(f.bucket()).key(format!("{key}.tflock")).send().await;
    assert!(lock.is_err(), "the lock object is gone after the rollback");
}

#[tokio::test]
async fn undo_restores_previous_content() {
    let f = fixture("tfstate-undo", Mode::Incident).await;
    let documents: Vec<Vec<u8>> = f.seeded_documents().await.into_iter().take(4).collect();
    let key = f.test_key("undo");
    let ids = f.write_versions(&key, &documents, std::time::Duration::ZERO).await;
    let before = f.current_bytes(&key).await;

    let action = actions::build(KIND, f.params(&key, json!({ "versions_back": 3 })), f.env.clone()).unwrap();
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let outputs = action.run(&cx).await.unwrap();
    assert_eq!(outputs["restored_from_version_id"], json!(ids[0]));

    // A second run of the same step adopts the write instead of writing again.
    let again = action.run(&cx).await.unwrap();
    assert_eq!(again["new_version_id"], outputs["new_version_id"]);
    assert_eq!(f.versions(&key).await.len(), 5);

    action.undo(&cx, &outputs).await.unwrap();
    let after = f.current_bytes(&key).await;
    assert_eq!(without_serial(&after), without_serial(&before), "undo restores the earlier current content");
    assert_eq!(state(&after).serial, 6, "undo writes serial new_serial + 1");
    assert_eq!(f.versions(&key).await.len(), 6);

    // Undo is idempotent too.
    action.undo(&cx, &outputs).await.unwrap();
    assert_eq!(f.versions(&key).await.len(), 6);
}

#[tokio::test]
async fn malformed_version_is_an_error() {
    let f = fixture("tfstate-malformed", Mode::Incident).await;
    let documents = f.seeded_documents().await;
    let key = f.test_key("malformed");
    let broken = b"{\"version\": 4, \"serial\": 2, \"lineage\": ".to_vec();
    let ids = f.write_versions(&key, &[documents[0].clone(), broken, documents[2].clone()], std::time::Duration::ZERO).await;

    let listed = f.versions(&key).await;
    let broken_version = listed.iter().find(|v| v.version_id == ids[1]).unwrap();
    assert!(broken_version.parse_error.as_deref().unwrap_or("").contains("not valid JSON"));

    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let error = run(&f.env, &cx, f.params(&key, json!({ "version_id": ids[1] }))).await.unwrap_err();
    assert!(error.message.contains(&ids[1]), "{}", error.message);
    assert!(error.message.contains("not valid JSON"), "{}", error.message);
    assert_eq!(f.versions(&key).await.len(), 3);
}

#[tokio::test]
async fn workspace_keys_roll_back() {
    let f = fixture("tfstate-workspace", Mode::Incident).await;
    let documents: Vec<Vec<u8>> = f.seeded_documents().await.into_iter().take(3).collect();
    let key = format!("env:/{}/litellm/terraform.tfstate", f.run_id);
    let ids = f.write_versions(&key, &documents, std::time::Duration::ZERO).await;
    let table = f.estate.seed().tfstate.lock_table.clone();

    let mut params = f.params(&key, json!({ "versions_back": 1 }));
    params["lock_table"] = json!(table);
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let outputs = run(&f.env, &cx, params).await.unwrap();
    assert_eq!(outputs["restored_from_version_id"], json!(ids[1]));
    assert_eq!(without_serial(&f.current_bytes(&key).await), without_serial(&documents[1]));
    let digest = tfstate::lock::read_digest(&f.dynamodb, &table, &f.bucket(), &key, "eu-west-2").await.unwrap();
    assert_eq!(digest, Some(md5_hex(&f.current_bytes(&key).await)));
}

#[tokio::test]
async fn dry_run_is_read_only() {
    // Clients without the read-only guard, so the request log proves that the
    // action itself sends no mutating call.
    let (estate, tenant) = support::tenant("tfstate-dry-run");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Incident, &support::unique_run_id("tfstate-dry"));
    let info = &estate.seed().tfstate;
    let params = json!({ "bucket": info.bucket, "key": info.key, "region": "eu-west-2",
                         "select": { "versions_back": 2 }, "lock_table": info.lock_table });

    let action = actions::build(KIND, params, env).unwrap();
    let (cx, _cancel) = StepContext::for_tests("rollback", "incident");
    let lines = action.dry_run(&cx).await.unwrap();
    let text = lines.join("\n");

    assert!(tenant.mutating_requests().is_empty(), "dry run sent {:?}", tenant.mutating_requests());
    assert!(
        text.contains("resources removed (5): aws_lb.main, aws_lb_listener.https, aws_lb_target_group.litellm, aws_lb_target_group.litellm_recovery, aws_lb_target_group_attachment.litellm"),
        "{text}"
    );
    assert!(text.contains("resources added (0): none"), "{text}");
    assert!(text.contains("SHA-256"), "{text}");
    assert!(text.contains("MD5"), "{text}");
    assert!(text.contains("lineage 5b1f2c7e-3d4a-4e8b-9c61-0a7d2f9e4b13"), "{text}");
}

#[tokio::test]
async fn drill_rejects_state_it_did_not_write() {
    let f = fixture("tfstate-drill", Mode::Drill).await;
    let documents: Vec<Vec<u8>> = f.seeded_documents().await.into_iter().take(2).collect();
    let key = f.test_key("drill");
    f.write_versions(&key, &documents, std::time::Duration::ZERO).await;
    let writes_before = f.tenant.mutating_requests().len();

    let (cx, _cancel) = StepContext::for_tests("rollback", "drill");
    let error = run(&f.env, &cx, f.params(&key, json!({ "versions_back": 1 }))).await.unwrap_err();
    assert!(error.message.contains("drill"), "{}", error.message);
    assert_eq!(f.tenant.mutating_requests().len(), writes_before, "a rejected drill writes nothing");
}
