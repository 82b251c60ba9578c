//! `restore_test`: SQL checks on a restored database, and the RPO measured from its data.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Effect, KindInfo, OutputDecl, ParamError, ValueType};
use crate::duration::Duration;

pub const NAME: &str = "restore_test";

/// Parameters of a restore test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreTestParams {
    /// Database host, usually a restore step's `writer_endpoint` output.
    pub host: String,
    #[serde(default = "default_port")]
    pub port: i64,
    /// `host:port` to connect to instead, such as a tunnel or bastion port-forward.
    /// TLS still verifies the certificate against `host`.
    pub via: Option<String>,
    /// Region of the cluster, used to sign IAM authentication tokens.
    pub region: Option<String>,
    pub database: String,
    pub user: String,
    pub credentials: Credentials,
    #[serde(default)]
    pub tls: TlsSettings,
    /// Per-attempt connect timeout; attempts repeat with backoff until the step's timeout.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    /// How long to keep retrying connections that are refused, time out or find the
    /// server starting up. Defaults to the step's timeout.
    pub connect_retry_window: Option<Duration>,
    #[serde(default = "default_statement_timeout")]
    pub statement_timeout: Duration,
    /// Named built-in check sets, such as `litellm`.
    #[serde(default)]
    pub builtin: Vec<String>,
    #[serde(default)]
    pub checks: Vec<Check>,
    pub rpo: Option<RpoCheck>,
}

/// Where the password comes from. Exactly one field is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Name of an environment variable that holds the password.
    pub env: Option<String>,
    /// Path of a file whose first line is the password.
    pub file: Option<String>,
    /// An AWS Secrets Manager secret.
    pub secret: Option<SecretRef>,
    /// Generate an IAM database authentication token for host:port in `region`.
    #[serde(default)]
    pub iam: bool,
}

impl Credentials {
    fn count(&self) -> usize {
        [self.env.is_some(), self.file.is_some(), self.secret.is_some(), self.iam]
            .into_iter()
            .filter(|set| *set)
            .count()
    }
}

/// A Secrets Manager secret; `key` picks a field of a JSON secret (default `password`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub id: String,
    pub region: Option<String>,
    pub key: Option<String>,
}

/// TLS settings. TLS is on unless `insecure_plaintext` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM CA bundle; defaults to the RDS global bundle at /etc/ssl/certs/rds-global-bundle.pem
    /// or the DRCTL_RDS_CA_BUNDLE environment variable.
    pub ca_bundle: Option<String>,
    /// Host name to verify instead of `host`.
    pub server_name: Option<String>,
    /// Connect without TLS. drctl prints a warning when this is set.
    #[serde(default)]
    pub insecure_plaintext: bool,
}

/// One SQL check and what its result must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    pub sql: String,
    /// Values bound to $1, $2, … as text parameters; never interpolated into the SQL.
    #[serde(default)]
    pub params: Vec<String>,
    pub expect: Expectation,
}

/// The expectation of a check. Exactly one field is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A comparison on the first column of the first row: `> 0`, `>= 10`, `== 42`, `!= 0`, `< 5`.
    pub scalar: Option<String>,
    /// The first column of the first row lies in [low, high].
    pub between: Option<[f64; 2]>,
    /// A comparison on the number of rows, such as `== 3` or `>= 1`.
    pub rows: Option<String>,
    /// A regular expression the first column of the first row (as text) must match.
    pub matches: Option<String>,
    /// The query returns no rows.
    #[serde(default)]
    pub no_rows: bool,
}

impl Expectation {
    fn count(&self) -> usize {
        [
            self.scalar.is_some(),
            self.between.is_some(),
            self.rows.is_some(),
            self.matches.is_some(),
            self.no_rows,
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }
}

/// Measures data loss as the reference time minus the newest row's timestamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RpoCheck {
    /// Table name as stored, optionally schema-qualified (`public.LiteLLM_SpendLogs`).
    /// drctl quotes each part as an identifier, so mixed case is kept.
    pub table: String,
    /// A timestamp column, as stored; quoted like `table`.
    pub column: String,
    #[serde(default)]
    pub reference: RpoReference,
    /// The restore point, when `reference` is `restore_point` (usually a restore step's `restored_to`).
    pub restore_point: Option<String>,
    /// Maximum acceptable data loss; defaults to the playbook's RPO target.
    pub target: Option<Duration>,
}

/// What the newest row is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum RpoReference {
    /// The run's incident time.
    #[default]
    Incident,
    /// The instant the database was restored to.
    RestorePoint,
}

fn default_port() -> i64 {
    5432
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_statement_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Built-in check sets that `builtin` may name.
pub const BUILTIN_SETS: &[&str] = &["litellm"];

/// Comparison operators accepted in `scalar` and `rows`.
pub const COMPARISON_OPERATORS: &[&str] = &["==", "!=", ">=", "<=", ">", "<"];

/// Splits `>= 10` into the operator and the number.
pub fn parse_comparison(text: &str) -> Result<(&'static str, f64), String> {
    let trimmed = text.trim();
    let Some(operator) = COMPARISON_OPERATORS.iter().find(|op| trimmed.starts_with(**op)) else {
        return Err(format!(
            "comparison '{text}' has no operator; start it with one of == != >= <= > <, for example '> 0'"
        ));
    };
    let number = trimmed[operator.len()..].trim();
    number
        .parse::<f64>()
        .map(|value| (*operator, value))
        .map_err(|_| format!("comparison '{text}': '{number}' is not a number"))
}

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "checks_passed", ty: ValueType::Int, description: "number of checks that passed" },
    OutputDecl { name: "checks_failed", ty: ValueType::Int, description: "number of checks that failed" },
    OutputDecl { name: "rpo_seconds", ty: ValueType::Number, description: "measured data loss in seconds (present when `rpo` is set)" },
    OutputDecl { name: "newest_row_time", ty: ValueType::Timestamp, description: "timestamp of the newest row in the RPO column" },
    OutputDecl { name: "connect_seconds", ty: ValueType::Number, description: "seconds until the first successful connection" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: RestoreTestParams = super::parse_params(value)?;
    if params.credentials.count() != 1 {
        return Err(ParamError::at(
            "credentials",
            "set exactly one credential source: env, file, secret or iam: true",
        ));
    }
    if params.credentials.iam && params.region.is_none() {
        return Err(ParamError::at("region", "IAM authentication signs the token for a region; set region"));
    }
    if !(1..=65535).contains(&params.port) {
        return Err(ParamError::at("port", format!("port {} is outside 1–65535", params.port)));
    }
    for (index, name) in params.builtin.iter().enumerate() {
        if !BUILTIN_SETS.contains(&name.as_str()) {
            return Err(ParamError::at(
                &format!("builtin.{index}"),
                format!("unknown built-in check set '{name}'; available: {}", BUILTIN_SETS.join(", ")),
            ));
        }
    }
    if params.checks.is_empty() && params.builtin.is_empty() && params.rpo.is_none() {
        return Err(ParamError::at("checks", "a restore test needs at least one check, a builtin set or an rpo check"));
    }
    for (index, check) in params.checks.iter().enumerate() {
        let path = format!("checks.{index}.expect");
        if check.expect.count() != 1 {
            return Err(ParamError::at(
                &path,
                format!("check '{}' needs exactly one of scalar, between, rows, matches or no_rows", check.name),
            ));
        }
        for comparison in [&check.expect.scalar, &check.expect.rows].into_iter().flatten() {
            parse_comparison(comparison).map_err(|message| ParamError::at(&path, message))?;
        }
        if let Some(pattern) = &check.expect.matches {
            regex_syntax_check(pattern).map_err(|message| ParamError::at(&format!("{path}.matches"), message))?;
        }
        if let Some([low, high]) = check.expect.between {
            if low > high {
                return Err(ParamError::at(&format!("{path}.between"), format!("between [{low}, {high}]: low is above high")));
            }
        }
    }
    if let Some(rpo) = &params.rpo {
        if rpo.reference == RpoReference::RestorePoint && rpo.restore_point.is_none() {
            return Err(ParamError::at("rpo.restore_point", "reference 'restore_point' needs restore_point, for example a restore step's restored_to output"));
        }
    }
    if params.tls.insecure_plaintext && (params.tls.ca_bundle.is_some() || params.tls.server_name.is_some()) {
        return Err(ParamError::at("tls", "insecure_plaintext turns TLS off, so ca_bundle and server_name would be ignored; remove one side"));
    }
    Ok(Vec::new())
}

/// Rejects patterns that cannot be valid regular expressions: unbalanced brackets.
/// The full syntax is checked by the regex engine when the step runs.
fn regex_syntax_check(pattern: &str) -> Result<(), String> {
    let mut depth: i32 = 0;
    let mut escaped = false;
    for character in pattern.chars() {
        match (escaped, character) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '(') => depth += 1,
            (false, ')') => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 {
        return Err(format!("regular expression '{pattern}' has unbalanced parentheses"));
    }
    Ok(())
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Connect to a restored database over verified TLS, run read-only SQL checks, and measure the RPO",
        outputs: OUTPUTS,
        destructive: false,
        check,
        schema: super::schema_of::<RestoreTestParams>,
        example: r#"- id: verify-primary
  kind: restore_test
  needs: [writer, restore-primary]
  timeout: 10m
  expected: 1m
  params:
    host: "${{ steps.restore-primary.outputs.writer_endpoint }}"
    port: "${{ steps.restore-primary.outputs.port }}"
    region: eu-west-2
    database: litellm
    user: drctl_verify
    credentials: { env: DRCTL_DB_PASSWORD }
    tls: { ca_bundle: /etc/ssl/certs/rds-global-bundle.pem }
    builtin: [litellm]
    checks:
      - name: spend logs present
        sql: 'SELECT count(*) FROM "LiteLLM_SpendLogs" WHERE "startTime" > now() - $1::interval'
        params: ["30 days"]
        expect: { scalar: "> 0" }
    rpo: { table: LiteLLM_SpendLogs, column: startTime, reference: incident, target: 15m }
"#,
    }
}
