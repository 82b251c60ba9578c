//! `restore_test` against the estate's TLS PostgreSQL with its LiteLLM-shaped data.

mod support;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use drctl::actions::{self, Mode};
use drctl_executor::{Action, StepContext};
use drctl_testkit::{Estate, Postgres};
use serde_json::{Value, json};

/// The estate's PostgreSQL; its certificate names localhost and the emulator's RDS endpoints.
fn pg() -> &'static Postgres {
    Estate::shared().pg()
}

/// A cluster writer endpoint of the emulator's eu-west-2 endpoint suffix, covered by the test certificate.
fn rds_endpoint(cluster: &str) -> String {
    let suffixes = Estate::shared().config().rds_endpoint_suffixes;
    let suffix = suffixes.get("eu-west-2").expect("the estate lists an RDS endpoint suffix for eu-west-2");
    format!("{cluster}.cluster-{suffix}.eu-west-2.rds.amazonaws.com")
}

/// A file holding the estate's password, for `credentials.file`.
fn password_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{}\n", pg().password)).unwrap();
    file
}

/// Parameters that reach the estate through `via`, presenting an RDS endpoint name.
fn base_params(password: &tempfile::NamedTempFile) -> Value {
    let pg = pg();
    json!({
        "host": rds_endpoint("drill-verify"),
        "port": 5432,
        "via": format!("127.0.0.1:{}", pg.port),
        "region": "eu-west-2",
        "database": pg.database,
        "user": pg.user,
        "credentials": { "file": password.path().display().to_string() },
        "tls": { "ca_bundle": pg.ca_file.display().to_string() },
        "connect_timeout": "5s",
        "connect_retry_window": "2s",
        "statement_timeout": "10s",
        "checks": [
            { "name": "tokens present", "sql": "SELECT count(*) FROM \"LiteLLM_VerificationToken\"", "expect": { "scalar": "> 0" } }
        ]
    })
}

fn set(params: &mut Value, key: &str, value: Value) {
    params.as_object_mut().unwrap().insert(key.to_string(), value);
}

async fn build(name: &str, params: Value) -> (Box<dyn Action>, drctl_testkit::Tenant) {
    let (_, tenant) = support::tenant(name);
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("verify"));
    let action = actions::build("restore_test", params, env).expect("parameters are valid");
    (action, tenant)
}

async fn run(name: &str, params: Value) -> Result<drctl_executor::Outputs, drctl_executor::ActionError> {
    let (action, _tenant) = build(name, params).await;
    let (cx, _cancel) = StepContext::for_tests("verify", "drill");
    action.run(&cx).await
}

/// A direct verified connection, to read what the step should have measured.
async fn direct_client() -> tokio_postgres::Client {
    let pg = pg();
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&pg.ca_file).unwrap();
    use rustls_pki_types::pem::PemObject;
    for certificate in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(certificate.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    let mut pg_config = tokio_postgres::Config::new();
    pg_config.host("localhost").port(pg.port).dbname(&pg.database).user(&pg.user).password(&pg.password);
    pg_config.ssl_mode(tokio_postgres::config::SslMode::Require);
    let (client, connection) = pg_config.connect(tls).await.expect("the test connects directly");
    tokio::spawn(connection);
    client
}

fn assert_no_password(text: &str) {
    assert!(!text.contains(&pg().password), "the password leaked into: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_checks_via_tunnel_succeed() {
    let password = password_file();
    let mut params = base_params(&password);
    set(
        &mut params,
        "checks",
        json!([
            { "name": "tokens present", "sql": "SELECT count(*) FROM \"LiteLLM_VerificationToken\"", "expect": { "scalar": "> 0" } },
            { "name": "bound text parameter", "sql": "SELECT $1::int + 1", "params": ["41"], "expect": { "scalar": "== 42" } },
            { "name": "parameter compared with a number", "sql": "SELECT count(*) FROM \"LiteLLM_SpendLogs\" WHERE 1 = $1", "params": ["1"], "expect": { "between": [1, 1000000] } },
            { "name": "server version", "sql": "SELECT version()", "expect": { "matches": "^PostgreSQL \\d+" } },
            { "name": "three rows", "sql": "SELECT generate_series(1, 3)", "expect": { "rows": "== 3" } },
            { "name": "nothing returned", "sql": "SELECT 1 WHERE false", "expect": { "no_rows": true } },
            { "name": "numeric column", "sql": "SELECT 12345.678::numeric", "expect": { "between": [12345.6, 12345.7] } }
        ]),
    );
    let outputs = run("verify-pass", params).await.expect("all checks pass");
    assert_eq!(outputs["checks_passed"], json!(7));
    assert_eq!(outputs["checks_failed"], json!(0));
    assert!(outputs["connect_seconds"].as_f64().unwrap() >= 0.0);
    assert!(!outputs.contains_key("rpo_seconds"), "no rpo check was set: {outputs:?}");
    assert_no_password(&serde_json::to_string(&outputs).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localhost_direct_connects() {
    let password = password_file();
    let mut params = base_params(&password);
    let object = params.as_object_mut().unwrap();
    object.insert("host".to_string(), json!("localhost"));
    object.insert("port".to_string(), json!(pg().port));
    object.remove("via");
    let outputs = run("verify-localhost", params).await.expect("localhost is in the certificate");
    assert_eq!(outputs["checks_passed"], json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_check_fails_after_all_ran() {
    let password = password_file();
    let mut params = base_params(&password);
    set(
        &mut params,
        "checks",
        json!([
            { "name": "wrong answer", "sql": "SELECT 1", "expect": { "scalar": "== 2" } },
            { "name": "missing table", "sql": "SELECT count(*) FROM no_such_table", "expect": { "scalar": "> 0" } },
            { "name": "after the error", "sql": "SELECT count(*) FROM \"LiteLLM_UserTable\"", "expect": { "scalar": "> 0" } },
            { "name": "null value", "sql": "SELECT NULL::int", "expect": { "scalar": "> 0" } }
        ]),
    );
    let error = run("verify-fail", params).await.expect_err("failed checks fail the step");
    assert!(error.message.contains("3 of 4 checks failed"), "{}", error.message);
    assert!(error.message.contains("'wrong answer' (1 does not satisfy == 2)"), "{}", error.message);
    assert!(error.message.contains("'missing table' (SQL error 42P01"), "{}", error.message);
    assert!(error.message.contains("'null value'"), "{}", error.message);
    assert!(!error.message.contains("'after the error'"), "the check after an SQL error must pass: {}", error.message);
    assert_no_password(&error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_ca_is_rejected() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "tls", json!({ "ca_bundle": "/etc/ssl/certs/ca-certificates.crt" }));
    let error = run("verify-wrong-ca", params).await.expect_err("an unrelated CA must not verify the server");
    assert!(error.message.contains("TLS handshake"), "{}", error.message);
    assert!(error.message.contains("UnknownIssuer"), "{}", error.message);
    assert!(error.message.contains("(1 attempt)"), "TLS failures are not retried: {}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_host_name_is_rejected() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "host", json!("db.cluster-other.eu-west-2.rds.example.com"));
    let error = run("verify-wrong-host", params).await.expect_err("a name outside the certificate must fail");
    assert!(error.message.contains("TLS handshake"), "{}", error.message);
    assert!(error.message.contains("certificate not valid for name"), "{}", error.message);
    assert!(error.message.contains("db.cluster-other.eu-west-2.rds.example.com"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_name_overrides_host() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "host", json!("db.cluster-other.eu-west-2.rds.example.com"));
    set(&mut params, "tls", json!({ "ca_bundle": pg().ca_file.display().to_string(), "server_name": rds_endpoint("named") }));
    let outputs = run("verify-server-name", params).await.expect("tls.server_name is in the certificate");
    assert_eq!(outputs["checks_passed"], json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_authentication_error() {
    let wrong = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(wrong.path(), "not-the-password-7f3a\n").unwrap();
    let params = base_params(&wrong);
    let error = run("verify-wrong-password", params).await.expect_err("a wrong password must fail");
    assert!(error.message.contains("authentication failed"), "{}", error.message);
    assert!(error.message.contains("28P01"), "{}", error.message);
    assert!(!error.message.contains("not-the-password-7f3a"), "{}", error.message);
    assert!(error.message.contains("(1 attempt)"), "authentication failures are not retried: {}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_database_has_own_error() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "database", json!("no_such_database"));
    let error = run("verify-missing-db", params).await.expect_err("a missing database must fail");
    assert!(error.message.contains("database 'no_such_database' does not exist"), "{}", error.message);
    assert!(error.message.contains("3D000"), "{}", error.message);
    assert_no_password(&error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_tcp_error_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);

    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "via", json!(format!("127.0.0.1:{closed_port}")));
    set(&mut params, "connect_retry_window", json!("1500ms"));
    let started = std::time::Instant::now();
    let error = run("verify-closed-port", params).await.expect_err("nothing listens there");
    assert!(error.message.contains("TCP connection"), "{}", error.message);
    assert!(error.message.contains("the port is closed"), "{}", error.message);
    assert!(error.message.contains(&format!("127.0.0.1:{closed_port}")), "{}", error.message);
    assert!(error.message.contains("attempts over"), "refused connections are retried: {}", error.message);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the retry window bounds the wait");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_rejected_and_nothing_written() {
    let table = format!("drctl_probe_{}", std::process::id());
    let password = password_file();
    let mut params = base_params(&password);
    set(
        &mut params,
        "checks",
        json!([
            { "name": "insert", "sql": "INSERT INTO \"LiteLLM_Config\" (param_name, param_value) VALUES ('drctl_probe', '{}') RETURNING 1", "expect": { "scalar": "== 1" } },
            { "name": "create table", "sql": format!("CREATE TABLE {table} (id int)"), "expect": { "no_rows": true } },
            { "name": "still readable", "sql": "SELECT 1", "expect": { "scalar": "== 1" } }
        ]),
    );
    let error = run("verify-read-only", params).await.expect_err("writes must fail");
    assert!(error.message.contains("2 of 3 checks failed"), "{}", error.message);
    assert!(error.message.contains("'insert' (SQL error 25006: cannot execute INSERT in a read-only transaction)"), "{}", error.message);
    assert!(error.message.contains("'create table' (SQL error 25006"), "{}", error.message);

    let client = direct_client().await;
    let probes: i64 = client
        .query_one("SELECT count(*) FROM \"LiteLLM_Config\" WHERE param_name = 'drctl_probe'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(probes, 0);
    let created: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await.unwrap().get(0);
    assert!(!created, "table {table} must not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_control_is_rejected_before_connecting() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "checks", json!([{ "name": "escape", "sql": "SET TRANSACTION READ WRITE", "expect": { "no_rows": true } }]));
    let (_, tenant) = support::tenant("verify-tx-control");
    let clients = support::clients(&tenant, false).await;
    let env = support::env(clients, Mode::Drill, &support::unique_run_id("verify"));
    let error = actions::build("restore_test", params, env).err().expect("transaction control is rejected");
    assert!(error.message.contains("check 'escape' starts with SET"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litellm_set_and_rpo_match_fixture() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "builtin", json!(["litellm"]));
    set(&mut params, "checks", json!([]));
    set(&mut params, "rpo", json!({ "table": "public.LiteLLM_SpendLogs", "column": "startTime", "target": "1h" }));

    let (action, _tenant) = build("verify-rpo", params).await;
    let (cx, _cancel) = StepContext::for_tests("verify", "drill");
    let outputs = action.run(&cx).await.expect("the fixture passes the litellm set");

    // 4 tables exist, 3 tables non-empty, spend logs fresh, and the rpo check.
    assert_eq!(outputs["checks_passed"], json!(9));
    assert_eq!(outputs["checks_failed"], json!(0));

    let client = direct_client().await;
    let newest: chrono::NaiveDateTime = client
        .query_one("SELECT max(\"startTime\") FROM \"LiteLLM_SpendLogs\"", &[])
        .await
        .unwrap()
        .get(0);
    let newest = newest.and_utc();
    let expected_rpo = (cx.incident_time() - newest).num_microseconds().unwrap() as f64 / 1e6;

    let measured = outputs["rpo_seconds"].as_f64().unwrap();
    assert!((measured - expected_rpo).abs() < 0.001, "measured {measured}, expected {expected_rpo}");
    assert!(measured > 0.0, "the fixture's rows are older than the incident");
    let reported: DateTime<Utc> = outputs["newest_row_time"].as_str().unwrap().parse().unwrap();
    assert_eq!(reported, newest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpo_over_target_fails() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "checks", json!([]));
    set(
        &mut params,
        "rpo",
        json!({ "table": "LiteLLM_SpendLogs", "column": "startTime", "reference": "restore_point", "restore_point": "2100-01-01T00:00:00Z", "target": "15m" }),
    );
    let error = run("verify-rpo-miss", params).await.expect_err("data 70+ years old misses a 15 minute target");
    assert!(error.message.contains("'rpo' (data loss"), "{}", error.message);
    assert!(error.message.contains("exceeds the target of 900 s"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_credentials_work() {
    let (_, tenant) = support::tenant("verify-secret");
    let clients = support::clients(&tenant, false).await;
    let secrets = clients.secrets_manager("eu-west-2");
    let json_secret = support::unique_run_id("drctl-verify-json");
    let plain_secret = support::unique_run_id("drctl-verify-plain");
    secrets
        .create_secret()
        .name(&json_secret)
        .secret_string(json!({ "username": pg().user, "password": pg().password }).to_string())
        .send()
        .await
        .expect("the emulator creates the JSON secret");
    secrets
        .create_secret()
        .name(&plain_secret)
        .secret_string(pg().password.clone())
        .send()
        .await
        .expect("the emulator creates the plain secret");

    let password = password_file();
    for secret in [json_secret, plain_secret] {
        let mut params = base_params(&password);
        set(&mut params, "credentials", json!({ "secret": { "id": secret, "region": "eu-west-2" } }));
        let env = support::env(clients.clone(), Mode::Drill, &support::unique_run_id("verify"));
        let action = actions::build("restore_test", params, env).unwrap();
        let (cx, _cancel) = StepContext::for_tests("verify", "drill");
        let outputs = action.run(&cx).await.unwrap_or_else(|error| panic!("secret {secret}: {}", error.message));
        assert_eq!(outputs["checks_passed"], json!(1), "secret {secret}");
        assert_no_password(&serde_json::to_string(&outputs).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secret_names_the_secret() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "credentials", json!({ "secret": { "id": "drctl-no-such-secret", "region": "eu-west-2" } }));
    let error = run("verify-no-secret", params).await.expect_err("the secret does not exist");
    assert!(error.message.contains("GetSecretValue on drctl-no-such-secret in eu-west-2"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_makes_no_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);

    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "via", json!(format!("127.0.0.1:{closed_port}")));
    set(&mut params, "credentials", json!({ "iam": true }));
    set(&mut params, "rpo", json!({ "table": "LiteLLM_SpendLogs", "column": "startTime", "target": "15m" }));
    let (action, tenant) = build("verify-dry-run", params).await;
    let (cx, _cancel) = StepContext::for_tests("verify", "drill");

    let lines = action.dry_run(&cx).await.expect("a dry run does not connect, so the closed port does not matter");
    let text = lines.join("\n");
    assert!(text.contains("would connect to"), "{text}");
    assert!(text.contains("an IAM database authentication token (obtained)"), "{text}");
    assert!(text.contains("check 'tokens present'"), "{text}");
    assert!(text.contains("check 'rpo'"), "{text}");
    assert!(!text.contains("X-Amz-Signature"), "the token must not be printed: {text}");
    assert!(tenant.mutating_requests().is_empty(), "a dry run makes no mutating AWS call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_is_rejected_by_tls_only_server() {
    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "tls", json!({ "insecure_plaintext": true }));
    let error = run("verify-plaintext", params).await.expect_err("the estate accepts only hostssl");
    assert!(error.message.contains("SQLSTATE 28000"), "{}", error.message);
    assert!(error.message.contains("no encryption"), "{}", error.message);
    assert_no_password(&error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_is_a_no_op() {
    let password = password_file();
    let (action, tenant) = build("verify-undo", base_params(&password)).await;
    let (cx, _cancel) = StepContext::for_tests("verify", "drill");
    action.undo(&cx, &drctl_executor::Outputs::new()).await.expect("nothing to undo");
    assert!(tenant.requests().is_empty(), "undo makes no AWS call");
}

/// Hands the executor one prepared action.
struct OneAction(std::sync::Mutex<Option<Box<dyn Action>>>);

#[async_trait::async_trait]
impl drctl_executor::StepResolver for OneAction {
    async fn prepare(
        &self,
        _step: &drctl_executor::StepSpec,
        _outputs: &std::collections::HashMap<String, drctl_executor::Outputs>,
    ) -> Result<drctl_executor::Prepared, drctl_executor::ActionError> {
        let action = self.0.lock().unwrap().take().expect("the step is prepared once");
        Ok(drctl_executor::Prepared::Run(action))
    }
}

struct GrantAll;

#[async_trait::async_trait]
impl drctl_executor::Approver for GrantAll {
    async fn approve(&self, _step: &drctl_executor::StepSpec, _description: &str) -> drctl_executor::ApprovalDecision {
        drctl_executor::ApprovalDecision::Granted { by: "test".to_string() }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_journals_every_check_record() {
    let password = password_file();
    let mut params = base_params(&password);
    set(
        &mut params,
        "checks",
        json!([
            { "name": "tokens present", "sql": "SELECT count(*) FROM \"LiteLLM_VerificationToken\"", "expect": { "scalar": "> 0" } },
            { "name": "wrong answer", "sql": "SELECT 1", "expect": { "scalar": "== 2" } },
            { "name": "missing table", "sql": "SELECT 1 FROM no_such_table", "expect": { "no_rows": true } }
        ]),
    );
    set(&mut params, "rpo", json!({ "table": "LiteLLM_SpendLogs", "column": "startTime", "target": "1h" }));
    let (action, _tenant) = build("verify-journal", params).await;

    let now = Utc::now();
    let plan = drctl_executor::RunPlan {
        run_id: support::unique_run_id("verify-journal"),
        mode: "drill".to_string(),
        dry_run: false,
        started_at: now,
        incident_time: now,
        rto_target: std::time::Duration::from_secs(3600),
        rto_warning: std::time::Duration::from_secs(1800),
        max_parallel: 1,
        playbook_hash: String::new(),
        header_meta: Value::Null,
        steps: vec![drctl_executor::StepSpec {
            id: "verify".to_string(),
            needs: Vec::new(),
            timeout: std::time::Duration::from_secs(60),
            budget: None,
            expected: None,
            retry: drctl_executor::RetryPolicy::default(),
            on_failure: drctl_executor::FailurePolicy::Abort,
            always: false,
            approval: false,
            description: String::new(),
        }],
    };
    let store = drctl_executor::MemoryStore::new();
    let executor = drctl_executor::Executor::new(Arc::new(OneAction(std::sync::Mutex::new(Some(action)))), Arc::new(GrantAll));
    let report = executor.run(Box::new(store.clone()), plan).await.expect("the run finishes");

    let step = &report.state.steps["verify"];
    assert_eq!(step.status, drctl_executor::StepStatus::Failed);
    let error = step.error.as_ref().expect("the failed step journals its error");
    assert!(error.message.contains("2 of 4 checks failed"), "{}", error.message);
    assert_eq!(step.checks.len(), 4, "every check is journalled: {:?}", step.checks);

    let sql_keys = ["name", "kind", "sql", "expectation", "value", "passed", "duration_ms", "message"];
    for record in &step.checks[..3] {
        let keys: Vec<&str> = record.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), sql_keys.len(), "{record}");
        for key in sql_keys {
            assert!(record.get(key).is_some(), "{key} missing from {record}");
        }
        assert_eq!(record["kind"], json!("sql"));
    }
    assert_eq!(step.checks[0]["name"], json!("tokens present"));
    assert_eq!(step.checks[0]["passed"], json!(true));
    assert_eq!(step.checks[0]["expectation"], json!("> 0"));
    assert!(step.checks[0]["value"].as_i64().unwrap() > 0);
    assert_eq!(step.checks[1]["passed"], json!(false));
    assert_eq!(step.checks[1]["value"], json!(1));
    assert_eq!(step.checks[2]["passed"], json!(false));
    assert!(step.checks[2]["message"].as_str().unwrap().contains("42P01"), "{}", step.checks[2]);

    let rpo = &step.checks[3];
    for key in ["name", "kind", "table", "column", "newest_row_time", "reference_time", "reference", "rpo_seconds", "target_seconds", "passed", "duration_ms"] {
        assert!(rpo.get(key).is_some(), "{key} missing from {rpo}");
    }
    assert_eq!(rpo["name"], json!("rpo"));
    assert_eq!(rpo["kind"], json!("rpo"));
    assert_eq!(rpo["reference"], json!("incident"));
    assert_eq!(rpo["target_seconds"], json!(3600.0));
    assert_eq!(rpo["passed"], json!(true));

    assert_no_password(&store.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_reads_secret_read_only() {
    let (_, tenant) = support::tenant("verify-dry-secret");
    let writer = support::clients(&tenant, false).await;
    let secret = support::unique_run_id("drctl-verify-dry");
    writer
        .secrets_manager("eu-west-2")
        .create_secret()
        .name(&secret)
        .secret_string(json!({ "password": pg().password }).to_string())
        .send()
        .await
        .expect("the emulator creates the secret");
    let created = tenant.mutating_requests().len();

    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "credentials", json!({ "secret": { "id": secret, "region": "eu-west-2" } }));
    let read_only = support::clients(&tenant, true).await;
    let env = support::env(read_only, Mode::Drill, &support::unique_run_id("verify"));
    let action = actions::build("restore_test", params, env).unwrap();
    let (cx, _cancel) = StepContext::for_tests("verify", "drill");

    let lines = action.dry_run(&cx).await.unwrap_or_else(|error| panic!("{}", error.message));
    let text = lines.join("\n");
    assert!(text.contains(&format!("key 'password' of Secrets Manager secret {secret} (obtained)")), "{text}");
    assert_no_password(&text);
    assert_eq!(tenant.mutating_requests().len(), created, "the dry run made a mutating call");
    let reads = tenant.requests().iter().filter(|request| request.operation.as_deref() == Some("GetSecretValue")).count();
    assert_eq!(reads, 1, "the dry run reads the secret once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_connection_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);

    let password = password_file();
    let mut params = base_params(&password);
    set(&mut params, "via", json!(format!("127.0.0.1:{closed_port}")));
    set(&mut params, "connect_retry_window", json!("10m"));
    let (action, _tenant) = build("verify-cancel", params).await;
    let (cx, cancel) = StepContext::for_tests("verify", "drill");

    let started = std::time::Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        cancel.cancel();
    });
    let error = action.run(&cx).await.expect_err("the run is cancelled");
    assert_eq!(error.class, drctl_executor::ErrorClass::Cancelled, "{}", error.message);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "cancellation stops the retries promptly");
}
