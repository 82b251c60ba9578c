//! Target health: reading it, waiting for `healthy`, and holding a group healthy between stages.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2::Client;
use drctl_executor::{ActionError, StepContext};

use super::previous::Registration;
use crate::aws::{AwsCall, PollStatus, Poller};

/// One row of DescribeTargetHealth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub target: Registration,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining` or `unavailable`.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

impl TargetHealth {
    /// `10.1.2.50:4000 initial (Elb.RegistrationInProgress)`.
    pub fn label(&self) -> String {
        let address = format!("{}:{} {}", self.target.ip, self.target.port, self.state);
        match &self.reason {
            Some(reason) => format!("{address} ({reason})"),
            None => address,
        }
    }

    /// Registered and not on its way out: everything but `draining` and `unused`.
    pub fn is_registered(&self) -> bool {
        !matches!(self.state.as_str(), "draining" | "unused")
    }
}

/// Reads the health of every target of a group, draining ones included.
pub async fn describe(client: &Client, region: &str, target_group_arn: &str) -> Result<Vec<TargetHealth>, ActionError> {
    let call = AwsCall::new("DescribeTargetHealth", target_group_arn, region);
    let output = client.describe_target_health().target_group_arn(target_group_arn).send().await.map_err(|error| call.error(&error))?;
    Ok(output
        .target_health_descriptions()
        .iter()
        .map(|description| {
            let target = description.target();
            let health = description.target_health();
            TargetHealth {
                target: Registration {
                    ip: target.and_then(|target| target.id()).unwrap_or_default().to_string(),
                    port: target.and_then(|target| target.port()).unwrap_or_default(),
                    availability_zone: target.and_then(|target| target.availability_zone()).map(str::to_string),
                },
                state: health.and_then(|health| health.state()).map(|state| state.as_str().to_string()).unwrap_or_else(|| "unknown".into()),
                reason: health.and_then(|health| health.reason()).map(|reason| reason.as_str().to_string()),
                description: health.and_then(|health| health.description()).map(str::to_string),
            }
        })
        .collect())
}

/// Warns, once per wait, while a group has registered targets but none healthy:
/// an ALB then fails open and routes requests to every target, healthy or not.
struct FailOpenWarning {
    warned: AtomicBool,
}

impl FailOpenWarning {
    fn new() -> Self {
        FailOpenWarning { warned: AtomicBool::new(false) }
    }

    fn check(&self, cx: &StepContext, group: &str, rows: &[TargetHealth]) {
        let registered = rows.iter().filter(|row| row.is_registered()).count();
        let healthy = rows.iter().filter(|row| row.state == "healthy").count();
        if registered == 0 || healthy > 0 {
            self.warned.store(false, Ordering::Relaxed);
            return;
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                run_id = cx.run_id(),
                step_id = cx.step_id(),
                target_group = group,
                registered,
                "no healthy targets in the group: the ALB fails open and routes requests to all {registered} registered targets"
            );
            cx.progress(
                format!("warning: {group} has no healthy targets, so the ALB fails open and routes to all {registered} registered targets"),
                None,
            );
        }
    }
}

/// The error for an unhealthy target, with ELBv2's reason code and description.
fn unhealthy_error(row: &TargetHealth, group: &str, region: &str) -> ActionError {
    ActionError::fatal(format!(
        "target {}:{} in target group {group} ({region}) is unhealthy: {} ({}); check the service on that address and its security group, then run the step again",
        row.target.ip,
        row.target.port,
        row.reason.as_deref().unwrap_or("no reason code"),
        row.description.as_deref().unwrap_or("no description"),
    ))
}

/// Waits until every target in `wanted` (every registered target when `None`) is
/// `healthy`. An `unhealthy` wanted target fails the wait at once. Returns the
/// last health rows of the whole group. Set `serving_traffic` when the listener
/// already forwards to the group, so that the fail-open warning applies.
pub async fn wait_healthy(
    cx: &StepContext,
    poller: Poller,
    client: &Client,
    region: &str,
    target_group_arn: &str,
    wanted: Option<&[Registration]>,
    serving_traffic: bool,
) -> Result<Vec<TargetHealth>, ActionError> {
    let warning = &FailOpenWarning::new();
    let what = format!("targets of {target_group_arn} to be healthy");
    poller
        .wait(cx, &what, move || async move {
            let rows = describe(client, region, target_group_arn).await?;
            if serving_traffic {
                warning.check(cx, target_group_arn, &rows);
            }
            let watched: Vec<&TargetHealth> = match wanted {
                Some(wanted) => rows.iter().filter(|row| row.is_registered() && wanted.iter().any(|target| target.same_target(&row.target))).collect(),
                None => rows.iter().filter(|row| row.is_registered()).collect(),
            };
            if let Some(row) = watched.iter().find(|row| row.state == "unhealthy") {
                return Err(unhealthy_error(row, target_group_arn, region));
            }
            let expected = wanted.map_or(watched.len(), <[Registration]>::len);
            if expected == 0 {
                return Err(ActionError::fatal(format!(
                    "target group {target_group_arn} in {region} has no registered targets; register the recovered targets first, \
                     because a forward to an empty group returns HTTP 503"
                )));
            }
            let healthy = watched.iter().filter(|row| row.state == "healthy").count();
            if healthy == expected {
                return Ok(PollStatus::Ready(rows.clone()));
            }
            let status = if watched.is_empty() { "targets not listed yet".to_string() } else { watched.iter().map(|row| row.label()).collect::<Vec<_>>().join(", ") };
            Ok(PollStatus::Pending { status, percent: Some(100.0 * healthy as f64 / expected as f64) })
        })
        .await
}

/// Checks every registered target of the group for `hold` (real time) and fails
/// if one turns `unhealthy`. A target in another state is shown but tolerated.
pub async fn hold_healthy(
    cx: &StepContext,
    poller: Poller,
    client: &Client,
    region: &str,
    target_group_arn: &str,
    hold: Duration,
    stage: u32,
) -> Result<(), ActionError> {
    let warning = &FailOpenWarning::new();
    let started = Instant::now();
    let what = format!("a {} s health hold of {target_group_arn} at {stage} %", hold.as_secs_f64());
    poller
        .wait(cx, &what, move || async move {
            let rows = describe(client, region, target_group_arn).await?;
            warning.check(cx, target_group_arn, &rows);
            if let Some(row) = rows.iter().find(|row| row.is_registered() && row.state == "unhealthy") {
                return Err(unhealthy_error(row, target_group_arn, region));
            }
            let elapsed = started.elapsed();
            if elapsed >= hold {
                return Ok(PollStatus::Ready(()));
            }
            let labels: Vec<String> = rows.iter().filter(|row| row.is_registered()).map(TargetHealth::label).collect();
            Ok(PollStatus::Pending {
                status: format!("holding at {stage} %: {}", labels.join(", ")),
                percent: Some(100.0 * elapsed.as_secs_f64() / hold.as_secs_f64().max(f64::EPSILON)),
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ip: &str, state: &str) -> TargetHealth {
        TargetHealth {
            target: Registration { ip: ip.into(), port: 4000, availability_zone: None },
            state: state.into(),
            reason: None,
            description: None,
        }
    }

    #[test]
    fn fail_open_warning_needs_zero_healthy() {
        let (cx, _cancel) = StepContext::for_tests("cutover", "drill");
        let warning = FailOpenWarning::new();

        warning.check(&cx, "tg", &[row("10.1.2.50", "initial"), row("10.1.3.128", "draining")]);
        assert!(warning.warned.load(Ordering::Relaxed));

        warning.check(&cx, "tg", &[row("10.1.2.50", "healthy")]);
        assert!(!warning.warned.load(Ordering::Relaxed));

        // An empty group does not fail open: the ALB returns HTTP 503.
        warning.check(&cx, "tg", &[row("10.1.3.128", "draining")]);
        assert!(!warning.warned.load(Ordering::Relaxed));
    }

    #[test]
    fn label_shows_state_and_reason() {
        let mut initial = row("10.1.2.50", "initial");
        initial.reason = Some("Elb.RegistrationInProgress".into());
        assert_eq!(initial.label(), "10.1.2.50:4000 initial (Elb.RegistrationInProgress)");
        assert_eq!(row("10.1.2.50", "healthy").label(), "10.1.2.50:4000 healthy");
    }
}
