//! Ownership tags and protected resources.
//!
//! Every resource drctl creates carries tags naming the run and step that made
//! it. Deletes and drill-mode changes check those tags first, so drctl can only
//! remove what it created, even when a playbook names the wrong resource.

use std::fmt;

/// Prefix of every tag drctl writes; playbooks may not set tags with it.
pub const OWNERSHIP_TAG_PREFIX: &str = "drctl:";
/// Always `drctl` on resources drctl created.
pub const TAG_MANAGED_BY: &str = "drctl:managed-by";
/// The run that created the resource.
pub const TAG_RUN_ID: &str = "drctl:run-id";
pub const TAG_PLAYBOOK: &str = "drctl:playbook";
pub const TAG_STEP: &str = "drctl:step";

pub(super) fn tags(run_id: &str, playbook: &str, step_id: &str) -> Vec<(String, String)> {
    vec![
        (TAG_MANAGED_BY.to_string(), "drctl".to_string()),
        (TAG_RUN_ID.to_string(), run_id.to_string()),
        (TAG_PLAYBOOK.to_string(), playbook.to_string()),
        (TAG_STEP.to_string(), step_id.to_string()),
    ]
}

pub(super) fn created_by_run(tags: &[(String, String)], run_id: &str) -> bool {
    let has = |key: &str, value: &str| tags.iter().any(|(k, v)| k == key && v == value);
    has(TAG_MANAGED_BY, "drctl") && has(TAG_RUN_ID, run_id)
}

/// A resource the playbook protects. `id` may contain `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    pub resource_type: String,
    pub id: String,
}

impl Protected {
    /// Matches by type and id; an ARN also matches a rule written with the resource's name.
    pub fn matches(&self, resource_type: &str, id: &str) -> bool {
        if self.resource_type != resource_type {
            return false;
        }
        if glob_match(&self.id, id) {
            return true;
        }
        // arn:aws:rds:eu-west-2:123:cluster:NAME, arn:...:targetgroup/NAME/hash
        let name = id.rsplit([':']).next().unwrap_or(id);
        let elb_name = id.split('/').nth(1).unwrap_or(id);
        glob_match(&self.id, name) || glob_match(&self.id, elb_name)
    }
}

impl fmt::Display for Protected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "protected: {} {}", self.resource_type, self.id)
    }
}

/// Matches `text` against `pattern`, where `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            let Some(after) = rest.strip_prefix(part) else { return false };
            rest = after;
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(position) = rest.find(part) else { return false };
            rest = &rest[position + part.len()..];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob_match("dsit-*-prod", "dsit-litellm-rds-pg-prod"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("dsit-*-prod", "dsit-litellm-staging"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn protected_matches_arn_by_name() {
        let rule = Protected { resource_type: "rds:cluster".into(), id: "dsit-litellm-rds-pg-prod".into() };
        assert!(rule.matches("rds:cluster", "arn:aws:rds:eu-west-2:123456789012:cluster:dsit-litellm-rds-pg-prod"));
        assert!(!rule.matches("rds:cluster-snapshot", "dsit-litellm-rds-pg-prod"));
        let group = Protected { resource_type: "elbv2:target-group".into(), id: "dsit-litellm-tg-4000".into() };
        assert!(group.matches(
            "elbv2:target-group",
            "arn:aws:elasticloadbalancing:eu-west-2:123456789012:targetgroup/dsit-litellm-tg-4000/6d0ecf831eec9f09"
        ));
    }

    #[test]
    fn ownership_needs_both_tags() {
        let owned = tags("run-1", "drill", "restore");
        assert!(created_by_run(&owned, "run-1"));
        assert!(!created_by_run(&owned, "run-2"));
        assert!(!created_by_run(&[(TAG_RUN_ID.to_string(), "run-1".to_string())], "run-1"));
    }
}
