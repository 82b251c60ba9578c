//! Running the checks inside one read-only transaction and journalling each result.
//!
//! Writes are blocked three ways: the session default is read-only, the
//! checks run inside `BEGIN READ ONLY`, and each check runs in its own
//! savepoint, where PostgreSQL rejects `SET TRANSACTION READ WRITE`. After
//! every check drctl confirms the transaction is still read-only, and
//! transaction-control statements are rejected before connecting (see
//! [`reject_transaction_control`]). A failing statement rolls back to its
//! savepoint, so one bad check does not abort the others.
//!
//! NOTE: read-only mode stops writes to tables, not the side effects of
//! functions such as `pg_terminate_backend`; give the restore-test role
//! SELECT privileges only.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use drctl_executor::{ActionError, StepContext};
use drctl_playbook::kinds::Check;
use tokio_postgres::Client;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

use super::expectation;
use super::rpo;
use super::value::Cell;

/// A check ready to run.
#[derive(Debug, Clone)]
pub enum PlannedCheck {
    Sql(Check),
    Rpo(RpoPlan),
}

impl PlannedCheck {
    pub fn name(&self) -> &str {
        match self {
            PlannedCheck::Sql(check) => &check.name,
            PlannedCheck::Rpo(plan) => &plan.name,
        }
    }

    /// Describes the check in one line, for dry runs.
    pub fn describe(&self) -> String {
        match self {
            PlannedCheck::Sql(check) => {
                format!("check '{}': {} expecting {}", check.name, check.sql, expectation::describe(&check.expect))
            }
            PlannedCheck::Rpo(plan) => {
                let target = plan.target.map_or("no target".to_string(), |target| format!("target {} s", target.as_secs_f64()));
                format!(
                    "check '{}': data loss = {} ({}) - max({}) of {}, {target}",
                    plan.name,
                    plan.reference_label,
                    plan.reference_time.to_rfc3339(),
                    plan.column,
                    plan.table
                )
            }
        }
    }
}

/// An RPO measurement with its reference time already resolved.
#[derive(Debug, Clone)]
pub struct RpoPlan {
    pub name: String,
    pub table: String,
    pub column: String,
    /// `incident` or `restore_point`.
    pub reference_label: &'static str,
    pub reference_time: DateTime<Utc>,
    pub target: Option<Duration>,
    /// Whether its measurement becomes the step's `rpo_seconds` output.
    pub is_output: bool,
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub passed: bool,
    pub message: String,
    /// Present for RPO checks that read a timestamp.
    pub rpo: Option<RpoMeasure>,
    pub rpo_is_output: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct RpoMeasure {
    pub seconds: f64,
    pub newest_row_time: DateTime<Utc>,
}

/// Statements that would end or escape the read-only transaction.
const TRANSACTION_CONTROL: &[&str] = &[
    "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE", "SET", "RESET",
    "DISCARD",
];

/// Rejects a check whose SQL starts with a transaction-control or session
/// command, because it could end the read-only transaction or turn it off.
pub fn reject_transaction_control(check: &Check) -> Result<(), ActionError> {
    let first_word: String = check
        .sql
        .trim_start()
        .chars()
        .take_while(|character| character.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    if TRANSACTION_CONTROL.contains(&first_word.as_str()) {
        return Err(ActionError::fatal(format!(
            "restore_test: check '{}' starts with {first_word}, which would change the read-only transaction drctl runs checks in; write a query instead",
            check.name
        )));
    }
    Ok(())
}

/// A parameter sent in text format, so PostgreSQL parses it with the input
/// function of whatever type the query needs, exactly as if it were a quoted literal.
#[derive(Debug)]
struct TextParam<'a>(&'a str);

impl ToSql for TextParam<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// Runs every check, journals each result and returns them all. Only a lost
/// connection, a journal failure, cancellation or an escape from the
/// read-only transaction stop the run early.
pub async fn run_all(
    cx: &StepContext,
    client: &Client,
    planned: &[PlannedCheck],
    statement_timeout: Duration,
) -> Result<Vec<Outcome>, ActionError> {
    let timeout_ms = statement_timeout.as_millis().max(1);
    let setup = format!(
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; BEGIN READ ONLY; SET LOCAL statement_timeout = {timeout_ms}; SET LOCAL idle_in_transaction_session_timeout = 0; SELECT 1"
    );
    client
        .batch_execute(&setup)
        .await
        .map_err(|error| ActionError::retryable(format!("restore_test: failed to open the read-only transaction: {error}")))?;

    let mut outcomes = Vec::with_capacity(planned.len());
    for (index, check) in planned.iter().enumerate() {
        let percent = index as f64 * 100.0 / planned.len() as f64;
        cx.progress(format!("check {}/{}: {}", index + 1, planned.len(), check.name()), Some(percent));

        let outcome = tokio::select! {
            outcome = run_one(client, check) => outcome?,
            () = cx.cancelled() => return Err(ActionError::cancelled("restore_test: cancelled while running checks")),
        };
        let (outcome, record) = outcome;
        cx.record_check(record).await?;
        tracing::info!(run_id = %cx.run_id(), step_id = %cx.step_id(), check = %outcome.name, passed = outcome.passed, message = %outcome.message, "restore check finished");
        outcomes.push(outcome);
        ensure_still_read_only(client, check.name()).await?;
    }

    // Nothing was written, so ROLLBACK and COMMIT end the transaction alike. ROLLBACK states the intent.
    if let Err(error) = client.batch_execute("ROLLBACK").await {
        tracing::warn!(run_id = %cx.run_id(), step_id = %cx.step_id(), %error, "failed to end the read-only transaction");
    }
    Ok(outcomes)
}

async fn ensure_still_read_only(client: &Client, after: &str) -> Result<(), ActionError> {
    let row = client
        .query_one("SELECT current_setting('transaction_read_only'), now() = statement_timestamp()", &[])
        .await
        .map_err(|error| ActionError::fatal(format!("restore_test: failed to confirm read-only mode after check '{after}': {error}")))?;
    let read_only: String = row.get(0);
    // Inside one transaction now() stays at its start while statement_timestamp() moves,
    // so equality means this statement opened a new transaction.
    let new_transaction: bool = row.get(1);
    if read_only != "on" || new_transaction {
        return Err(ActionError::fatal(format!(
            "restore_test: check '{after}' left the read-only transaction; remaining checks were not run"
        )));
    }
    Ok(())
}

/// Runs one check in a savepoint. A SQL error becomes a failed check.
async fn run_one(client: &Client, check: &PlannedCheck) -> Result<(Outcome, serde_json::Value), ActionError> {
    client
        .batch_execute("SAVEPOINT drctl_check")
        .await
        .map_err(|error| ActionError::fatal(format!("restore_test: failed to set a savepoint before check '{}': {error}", check.name())))?;

    let started = Instant::now();
    let (outcome, record) = match check {
        PlannedCheck::Sql(sql_check) => run_sql(client, sql_check, started).await,
        PlannedCheck::Rpo(plan) => run_rpo(client, plan, started).await,
    };

    // Rolling back is right after any check: it clears a failed statement, and a
    // successful one wrote nothing.
    client
        .batch_execute("ROLLBACK TO SAVEPOINT drctl_check; RELEASE SAVEPOINT drctl_check")
        .await
        .map_err(|error| ActionError::fatal(format!("restore_test: failed to end the savepoint of check '{}': {error}", check.name())))?;
    Ok((outcome, record))
}

/// Runs a query and returns the first cell of each row.
// NOTE: every row is received before judging, so a check that selects a
// large table costs memory in proportion; count in SQL instead.
async fn query_first_cells(client: &Client, sql: &str, params: &[String]) -> Result<Vec<Option<Cell>>, String> {
    let text_params: Vec<TextParam<'_>> = params.iter().map(|value| TextParam(value)).collect();
    let references: Vec<&(dyn ToSql + Sync)> = text_params.iter().map(|param| param as &(dyn ToSql + Sync)).collect();
    let rows = client.query(sql, &references).await.map_err(|error| format_sql_error(&error))?;
    rows.iter()
        .map(|row| {
            if row.is_empty() {
                return Ok(None);
            }
            row.try_get::<_, Cell>(0).map(Some).map_err(|error| format!("failed to read the first column: {error}"))
        })
        .collect()
}

fn format_sql_error(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db_error) => format!("SQL error {}: {}", db_error.code().code(), db_error.message()),
        None => format!("SQL error: {error}"),
    }
}

async fn run_sql(client: &Client, check: &Check, started: Instant) -> (Outcome, serde_json::Value) {
    let expectation = expectation::describe(&check.expect);
    let verdict = match query_first_cells(client, &check.sql, &check.params).await {
        Ok(cells) => expectation::judge(&check.expect, &cells),
        Err(message) => expectation::Verdict { passed: false, value: serde_json::Value::Null, message },
    };
    let record = serde_json::json!({
        "name": check.name,
        "kind": "sql",
        "sql": check.sql,
        "expectation": expectation,
        "value": verdict.value,
        "passed": verdict.passed,
        "duration_ms": started.elapsed().as_millis() as u64,
        "message": verdict.message,
    });
    let outcome = Outcome { name: check.name.clone(), passed: verdict.passed, message: verdict.message, rpo: None, rpo_is_output: false };
    (outcome, record)
}

async fn run_rpo(client: &Client, plan: &RpoPlan, started: Instant) -> (Outcome, serde_json::Value) {
    let sql = rpo::newest_row_query(&plan.table, &plan.column);
    let newest = match query_first_cells(client, &sql, &[]).await {
        Ok(cells) => match cells.first() {
            Some(Some(cell)) => rpo::newest_row_time(cell),
            _ => Err("the query returned no value".to_string()),
        },
        Err(message) => Err(message),
    };

    let target_seconds = plan.target.map(|target| target.as_secs_f64());
    let (passed, measure, message) = match newest {
        Ok(Some(newest_row_time)) => {
            let seconds = rpo::rpo_seconds(plan.reference_time, newest_row_time);
            let passed = target_seconds.is_none_or(|target| seconds <= target);
            let message = match target_seconds {
                Some(target) if passed => format!("data loss {seconds:.3} s is within the target of {target} s"),
                Some(target) => format!("data loss {seconds:.3} s exceeds the target of {target} s"),
                None => format!("data loss {seconds:.3} s; no RPO target is set"),
            };
            (passed, Some(RpoMeasure { seconds, newest_row_time }), message)
        }
        Ok(None) => (false, None, format!("{} is empty, so no data loss can be measured", plan.table)),
        Err(message) => (false, None, message),
    };

    let record = serde_json::json!({
        "name": plan.name,
        "kind": "rpo",
        "table": plan.table,
        "column": plan.column,
        "newest_row_time": measure.map(|measure| measure.newest_row_time.to_rfc3339()),
        "reference_time": plan.reference_time.to_rfc3339(),
        "reference": plan.reference_label,
        "rpo_seconds": measure.map(|measure| measure.seconds),
        "target_seconds": target_seconds,
        "passed": passed,
        "duration_ms": started.elapsed().as_millis() as u64,
        "message": message,
    });
    let outcome = Outcome { name: plan.name.clone(), passed, message, rpo: measure, rpo_is_output: plan.is_output };
    (outcome, record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use drctl_playbook::kinds::Expectation;

    fn check(sql: &str) -> Check {
        Check { name: "c".to_string(), sql: sql.to_string(), params: Vec::new(), expect: Expectation::default() }
    }

    #[test]
    fn transaction_control_is_rejected() {
        for sql in ["COMMIT", "  rollback", "SET TRANSACTION READ WRITE", "begin; insert into t values (1)", "END"] {
            assert!(reject_transaction_control(&check(sql)).is_err(), "{sql}");
        }
    }

    #[test]
    fn queries_are_accepted() {
        for sql in ["SELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x", "select settings from t", "INSERT INTO t VALUES (1)"] {
            assert!(reject_transaction_control(&check(sql)).is_ok(), "{sql}");
        }
    }
}
