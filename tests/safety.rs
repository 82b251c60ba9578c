//! Safety promises of the drctl binary, checked against the local estate
//! through the tenant's request log:
//!
//! - a dry run and `plan --preflight` make no mutating AWS call, for every
//!   shipped playbook;
//! - a drill never changes a resource drctl did not create: `validate`
//!   rejects such playbooks, and when validation cannot see the target, the
//!   step refuses at run time without a mutating call on it;
//! - a second run of the same playbook and variables is refused while the
//!   first holds the target lock;
//! - no secret reaches a log line, the journal or a report.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use drctl_testkit::Tenant;
use support::cli::{Drctl, assert_no_panic, describe, leftovers, playbook};

/// Variables each shipped playbook needs beyond its defaults, and the mode it runs in.
fn shipped_playbooks(drctl: &Drctl) -> Vec<(&'static str, &'static str, Vec<String>)> {
    // The seeded state has one version a day; 36 hours back picks the second newest.
    let before = (chrono::Utc::now() - chrono::Duration::hours(36)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut db_vars = drctl.estate_vars();
    // incident-recovery has no backup region restore.
    for name in ["db_via_backup=", "backup_security_group="] {
        if let Some(at) = db_vars.iter().position(|v| v.starts_with(name)) {
            db_vars.drain(at - 1..=at);
        }
    }
    vec![
        ("quarterly-restore-drill.yaml", "drill", drctl.estate_vars()),
        ("nightly-snapshot-copy.yaml", "drill", vec![]),
        ("incident-recovery.yaml", "incident", db_vars),
        ("tfstate-rollback.yaml", "incident", vec!["--var".into(), format!("before={before}")]),
    ]
}

fn mutating_calls(tenant: &Tenant) -> Vec<String> {
    tenant
        .mutating_requests()
        .iter()
        .map(|r| format!("{} {} {}", r.region.as_deref().unwrap_or("-"), r.operation.as_deref().unwrap_or("-"), r.params))
        .collect()
}

/// Dry-runs every shipped playbook, each with a tenant of its own, and
/// returns (file, tenant, output).
fn dry_run_all() -> Vec<(&'static str, Tenant, std::process::Output)> {
    let (estate, _) = support::tenant("dryrun");
    let mut results = Vec::new();
    for (file, mode, vars) in shipped_playbooks(&Drctl::new(estate, &estate.tenant("dryvars"))) {
        let tenant = estate.tenant(&format!("dry-{file}"));
        let drctl = Drctl::new(estate, &tenant);
        let mut args = vec!["run".to_string(), playbook(file), "--mode".into(), mode.into(), "--dry-run".into()];
        args.extend(["--progress".to_string(), "plain".to_string()]);
        args.extend(vars);
        let output = drctl.run_owned(&args);
        assert_no_panic(&output, file);
        results.push((file, tenant, output));
    }
    results
}

#[test]
fn dry_run_makes_no_mutating_call() {
    for (file, tenant, output) in dry_run_all() {
        let mutating = mutating_calls(&tenant);
        assert!(mutating.is_empty(), "dry run of {file} made mutating calls: {mutating:#?}\n{}", describe(&output));
        assert!(!tenant.requests().is_empty(), "dry run of {file} made no AWS call at all; it checked nothing");
    }
}

#[test]
fn dry_run_succeeds_and_describes_every_step() {
    let mut failures = Vec::new();
    for (file, _tenant, output) in dry_run_all() {
        if output.status.code() != Some(0) {
            failures.push(format!("dry run of {file} did not succeed\n{}", describe(&output)));
            continue;
        }

        // Every step prints what it would do.
        let stdout = String::from_utf8_lossy(&output.stdout);
        let text = std::fs::read_to_string(playbook(file)).unwrap();
        for step in step_ids(&text) {
            let described = stdout.lines().any(|line| line.contains(&format!("[{step}] succeeded")))
                && stdout.contains("dry_run:");
            if !described {
                failures.push(format!("dry run of {file} did not describe step {step}\n{}", describe(&output)));
            }
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn preflight_makes_no_mutating_call() {
    let (estate, _) = support::tenant("preflight");
    for (file, mode, vars) in shipped_playbooks(&Drctl::new(estate, &estate.tenant("prevars"))) {
        let tenant = estate.tenant(&format!("pre-{file}"));
        let drctl = Drctl::new(estate, &tenant);
        let mut args = vec!["plan".to_string(), playbook(file), "--mode".into(), mode.into(), "--preflight".into()];
        args.extend(vars);
        let output = drctl.run_owned(&args);
        assert_no_panic(&output, file);

        let mutating = mutating_calls(&tenant);
        assert!(mutating.is_empty(), "preflight of {file} made mutating calls: {mutating:#?}\n{}", describe(&output));
        assert!(!tenant.requests().is_empty(), "preflight of {file} made no AWS call at all");
        assert_eq!(output.status.code(), Some(0), "preflight of {file} found problems in the seeded estate\n{}", describe(&output));
    }
}

/// Step ids of a playbook, read with a plain line scan so the test does not
/// depend on the loader it checks.
fn step_ids(text: &str) -> Vec<String> {
    let mut in_steps = false;
    let mut ids = Vec::new();
    for line in text.lines() {
        if line.starts_with("steps:") {
            in_steps = true;
        } else if in_steps {
            if let Some(id) = line.strip_prefix("  - id: ") {
                ids.push(id.trim().to_string());
            }
        }
    }
    ids
}

// ---------------------------------------------------------------- ownership

const PROD_CLUSTER: &str = "dsit-litellm-rds-pg-prod";
const PROD_TARGET_GROUP: &str = "dsit-litellm-tg-4000";

const PROTECTED: &str = r#"protected:
  - { type: "rds:cluster", id: dsit-litellm-rds-pg-prod }
  - { type: "rds:instance", id: "dsit-litellm-rds-pg-prod-*" }
  - { type: "elbv2:target-group", id: dsit-litellm-tg-4000 }
"#;

/// Writes a drill playbook with the given variables and steps into `dir`.
fn write_drill(dir: &Path, name: &str, variables: &str, steps: &str) -> String {
    let text = format!(
        "version: 1\nname: {name}\nmodes: [drill]\nregions: {{ primary: eu-west-2, backup: us-east-1 }}\n{variables}{PROTECTED}steps:\n{steps}"
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const DELETE_PROD: &str = r#"  - id: delete-prod
    kind: aurora.delete
    timeout: 10m
    params:
      scope: listed
      region: eu-west-2
      clusters: [dsit-litellm-rds-pg-prod]
      final_snapshot: false
"#;

const WRITER_IN_PROD: &str = r#"  - id: writer-in-prod
    kind: aurora.create_instances
    timeout: 10m
    params:
      cluster_id: dsit-litellm-rds-pg-prod
      region: eu-west-2
      writer: { id: "drill-${{ run.id }}-w", availability_zone: eu-west-2a }
      instance_class: db.serverless
"#;

fn repoint(target_group: &str) -> String {
    format!(
        r#"  - id: repoint
    kind: alb.repoint
    timeout: 10m
    params:
      region: eu-west-2
      targets:
        target_group: "{target_group}"
        register:
          - {{ ip: 10.1.2.77, port: 4000 }}
        deregister_others: true
"#
    )
}

fn validate(drctl: &Drctl, file: &str) -> std::process::Output {
    let output = drctl.run(&["validate", file]);
    assert_no_panic(&output, file);
    output
}

#[test]
fn validate_rejects_repointing_production() {
    let (estate, tenant) = support::tenant("valrepoint");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let file = write_drill(dir.path(), "repoint-prod", "", &repoint(PROD_TARGET_GROUP));

    let output = validate(&drctl, &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains(PROD_TARGET_GROUP), "the message does not name the target group\n{}", describe(&output));
    assert!(stderr.contains("protected"), "the message does not name the protected rule\n{}", describe(&output));
    assert!(tenant.requests().is_empty(), "validate made AWS calls");
}

#[test]
fn validate_rejects_deleting_production() {
    let (estate, tenant) = support::tenant("valdelete");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let file = write_drill(dir.path(), "delete-prod", "", DELETE_PROD);

    let output = validate(&drctl, &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains(PROD_CLUSTER), "the message does not name the cluster\n{}", describe(&output));
    assert!(stderr.contains("protected"), "the message does not name the protected rule\n{}", describe(&output));
}

#[test]
fn validate_rejects_instance_in_production() {
    let (estate, tenant) = support::tenant("valwriter");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let file = write_drill(dir.path(), "writer-in-prod", "", WRITER_IN_PROD);

    let output = validate(&drctl, &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains(PROD_CLUSTER), "the message does not name the cluster\n{}", describe(&output));
}

#[test]
fn run_rejects_production_from_variable_override() {
    let (estate, tenant) = support::tenant("runvar");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let variables = "variables:\n  tg:\n    type: string\n    default: \"drill-tg-${{ run.id }}\"\n";
    let file = write_drill(dir.path(), "repoint-var", variables, &repoint("${{ vars.tg }}"));

    let output = drctl.run(&["run", &file, "--mode", "drill", "--var", &format!("tg={PROD_TARGET_GROUP}")]);
    assert_no_panic(&output, &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains(PROD_TARGET_GROUP), "the message does not name the target group\n{}", describe(&output));
    assert!(tenant.mutating_requests().is_empty(), "mutating calls: {:#?}", tenant.mutating_requests());
}

/// How a refused step ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The step fails.
    Fails,
    /// The step may also succeed with a `refused` output above zero, as
    /// aurora.delete does for resources it leaves alone.
    FailsOrCountsRefused,
}

/// Runs a drill playbook that validation accepts, and asserts that its one
/// step refused to act on `resource`, saying so, and that no mutating call
/// reached the emulator.
fn assert_refused_at_run_time(drctl: &Drctl, tenant: &Tenant, file: &str, run_id: &str, resource: &str, refusal: Refusal) {
    let validation = validate(drctl, file);
    assert_eq!(validation.status.code(), Some(0), "validation should pass, so the run-time check is what stops it\n{}", describe(&validation));

    let output = drctl.run(&["run", file, "--mode", "drill", "--run-id", run_id, "--progress", "plain"]);
    assert_no_panic(&output, file);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let counted = drctl
        .journal(run_id)
        .iter()
        .any(|r| r["type"] == "output" && r["outputs"]["refused"].as_i64().is_some_and(|n| n > 0));
    match refusal {
        Refusal::Fails => assert_eq!(output.status.code(), Some(1), "the run should fail\n{}", describe(&output)),
        Refusal::FailsOrCountsRefused => assert!(
            output.status.code() == Some(1) || counted,
            "the run neither failed nor counted a refused resource\n{}",
            describe(&output)
        ),
    }
    assert!(text.contains("refus"), "no refusal in the output\n{}", describe(&output));
    assert!(text.contains(resource), "the refusal does not name {resource}\n{}", describe(&output));

    let mutating: Vec<_> = tenant.mutating_requests().into_iter().map(|r| (r.operation, r.params)).collect();
    assert!(mutating.is_empty(), "mutating calls despite the refusal: {mutating:#?}");
}

#[test]
fn run_refuses_deleting_production() {
    let (estate, tenant) = support::tenant("rundelete");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let file = write_drill(dir.path(), "delete-prod", "", DELETE_PROD);
    let run_id = support::unique_run_id("rdel");
    let output = drctl.run(&["run", &file, "--mode", "drill", "--run-id", &run_id, "--progress", "plain"]);
    assert_no_panic(&output, &file);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(text.contains(PROD_CLUSTER), "the output does not name {PROD_CLUSTER}\n{}", describe(&output));
    // Rejected at load (exit 2) once validation checks listed deletes, refused by the step until then.
    if output.status.code() != Some(2) {
        assert!(text.contains("refus"), "no refusal in the output\n{}", describe(&output));
    }
    assert!(tenant.mutating_requests().is_empty(), "mutating calls: {:#?}", tenant.mutating_requests());
    let check = support::tenant("rundelete-check").1;
    assert!(
        leftovers(&check, PROD_CLUSTER).iter().any(|r| r.starts_with("cluster ") && r.contains(" available")),
        "the production cluster is no longer available"
    );
}

#[test]
fn run_refuses_instance_in_production() {
    let (estate, tenant) = support::tenant("runwriter");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let file = write_drill(dir.path(), "writer-in-prod", "", WRITER_IN_PROD);
    let run_id = support::unique_run_id("rwri");
    // Adding an instance changes the cluster, so the run is rejected while
    // loading the playbook, before any AWS call.
    let output = drctl.run(&["run", &file, "--mode", "drill", "--run-id", &run_id, "--progress", "plain"]);
    assert_no_panic(&output, &file);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(PROD_CLUSTER), "the message does not name the cluster\n{}", describe(&output));
    assert!(tenant.mutating_requests().is_empty(), "mutating calls: {:#?}", tenant.mutating_requests());
}

/// Creates, with `creator`'s key, an untagged cluster and target group whose
/// names contain `run_id`, as a person might have made by hand.
fn create_unowned(creator: &Tenant, run_id: &str) -> (String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let clients = support::clients(creator, false).await;
        let seed = drctl_testkit::Estate::shared().seed();
        let cluster = format!("unowned-{run_id}");
        clients
            .rds("eu-west-2")
            .create_db_cluster()
            .db_cluster_identifier(&cluster)
            .engine("aurora-postgresql")
            .engine_version("17.4")
            .master_username("unowned")
            .master_user_password("unowned-password-1")
            .db_subnet_group_name("dsit-litellm-rds-pg-subnetgrp")
            .send()
            .await
            .expect("CreateDBCluster for an unowned cluster");
        let group = format!("tg-{run_id}");
        let created = clients
            .elbv2("eu-west-2")
            .create_target_group()
            .name(&group)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(4000)
            .vpc_id(&seed.vpc_id)
            .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
            .send()
            .await
            .expect("CreateTargetGroup for an unowned target group");
        assert!(!created.target_groups().is_empty());
        (cluster, group)
    })
}

#[test]
fn run_refuses_unowned_resources() {
    let (estate, tenant) = support::tenant("rununowned");
    let drctl = Drctl::new(estate, &tenant);
    let creator = estate.tenant("creator");
    // Short: ELBv2 target group names have at most 32 characters.
    let run_id = format!("u{}", std::process::id() % 100_000);
    let (cluster, group) = create_unowned(&creator, &run_id);
    let dir = tempfile::tempdir().unwrap();

    // Delete a cluster that is not protected but lacks drctl's tags.
    let delete = r#"  - id: delete-unowned
    kind: aurora.delete
    timeout: 10m
    params:
      scope: listed
      region: eu-west-2
      clusters: ["unowned-${{ run.id }}"]
      final_snapshot: false
"#;
    let file = write_drill(dir.path(), "delete-unowned", "", delete);
    // A listed resource that is left alone fails the step: the playbook named it.
    assert_refused_at_run_time(&drctl, &tenant, &file, &run_id, &cluster, Refusal::Fails);
    let check = estate.tenant("unowned-check");
    assert!(
        leftovers(&check, &run_id).iter().any(|r| r.starts_with(&format!("cluster {cluster} "))),
        "the unowned cluster {cluster} is gone"
    );

    // Repoint a target group whose name derives from the run id, so
    // validation lets it through, but that drctl did not create.
    let tenant = estate.tenant("rununowned-tg");
    let drctl = Drctl::new(estate, &tenant);
    let file = write_drill(dir.path(), "repoint-unowned", "", &repoint("tg-${{ run.id }}"));
    assert_refused_at_run_time(&drctl, &tenant, &file, &run_id, &group, Refusal::Fails);
}

// ---------------------------------------------------------------- target lock

#[test]
fn concurrent_run_is_locked_out() {
    let (estate, tenant) = support::tenant("lock");
    let drctl = Drctl::new(estate, &tenant);
    let first_id = support::unique_run_id("lka");
    let second_id = support::unique_run_id("lkb");
    let mut first = drctl.command().args(drctl.drill_args(&first_id)).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();

    // The journal exists once the first run holds the lock.
    let journal = drctl.run_dir(&first_id).join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !journal.exists() {
        assert!(Instant::now() < deadline, "the first run wrote no journal within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }

    let second = drctl.run_owned(&drctl.drill_args(&second_id));
    let still_running = first.try_wait().unwrap().is_none();
    let status = first.wait().unwrap();
    assert_no_panic(&second, "second run");
    assert!(still_running, "the first run ended before the second started; the test proves nothing (first: {status})");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(5), "{}", describe(&second));
    assert!(stderr.contains(&first_id), "the message does not name the run holding the lock\n{}", describe(&second));
    assert!(!drctl.run_dir(&second_id).join("journal.jsonl").exists(), "the refused run wrote a journal");
    assert!(leftovers(&estate.tenant("lock-check"), &first_id).is_empty(), "the first run left resources behind");
}

// ---------------------------------------------------------------- secrets

#[test]
fn secrets_stay_out_of_logs_and_reports() {
    let (estate, tenant) = support::tenant("secrets");
    let mut drctl = Drctl::new(estate, &tenant);
    let password = estate.pg().password.clone();
    // A shape like an STS session token; the emulator does not check it.
    let session_token = format!("IQoJb3JpZ2luX2VjEDrctlSessionToken{}/Zm9vYmFyYmF6+q==", std::process::id());
    drctl.set_env("DRCTL_RESTORE_PW", &password);
    drctl.set_env("DRCTL_DB_PASSWORD", "");
    drctl.set_env("AWS_SESSION_TOKEN", &session_token);
    drctl.set_env("DRCTL_LOG", "debug");
    let secrets = [("database password", password.as_str()), ("AWS secret access key", tenant.secret_access_key()), ("session token", session_token.as_str())];
    assert!(password.len() >= 12, "the estate's database password is too short to search for: {} characters", password.len());

    let run_id = support::unique_run_id("sec");
    let mut args = vec!["--log-format".to_string(), "json".to_string()];
    args.extend(drctl.drill_args(&run_id));
    args.extend(["--var".to_string(), "db_password_env=DRCTL_RESTORE_PW".to_string()]);
    let output = drctl.run_owned(&args);
    assert_no_panic(&output, "drill");
    assert!(matches!(output.status.code(), Some(0 | 8)), "the drill did not succeed\n{}", describe(&output));
    let run_dir = drctl.run_dir(&run_id);
    let checks_ran = drctl.journal(&run_id).iter().any(|r| r["type"] == "step_succeeded" && r["step"] == "verify-primary");
    assert!(checks_ran, "verify-primary did not succeed, so the password was never used");

    let mut places: Vec<(String, String)> = vec![
        ("stdout".into(), String::from_utf8_lossy(&output.stdout).into()),
        ("stderr".into(), String::from_utf8_lossy(&output.stderr).into()),
    ];
    assert!(places[1].1.contains("DEBUG") || places[1].1.contains("\"level\":\"DEBUG\""), "stderr has no debug lines; the log level was not applied");
    for entry in std::fs::read_dir(&run_dir).unwrap() {
        let path = entry.unwrap().path();
        if let Ok(text) = std::fs::read_to_string(&path) {
            places.push((path.display().to_string(), text));
        }
    }
    for format in ["json", "markdown", "html", "junit"] {
        let report = drctl.run(&["report", &run_id, "--format", format]);
        assert_eq!(report.status.code(), Some(0), "{}", describe(&report));
        places.push((format!("drctl report --format {format}"), String::from_utf8_lossy(&report.stdout).into()));
    }
    let names: Vec<&str> = places.iter().map(|(name, _)| name.as_str()).collect();
    assert!(names.iter().any(|n| n.ends_with("journal.jsonl")), "no journal among {names:?}");
    assert!(names.iter().filter(|n| n.contains("report.")).count() >= 4, "fewer than four reports among {names:?}");

    for (what, secret) in secrets {
        for (place, text) in &places {
            assert!(!text.contains(secret), "the {what} appears in {place}");
        }
    }
}
