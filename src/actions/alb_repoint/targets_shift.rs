//! Targets mode: register new targets, wait until they are healthy, deregister the others.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use drctl_executor::{ActionError, Outputs, StepContext};
use drctl_playbook::kinds::TargetsShift;

use super::action::{Prediction, RepointAction, registrations};
use super::health::{self, TargetHealth};
use super::previous::{self, GroupSettings, PreviousState, Registration};
use super::target_group::{self, HealthCheckSettings, TARGET_GROUP_RESOURCE};
use crate::aws::AwsCall;

pub async fn dry_run(action: &RepointAction, cx: &StepContext, shift: &TargetsShift) -> Result<Vec<String>, ActionError> {
    let client = action.client();
    let region = action.region();
    let group = target_group::describe(&client, region, &shift.target_group).await?;
    let register = registrations(shift)?;
    let mut lines = action.report_prediction(cx, &prediction(action, &group));
    action.env.check_may_modify(TARGET_GROUP_RESOURCE, &group.arn, region, &group.tags)?;

    let rows = health::describe(&client, region, &group.arn).await?;
    if rows.is_empty() {
        lines.push(format!("target group {} has no targets", group.name));
    }
    lines.extend(rows.iter().map(|row| format!("current target {}", row.label())));
    for target in &register {
        let zone = target.availability_zone.as_deref().map(|zone| format!(" in zone {zone}")).unwrap_or_default();
        lines.push(format!("would register {}:{}{zone} and wait until it is healthy", target.ip, target.port));
    }
    if shift.deregister_others {
        for row in rows.iter().filter(|row| row.is_registered() && !register.iter().any(|target| target.same_target(&row.target))) {
            lines.push(format!("would then deregister {}:{}", row.target.ip, row.target.port));
        }
    }
    if let Some(fast) = action.fast_settings(&group.health_check) {
        lines.push(format!(
            "would set health checks to every {} s with {} passes for the cutover, then restore every {} s with {} passes",
            fast.interval_seconds, fast.healthy_threshold, group.health_check.interval_seconds, group.health_check.healthy_threshold
        ));
    }
    if let Some(delay) = action.deregistration_delay_seconds() {
        lines.push(format!("would set the deregistration delay from {} s to {delay} s", group.deregistration_delay_seconds));
    }
    Ok(lines)
}

fn prediction(action: &RepointAction, group: &target_group::TargetGroupInfo) -> Prediction {
    let health_check = action.fast_settings(&group.health_check).unwrap_or(group.health_check);
    Prediction {
        healthy_seconds: health_check.seconds_to_healthy(),
        drain_seconds: action.deregistration_delay_seconds().unwrap_or(group.deregistration_delay_seconds),
    }
}

pub async fn run(action: &RepointAction, cx: &StepContext, shift: &TargetsShift) -> Result<Outputs, ActionError> {
    let client = action.client();
    let region = action.region();
    let group = target_group::describe(&client, region, &shift.target_group).await?;
    let register = registrations(shift)?;
    let prediction = prediction(action, &group);
    action.report_prediction(cx, &prediction);

    // Safety before any mutating call, on every attempt.
    action.env.check_may_modify(TARGET_GROUP_RESOURCE, &group.arn, region, &group.tags)?;

    // The previous state comes from the journal when an earlier attempt
    // recorded it: by now the group may already hold the new targets.
    let recorded = match previous::recorded(cx)? {
        Some(PreviousState::Targets { group: recorded, .. }) => recorded,
        Some(PreviousState::Listener { .. }) => {
            return Err(ActionError::fatal(format!(
                "the journal of step {} holds a listener cutover, but the step now registers targets; undo the run and start a new one",
                cx.step_id()
            )));
        }
        None => {
            let rows = health::describe(&client, region, &group.arn).await?;
            let recorded = GroupSettings {
                target_group_arn: group.arn.clone(),
                health_check: group.health_check,
                deregistration_delay_seconds: action.deregistration_delay_seconds().map(|_| group.deregistration_delay_seconds),
            };
            let state = PreviousState::Targets {
                group: recorded.clone(),
                registered: rows.iter().filter(|row| row.is_registered()).map(|row| row.target.clone()).collect(),
                registering: register.clone(),
            };
            previous::record(cx, &state).await?;
            recorded
        }
    };

    if let Some(delay) = action.deregistration_delay_seconds()
        && delay != group.deregistration_delay_seconds
    {
        target_group::set_deregistration_delay(&client, region, &group.arn, delay).await?;
    }
    let fast = action.fast_settings(&recorded.health_check);
    if let Some(fast) = fast
        && fast != group.health_check
    {
        target_group::set_health_check(&client, region, &group.arn, &fast).await?;
    }

    let result = cut_over(action, cx, &client, &group.arn, shift, &register).await;

    // The old health checks come back whether the cutover worked or not.
    let restored = match fast {
        Some(_) => restore_health_check(&client, region, &group.arn, &recorded.health_check).await,
        None => Ok(()),
    };
    let healthy = result?;
    restored?;

    let mut outputs = Outputs::new();
    outputs.insert("target_group_arn".into(), group.arn.clone().into());
    outputs.insert("healthy_targets".into(), serde_json::json!(healthy));
    prediction.insert_outputs(&mut outputs);
    Ok(outputs)
}

/// Registers, waits for health and deregisters the others. Returns the number
/// of registered targets that were healthy at the end of the wait.
async fn cut_over(
    action: &RepointAction,
    cx: &StepContext,
    client: &Client,
    arn: &str,
    shift: &TargetsShift,
    register: &[Registration],
) -> Result<usize, ActionError> {
    let region = action.region();
    let rows = health::describe(client, region, arn).await?;
    let missing: Vec<Registration> = register.iter().filter(|target| !is_registered(&rows, target)).cloned().collect();
    if !missing.is_empty() {
        register_targets(client, region, arn, &missing).await?;
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), target_group = arn, targets = %addresses(&missing), "registered targets");
    }

    let rows = health::wait_healthy(cx, action.env.poller(None), client, region, arn, Some(register), true).await?;
    let healthy = rows.iter().filter(|row| row.state == "healthy" && register.iter().any(|target| target.same_target(&row.target))).count();
    cx.progress(format!("{healthy} new targets healthy in {arn}"), Some(100.0));

    if shift.deregister_others {
        let others: Vec<Registration> = rows
            .iter()
            .filter(|row| row.is_registered() && !register.iter().any(|target| target.same_target(&row.target)))
            .map(|row| row.target.clone())
            .collect();
        if !others.is_empty() {
            deregister_targets(client, region, arn, &others).await?;
            tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), target_group = arn, targets = %addresses(&others), "deregistered the old targets; they drain for the deregistration delay");
        }
    }
    Ok(healthy)
}

pub async fn undo(action: &RepointAction, cx: &StepContext, state: &PreviousState) -> Result<(), ActionError> {
    let PreviousState::Targets { group: recorded, registered, registering } = state else {
        return Ok(());
    };
    let client = action.client();
    let region = action.region();
    let arn = recorded.target_group_arn.as_str();
    let group = target_group::describe(&client, region, arn).await?;
    action.env.check_may_modify(TARGET_GROUP_RESOURCE, arn, region, &group.tags)?;

    // Compare with the current registrations, so a re-entered undo sends only what is left.
    let rows = health::describe(&client, region, arn).await?;
    // Only the zone `all` is sent back: for an IP inside the VPC, ELBv2 derives the zone itself.
    let back: Vec<Registration> = registered
        .iter()
        .filter(|target| !is_registered(&rows, target))
        .map(|target| Registration { availability_zone: target.availability_zone.clone().filter(|zone| zone == "all"), ..target.clone() })
        .collect();
    if !back.is_empty() {
        register_targets(&client, region, arn, &back).await?;
    }
    let new: Vec<Registration> = registering
        .iter()
        .filter(|target| !registered.iter().any(|old| old.same_target(target)) && is_registered(&rows, target))
        .cloned()
        .collect();
    if !new.is_empty() {
        deregister_targets(&client, region, arn, &new).await?;
    }

    restore_health_check(&client, region, arn, &recorded.health_check).await?;
    if let Some(delay) = recorded.deregistration_delay_seconds
        && delay != group.deregistration_delay_seconds
    {
        target_group::set_deregistration_delay(&client, region, arn, delay).await?;
    }
    tracing::info!(
        run_id = cx.run_id(),
        step_id = cx.step_id(),
        target_group = arn,
        registered_again = %addresses(&back),
        deregistered = %addresses(&new),
        "restored the target registrations from before the step"
    );
    Ok(())
}

/// Sends the recorded health check settings back unless they are already in place.
pub async fn restore_health_check(client: &Client, region: &str, arn: &str, recorded: &HealthCheckSettings) -> Result<(), ActionError> {
    let current = target_group::current_health_check(client, region, arn).await?;
    if current != *recorded {
        target_group::set_health_check(client, region, arn, recorded).await?;
    }
    Ok(())
}

fn is_registered(rows: &[TargetHealth], target: &Registration) -> bool {
    rows.iter().any(|row| row.is_registered() && row.target.same_target(target))
}

fn addresses(targets: &[Registration]) -> String {
    targets.iter().map(|target| format!("{}:{}", target.ip, target.port)).collect::<Vec<_>>().join(", ")
}

fn description(target: &Registration, availability_zone: Option<String>) -> TargetDescription {
    TargetDescription::builder().id(&target.ip).port(target.port).set_availability_zone(availability_zone).build()
}

async fn register_targets(client: &Client, region: &str, arn: &str, targets: &[Registration]) -> Result<(), ActionError> {
    let resource = format!("{arn} ({})", addresses(targets));
    let call = AwsCall::new("RegisterTargets", &resource, region);
    client
        .register_targets()
        .target_group_arn(arn)
        .set_targets(Some(targets.iter().map(|target| description(target, target.availability_zone.clone())).collect()))
        .send()
        .await
        .map_err(|error| call.error(&error))?;
    Ok(())
}

async fn deregister_targets(client: &Client, region: &str, arn: &str, targets: &[Registration]) -> Result<(), ActionError> {
    let resource = format!("{arn} ({})", addresses(targets));
    let call = AwsCall::new("DeregisterTargets", &resource, region);
    client
        .deregister_targets()
        .target_group_arn(arn)
        .set_targets(Some(targets.iter().map(|target| description(target, None)).collect()))
        .send()
        .await
        .map_err(|error| call.error(&error))?;
    Ok(())
}
