//! The estate: a running emulator, optionally seeded, and a PostgreSQL server.

use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use tempfile::TempDir;

use crate::config::{ConfigUpdate, EstateConfig};
use crate::control::ControlClient;
use crate::error::EstateError;
use crate::launcher;
use crate::postgres::Postgres;
use crate::seed::SeedInfo;
use crate::tenant::Tenant;

/// Time scale of [`Estate::shared`] when `DRCTL_ESTATE_TIME_SCALE` is unset:
/// 300 simulated seconds per real second, so a 12-minute restore takes 2.4 s.
/// Shorter transitions than that leave too little time to observe the
/// intermediate status on a loaded 2-core machine.
pub const DEFAULT_TEST_TIME_SCALE: f64 = 300.0;

/// Components that [`Estate::launch`] starts.
#[derive(Debug, Clone)]
pub struct EstateOptions {
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Create the reference estate before returning.
    pub seed: bool,
    /// Start a throwaway PostgreSQL, unless `DRCTL_TEST_PG_DSN` names one.
    pub postgres: bool,
}

impl EstateOptions {
    /// Reads the options from the environment: `DRCTL_ESTATE_TIME_SCALE` (default 300), seeded, with PostgreSQL.
    pub fn from_env() -> Result<Self, EstateError> {
        let time_scale = match std::env::var("DRCTL_ESTATE_TIME_SCALE") {
            Ok(value) => match value.parse::<f64>() {
                Ok(scale) if scale > 0.0 => scale,
                _ => {
                    return Err(EstateError::InvalidEnv {
                        name: "DRCTL_ESTATE_TIME_SCALE",
                        value,
                        reason: "expected a positive number of simulated seconds per real second, e.g. 600"
                            .to_owned(),
                    });
                }
            },
            Err(_) => DEFAULT_TEST_TIME_SCALE,
        };
        Ok(Self {
            time_scale,
            seed: true,
            postgres: true,
        })
    }
}

/// A running estate. Dropping it stops the launcher, which stops PostgreSQL
/// and removes its directory. The shared estate is never dropped. It stops
/// when the test binary exits, because the launcher watches its parent.
pub struct Estate {
    endpoint: String,
    control: ControlClient,
    pg: Option<Postgres>,
    seed: Option<SeedInfo>,
    child: Mutex<Child>,
    // Holds the launcher log and the PostgreSQL directory until the estate is dropped.
    _work_dir: TempDir,
}

static SHARED: OnceLock<Result<Estate, String>> = OnceLock::new();
static TENANTS: AtomicU32 = AtomicU32::new(0);

impl Estate {
    /// Returns the estate shared by every test of this binary, started (seeded,
    /// with PostgreSQL) on first use. Panics with the launcher's log when it cannot
    /// start, since no AWS-facing test can run without it.
    pub fn shared() -> &'static Estate {
        let result = SHARED.get_or_init(|| {
            EstateOptions::from_env()
                .and_then(|options| Estate::launch(&options))
                .map_err(|error| error.to_string())
        });
        match result {
            Ok(estate) => estate,
            Err(message) => panic!("the shared test estate failed to start: {message}"),
        }
    }

    /// Starts a private estate, e.g. for a test that changes the configuration.
    pub fn launch(options: &EstateOptions) -> Result<Estate, EstateError> {
        let work_dir = tempfile::Builder::new()
            .prefix("drctl-estate-")
            .tempdir()
            .map_err(|source| EstateError::Spawn {
                command: "create a temporary directory".to_owned(),
                source,
            })?;
        launcher::install(work_dir.path())?;

        let external_pg = if options.postgres { Postgres::from_env()? } else { None };
        let mut args = vec!["--time-scale".to_owned(), options.time_scale.to_string()];
        if options.seed {
            args.push("--seed".to_owned());
        }
        if options.postgres && external_pg.is_none() {
            args.push("--pg-dir".to_owned());
            args.push(work_dir.path().join("pg").display().to_string());
        }
        args.push("--remove-on-exit".to_owned());
        args.push(work_dir.path().display().to_string());
        let log = work_dir.path().join("launcher.log");
        let launched = launcher::launch(&args, &log)?;

        let ready = &launched.ready;
        let parse_error = |what: &str, error: serde_json::Error| EstateError::ReadyLine {
            line: format!("{what} in {ready}"),
            source: error,
        };
        let endpoint = ready["endpoint"].as_str().unwrap_or_default().to_owned();
        let seed = match ready.get("seed") {
            Some(value) => Some(serde_json::from_value(value.clone()).map_err(|e| parse_error("seed", e))?),
            None => None,
        };
        let pg = match (external_pg, ready.get("pg")) {
            (Some(pg), _) => Some(pg),
            (None, Some(value)) => Some(serde_json::from_value(value.clone()).map_err(|e| parse_error("pg", e))?),
            (None, None) => None,
        };
        Ok(Estate {
            control: ControlClient::new(&endpoint),
            endpoint,
            pg,
            seed,
            child: Mutex::new(launched.child),
            _work_dir: work_dir,
        })
    }

    /// Returns the emulator endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Creates a tenant with a unique access key id. `name` appears in the key for
    /// readability (its first 8 letters and digits, upper-cased).
    pub fn tenant(&self, name: &str) -> Tenant {
        let number = TENANTS.fetch_add(1, Ordering::Relaxed);
        let mut label: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .take(8)
            .collect();
        while label.len() < 8 {
            label.push('X');
        }
        let key = format!("AKIA{label}{:04}{:04}", number % 10_000, std::process::id() % 10_000);
        Tenant::new(name, key, &self.endpoint, self.control.clone())
    }

    /// Returns the PostgreSQL server. Panics when the estate was launched without one.
    pub fn pg(&self) -> &Postgres {
        self.pg
            .as_ref()
            .expect("this estate was launched without PostgreSQL; set EstateOptions::postgres")
    }

    /// Returns the ids of the seeded estate. Panics when the estate was launched without seeding.
    pub fn seed(&self) -> &SeedInfo {
        self.seed
            .as_ref()
            .expect("this estate was launched without seeding; set EstateOptions::seed")
    }

    /// Reads the current configuration.
    pub fn config(&self) -> EstateConfig {
        self.try_config()
            .unwrap_or_else(|error| panic!("reading the estate configuration: {error}"))
    }

    pub fn try_config(&self) -> Result<EstateConfig, EstateError> {
        self.control.get("config")
    }

    /// Changes the configuration for every tenant of this estate, and returns the result.
    /// On the shared estate prefer per-test resources (e.g. a distinct down IP) over changing it.
    pub fn set_config(&self, update: &ConfigUpdate) -> Result<EstateConfig, EstateError> {
        self.control.post("config", update)
    }

    /// Finishes every running status transition at once.
    pub fn settle(&self) -> Result<(), EstateError> {
        let _: serde_json::Value = self.control.post("settle", &serde_json::json!({}))?;
        Ok(())
    }
}

impl Drop for Estate {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        // SIGKILL would leave PostgreSQL to the watchdog; ask politely first.
        #[cfg(unix)]
        {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            for _ in 0..100 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
