//! Seeding is idempotent: a second run creates nothing and reports the same ids.

use std::path::Path;
use std::process::Command;

use drctl_testkit::Estate;

#[test]
fn second_seed_returns_same_ids() {
    let estate = Estate::shared();
    let integration = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integration");
    let output = Command::new(integration.join(".venv/bin/python"))
        .args(["-m", "emulator.cli", "seed", "--json", "--endpoint", estate.endpoint()])
        .current_dir(&integration)
        .output()
        .expect("run estate seed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let again: drctl_testkit::SeedInfo = serde_json::from_slice(&output.stdout).expect("seed --json output");
    let first = estate.seed();
    assert_eq!(again.vpc_id, first.vpc_id);
    assert_eq!(again.cluster_arn, first.cluster_arn);
    assert_eq!(again.kms["eu-west-2"].key_arn, first.kms["eu-west-2"].key_arn);
    assert_eq!(again.kms["us-east-1"].key_arn, first.kms["us-east-1"].key_arn);
    assert_eq!(again.listener_arn, first.listener_arn);
    assert_eq!(again.target_group_arn, first.target_group_arn);
    assert_eq!(again.recovery_target_group_arn, first.recovery_target_group_arn);
    assert_eq!(again.tfstate.version_ids, first.tfstate.version_ids);
    assert_eq!(again.subnets.len(), 6);
    assert!(again.cluster_snapshots.keys().any(|id| id.starts_with("rds:dsit-litellm-rds-pg-prod-")));
    assert!(again.cluster_snapshots.contains_key("dsit-litellm-rds-pg-prod-pre-upgrade"));
}
