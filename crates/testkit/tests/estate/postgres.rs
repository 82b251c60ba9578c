//! The throwaway PostgreSQL: TLS verified with the test CA, LiteLLM-shaped data.

use std::process::Command;

use drctl_testkit::Estate;

/// Runs one query with psql and returns its unaligned output, or the error text.
fn psql(conninfo: &str, password: &str, query: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .args([conninfo, "-X", "-A", "-t", "-c", query])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .map_err(|error| format!("running psql failed: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn postgres_verify_full_with_test_ca() {
    let pg = Estate::shared().pg();
    let ssl = psql(
        &pg.dsn(),
        &pg.password,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .expect("TLS connection with verify-full");
    assert_eq!(ssl, "t");
}

#[test]
fn postgres_certificate_covers_rds_endpoints() {
    let estate = Estate::shared();
    let pg = estate.pg();
    for endpoint in [
        estate.seed().cluster_endpoint.clone(),
        estate.seed().cluster_endpoint.replace(".cluster-", ".cluster-ro-"),
    ] {
        // hostaddr sends the connection to loopback while TLS verifies the RDS name.
        let conninfo = format!(
            "host={endpoint} hostaddr=127.0.0.1 port={} dbname={} user={} sslmode=verify-full sslrootcert={}",
            pg.port,
            pg.database,
            pg.user,
            pg.ca_file.display()
        );
        assert_eq!(psql(&conninfo, &pg.password, "SELECT 1").as_deref(), Ok("1"), "{endpoint}");
    }
}

#[test]
fn postgres_rejects_plaintext() {
    let pg = Estate::shared().pg();
    let conninfo = format!(
        "host={} port={} dbname={} user={} sslmode=disable",
        pg.host, pg.port, pg.database, pg.user
    );
    let error = psql(&conninfo, &pg.password, "SELECT 1").expect_err("plaintext must be rejected");
    assert!(error.contains("no encryption"), "{error}");
}

#[test]
fn postgres_holds_recent_spend_logs() {
    let pg = Estate::shared().pg();
    let rows = psql(&pg.dsn(), &pg.password, r#"SELECT count(*) FROM "LiteLLM_SpendLogs""#).unwrap();
    assert!(rows.parse::<u64>().unwrap() >= 3000, "{rows} rows");

    let age = psql(
        &pg.dsn(),
        &pg.password,
        r#"SELECT extract(epoch FROM (now() AT TIME ZONE 'UTC') - max("startTime"))::int FROM "LiteLLM_SpendLogs""#,
    )
    .unwrap();
    let seconds: i64 = age.parse().unwrap();
    assert!((0..3600).contains(&seconds), "newest spend log is {seconds} s old");

    for table in ["LiteLLM_VerificationToken", "LiteLLM_UserTable", "LiteLLM_TeamTable"] {
        let count = psql(&pg.dsn(), &pg.password, &format!(r#"SELECT count(*) FROM "{table}""#)).unwrap();
        assert!(count.parse::<u64>().unwrap() > 0, "{table} is empty");
    }
}
