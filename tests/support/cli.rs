//! Running the real drctl binary against the local estate, as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use drctl_testkit::{Estate, Tenant};

/// A drctl invocation environment: the tenant's AWS settings, a private state
/// directory, the estate's time scale, and the database password.
pub struct Drctl {
    pub state_dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    pg_host: String,
    pg_port: u16,
    pg_user: String,
    pg_ca: PathBuf,
    backup_security_group: String,
    tenant: Tenant,
}

impl Drctl {
    pub fn new(estate: &Estate, tenant: &Tenant) -> Drctl {
        let state_dir = tempfile::Builder::new().prefix("drctl-state-").tempdir().expect("create a state directory");
        let pg = estate.pg();
        let mut env = tenant.env();
        env.push(("DRCTL_STATE_DIR".into(), state_dir.path().display().to_string()));
        env.push(("DRCTL_TIME_SCALE".into(), estate.config().time_scale.to_string()));
        env.push(("DRCTL_DB_PASSWORD".into(), pg.password.clone()));
        env.push(("CI".into(), "true".into()));
        env.push(("NO_COLOR".into(), "1".into()));
        Drctl {
            state_dir,
            env,
            pg_host: pg.host.clone(),
            pg_port: pg.port,
            pg_user: pg.user.clone(),
            pg_ca: pg.ca_file.clone(),
            backup_security_group: estate.seed().backup.db_security_group_id.clone(),
            tenant: tenant.clone(),
        }
    }

    pub fn state_dir(&self) -> &Path {
        self.state_dir.path()
    }

    /// Adds or replaces one environment variable of later invocations.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// A command for the drctl binary with this environment; the caller adds arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_drctl"));
        command.current_dir(env!("CARGO_MANIFEST_DIR"));
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command.env_remove("DRCTL_FAULTS");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("start drctl")
    }

    /// `--var` flags that point the shipped playbooks' restore tests at the
    /// estate's PostgreSQL, through `via` as through a tunnel.
    pub fn estate_vars(&self) -> Vec<String> {
        let via = format!("{}:{}", self.pg_host, self.pg_port);
        vec![
            "--var".into(),
            format!("db_via={via}"),
            "--var".into(),
            format!("db_via_backup={via}"),
            "--var".into(),
            format!("ca_bundle={}", self.pg_ca.display()),
            "--var".into(),
            format!("db_user={}", self.pg_user),
            "--var".into(),
            format!("backup_security_group={}", self.backup_security_group),
        ]
    }

    /// The run directory of `run_id`.
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.state_dir().join("runs").join(run_id)
    }
}

/// Stdout and stderr of a finished command, for assertion messages.
/// Long streams keep only their last 4000 characters.
pub fn describe(output: &Output) -> String {
    fn tail(bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        let chars: Vec<char> = text.chars().collect();
        let start = chars.len().saturating_sub(4000);
        let prefix = if start > 0 { "[...]" } else { "" };
        format!("{prefix}{}", chars[start..].iter().collect::<String>())
    }
    format!(
        "exit {:?} (signal {:?})\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        std::os::unix::process::ExitStatusExt::signal(&output.status),
        tail(&output.stdout),
        tail(&output.stderr)
    )
}

/// Path of a shipped playbook.
pub fn playbook(name: &str) -> String {
    format!("{}/playbooks/{name}", env!("CARGO_MANIFEST_DIR"))
}

impl Drctl {
    /// The tenant whose access key this drctl signs with.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The tenant's requests so far, oldest first.
    pub fn tenant_requests(&self) -> Vec<drctl_testkit::Request> {
        self.tenant.requests()
    }

    /// Whether `run_id` has a journal file.
    pub fn journal_exists(&self, run_id: &str) -> bool {
        self.run_dir(run_id).join("journal.jsonl").exists()
    }

    /// Runs drctl with owned arguments, e.g. ones built with [`Drctl::drill_args`].
    pub fn run_owned(&self, args: &[String]) -> Output {
        self.command().args(args).output().expect("start drctl")
    }

    /// Arguments of `drctl run` for the quarterly drill in drill mode with run id `run_id`.
    pub fn drill_args(&self, run_id: &str) -> Vec<String> {
        let mut args = vec![
            "run".to_string(),
            playbook("quarterly-restore-drill.yaml"),
            "--mode".into(),
            "drill".into(),
            "--run-id".into(),
            run_id.to_string(),
            "--progress".into(),
            "plain".into(),
        ];
        args.extend(self.estate_vars());
        args
    }

    /// The journal records of `run_id`, one JSON value per line. Panics on a
    /// line that is not JSON, which a finished run never writes.
    pub fn journal(&self, run_id: &str) -> Vec<serde_json::Value> {
        let path = self.run_dir(run_id).join("journal.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("journal line {line:?}: {e}")))
            .collect()
    }

    /// Resumes `run_id` until it stops being interrupted (at most `max` times),
    /// and returns the last output.
    pub fn resume_until_finished(&self, run_id: &str, max: usize) -> Output {
        let mut last = self.run(&["resume", run_id, "--progress", "plain"]);
        for _ in 1..max {
            if last.status.code() != Some(4) && last.status.code().is_some() {
                break;
            }
            last = self.run(&["resume", run_id, "--progress", "plain"]);
        }
        last
    }
}

/// Fails when drctl panicked: exit code 101 or a panic message on stderr.
pub fn assert_no_panic(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(101), "{what}: drctl panicked\n{}", describe(output));
    assert!(!stderr.contains("panicked"), "{what}: drctl panicked\n{}", describe(output));
}

/// A resource of a journal's `resource` records: (event, type, id with the
/// run id replaced by `RUN`, region).
pub fn journal_resources(journal: &[serde_json::Value], run_id: &str) -> Vec<(String, String, String, String)> {
    journal
        .iter()
        .filter(|record| record["type"] == "resource")
        .map(|record| {
            let resource = &record["resource"];
            let text = |key: &str| resource[key].as_str().unwrap_or_default().to_string();
            (text("event"), text("resource_type"), text("id").replace(run_id, "RUN"), text("region"))
        })
        .collect()
}

/// Regions of the reference estate.
pub const REGIONS: [&str; 2] = ["eu-west-2", "us-east-1"];

/// Clusters, instances and manual cluster snapshots in either region whose identifier
/// contains `run_id` or whose `drctl:run-id` tag is `run_id`, as
/// `"type id region status"`. Reads with `inspector`'s key, so the calls stay
/// out of the request log of the tenant under test.
pub fn leftovers(inspector: &Tenant, run_id: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("build a tokio runtime");
    runtime.block_on(async {
        // Not read-only: the read-only guard is part of what the tests check.
        let clients = super::clients(inspector, false).await;
        let mut found = Vec::new();
        let tagged = |tags: &[aws_sdk_rds::types::Tag]| {
            tags.iter().any(|tag| tag.key() == Some("drctl:run-id") && tag.value() == Some(run_id))
        };
        for region in REGIONS {
            let rds = clients.rds(region);
            let clusters = rds.describe_db_clusters().send().await.expect("DescribeDBClusters for leftovers");
            for cluster in clusters.db_clusters() {
                let id = cluster.db_cluster_identifier().unwrap_or_default();
                if id.contains(run_id) || tagged(cluster.tag_list()) {
                    found.push(format!("cluster {id} {region} {}", cluster.status().unwrap_or_default()));
                }
            }
            let instances = rds.describe_db_instances().send().await.expect("DescribeDBInstances for leftovers");
            for instance in instances.db_instances() {
                let id = instance.db_instance_identifier().unwrap_or_default();
                if id.contains(run_id) || tagged(instance.tag_list()) {
                    found.push(format!("instance {id} {region} {}", instance.db_instance_status().unwrap_or_default()));
                }
            }
            let snapshots = rds
                .describe_db_cluster_snapshots()
                .send()
                .await
                .expect("DescribeDBClusterSnapshots for leftovers");
            for snapshot in snapshots.db_cluster_snapshots() {
                // NOTE: moto keeps a deleted cluster's automated snapshots, where
                // DeleteDBCluster in AWS removes them by default; they are not drctl's.
                if snapshot.snapshot_type() == Some("automated") {
                    continue;
                }
                let id = snapshot.db_cluster_snapshot_identifier().unwrap_or_default();
                if id.contains(run_id) || tagged(snapshot.tag_list()) {
                    found.push(format!("snapshot {id} {region} {}", snapshot.status().unwrap_or_default()));
                }
            }
        }
        found
    })
}

/// The resource id a creating request names: the new cluster, instance or
/// snapshot copy.
pub fn created_id(request: &drctl_testkit::Request) -> Option<String> {
    let operation = request.operation.as_deref()?;
    let key = match operation {
        "RestoreDBClusterToPointInTime" | "RestoreDBClusterFromSnapshot" | "CreateDBCluster" => "DBClusterIdentifier",
        "CreateDBInstance" => "DBInstanceIdentifier",
        "CopyDBClusterSnapshot" => "TargetDBClusterSnapshotIdentifier",
        "CreateDBClusterSnapshot" => "DBClusterSnapshotIdentifier",
        _ => return None,
    };
    request.params[key].as_str().map(str::to_string)
}

/// Counts the creating requests per resource id that the emulator accepted
/// (no injected fault), and returns the ids created more than once.
pub fn duplicate_creates(requests: &[drctl_testkit::Request]) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for request in requests.iter().filter(|r| r.fault.is_none() && r.status < 300) {
        if let Some(id) = created_id(request) {
            *counts.entry(id).or_default() += 1;
        }
    }
    counts.into_iter().filter(|(_, count)| *count > 1).collect()
}
