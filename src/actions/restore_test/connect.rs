//! Opening a verified TLS connection to the restored database.
//!
//! drctl resolves the name and opens the TCP connection itself, then hands the
//! stream to tokio-postgres with a TLS connector for the certificate's name.
//! That split lets `via` reach a tunnel or port-forward while the certificate
//! is still checked against the cluster endpoint. It also separates a DNS
//! failure, a refused port and a failed handshake in the error messages.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drctl_executor::{ActionError, StepContext};
use rustls::RootCertStore;
use tokio::net::TcpStream;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::credentials::Password;

/// Environment variable naming the CA bundle when `tls.ca_bundle` is not set.
pub const CA_BUNDLE_ENV: &str = "DRCTL_RDS_CA_BUNDLE";
/// CA bundle used when neither `tls.ca_bundle` nor the environment names one.
pub const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/rds-global-bundle.pem";

/// Where to connect and what to present.
#[derive(Debug, Clone)]
pub struct Target {
    /// The database endpoint, as in the certificate.
    pub host: String,
    pub port: u16,
    /// The address actually dialled: `via`, or `host:port`.
    pub dial_host: String,
    pub dial_port: u16,
    /// The name the server certificate must carry.
    pub server_name: String,
    pub database: String,
    pub user: String,
}

impl Target {
    /// `host:port`, plus ` via addr` when a tunnel is used, for messages.
    pub fn describe(&self) -> String {
        if self.dial_host == self.host && self.dial_port == self.port {
            format!("{}:{}", self.host, self.port)
        } else {
            format!("{}:{} via {}:{}", self.host, self.port, self.dial_host, self.dial_port)
        }
    }
}

/// Parses `via` as `host:port`, accepting `[v6]:port`.
pub fn parse_via(via: &str) -> Result<(String, u16), ActionError> {
    let invalid = || ActionError::fatal(format!("restore_test: via '{via}' is not host:port, for example 127.0.0.1:15432"));
    let (host, port) = via.rsplit_once(':').ok_or_else(invalid)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| invalid())?;
    if host.is_empty() || port == 0 {
        return Err(invalid());
    }
    Ok((host.to_string(), port))
}

/// How the connection is protected.
#[derive(Clone)]
pub enum Transport {
    /// TLS verifying the chain against the bundle and the name against `Target::server_name`.
    Tls { config: Arc<rustls::ClientConfig>, ca_bundle: PathBuf },
    /// No TLS, only with `tls.insecure_plaintext: true`.
    Plaintext,
}

/// Picks the CA bundle: the parameter, else `DRCTL_RDS_CA_BUNDLE`, else the RDS global bundle path.
pub fn ca_bundle_path(explicit: Option<&str>) -> (PathBuf, &'static str) {
    if let Some(path) = explicit {
        return (PathBuf::from(path), "tls.ca_bundle");
    }
    match std::env::var(CA_BUNDLE_ENV) {
        Ok(path) if !path.is_empty() => (PathBuf::from(path), "environment variable DRCTL_RDS_CA_BUNDLE"),
        _ => (PathBuf::from(DEFAULT_CA_BUNDLE), "the default RDS CA bundle path"),
    }
}

/// Loads the CA bundle into a TLS client configuration.
pub fn tls_transport(explicit: Option<&str>) -> Result<Transport, ActionError> {
    let (path, source) = ca_bundle_path(explicit);
    let roots = load_roots(&path, source)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ActionError::fatal(format!("restore_test: failed to set up TLS: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Transport::Tls { config: Arc::new(config), ca_bundle: path })
}

fn load_roots(path: &Path, source: &str) -> Result<RootCertStore, ActionError> {
    let bytes = std::fs::read(path).map_err(|error| {
        ActionError::fatal(format!(
            "restore_test: failed to read the CA bundle {} (from {source}): {error}; download the RDS bundle or set tls.ca_bundle",
            path.display()
        ))
    })?;
    let mut roots = RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for (index, certificate) in rustls_pki_types::CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let certificate = certificate.map_err(|error| {
            ActionError::fatal(format!(
                "restore_test: certificate {} in CA bundle {} (from {source}) is not valid PEM: {error}",
                index + 1,
                path.display()
            ))
        })?;
        roots.add(certificate).map_err(|error| {
            ActionError::fatal(format!(
                "restore_test: certificate {} in CA bundle {} (from {source}) was rejected: {error}",
                index + 1,
                path.display()
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(ActionError::fatal(format!(
            "restore_test: CA bundle {} (from {source}) contains no PEM certificates",
            path.display()
        )));
    }
    Ok(roots)
}

/// An open connection. Dropping it closes the connection.
pub struct Connection {
    pub client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why one connection attempt failed, and whether another attempt may succeed.
#[derive(Debug)]
pub struct AttemptFailure {
    pub retryable: bool,
    pub message: String,
}

impl AttemptFailure {
    fn retryable(message: String) -> Self {
        AttemptFailure { retryable: true, message }
    }

    fn fatal(message: String) -> Self {
        AttemptFailure { retryable: false, message }
    }
}

/// Settings of [`connect_with_retry`].
pub struct RetrySettings {
    /// Limit of one attempt, from DNS lookup to the end of authentication.
    pub attempt_timeout: Duration,
    /// Retrying stops at the earlier of this and the step's deadline.
    pub window: Option<Duration>,
}

/// Connects, retrying failed DNS lookups, refused or timed-out connections and
/// a server that is still starting, with backoff, until the retry window or
/// the step's deadline ends. TLS, authentication and missing-database
/// failures are returned at once, because retrying cannot fix them.
pub async fn connect_with_retry(
    cx: &StepContext,
    target: &Target,
    transport: &Transport,
    password: &Password,
    settings: &RetrySettings,
) -> Result<(Connection, Duration), ActionError> {
    let started = Instant::now();
    let until_deadline = (cx.deadline() - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let window = settings.window.map_or(until_deadline, |window| window.min(until_deadline));
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1u32;

    loop {
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(settings.attempt_timeout, connect_once(target, transport, password)) => outcome,
            () = cx.cancelled() => {
                return Err(ActionError::cancelled(format!("restore_test: cancelled while connecting to {}", target.describe())));
            }
        };
        let failure = match outcome {
            Ok(Ok(connection)) => return Ok((connection, started.elapsed())),
            Ok(Err(failure)) => failure,
            Err(_) => AttemptFailure::retryable(format!(
                "connection attempt to {} timed out after {:?} (connect_timeout); check security groups, the tunnel and that the instance is available",
                target.describe(),
                settings.attempt_timeout
            )),
        };

        let elapsed = started.elapsed();
        if !failure.retryable || elapsed + delay >= window {
            let tries = if attempt == 1 { "1 attempt".to_string() } else { format!("{attempt} attempts over {:.1} s", elapsed.as_secs_f64()) };
            return Err(ActionError::fatal(format!("restore_test: {} ({tries})", failure.message)));
        }
        tracing::info!(run_id = %cx.run_id(), step_id = %cx.step_id(), attempt, error = %failure.message, "database connection failed; retrying");
        cx.progress(format!("connecting to {}: attempt {attempt} failed, retrying", target.describe()), None);

        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cx.cancelled() => {
                return Err(ActionError::cancelled(format!("restore_test: cancelled while connecting to {}", target.describe())));
            }
        }
        delay = (delay * 2).min(Duration::from_secs(5));
        attempt += 1;
    }
}

/// Makes one attempt: DNS, TCP, TLS and the PostgreSQL startup with authentication.
async fn connect_once(target: &Target, transport: &Transport, password: &Password) -> Result<Connection, AttemptFailure> {
    let stream = open_tcp(target).await?;

    let mut config = tokio_postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .dbname(&target.database)
        .user(&target.user)
        .password(password.expose())
        .application_name("drctl restore_test");

    let result = match transport {
        Transport::Tls { config: tls_config, .. } => {
            config.ssl_mode(SslMode::Require);
            let mut maker = MakeRustlsConnect::new((**tls_config).clone());
            let tls = <MakeRustlsConnect as MakeTlsConnect<TcpStream>>::make_tls_connect(&mut maker, &target.server_name)
                .map_err(|error| {
                    AttemptFailure::fatal(format!(
                        "TLS server name '{}' is not a valid DNS name or IP address: {error}; set tls.server_name",
                        target.server_name
                    ))
                })?;
            config.connect_raw(stream, tls).await.map(|(client, connection)| (client, tokio::spawn(drive(connection))))
        }
        Transport::Plaintext => {
            config.ssl_mode(SslMode::Disable);
            config.connect_raw(stream, NoTls).await.map(|(client, connection)| (client, tokio::spawn(drive(connection))))
        }
    };
    match result {
        Ok((client, task)) => Ok(Connection { client, task }),
        Err(error) => Err(classify(target, transport, &error)),
    }
}

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(error) = connection.await {
        tracing::warn!(%error, "database connection closed with an error");
    }
}

async fn open_tcp(target: &Target) -> Result<TcpStream, AttemptFailure> {
    let addresses: Vec<_> = tokio::net::lookup_host((target.dial_host.as_str(), target.dial_port))
        .await
        .map_err(|error| {
            AttemptFailure::retryable(format!(
                "DNS lookup of {} failed: {error}; check the endpoint name (a new cluster's name can take a minute to resolve) or use via",
                target.dial_host
            ))
        })?
        .collect();
    if addresses.is_empty() {
        return Err(AttemptFailure::retryable(format!("DNS lookup of {} returned no addresses", target.dial_host)));
    }

    let mut last_error = None;
    for address in &addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => last_error = Some((address, error)),
        }
    }
    let (address, error) = last_error.expect("at least one address was tried");
    let hint = match error.kind() {
        io::ErrorKind::ConnectionRefused => {
            "the port is closed: check the port, that the instance is available, and that the tunnel is up"
        }
        io::ErrorKind::TimedOut => "no answer: check security groups, network ACLs and routing",
        _ => "check the network path to the database",
    };
    Err(AttemptFailure::retryable(format!(
        "TCP connection to {} ({address}) failed: {error}; {hint}",
        target.describe()
    )))
}

/// Names the failed stage of a PostgreSQL startup and what to check.
fn classify(target: &Target, transport: &Transport, error: &tokio_postgres::Error) -> AttemptFailure {
    let login = format!("user {} on database {} at {}", target.user, target.database, target.describe());
    if let Some(db_error) = error.as_db_error() {
        let code = db_error.code();
        let server = db_error.message();
        if code == &SqlState::INVALID_PASSWORD || code == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            return AttemptFailure::fatal(format!(
                "authentication failed for {login} (SQLSTATE {}): {server}; check the user name and the credential source, and for IAM that the user has the rds_iam role",
                code.code()
            ));
        }
        if code == &SqlState::INVALID_CATALOG_NAME {
            return AttemptFailure::fatal(format!(
                "database '{}' does not exist at {} (SQLSTATE 3D000): {server}; check the database parameter",
                target.database,
                target.describe()
            ));
        }
        if code == &SqlState::CANNOT_CONNECT_NOW || code == &SqlState::TOO_MANY_CONNECTIONS {
            return AttemptFailure::retryable(format!(
                "the server at {} is not accepting connections yet (SQLSTATE {}): {server}",
                target.describe(),
                code.code()
            ));
        }
        return AttemptFailure::fatal(format!("connecting as {login} failed (SQLSTATE {}): {server}", code.code()));
    }

    if let Some(tls_error) = find_tls_error(error) {
        let Transport::Tls { ca_bundle, .. } = transport else {
            return AttemptFailure::fatal(format!("connecting to {} failed: {error}", target.describe()));
        };
        return AttemptFailure::fatal(format!(
            "TLS handshake with {} failed: {tls_error}; check that the CA bundle {} signed the server certificate and that the certificate names '{}' (set tls.server_name when connecting by another name)",
            target.describe(),
            ca_bundle.display(),
            target.server_name
        ));
    }
    let text = error.to_string();
    if text.contains("TLS") || text.contains("SSL") {
        return AttemptFailure::fatal(format!(
            "TLS with {} failed: {text}; the server must accept TLS (rds.force_ssl or ssl=on)",
            target.describe()
        ));
    }

    // NOTE: a connection closed during startup is treated as transient, because
    // a freshly available instance can drop connections while it initialises.
    AttemptFailure::retryable(format!("connecting as {login} failed: {text}"))
}

fn find_tls_error(error: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(current) = source {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io_error) = current.downcast_ref::<io::Error>() {
            if let Some(tls) = io_error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                return Some(tls);
            }
        }
        source = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parses_host_and_port() {
        assert_eq!(parse_via("127.0.0.1:15432").unwrap(), ("127.0.0.1".to_string(), 15432));
        assert_eq!(parse_via("[::1]:5432").unwrap(), ("::1".to_string(), 5432));
    }

    #[test]
    fn via_without_port_is_rejected() {
        let error = parse_via("bastion").unwrap_err();
        assert!(error.message.contains("via 'bastion'"), "{}", error.message);
        assert!(parse_via("bastion:0").is_err());
        assert!(parse_via(":5432").is_err());
    }

    #[test]
    fn missing_ca_bundle_names_the_path() {
        let error = tls_transport(Some("/nonexistent/ca.pem")).err().unwrap();
        assert!(error.message.contains("/nonexistent/ca.pem"), "{}", error.message);
        assert!(error.message.contains("tls.ca_bundle"), "{}", error.message);
    }
}
