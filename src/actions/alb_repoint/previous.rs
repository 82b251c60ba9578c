//! The journalled state from before the first change, which undo restores and re-entry trusts.

use drctl_executor::{ActionError, StepContext};
use serde::{Deserialize, Serialize};

use super::listener_actions::ListenerAction;
use super::target_group::HealthCheckSettings;

/// Note key of [`PreviousState`]. Written once, before the first mutating call.
const PREVIOUS_NOTE: &str = "alb_repoint_previous";
/// Note key of the listener stage about to be applied, in percent.
const STAGE_NOTE: &str = "alb_repoint_stage";

/// One registered target: IP, port and availability zone as DescribeTargetHealth reported it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Registration {
    pub ip: String,
    pub port: i32,
    pub availability_zone: Option<String>,
}

impl Registration {
    /// Whether both name the same IP and port; the zone does not identify a target.
    pub fn same_target(&self, other: &Registration) -> bool {
        self.ip == other.ip && self.port == other.port
    }
}

/// Health check and deregistration delay of a group before the step changed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSettings {
    pub target_group_arn: String,
    pub health_check: HealthCheckSettings,
    /// Set only when the step changes the delay.
    pub deregistration_delay_seconds: Option<i64>,
}

/// What the step found before it changed anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PreviousState {
    Targets {
        group: GroupSettings,
        /// Targets registered (not draining) before the step.
        registered: Vec<Registration>,
        /// Targets the step registers; undo deregisters those not in `registered`.
        registering: Vec<Registration>,
    },
    Listener {
        listener_arn: String,
        rule_arn: Option<String>,
        /// The full DefaultActions (or rule Actions) before the first change.
        actions: Vec<ListenerAction>,
        from_target_group_arn: String,
        to_group: GroupSettings,
        /// The group losing traffic, when the step changes its deregistration delay.
        from_group: Option<GroupSettings>,
    },
}

/// The previous state journalled by an earlier attempt, if any.
pub fn recorded(cx: &StepContext) -> Result<Option<PreviousState>, ActionError> {
    let Some(value) = cx.notes().get(PREVIOUS_NOTE).cloned() else {
        return Ok(None);
    };
    serde_json::from_value(value).map(Some).map_err(|error| {
        ActionError::fatal(format!(
            "journal note '{PREVIOUS_NOTE}' of step {} cannot be read ({error}); the journal is corrupt, restore the ALB by hand",
            cx.step_id()
        ))
    })
}

/// Journals the previous state; returns once it is fsynced.
pub async fn record(cx: &StepContext, state: &PreviousState) -> Result<(), ActionError> {
    let value = serde_json::to_value(state).map_err(|error| ActionError::fatal(format!("failed to encode the previous ALB state: {error}")))?;
    cx.record_note(PREVIOUS_NOTE, value).await
}

/// The listener stage an earlier attempt was applying, in percent.
pub fn recorded_stage(cx: &StepContext) -> Option<u32> {
    cx.notes().get(STAGE_NOTE).and_then(serde_json::Value::as_u64).and_then(|stage| u32::try_from(stage).ok())
}

/// Journals the stage about to be applied.
pub async fn record_stage(cx: &StepContext, stage: u32) -> Result<(), ActionError> {
    cx.record_note(STAGE_NOTE, serde_json::json!(stage)).await
}
