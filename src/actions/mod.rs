//! The behaviour of each step kind: one file per kind, all behind the executor's `Action` trait.
//!
//! Parameters are parsed by the playbook crate's kind registry; here each kind
//! deserializes the resolved parameters into the same type and talks to AWS
//! (or PostgreSQL) through [`ActionEnv`].

mod alb_repoint;
mod aurora_cluster;
mod aurora_copy_snapshot;
mod aurora_create_instances;
mod aurora_delete;
mod aurora_restore_pitr;
mod aurora_restore_snapshot;
mod aurora_snapshot;
mod aurora_snapshot_wait;
mod env;
mod ownership;
mod restore_test;
mod tfstate_rollback;

pub use env::{ActionEnv, Mode};
pub use ownership::{OWNERSHIP_TAG_PREFIX, Protected, TAG_MANAGED_BY, TAG_RUN_ID, glob_match};

use drctl_executor::{Action, ActionError};

/// Builds the action of a step from its kind and resolved parameters.
pub fn build(kind: &str, params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    match kind {
        "aurora.restore_pitr" => aurora_restore_pitr::build(params, env),
        "aurora.restore_snapshot" => aurora_restore_snapshot::build(params, env),
        "aurora.create_instances" => aurora_create_instances::build(params, env),
        "aurora.copy_snapshot" => aurora_copy_snapshot::build(params, env),
        "aurora.snapshot" => aurora_snapshot::build(params, env),
        "aurora.delete" => aurora_delete::build(params, env),
        "restore_test" => restore_test::build(params, env),
        "tfstate.rollback" => tfstate_rollback::build(params, env),
        "alb.repoint" => alb_repoint::build(params, env),
        other => Err(ActionError::fatal(format!("unknown step kind '{other}'"))),
    }
}

/// Deserializes a step's resolved parameters into its kind's type.
pub(crate) fn parse<P: serde::de::DeserializeOwned>(kind: &str, params: serde_json::Value) -> Result<P, ActionError> {
    drctl_playbook::kinds::parse_params(&params)
        .map_err(|error| ActionError::fatal(format!("invalid parameters for {kind} after resolving expressions: {}", error.message)))
}
