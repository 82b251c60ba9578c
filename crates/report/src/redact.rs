//! Removal of values that look secret before anything is written to a report.
//!
//! Reports are attached to tickets and shown to leadership, so any key whose
//! name suggests a credential is dropped, at any depth, and its path listed
//! in the report so the reader knows something was removed.

use serde_json::{Map, Value};

/// Lower-case fragments that mark a key as secret.
const SECRET_FRAGMENTS: &[&str] =
    &["password", "passwd", "secret", "token", "credential", "private_key", "privatekey", "api_key", "apikey", "session_key"];

/// True when `key` looks like it names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_FRAGMENTS.iter().any(|fragment| lower.contains(fragment))
}

/// Drops secret-looking keys from `object` and its nested objects and
/// arrays, appending the dotted path of each dropped key (under `prefix`) to `dropped`.
pub fn redact_object(object: &Map<String, Value>, prefix: &str, dropped: &mut Vec<String>) -> Map<String, Value> {
    let mut clean = Map::new();
    for (key, value) in object {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if is_secret_key(key) {
            dropped.push(path);
            continue;
        }
        clean.insert(key.clone(), redact_value(value, &path, dropped));
    }
    clean
}

/// [`redact_object`] for any JSON value.
pub fn redact_value(value: &Value, prefix: &str, dropped: &mut Vec<String>) -> Value {
    match value {
        Value::Object(object) => Value::Object(redact_object(object, prefix, dropped)),
        Value::Array(items) => Value::Array(
            items.iter().enumerate().map(|(index, item)| redact_value(item, &format!("{prefix}[{index}]"), dropped)).collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_dropped_at_any_depth() {
        let value = json!({"endpoint": "db", "master_password": "x", "nested": {"AuthToken": "y", "port": 5432}, "list": [{"secret_arn": "z"}]});
        let mut dropped = Vec::new();
        let clean = redact_value(&value, "outputs", &mut dropped);
        assert_eq!(clean, json!({"endpoint": "db", "nested": {"port": 5432}, "list": [{}]}));
        assert_eq!(dropped, vec!["outputs.master_password", "outputs.nested.AuthToken", "outputs.list[0].secret_arn"]);
    }

    #[test]
    fn ordinary_keys_kept() {
        assert!(!is_secret_key("cluster_identifier"));
        assert!(!is_secret_key("writer_endpoint"));
        assert!(is_secret_key("DB_PASSWORD"));
    }
}
