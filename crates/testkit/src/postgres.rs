//! Connection details of the throwaway TLS PostgreSQL (or of one named by environment).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::EstateError;

/// A PostgreSQL server holding the LiteLLM-shaped `litellm` database. Clients
/// must use TLS; `ca_file` verifies the server certificate, which also names
/// the emulator's RDS endpoints.
#[derive(Debug, Clone, Deserialize)]
pub struct Postgres {
    pub host: String,
    pub port: u16,
    pub database: String,
    /// Login role with SELECT on every table, for restore tests.
    pub user: String,
    pub password: String,
    pub ca_file: PathBuf,
    /// A file holding `password`, for tools that read passwords from files.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl Postgres {
    /// Formats a libpq key=value DSN without the password, verifying the server (`sslmode=verify-full`).
    pub fn dsn(&self) -> String {
        format!(
            "host={} port={} dbname={} user={} sslmode=verify-full sslrootcert={}",
            self.host,
            self.port,
            self.database,
            self.user,
            self.ca_file.display()
        )
    }

    /// Environment for a child process: `DRCTL_PG_*` as `integration/estate start` prints them, plus `PGPASSWORD`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("DRCTL_PG_DSN".to_owned(), self.dsn()),
            ("DRCTL_PG_CA".to_owned(), self.ca_file.display().to_string()),
            ("DRCTL_PG_HOST".to_owned(), self.host.clone()),
            ("DRCTL_PG_PORT".to_owned(), self.port.to_string()),
            ("PGPASSWORD".to_owned(), self.password.clone()),
        ];
        if let Some(file) = &self.password_file {
            env.push(("DRCTL_PG_PASSWORD_FILE".to_owned(), file.display().to_string()));
        }
        env
    }

    /// Reads `DRCTL_TEST_PG_DSN` (key=value form with host, port, dbname, user, password)
    /// and `DRCTL_TEST_PG_CA`; returns `None` when the DSN variable is unset.
    pub fn from_env() -> Result<Option<Self>, EstateError> {
        let Ok(dsn) = std::env::var("DRCTL_TEST_PG_DSN") else {
            return Ok(None);
        };
        let invalid = |reason: String| EstateError::InvalidEnv {
            name: "DRCTL_TEST_PG_DSN",
            value: dsn.split_whitespace().filter(|p| !p.starts_with("password=")).collect::<Vec<_>>().join(" "),
            reason,
        };
        let mut fields = std::collections::BTreeMap::new();
        for part in dsn.split_whitespace() {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("{part:?} is not key=value")))?;
            fields.insert(key.to_owned(), value.to_owned());
        }
        let field = |key: &str| {
            fields
                .get(key)
                .cloned()
                .ok_or_else(|| invalid(format!("it has no {key}=; expected host, port, dbname, user and password")))
        };
        let port = field("port")?;
        let ca = std::env::var("DRCTL_TEST_PG_CA").map_err(|_| EstateError::InvalidEnv {
            name: "DRCTL_TEST_PG_CA",
            value: String::new(),
            reason: "it must name the CA certificate file when DRCTL_TEST_PG_DSN is set".to_owned(),
        })?;
        Ok(Some(Self {
            host: field("host")?,
            port: port
                .parse()
                .map_err(|_| invalid(format!("port {port:?} is not a TCP port number")))?,
            database: field("dbname")?,
            user: field("user")?,
            password: field("password")?,
            ca_file: PathBuf::from(ca),
            password_file: None,
        }))
    }
}
