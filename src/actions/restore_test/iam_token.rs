//! IAM database authentication tokens for Aurora and RDS.
//!
//! A token is a SigV4 presigned `GET https://host:port/?Action=connect&DBUser=user`
//! for service `rds-db`, valid for 15 minutes, written without its scheme. The
//! server checks it with IAM, so it is signed for the endpoint name the
//! client will present, not for a tunnel address.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use drctl_executor::ActionError;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::actions::ActionEnv;

/// Lifetime of a token, fixed by RDS at 15 minutes.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// Characters SigV4 leaves unescaped in query values (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Signs an IAM database authentication token for `user` at `host:port` in
/// `region`, valid for 15 minutes from `time`.
///
/// Returns `host:port/?Action=connect&DBUser=...&X-Amz-Algorithm=...&X-Amz-Signature=...`,
/// the form the AWS SDKs produce. The token is a credential: never log it.
pub fn generate_iam_token(
    host: &str,
    port: u16,
    user: &str,
    region: &str,
    credentials: Credentials,
    time: SystemTime,
) -> Result<String, String> {
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);

    let identity: Identity = credentials.into();
    let signing_params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|error| format!("invalid signing parameters: {error}"))?
        .into();

    let query = format!("Action=connect&DBUser={}", utf8_percent_encode(user, QUERY_VALUE));
    let url = format!("https://{host}:{port}/?{query}");
    let request = SignableRequest::new("GET", url.as_str(), std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|error| format!("cannot sign a request for host '{host}': {error}"))?;
    let (instructions, _signature) = sign(request, &signing_params)
        .map_err(|error| format!("signing failed: {error}"))?
        .into_parts();

    let mut token = format!("{host}:{port}/?{query}");
    for (name, value) in instructions.params() {
        token.push('&');
        token.push_str(name);
        token.push('=');
        token.extend(utf8_percent_encode(value, QUERY_VALUE));
    }
    Ok(token)
}

/// Signs a token with the credentials of the run's AWS configuration.
pub async fn token_from_env(env: &ActionEnv, host: &str, port: u16, user: &str, region: &str) -> Result<String, ActionError> {
    let provider = env.aws.sdk_config().credentials_provider().ok_or_else(|| {
        ActionError::fatal(
            "restore_test: IAM authentication needs AWS credentials, but none are configured; set AWS_PROFILE or AWS_ACCESS_KEY_ID",
        )
    })?;
    let credentials = provider.provide_credentials().await.map_err(|error| {
        ActionError::fatal(format!(
            "restore_test: failed to load AWS credentials to sign an IAM database token for {user}@{host}:{port} in {region}: {error}"
        ))
    })?;
    generate_iam_token(host, port, user, region, credentials, SystemTime::now()).map_err(|problem| {
        ActionError::fatal(format!(
            "restore_test: failed to sign an IAM database token for {user}@{host}:{port} in {region}: {problem}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_value<'a>(token: &'a str, name: &str) -> &'a str {
        let query = token.split_once("/?").unwrap().1;
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
            .unwrap_or_else(|| panic!("{name} missing from {token}"))
    }

    #[test]
    fn iam_token_has_rds_form() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret-key-example", None, None, "test");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
        let token = generate_iam_token(
            "db.cluster-abc.eu-west-2.rds.amazonaws.com",
            5432,
            "drctl_verify",
            "eu-west-2",
            credentials,
            time,
        )
        .unwrap();

        assert!(
            token.starts_with("db.cluster-abc.eu-west-2.rds.amazonaws.com:5432/?Action=connect&DBUser=drctl_verify&"),
            "{token}"
        );
        assert!(!token.contains("://"), "a token has no scheme: {token}");
        assert_eq!(query_value(&token, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
        assert_eq!(
            query_value(&token, "X-Amz-Credential"),
            "AKIDEXAMPLE%2F20260101%2Feu-west-2%2Frds-db%2Faws4_request"
        );
        assert_eq!(query_value(&token, "X-Amz-Date"), "20260101T000000Z");
        assert_eq!(query_value(&token, "X-Amz-Expires"), "900");
        assert_eq!(query_value(&token, "X-Amz-SignedHeaders"), "host");
        let signature = query_value(&token, "X-Amz-Signature");
        assert_eq!(signature.len(), 64, "{signature}");
        assert!(signature.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{signature}");
        assert!(!token.contains("secret-key-example"));
    }

    #[test]
    fn iam_token_changes_with_user() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let first = generate_iam_token("h", 5432, "alice", "us-east-1", credentials.clone(), time).unwrap();
        let second = generate_iam_token("h", 5432, "bob", "us-east-1", credentials, time).unwrap();
        assert_ne!(query_value(&first, "X-Amz-Signature"), query_value(&second, "X-Amz-Signature"));
    }

    #[test]
    fn iam_token_carries_session_token() {
        let credentials = Credentials::new("ASIAEXAMPLE", "secret", Some("session/token".to_string()), None, "test");
        let token = generate_iam_token("h", 5432, "u", "eu-west-2", credentials, SystemTime::now()).unwrap();
        assert_eq!(query_value(&token, "X-Amz-Security-Token"), "session%2Ftoken");
    }
}
