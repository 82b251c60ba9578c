//! Where the database password comes from: an environment variable, a file,
//! a Secrets Manager secret or a freshly signed IAM authentication token.

use std::fmt;

use drctl_executor::ActionError;
use drctl_playbook::kinds::{Credentials, RestoreTestParams, SecretRef};

use super::iam_token;
use crate::actions::ActionEnv;
use crate::aws::AwsCall;

/// A password or IAM token. Its `Debug` output is redacted, so it cannot leak
/// through a log line or an error built with `{:?}`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Describes the credential source without its value, for dry runs and logs.
pub fn describe(credentials: &Credentials) -> String {
    if let Some(name) = &credentials.env {
        format!("the password in environment variable {name}")
    } else if let Some(path) = &credentials.file {
        format!("the password in file {path}")
    } else if let Some(secret) = &credentials.secret {
        format!("key '{}' of Secrets Manager secret {}", secret_key(secret), secret.id)
    } else {
        "an IAM database authentication token".to_string()
    }
}

/// Obtains the password or token. The value never appears in an error message.
pub async fn obtain(params: &RestoreTestParams, env: &ActionEnv) -> Result<Password, ActionError> {
    let credentials = &params.credentials;
    if let Some(name) = &credentials.env {
        return from_env(name);
    }
    if let Some(path) = &credentials.file {
        return from_file(path).await;
    }
    if let Some(secret) = &credentials.secret {
        return from_secret(secret, params, env).await;
    }
    if credentials.iam {
        let region = params.region.as_deref().ok_or_else(|| {
            ActionError::fatal("restore_test: IAM authentication needs `region` to sign the token; set region")
        })?;
        let port = u16::try_from(params.port)
            .map_err(|_| ActionError::fatal(format!("restore_test: port {} is outside 1-65535", params.port)))?;
        let token = iam_token::token_from_env(env, &params.host, port, &params.user, region).await?;
        return Ok(Password(token));
    }
    Err(ActionError::fatal(
        "restore_test: no credential source is set; set exactly one of credentials.env, file, secret or iam: true",
    ))
}

fn from_env(name: &str) -> Result<Password, ActionError> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(Password(value)),
        Ok(_) => Err(ActionError::fatal(format!(
            "restore_test: environment variable {name} (credentials.env) is empty; export the database password in it"
        ))),
        Err(std::env::VarError::NotPresent) => Err(ActionError::fatal(format!(
            "restore_test: environment variable {name} (credentials.env) is not set; export the database password in it"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(ActionError::fatal(format!(
            "restore_test: environment variable {name} (credentials.env) is not valid UTF-8"
        ))),
    }
}

async fn from_file(path: &str) -> Result<Password, ActionError> {
    let text = tokio::fs::read_to_string(path).await.map_err(|error| {
        ActionError::fatal(format!(
            "restore_test: failed to read the password file {path} (credentials.file): {error}; check the path and its permissions"
        ))
    })?;
    let first_line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if first_line.is_empty() {
        return Err(ActionError::fatal(format!(
            "restore_test: the password file {path} (credentials.file) has an empty first line; put the password on it"
        )));
    }
    Ok(Password(first_line.to_string()))
}

fn secret_key(secret: &SecretRef) -> &str {
    secret.key.as_deref().unwrap_or("password")
}

/// Reads a secret with GetSecretValue, a read-only call also allowed in dry runs.
/// A JSON object secret yields its `key` field (default `password`); any other
/// secret string is the password itself.
async fn from_secret(secret: &SecretRef, params: &RestoreTestParams, env: &ActionEnv) -> Result<Password, ActionError> {
    let region = secret
        .region
        .as_deref()
        .or(params.region.as_deref())
        .or_else(|| env.aws.sdk_config().region().map(|region| region.as_ref()))
        .ok_or_else(|| {
            ActionError::fatal(format!(
                "restore_test: no region for secret {}; set credentials.secret.region or region",
                secret.id
            ))
        })?
        .to_string();
    let call = AwsCall::new("GetSecretValue", &secret.id, &region);
    let output = env
        .aws
        .secrets_manager(&region)
        .get_secret_value()
        .secret_id(&secret.id)
        .send()
        .await
        .map_err(|error| call.error(&error))?;
    let Some(text) = output.secret_string() else {
        return Err(call.fatal("the secret has no SecretString (binary secrets are not supported); store the password as a string or JSON"));
    };
    extract_password(text, secret).map_err(|problem| call.fatal(problem))
}

/// Picks the password out of a secret string. Messages name the key, never the value.
fn extract_password(text: &str, secret: &SecretRef) -> Result<Password, String> {
    let key = secret_key(secret);
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(fields)) => match fields.get(key) {
            Some(serde_json::Value::String(value)) if !value.is_empty() => Ok(Password(value.clone())),
            Some(_) => Err(format!("key '{key}' of the JSON secret is not a non-empty string")),
            None => {
                let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
                Err(format!(
                    "the JSON secret has no key '{key}' (it has: {}); set credentials.secret.key",
                    keys.join(", ")
                ))
            }
        },
        _ if secret.key.is_some() => Err(format!(
            "credentials.secret.key is '{key}' but the secret is not a JSON object; remove key to use the whole string"
        )),
        _ if text.is_empty() => Err("the secret string is empty".to_string()),
        _ => Ok(Password(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(key: Option<&str>) -> SecretRef {
        SecretRef { id: "db".to_string(), region: None, key: key.map(str::to_string) }
    }

    #[test]
    fn json_secret_uses_password_key() {
        let password = extract_password(r#"{"username":"u","password":"s3cret"}"#, &secret(None)).unwrap();
        assert_eq!(password.expose(), "s3cret");
    }

    #[test]
    fn json_secret_honours_custom_key() {
        let password = extract_password(r#"{"pw":"abc"}"#, &secret(Some("pw"))).unwrap();
        assert_eq!(password.expose(), "abc");
    }

    #[test]
    fn plain_secret_is_the_password() {
        let password = extract_password("plain-value", &secret(None)).unwrap();
        assert_eq!(password.expose(), "plain-value");
    }

    #[test]
    fn missing_key_message_hides_values() {
        let error = extract_password(r#"{"username":"u","pass":"hidden-value"}"#, &secret(None)).unwrap_err();
        assert!(error.contains("no key 'password'"), "{error}");
        assert!(!error.contains("hidden-value"), "{error}");
    }

    #[test]
    fn password_debug_is_redacted() {
        let text = format!("{:?}", Password("s3cret".to_string()));
        assert!(!text.contains("s3cret"));
    }
}
