//! Built-in check sets for known applications.

use drctl_playbook::kinds::{Check, Expectation};

/// Names of the built-in sets.
pub const SETS: &[&str] = &["litellm"];

/// The LiteLLM proxy's tables that a usable restore must contain.
pub const LITELLM_TABLES: &[&str] = &[
    "LiteLLM_VerificationToken",
    "LiteLLM_UserTable",
    "LiteLLM_TeamTable",
    "LiteLLM_SpendLogs",
];

/// Tables that must not be empty: without keys, users and teams the gateway rejects every request.
const LITELLM_NON_EMPTY: &[(&str, &str)] = &[
    ("LiteLLM_VerificationToken", "tokens"),
    ("LiteLLM_UserTable", "users"),
    ("LiteLLM_TeamTable", "teams"),
];

/// The spend log table and column whose newest value shows how fresh the data is.
pub const LITELLM_FRESHNESS: (&str, &str) = ("LiteLLM_SpendLogs", "startTime");

/// Name of the freshness check of the `litellm` set.
pub const LITELLM_FRESHNESS_NAME: &str = "litellm: spend logs fresh";

/// Returns the SQL checks of a built-in set, or `None` for an unknown set. The
/// caller adds the freshness check, an RPO check that needs the reference time.
pub fn sql_checks(set: &str) -> Option<Vec<Check>> {
    match set {
        "litellm" => Some(litellm()),
        _ => None,
    }
}

fn scalar(text: &str) -> Expectation {
    Expectation { scalar: Some(text.to_string()), ..Expectation::default() }
}

fn litellm() -> Vec<Check> {
    let mut checks = Vec::new();
    for table in LITELLM_TABLES {
        // `to_regclass` resolves the name through the search path, like the queries after it,
        // and returns NULL instead of failing when the table is missing.
        checks.push(Check {
            name: format!("litellm: table {table} exists"),
            sql: "SELECT (to_regclass(quote_ident($1)) IS NOT NULL)::int".to_string(),
            params: vec![table.to_string()],
            expect: scalar("== 1"),
        });
    }
    for (table, what) in LITELLM_NON_EMPTY {
        checks.push(Check {
            name: format!("litellm: {what} present"),
            sql: format!("SELECT count(*) FROM \"{table}\""),
            params: Vec::new(),
            expect: scalar("> 0"),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litellm_set_covers_tables_and_contents() {
        let checks = sql_checks("litellm").unwrap();
        assert_eq!(checks.len(), 7);
        assert!(checks.iter().any(|check| check.params == ["LiteLLM_SpendLogs"]));
        assert!(checks.iter().any(|check| check.sql.contains("\"LiteLLM_TeamTable\"")));
        assert!(sql_checks("unknown").is_none());
    }
}
