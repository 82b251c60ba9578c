//! `alb.repoint`: move ALB traffic to recovered targets, with health waits and a recorded way back.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Effect, EffectAction, KindInfo, OutputDecl, ParamError, ValueType};
use crate::duration::Duration;

pub const NAME: &str = "alb.repoint";

/// Parameters of an ALB repoint. Exactly one of `targets` and `listener` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbRepointParams {
    pub region: String,
    pub targets: Option<TargetsShift>,
    pub listener: Option<ListenerShift>,
    /// Temporary health check interval and healthy threshold for the cutover;
    /// the old settings are restored afterwards.
    pub fast_health_checks: Option<FastHealthChecks>,
    /// Deregistration delay to set on the target group being drained. `0s` needs
    /// `allow_zero_deregistration_delay`, because it drops in-flight requests.
    pub deregistration_delay: Option<Duration>,
    #[serde(default)]
    pub allow_zero_deregistration_delay: bool,
}

/// Register new targets, wait for them to be healthy, then deregister the old ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsShift {
    /// Target group name or ARN.
    pub target_group: String,
    pub register: Vec<TargetSpec>,
    /// Deregister every target that is not in `register`, once the new ones are healthy.
    #[serde(default = "default_true")]
    pub deregister_others: bool,
    /// CIDR of the target group's VPC: an IP outside it is registered with availability zone `all`.
    pub vpc_cidr: Option<String>,
}

/// One IP target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub ip: String,
    pub port: i32,
    /// Availability zone, or `all` for an IP outside the VPC. Omit it for an IP
    /// inside the VPC: the load balancer derives the zone from the subnet.
    pub availability_zone: Option<String>,
}

/// Switch a listener's default action (or one rule) to another target group, in weighted stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenerShift {
    pub listener_arn: String,
    /// Change this rule instead of the default action.
    pub rule_arn: Option<String>,
    /// Target group name or ARN that takes the traffic.
    pub to_target_group: String,
    /// Percentages of traffic sent to the new group, in order; the last must be 100.
    #[serde(default = "default_stages")]
    pub stages: Vec<u32>,
    /// Health hold between stages: every target of the new group stays healthy this long.
    #[serde(default = "default_hold")]
    pub hold: Duration,
    pub stickiness: Option<Stickiness>,
}

/// Target group stickiness on the forward action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stickiness {
    pub enabled: bool,
    /// Seconds, 1–604800 (7 days).
    pub duration_seconds: i64,
}

/// Health check settings used during the cutover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FastHealthChecks {
    /// 5–300 s.
    pub interval: Duration,
    /// 2–10 checks.
    pub healthy_threshold: i32,
}

fn default_true() -> bool {
    true
}

fn default_stages() -> Vec<u32> {
    vec![100]
}

fn default_hold() -> Duration {
    Duration::from_secs(60)
}

/// Largest weight ELBv2 accepts on a forward action's target group.
pub const MAX_WEIGHT: u32 = 999;
/// Largest stickiness duration ELBv2 accepts, in seconds (7 days).
pub const MAX_STICKINESS_SECONDS: i64 = 604_800;

pub const OUTPUTS: &[OutputDecl] = &[
    OutputDecl { name: "target_group_arn", ty: ValueType::String, description: "target group that now takes the traffic" },
    OutputDecl { name: "healthy_targets", ty: ValueType::Int, description: "healthy targets in that group at the end" },
    OutputDecl { name: "predicted_healthy_seconds", ty: ValueType::Number, description: "minimum time to healthy predicted from the health check settings" },
    OutputDecl { name: "predicted_drain_seconds", ty: ValueType::Number, description: "time to drain predicted from the deregistration delay" },
];

fn check(value: &serde_json::Value) -> Result<Vec<Effect>, ParamError> {
    let params: AlbRepointParams = super::parse_params(value)?;
    if let Some(delay) = params.deregistration_delay {
        if delay.as_std().is_zero() && !params.allow_zero_deregistration_delay {
            return Err(ParamError::at(
                "deregistration_delay",
                "a deregistration delay of 0s drops in-flight requests; set allow_zero_deregistration_delay: true if you mean it",
            ));
        }
        if delay.as_std().as_secs() > 3600 {
            return Err(ParamError::at("deregistration_delay", format!("deregistration delay {delay} is above ELBv2's 3600 s maximum")));
        }
    }
    if let Some(fast) = &params.fast_health_checks {
        let interval = fast.interval.as_std().as_secs();
        if !(5..=300).contains(&interval) {
            return Err(ParamError::at("fast_health_checks.interval", format!("interval {} is outside ELBv2's 5–300 s", fast.interval)));
        }
        if !(2..=10).contains(&fast.healthy_threshold) {
            return Err(ParamError::at(
                "fast_health_checks.healthy_threshold",
                format!("healthy threshold {} is outside ELBv2's 2–10", fast.healthy_threshold),
            ));
        }
    }
    match (&params.targets, &params.listener) {
        (Some(targets), None) => {
            if targets.register.is_empty() {
                return Err(ParamError::at("targets.register", "no targets to register; list at least one ip and port"));
            }
            for (index, target) in targets.register.iter().enumerate() {
                if !(1..=65535).contains(&target.port) {
                    return Err(ParamError::at(&format!("targets.register.{index}.port"), format!("port {} is outside 1–65535", target.port)));
                }
                if !target.ip.contains("${{") && target.ip.parse::<std::net::IpAddr>().is_err() {
                    return Err(ParamError::at(&format!("targets.register.{index}.ip"), format!("'{}' is not an IP address", target.ip)));
                }
            }
            Ok(vec![Effect::new(EffectAction::Repoint, "elbv2:target-group", &targets.target_group, &params.region)])
        }
        (None, Some(listener)) => {
            if listener.stages.is_empty() || listener.stages.last() != Some(&100) {
                return Err(ParamError::at("listener.stages", "stages must end at 100, for example [10, 50, 100]"));
            }
            if listener.stages.windows(2).any(|pair| pair[0] >= pair[1]) {
                return Err(ParamError::at("listener.stages", "stages must rise, for example [10, 50, 100]"));
            }
            // Weights are sent as percentages; 100 is within ELBv2's 0–999.
            if let Some(stage) = listener.stages.iter().find(|stage| **stage > MAX_WEIGHT.min(100)) {
                return Err(ParamError::at("listener.stages", format!("stage {stage} % is above 100 %")));
            }
            if let Some(stickiness) = &listener.stickiness
                && !(1..=MAX_STICKINESS_SECONDS).contains(&stickiness.duration_seconds)
            {
                return Err(ParamError::at(
                    "listener.stickiness.duration_seconds",
                    format!("stickiness duration {} s is outside 1–604800 s", stickiness.duration_seconds),
                ));
            }
            let id = listener.rule_arn.as_ref().unwrap_or(&listener.listener_arn);
            Ok(vec![Effect::new(EffectAction::Repoint, "elbv2:listener", id, &params.region)])
        }
        (Some(_), Some(_)) => Err(ParamError::at("targets", "set either targets or listener, not both")),
        (None, None) => Err(ParamError::at("", "set targets (register new targets) or listener (switch target groups)")),
    }
}

pub(super) fn info() -> KindInfo {
    KindInfo {
        name: NAME,
        summary: "Repoint an ALB to recovered targets or another target group, waiting for health; undo restores the recorded state",
        outputs: OUTPUTS,
        destructive: true,
        check,
        schema: super::schema_of::<AlbRepointParams>,
        example: r#"- id: cutover
  kind: alb.repoint
  needs: [verify-recovered]
  on_failure: undo
  timeout: 15m
  expected: 3m
  params:
    region: eu-west-2
    targets:
      target_group: dsit-litellm-tg-4000
      register:
        - { ip: 10.1.2.50, port: 4000 }
      deregister_others: true
      vpc_cidr: 10.1.0.0/20
    deregistration_delay: 60s
"#,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(stages: serde_json::Value, stickiness: Option<i64>) -> serde_json::Value {
        let mut shift = serde_json::json!({ "listener_arn": "arn:listener", "to_target_group": "tg-new", "stages": stages });
        if let Some(duration) = stickiness {
            shift["stickiness"] = serde_json::json!({ "enabled": true, "duration_seconds": duration });
        }
        serde_json::json!({ "region": "eu-west-2", "listener": shift })
    }

    fn message(value: &serde_json::Value) -> String {
        check(value).unwrap_err().message
    }

    #[test]
    fn stickiness_duration_lower_bound() {
        assert!(check(&listener(serde_json::json!([100]), Some(1))).is_ok());
        assert!(message(&listener(serde_json::json!([100]), Some(0))).contains("outside 1–604800 s"));
    }

    #[test]
    fn stickiness_duration_upper_bound() {
        assert!(check(&listener(serde_json::json!([100]), Some(604_800))).is_ok());
        assert!(message(&listener(serde_json::json!([100]), Some(604_801))).contains("outside 1–604800 s"));
    }

    #[test]
    fn weight_lower_bound() {
        // A first stage of 0 % sends weight 0 to the new group and 100 to the old one.
        assert!(check(&listener(serde_json::json!([0, 50, 100]), None)).is_ok());
        assert!(check(&listener(serde_json::json!([-1, 100]), None)).is_err());
    }

    #[test]
    fn weight_upper_bound() {
        assert!(check(&listener(serde_json::json!([10, 50, 100]), None)).is_ok());
        assert!(message(&listener(serde_json::json!([10, 101]), None)).contains("must end at 100"));
        assert!(message(&listener(serde_json::json!([50, 1000, 100]), None)).contains("must rise"));
        assert!(message(&listener(serde_json::json!([50, 100, 1000]), None)).contains("must end at 100"));
    }

    #[test]
    fn zero_deregistration_delay_needs_consent() {
        let mut value = listener(serde_json::json!([100]), None);
        value["deregistration_delay"] = serde_json::json!("0s");
        assert!(message(&value).contains("allow_zero_deregistration_delay"));
        value["allow_zero_deregistration_delay"] = serde_json::json!(true);
        assert!(check(&value).is_ok());
    }

    #[test]
    fn example_is_valid() {
        let targets = serde_json::json!({
            "region": "eu-west-2",
            "targets": { "target_group": "dsit-litellm-tg-4000", "register": [{ "ip": "10.1.2.50", "port": 4000 }], "vpc_cidr": "10.1.0.0/20" },
            "deregistration_delay": "60s",
        });
        assert!(check(&targets).is_ok());
    }
}
