//! The `alb.repoint` action: parameters, predictions and dispatch to the two modes.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::Client;
use drctl_executor::{Action, ActionError, Outputs, StepContext};
use drctl_playbook::kinds::{AlbRepointParams, ListenerShift, TargetsShift};

use super::cidr::Cidr;
use super::previous::{self, PreviousState, Registration};
use super::target_group::HealthCheckSettings;
use super::{listener_shift, targets_shift};
use crate::actions::ActionEnv;

const NAME: &str = "alb.repoint";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: AlbRepointParams = crate::actions::parse(NAME, params)?;
    let action = RepointAction { params, env };

    // Mode, CIDR and IP errors surface when the step is prepared, before any call.
    action.mode()?;
    if let Mode::Targets(shift) = action.mode()? {
        registrations(shift)?;
    }
    Ok(Box::new(action))
}

pub(super) struct RepointAction {
    pub params: AlbRepointParams,
    pub env: ActionEnv,
}

pub(super) enum Mode<'a> {
    Targets(&'a TargetsShift),
    Listener(&'a ListenerShift),
}

impl RepointAction {
    pub fn mode(&self) -> Result<Mode<'_>, ActionError> {
        match (&self.params.targets, &self.params.listener) {
            (Some(targets), None) => Ok(Mode::Targets(targets)),
            (None, Some(listener)) => Ok(Mode::Listener(listener)),
            _ => Err(ActionError::fatal(format!("{NAME} needs exactly one of the parameters 'targets' and 'listener'"))),
        }
    }

    pub fn region(&self) -> &str {
        &self.params.region
    }

    pub fn client(&self) -> Client {
        self.env.aws.elbv2(&self.params.region)
    }

    /// Returns the cutover's health check settings, when `fast_health_checks` is set.
    pub fn fast_settings(&self, current: &HealthCheckSettings) -> Option<HealthCheckSettings> {
        let fast = self.params.fast_health_checks.as_ref()?;
        let interval = i32::try_from(fast.interval.as_std().as_secs()).unwrap_or(i32::MAX);
        Some(current.fast(interval, fast.healthy_threshold))
    }

    /// Returns the requested deregistration delay in seconds, when `deregistration_delay` is set.
    pub fn deregistration_delay_seconds(&self) -> Option<i64> {
        self.params.deregistration_delay.map(|delay| i64::try_from(delay.as_std().as_secs()).unwrap_or(i64::MAX))
    }

    /// Reports the predicted times as progress and in the log, and returns
    /// them as lines for a dry run.
    pub fn report_prediction(&self, cx: &StepContext, prediction: &Prediction) -> Vec<String> {
        let lines = prediction.lines(self.env.expected, self.env.time_scale);
        for line in &lines {
            tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), "{line}");
            cx.progress(line.clone(), None);
        }
        if prediction.exceeds(self.env.expected, self.env.time_scale) {
            tracing::warn!(
                run_id = cx.run_id(),
                step_id = cx.step_id(),
                predicted_healthy_seconds = prediction.healthy_seconds,
                predicted_drain_seconds = prediction.drain_seconds,
                "the predicted cutover time exceeds the step's expected duration"
            );
        }
        lines
    }
}

/// Resolves the targets to register, each with the availability zone to send.
///
/// An explicit zone wins. Without one, an IP outside `vpc_cidr` gets `all`,
/// which ELBv2 requires for targets outside the VPC, and an IP inside it gets
/// none, because ELBv2 derives the zone from the subnet.
pub(super) fn registrations(shift: &TargetsShift) -> Result<Vec<Registration>, ActionError> {
    let vpc = match &shift.vpc_cidr {
        Some(text) => Some(Cidr::parse(text).map_err(|error| {
            ActionError::fatal(format!("invalid targets.vpc_cidr: {error}; give the VPC's CIDR block, for example 10.1.0.0/20"))
        })?),
        None => None,
    };
    shift
        .register
        .iter()
        .enumerate()
        .map(|(index, target)| {
            let ip: std::net::IpAddr = target.ip.parse().map_err(|_| {
                ActionError::fatal(format!("targets.register.{index}.ip '{}' is not an IP address; give an IPv4 or IPv6 address", target.ip))
            })?;
            let availability_zone = match (&target.availability_zone, vpc) {
                (Some(zone), _) => Some(zone.clone()),
                (None, Some(vpc)) if !vpc.contains(ip) => Some("all".to_string()),
                (None, _) => None,
            };
            Ok(Registration { ip: ip.to_string(), port: target.port, availability_zone })
        })
        .collect()
}

/// Minimum times a cutover needs, predicted from the target group's settings, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Prediction {
    /// Health check interval × healthy threshold of the group taking traffic.
    pub healthy_seconds: i64,
    /// Deregistration delay of the group being drained.
    pub drain_seconds: i64,
}

impl Prediction {
    fn total_seconds(&self) -> i64 {
        self.healthy_seconds + self.drain_seconds
    }

    /// `expected` is already divided by the time scale, so multiplying by it
    /// gives seconds comparable with the group's settings.
    fn budget_seconds(expected: Option<std::time::Duration>, time_scale: f64) -> Option<f64> {
        expected.map(|expected| expected.as_secs_f64() * time_scale.max(1.0))
    }

    fn exceeds(&self, expected: Option<std::time::Duration>, time_scale: f64) -> bool {
        Self::budget_seconds(expected, time_scale).is_some_and(|budget| self.total_seconds() as f64 > budget)
    }

    fn lines(&self, expected: Option<std::time::Duration>, time_scale: f64) -> Vec<String> {
        let mut lines = vec![format!(
            "predicted at least {} s to healthy (interval × healthy threshold) and {} s to drained (deregistration delay)",
            self.healthy_seconds, self.drain_seconds
        )];
        // The step's budget is not passed to actions, so the expected duration stands in for it.
        lines.push(match Self::budget_seconds(expected, time_scale) {
            Some(budget) if self.total_seconds() as f64 > budget => format!(
                "warning: the predicted {} s exceed the step's expected duration of {budget:.0} s; shorten the health checks or the deregistration delay, or raise 'expected'",
                self.total_seconds()
            ),
            Some(budget) => format!("the predicted {} s fit the step's expected duration of {budget:.0} s", self.total_seconds()),
            None => "the step sets no expected duration, so the prediction is not compared with a budget".to_string(),
        });
        lines
    }

    pub fn insert_outputs(&self, outputs: &mut Outputs) {
        outputs.insert("predicted_healthy_seconds".into(), serde_json::json!(self.healthy_seconds as f64));
        outputs.insert("predicted_drain_seconds".into(), serde_json::json!(self.drain_seconds as f64));
    }
}

#[async_trait]
impl Action for RepointAction {
    fn describe(&self) -> String {
        match self.mode() {
            Ok(Mode::Targets(shift)) => {
                let targets: Vec<String> = shift.register.iter().map(|target| format!("{}:{}", target.ip, target.port)).collect();
                let others = if shift.deregister_others { ", then deregister the others" } else { "" };
                format!("register {} in target group {} ({}){others}", targets.join(", "), shift.target_group, self.params.region)
            }
            Ok(Mode::Listener(shift)) => {
                let stages: Vec<String> = shift.stages.iter().map(|stage| format!("{stage} %")).collect();
                let endpoint = shift.rule_arn.as_deref().map_or_else(|| format!("listener {}", shift.listener_arn), |rule| format!("rule {rule}"));
                format!("shift {endpoint} ({}) to target group {} in stages {}", self.params.region, shift.to_target_group, stages.join(" → "))
            }
            Err(error) => error.message,
        }
    }

    async fn dry_run(&self, cx: &StepContext) -> Result<Vec<String>, ActionError> {
        match self.mode()? {
            Mode::Targets(shift) => targets_shift::dry_run(self, cx, shift).await,
            Mode::Listener(shift) => listener_shift::dry_run(self, cx, shift).await,
        }
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        match self.mode()? {
            Mode::Targets(shift) => targets_shift::run(self, cx, shift).await,
            Mode::Listener(shift) => listener_shift::run(self, cx, shift).await,
        }
    }

    async fn undo(&self, cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        // Undo works from the journal alone: the outputs of a failed run are empty.
        match previous::recorded(cx)? {
            None => {
                tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), "nothing to undo: the step changed nothing");
                Ok(())
            }
            Some(state @ PreviousState::Targets { .. }) => targets_shift::undo(self, cx, &state).await,
            Some(state @ PreviousState::Listener { .. }) => listener_shift::undo(self, cx, &state).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drctl_playbook::kinds::TargetSpec;

    fn shift(targets: &[(&str, Option<&str>)], vpc_cidr: Option<&str>) -> TargetsShift {
        TargetsShift {
            target_group: "tg".into(),
            register: targets
                .iter()
                .map(|(ip, zone)| TargetSpec { ip: ip.to_string(), port: 4000, availability_zone: zone.map(str::to_string) })
                .collect(),
            deregister_others: true,
            vpc_cidr: vpc_cidr.map(str::to_string),
        }
    }

    #[test]
    fn zone_is_all_outside_the_vpc() {
        let targets = registrations(&shift(&[("10.1.2.50", None), ("192.168.7.9", None), ("192.168.7.10", Some("eu-west-2a"))], Some("10.1.0.0/20"))).unwrap();
        assert_eq!(targets[0].availability_zone, None);
        assert_eq!(targets[1].availability_zone.as_deref(), Some("all"));
        assert_eq!(targets[2].availability_zone.as_deref(), Some("eu-west-2a"));
    }

    #[test]
    fn zone_is_omitted_without_a_vpc_cidr() {
        let targets = registrations(&shift(&[("192.168.7.9", None)], None)).unwrap();
        assert_eq!(targets[0].availability_zone, None);
    }

    #[test]
    fn invalid_vpc_cidr_is_rejected() {
        let error = registrations(&shift(&[("10.1.2.50", None)], Some("10.1.0.0"))).unwrap_err();
        assert!(error.message.contains("targets.vpc_cidr"), "{}", error.message);
    }

    #[test]
    fn prediction_is_compared_with_the_expected_duration() {
        let prediction = Prediction { healthy_seconds: 150, drain_seconds: 300 };
        let none = prediction.lines(None, 1.0);
        assert!(none[1].contains("no expected duration"));
        // 3 s real at time scale 300 are 900 simulated seconds.
        let fits = prediction.lines(Some(std::time::Duration::from_secs(3)), 300.0);
        assert!(fits[1].contains("fit"), "{}", fits[1]);
        let exceeds = prediction.lines(Some(std::time::Duration::from_secs(180)), 1.0);
        assert!(exceeds[1].starts_with("warning"), "{}", exceeds[1]);
        assert!(prediction.exceeds(Some(std::time::Duration::from_secs(180)), 1.0));
    }
}
