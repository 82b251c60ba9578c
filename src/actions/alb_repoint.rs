//! Placeholder until the step kind is implemented.

use drctl_executor::{Action, ActionError};

use super::ActionEnv;

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let _ = (params, env);
    Err(ActionError::fatal("this step kind is not implemented yet"))
}
