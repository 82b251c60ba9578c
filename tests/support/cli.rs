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
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Path of a shipped playbook.
pub fn playbook(name: &str) -> String {
    format!("{}/playbooks/{name}", env!("CARGO_MANIFEST_DIR"))
}
