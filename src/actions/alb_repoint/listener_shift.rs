//! Listener mode: shift a listener's default action (or one rule) to another target group in weighted stages.

use aws_sdk_elasticloadbalancingv2::Client;
use drctl_executor::{ActionError, Outputs, StepContext};
use drctl_playbook::kinds::ListenerShift;

use super::action::{Prediction, RepointAction};
use super::health;
use super::listener_actions::{ListenerAction, StickinessJson, single_forward, staged_actions};
use super::previous::{self, GroupSettings, PreviousState};
use super::target_group::{self, TARGET_GROUP_RESOURCE, TargetGroupInfo};
use super::targets_shift::restore_health_check;
use crate::aws::AwsCall;

/// Resource type passed to the ownership checks, for listeners and their rules.
const LISTENER_RESOURCE: &str = "elbv2:listener";

/// The listener, or the rule of it, whose actions the step rewrites.
struct Endpoint<'a> {
    listener_arn: &'a str,
    rule_arn: Option<&'a str>,
}

impl Endpoint<'_> {
    fn arn(&self) -> &str {
        self.rule_arn.unwrap_or(self.listener_arn)
    }

    fn label(&self) -> String {
        match self.rule_arn {
            Some(rule) => format!("rule {rule}"),
            None => format!("listener {}", self.listener_arn),
        }
    }

    /// Reads the DefaultActions of the listener, or the Actions of the rule.
    async fn read(&self, client: &Client, region: &str) -> Result<Vec<ListenerAction>, ActionError> {
        let actions = match self.rule_arn {
            Some(rule) => {
                let call = AwsCall::new("DescribeRules", rule, region);
                let output = client.describe_rules().rule_arns(rule).send().await.map_err(|error| call.error(&error))?;
                let rule = output.rules().first().ok_or_else(|| call.fatal("rule not found; check listener.rule_arn"))?;
                rule.actions().to_vec()
            }
            None => {
                let call = AwsCall::new("DescribeListeners", self.listener_arn, region);
                let output = client.describe_listeners().listener_arns(self.listener_arn).send().await.map_err(|error| call.error(&error))?;
                let listener = output.listeners().first().ok_or_else(|| call.fatal("listener not found; check listener.listener_arn"))?;
                listener.default_actions().to_vec()
            }
        };
        actions
            .iter()
            .map(ListenerAction::from_sdk)
            .collect::<Result<_, _>>()
            .map_err(|problem| ActionError::fatal(format!("cannot repoint {} in {region}: {problem}", self.label())))
    }

    /// Replaces the listener's DefaultActions (ModifyListener) or the rule's Actions (ModifyRule).
    async fn write(&self, client: &Client, region: &str, actions: &[ListenerAction]) -> Result<(), ActionError> {
        let sdk_actions = Some(actions.iter().map(ListenerAction::to_sdk).collect());
        match self.rule_arn {
            Some(rule) => {
                let call = AwsCall::new("ModifyRule", rule, region);
                client.modify_rule().rule_arn(rule).set_actions(sdk_actions).send().await.map_err(|error| call.error(&error))?;
            }
            None => {
                let call = AwsCall::new("ModifyListener", self.listener_arn, region);
                client
                    .modify_listener()
                    .listener_arn(self.listener_arn)
                    .set_default_actions(sdk_actions)
                    .send()
                    .await
                    .map_err(|error| call.error(&error))?;
            }
        }
        Ok(())
    }

    async fn check_may_modify(&self, action: &RepointAction, client: &Client) -> Result<(), ActionError> {
        let region = action.region();
        let tags = target_group::tags(client, region, self.arn()).await?;
        action.env.check_may_modify(LISTENER_RESOURCE, self.arn(), region, &tags)
    }
}

fn endpoint(shift: &ListenerShift) -> Endpoint<'_> {
    Endpoint { listener_arn: &shift.listener_arn, rule_arn: shift.rule_arn.as_deref() }
}

// NOTE: shifting weights deregisters nothing, so the old group's deregistration
// delay reported here applies only once its targets are deregistered later.
fn prediction(action: &RepointAction, to: &TargetGroupInfo, from: Option<&TargetGroupInfo>) -> Prediction {
    let health_check = action.fast_settings(&to.health_check).unwrap_or(to.health_check);
    Prediction {
        healthy_seconds: health_check.seconds_to_healthy(),
        drain_seconds: action.deregistration_delay_seconds().or(from.map(|from| from.deregistration_delay_seconds)).unwrap_or(0),
    }
}

/// Chooses the stickiness to send: the playbook's, else the one the forward action had.
fn stickiness(shift: &ListenerShift, previous: &ListenerAction) -> Option<StickinessJson> {
    match &shift.stickiness {
        Some(stickiness) => Some(StickinessJson {
            enabled: Some(stickiness.enabled),
            // The params check bounds the duration to 1–604800 s, which fits an i32.
            duration_seconds: Some(i32::try_from(stickiness.duration_seconds).unwrap_or(i32::MAX)),
        }),
        None => previous.forward_config.as_ref().and_then(|forward| forward.target_group_stickiness_config.clone()),
    }
}

pub async fn dry_run(action: &RepointAction, cx: &StepContext, shift: &ListenerShift) -> Result<Vec<String>, ActionError> {
    let client = action.client();
    let region = action.region();
    let endpoint = endpoint(shift);
    let to = target_group::describe(&client, region, &shift.to_target_group).await?;
    let actions = endpoint.read(&client, region).await?;
    let mut lines = vec![format!(
        "current actions of {}: {}",
        endpoint.label(),
        serde_json::to_string(&actions).unwrap_or_default()
    )];
    let (index, from_arn) = single_forward(&actions).map_err(|problem| ActionError::fatal(format!("cannot repoint {}: {problem}", endpoint.label())))?;
    let from = target_group::describe(&client, region, &from_arn).await?;
    lines.extend(action.report_prediction(cx, &prediction(action, &to, Some(&from))));
    endpoint.check_may_modify(action, &client).await?;

    let rows = health::describe(&client, region, &to.arn).await?;
    if rows.is_empty() {
        lines.push(format!("target group {} has no targets: the step would fail before shifting traffic", to.name));
    }
    lines.extend(rows.iter().map(|row| format!("target of {}: {}", to.name, row.label())));
    if from.arn == to.arn {
        lines.push(format!("{} already forwards to {}; nothing would change", endpoint.label(), to.name));
        return Ok(lines);
    }
    let sticky = stickiness(shift, &actions[index]);
    for stage in &shift.stages {
        let staged = staged_actions(&actions, index, &from.arn, &to.arn, *stage, sticky.clone());
        lines.push(format!(
            "would send {stage} % to {} and {} % to {}, then hold {} while every target of {} stays healthy",
            to.name,
            100 - stage.min(&100),
            from.name,
            shift.hold,
            to.name
        ));
        tracing::debug!(run_id = cx.run_id(), step_id = cx.step_id(), actions = %serde_json::to_string(&staged).unwrap_or_default(), "staged actions");
    }
    Ok(lines)
}

pub async fn run(action: &RepointAction, cx: &StepContext, shift: &ListenerShift) -> Result<Outputs, ActionError> {
    let client = action.client();
    let region = action.region();
    let endpoint = endpoint(shift);
    let to = target_group::describe(&client, region, &shift.to_target_group).await?;

    // Safety before any mutating call, on every attempt.
    endpoint.check_may_modify(action, &client).await?;

    // Re-entry continues from the journalled actions; the listener may
    // already forward part of the traffic to the new group.
    let (previous_actions, from_arn, to_group, from_group) = match previous::recorded(cx)? {
        Some(PreviousState::Listener { actions, from_target_group_arn, to_group, from_group, .. }) => {
            (actions, from_target_group_arn, to_group, from_group)
        }
        Some(PreviousState::Targets { .. }) => {
            return Err(ActionError::fatal(format!(
                "the journal of step {} holds a target registration, but the step now shifts a listener; undo the run and start a new one",
                cx.step_id()
            )));
        }
        None => {
            let actions = endpoint.read(&client, region).await?;
            let (_, from_arn) = single_forward(&actions)
                .map_err(|problem| ActionError::fatal(format!("cannot repoint {} in {region}: {problem}", endpoint.label())))?;
            if from_arn == to.arn {
                tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), target_group = %to.arn, "{} already forwards to the target group", endpoint.label());
                return finish(action, cx, &client, &to, None).await;
            }
            let to_group = GroupSettings { target_group_arn: to.arn.clone(), health_check: to.health_check, deregistration_delay_seconds: None };
            let from_group = match action.deregistration_delay_seconds() {
                Some(_) => {
                    let from = target_group::describe(&client, region, &from_arn).await?;
                    Some(GroupSettings {
                        target_group_arn: from.arn.clone(),
                        health_check: from.health_check,
                        deregistration_delay_seconds: Some(from.deregistration_delay_seconds),
                    })
                }
                None => None,
            };
            let state = PreviousState::Listener {
                listener_arn: shift.listener_arn.clone(),
                rule_arn: shift.rule_arn.clone(),
                actions: actions.clone(),
                from_target_group_arn: from_arn.clone(),
                to_group: to_group.clone(),
                from_group: from_group.clone(),
            };
            previous::record(cx, &state).await?;
            (actions, from_arn, to_group, from_group)
        }
    };
    let from = target_group::describe(&client, region, &from_arn).await?;
    let prediction = prediction(action, &to, Some(&from));
    action.report_prediction(cx, &prediction);

    // The groups are changed only when the playbook requests it, and checked first.
    let fast = action.fast_settings(&to_group.health_check);
    if let Some(fast) = fast {
        action.env.check_may_modify(TARGET_GROUP_RESOURCE, &to.arn, region, &to.tags)?;
        if fast != to.health_check {
            target_group::set_health_check(&client, region, &to.arn, &fast).await?;
        }
    }
    if let (Some(delay), Some(_)) = (action.deregistration_delay_seconds(), &from_group) {
        action.env.check_may_modify(TARGET_GROUP_RESOURCE, &from.arn, region, &from.tags)?;
        if delay != from.deregistration_delay_seconds {
            target_group::set_deregistration_delay(&client, region, &from.arn, delay).await?;
        }
    }

    let result = shift_stages(action, cx, &client, &endpoint, shift, &previous_actions, &from_arn, &to.arn).await;
    let restored = match fast {
        Some(_) => restore_health_check(&client, region, &to.arn, &to_group.health_check).await,
        None => Ok(()),
    };
    result?;
    restored?;
    finish(action, cx, &client, &to, Some(prediction)).await
}

/// Applies each stage in order, holding the new group healthy between stages.
#[allow(clippy::too_many_arguments)]
async fn shift_stages(
    action: &RepointAction,
    cx: &StepContext,
    client: &Client,
    endpoint: &Endpoint<'_>,
    shift: &ListenerShift,
    previous_actions: &[ListenerAction],
    from_arn: &str,
    to_arn: &str,
) -> Result<(), ActionError> {
    let region = action.region();
    let (index, _) = single_forward(previous_actions)
        .map_err(|problem| ActionError::fatal(format!("the journalled actions of {} are unusable: {problem}", endpoint.label())))?;
    let sticky = stickiness(shift, &previous_actions[index]);

    // Never send traffic to a group that is not healthy yet. On re-entry the
    // listener may already forward part of the traffic to it.
    let serving = previous::recorded_stage(cx).is_some();
    health::wait_healthy(cx, action.env.poller(None), client, region, to_arn, None, serving).await?;

    // Resume at the stage an earlier attempt was applying; sending it again is harmless.
    let start = previous::recorded_stage(cx).and_then(|stage| shift.stages.iter().position(|candidate| *candidate == stage)).unwrap_or(0);
    let hold = shift.hold.as_std().div_f64(action.env.time_scale.max(1.0));
    for (position, stage) in shift.stages.iter().enumerate().skip(start) {
        previous::record_stage(cx, *stage).await?;
        let actions = staged_actions(previous_actions, index, from_arn, to_arn, *stage, sticky.clone());
        endpoint.write(client, region, &actions).await?;
        let percent = 100.0 * (position + 1) as f64 / shift.stages.len() as f64;
        cx.progress(format!("{} sends {stage} % to {to_arn}", endpoint.label()), Some(percent));
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), stage, target_group = to_arn, "{} shifted", endpoint.label());

        if position + 1 < shift.stages.len() {
            health::hold_healthy(cx, action.env.poller(None).steady(), client, region, to_arn, hold, *stage).await?;
        }
    }
    Ok(())
}

/// Builds the outputs: the new group, its healthy targets now, and the prediction.
async fn finish(
    action: &RepointAction,
    cx: &StepContext,
    client: &Client,
    to: &TargetGroupInfo,
    prediction: Option<Prediction>,
) -> Result<Outputs, ActionError> {
    let rows = health::describe(client, action.region(), &to.arn).await?;
    let healthy = rows.iter().filter(|row| row.state == "healthy").count();
    let prediction = prediction.unwrap_or_else(|| {
        let prediction = self::prediction(action, to, None);
        action.report_prediction(cx, &prediction);
        prediction
    });
    let mut outputs = Outputs::new();
    outputs.insert("target_group_arn".into(), to.arn.clone().into());
    outputs.insert("healthy_targets".into(), serde_json::json!(healthy));
    prediction.insert_outputs(&mut outputs);
    Ok(outputs)
}

pub async fn undo(action: &RepointAction, cx: &StepContext, state: &PreviousState) -> Result<(), ActionError> {
    let PreviousState::Listener { listener_arn, rule_arn, actions, to_group, from_group, .. } = state else {
        return Ok(());
    };
    let client = action.client();
    let region = action.region();
    let endpoint = Endpoint { listener_arn, rule_arn: rule_arn.as_deref() };
    endpoint.check_may_modify(action, &client).await?;

    // Send the recorded actions back only when they differ, so a re-entered undo changes nothing.
    let current = endpoint.read(&client, region).await?;
    if current != *actions {
        endpoint.write(&client, region, actions).await?;
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), "restored the actions of {} from before the step", endpoint.label());
    }

    let to = target_group::describe(&client, region, &to_group.target_group_arn).await?;
    if to.health_check != to_group.health_check {
        action.env.check_may_modify(TARGET_GROUP_RESOURCE, &to.arn, region, &to.tags)?;
        target_group::set_health_check(&client, region, &to.arn, &to_group.health_check).await?;
    }
    if let Some(from_group) = from_group {
        let from = target_group::describe(&client, region, &from_group.target_group_arn).await?;
        if let Some(delay) = from_group.deregistration_delay_seconds
            && delay != from.deregistration_delay_seconds
        {
            action.env.check_may_modify(TARGET_GROUP_RESOURCE, &from.arn, region, &from.tags)?;
            target_group::set_deregistration_delay(&client, region, &from.arn, delay).await?;
        }
    }
    Ok(())
}
