//! The behaviour of each step kind: one file per kind, all behind the executor's `Action` trait.
//!
//! Parameters are parsed by the playbook crate's kind registry; here each kind
//! deserializes the resolved parameters into the same type and talks to AWS
//! (or PostgreSQL) through [`ActionEnv`].

mod env;
mod ownership;

pub use env::{ActionEnv, Mode};
pub use ownership::{OWNERSHIP_TAG_PREFIX, Protected, TAG_MANAGED_BY, TAG_RUN_ID, glob_match};

use drctl_executor::{Action, ActionError};

/// Builds the action of a step from its kind and resolved parameters.
pub fn build(kind: &str, params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let _ = (&params, &env);
    Err(ActionError::fatal(format!("step kind '{kind}' has no implementation in this build")))
}
