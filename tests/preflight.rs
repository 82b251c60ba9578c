//! `drctl plan --preflight` against the local estate: read-only checks that
//! find real problems, and never a mutating call.

mod support;

use std::io::Write;

use support::cli::{Drctl, describe, playbook};

#[test]
fn drill_preflight_passes_without_mutating() {
    let (estate, tenant) = support::tenant("preflight-drill");
    let drctl = Drctl::new(estate, &tenant);
    let mut args = vec!["plan".to_string(), playbook("quarterly-restore-drill.yaml"), "--preflight".into()];
    args.extend(drctl.estate_vars());
    let output = drctl.command().args(&args).output().unwrap();
    let text = describe(&output);

    assert_eq!(output.status.code(), Some(0), "{text}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("restore window"), "{text}");
    assert!(stdout.contains("kms key"), "{text}");
    assert!(stdout.contains("0 problem(s) found"), "{text}");
    let mutating: Vec<_> = tenant.mutating_requests().into_iter().filter_map(|r| r.operation).collect();
    assert!(mutating.is_empty(), "preflight made mutating calls: {mutating:?}");
    let operations: Vec<_> = tenant.requests().into_iter().filter_map(|r| r.operation).collect();
    for expected in ["DescribeDBClusters", "DescribeKey", "DescribeDBSubnetGroups", "DescribeSecurityGroups"] {
        assert!(operations.iter().any(|op| op == expected), "{expected} not called: {operations:?}");
    }
}

#[test]
fn preflight_reports_each_problem() {
    let (estate, tenant) = support::tenant("preflight-problems");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    // A restore time before the 7-day window, a subnet group that does not
    // exist, and a destination key that does not exist.
    let text = r#"
version: 1
name: broken-preflight
modes: [drill]
rto: { target: 30m }
regions: { primary: eu-west-2, backup: us-east-1 }
steps:
  - id: restore
    kind: aurora.restore_pitr
    params:
      source_cluster: dsit-litellm-rds-pg-prod
      restore_to: "2020-01-01T00:00:00Z"
      target:
        cluster_id: "pf-${{ run.id }}"
        region: eu-west-2
        subnet_group: no-such-subnet-group
        security_groups: same-as-source
        kms_key: same-as-source
  - id: copy
    kind: aurora.copy_snapshot
    params:
      source: { latest_of: dsit-litellm-rds-pg-prod }
      source_region: eu-west-2
      destination_region: us-east-1
      target_snapshot_id: "pf-${{ run.id }}-copy"
      kms_key: alias/no-such-key
"#;
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    let output = drctl.run(&["plan", path.to_str().unwrap(), "--preflight", "--output", "json"]);
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(7), "{text}");

    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&text);
    let failed: Vec<(String, String)> = plan["preflight"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["status"] == "failed")
        .map(|finding| (finding["check"].as_str().unwrap().to_string(), finding["message"].as_str().unwrap().to_string()))
        .collect();
    let has = |check: &str, needle: &str| failed.iter().any(|(c, m)| c == check && m.contains(needle));
    assert!(has("restore window", "outside the restorable window"), "{failed:?}");
    assert!(has("subnet group", "no-such-subnet-group"), "{failed:?}");
    assert!(has("kms key", "alias/no-such-key"), "{failed:?}");
    assert!(tenant.mutating_requests().is_empty());
}
