//! The `restore_test` action: connect, check, measure, report.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use drctl_executor::{Action, ActionError, Outputs, StepContext};
use drctl_playbook::kinds::{RestoreTestParams, RpoReference};

use super::builtin;
use super::checks::{self, Outcome, PlannedCheck, RpoPlan};
use super::connect::{self, RetrySettings, Target, Transport};
use super::credentials;
use crate::actions::ActionEnv;

const KIND: &str = "restore_test";

/// Builds the step from its resolved parameters, rejecting what cannot run
/// (an invalid port or `via`, transaction control in a check) before any connection.
pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: RestoreTestParams = crate::actions::parse(KIND, params)?;
    let port = u16::try_from(params.port)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| ActionError::fatal(format!("restore_test: port {} is outside 1-65535", params.port)))?;
    let (dial_host, dial_port) = match &params.via {
        Some(via) => connect::parse_via(via)?,
        None => (params.host.clone(), port),
    };
    let target = Target {
        host: params.host.clone(),
        port,
        dial_host,
        dial_port,
        server_name: params.tls.server_name.clone().unwrap_or_else(|| params.host.clone()),
        database: params.database.clone(),
        user: params.user.clone(),
    };
    for check in &params.checks {
        checks::reject_transaction_control(check)?;
    }
    for set in &params.builtin {
        if builtin::sql_checks(set).is_none() {
            return Err(ActionError::fatal(format!(
                "restore_test: unknown built-in check set '{set}'; available: {}",
                builtin::SETS.join(", ")
            )));
        }
    }
    Ok(Box::new(RestoreTest { params, env, target }))
}

struct RestoreTest {
    params: RestoreTestParams,
    env: ActionEnv,
    target: Target,
}

impl RestoreTest {
    fn transport(&self) -> Result<Transport, ActionError> {
        if self.params.tls.insecure_plaintext {
            Ok(Transport::Plaintext)
        } else {
            connect::tls_transport(self.params.tls.ca_bundle.as_deref())
        }
    }

    fn rpo_target(&self, explicit: Option<&drctl_playbook::duration::Duration>) -> Option<Duration> {
        explicit.map(|target| target.as_std()).or(self.env.rpo_target)
    }

    /// Resolves built-in sets, the playbook's checks and the RPO measurement, in that order.
    fn plan(&self, incident_time: DateTime<Utc>) -> Result<Vec<PlannedCheck>, ActionError> {
        let mut planned = Vec::new();
        for set in &self.params.builtin {
            let set_checks = builtin::sql_checks(set).unwrap_or_default();
            planned.extend(set_checks.into_iter().map(PlannedCheck::Sql));
            if set == "litellm" {
                let (table, column) = builtin::LITELLM_FRESHNESS;
                planned.push(PlannedCheck::Rpo(RpoPlan {
                    name: builtin::LITELLM_FRESHNESS_NAME.to_string(),
                    table: table.to_string(),
                    column: column.to_string(),
                    reference_label: "incident",
                    reference_time: incident_time,
                    target: self.rpo_target(self.params.rpo.as_ref().and_then(|rpo| rpo.target.as_ref())),
                    is_output: self.params.rpo.is_none(),
                }));
            }
        }
        planned.extend(self.params.checks.iter().cloned().map(PlannedCheck::Sql));

        if let Some(rpo) = &self.params.rpo {
            let (reference_label, reference_time) = match rpo.reference {
                RpoReference::Incident => ("incident", incident_time),
                RpoReference::RestorePoint => ("restore_point", parse_restore_point(rpo.restore_point.as_deref())?),
            };
            planned.push(PlannedCheck::Rpo(RpoPlan {
                name: "rpo".to_string(),
                table: rpo.table.clone(),
                column: rpo.column.clone(),
                reference_label,
                reference_time,
                target: self.rpo_target(rpo.target.as_ref()),
                is_output: true,
            }));
        }
        Ok(planned)
    }

    fn warn_plaintext(&self, cx: &StepContext) {
        tracing::warn!(
            run_id = %cx.run_id(),
            step_id = %cx.step_id(),
            target = %self.target.describe(),
            "restore_test connects WITHOUT TLS because tls.insecure_plaintext is set; the password and data cross the network unencrypted"
        );
        cx.progress(
            format!("WARNING: connecting to {} without TLS (tls.insecure_plaintext)", self.target.describe()),
            None,
        );
    }
}

fn parse_restore_point(text: Option<&str>) -> Result<DateTime<Utc>, ActionError> {
    let text = text.ok_or_else(|| {
        ActionError::fatal("restore_test: rpo.reference is restore_point but rpo.restore_point is missing; pass a restore step's restored_to output")
    })?;
    DateTime::parse_from_rfc3339(text.trim()).map(|time| time.with_timezone(&Utc)).map_err(|error| {
        ActionError::fatal(format!(
            "restore_test: rpo.restore_point '{text}' is not an RFC 3339 timestamp ({error}); for example 2026-01-01T03:00:00Z"
        ))
    })
}

/// Builds the error of a step whose checks failed, naming each one.
fn failure_error(outcomes: &[Outcome]) -> ActionError {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|outcome| !outcome.passed)
        .map(|outcome| format!("'{}' ({})", outcome.name, outcome.message))
        .collect();
    ActionError::fatal(format!(
        "restore_test: {} of {} checks failed: {}",
        failed.len(),
        outcomes.len(),
        failed.join("; ")
    ))
}

#[async_trait]
impl Action for RestoreTest {
    fn describe(&self) -> String {
        let sets = if self.params.builtin.is_empty() { String::new() } else { format!(", built-in sets {}", self.params.builtin.join(", ")) };
        let rpo = if self.params.rpo.is_some() { " and measure the RPO" } else { "" };
        format!(
            "Run {} read-only checks{sets}{rpo} on database {} at {} as {}",
            self.params.checks.len(),
            self.params.database,
            self.target.describe(),
            self.params.user
        )
    }

    async fn dry_run(&self, cx: &StepContext) -> Result<Vec<String>, ActionError> {
        let transport = self.transport()?;
        let mut lines = Vec::new();
        match &transport {
            Transport::Tls { ca_bundle, .. } => lines.push(format!(
                "would connect to {} over TLS, verifying the certificate against {} for name {}",
                self.target.describe(),
                ca_bundle.display(),
                self.target.server_name
            )),
            Transport::Plaintext => {
                self.warn_plaintext(cx);
                lines.push(format!("would connect to {} WITHOUT TLS (tls.insecure_plaintext)", self.target.describe()));
            }
        }

        // Obtaining the credential reads an environment variable, a file or a secret
        // (GetSecretValue is read-only) or signs a token locally. The value is dropped unseen.
        credentials::obtain(&self.params, &self.env).await?;
        lines.push(format!(
            "would log in to database {} as {} with {} (obtained)",
            self.params.database,
            self.params.user,
            credentials::describe(&self.params.credentials)
        ));
        for check in self.plan(cx.incident_time())? {
            lines.push(format!("would run {}", check.describe()));
        }
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let transport = self.transport()?;
        if matches!(transport, Transport::Plaintext) {
            self.warn_plaintext(cx);
        }
        let planned = self.plan(cx.incident_time())?;
        let password = credentials::obtain(&self.params, &self.env).await?;

        tracing::info!(run_id = %cx.run_id(), step_id = %cx.step_id(), target = %self.target.describe(), database = %self.params.database, user = %self.params.user, "connecting to the restored database");
        cx.progress(format!("connecting to {}", self.target.describe()), Some(0.0));
        let settings = RetrySettings {
            attempt_timeout: self.params.connect_timeout.as_std(),
            window: self.params.connect_retry_window.map(|window| window.as_std()),
        };
        // Many restore tests may aim at one server (a playbook with a test per
        // table, or a fan-out); beyond a few sessions each they only exhaust
        // its max_connections, so sessions per dialled address are limited.
        let permit = connection_slot(&self.target.dial_host, self.target.dial_port).acquire_owned().await;
        let (connection, connect_time) = connect::connect_with_retry(cx, &self.target, &transport, &password, &settings).await?;
        drop(password);

        let outcomes = checks::run_all(cx, &connection.client, &planned, self.params.statement_timeout.as_std()).await?;
        drop(connection);
        drop(permit);

        let passed = outcomes.iter().filter(|outcome| outcome.passed).count();
        let failed = outcomes.len() - passed;
        cx.progress(format!("{passed} of {} checks passed", outcomes.len()), Some(100.0));

        let mut outputs = Outputs::new();
        outputs.insert("checks_passed".to_string(), serde_json::json!(passed));
        outputs.insert("checks_failed".to_string(), serde_json::json!(failed));
        if let Some(measure) = outcomes.iter().filter(|outcome| outcome.rpo_is_output).find_map(|outcome| outcome.rpo) {
            outputs.insert("rpo_seconds".to_string(), serde_json::json!(measure.seconds));
            outputs.insert("newest_row_time".to_string(), serde_json::json!(measure.newest_row_time.to_rfc3339()));
        }
        outputs.insert("connect_seconds".to_string(), serde_json::json!(connect_time.as_secs_f64()));

        if failed > 0 {
            return Err(failure_error(&outcomes));
        }
        Ok(outputs)
    }

    async fn undo(&self, _cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        // A restore test creates nothing and writes nothing, so there is nothing to reverse.
        Ok(())
    }
}

/// Sessions one drctl process opens at once to one database address.
const SESSIONS_PER_ADDRESS: usize = 16;

/// The semaphore that limits sessions to `host:port`, shared by every restore test of the process.
fn connection_slot(host: &str, port: u16) -> std::sync::Arc<tokio::sync::Semaphore> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    static SLOTS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>> = OnceLock::new();
    let slots = SLOTS.get_or_init(Mutex::default);
    let mut slots = slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    slots
        .entry(format!("{host}:{port}"))
        .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(SESSIONS_PER_ADDRESS)))
        .clone()
}
