//! Target group settings that decide how long a cutover takes: health checks and deregistration delay.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
use drctl_executor::ActionError;
use serde::{Deserialize, Serialize};

use crate::aws::{AwsCall, is_not_found};

/// Resource type passed to the ownership checks.
pub const TARGET_GROUP_RESOURCE: &str = "elbv2:target-group";
const DEREGISTRATION_DELAY_KEY: &str = "deregistration_delay.timeout_seconds";
/// ELBv2's default deregistration delay, used when the attribute is missing.
const DEFAULT_DEREGISTRATION_DELAY_SECONDS: i64 = 300;

/// Health check timing of a target group, in seconds and counts of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckSettings {
    pub interval_seconds: i32,
    pub timeout_seconds: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
}

impl HealthCheckSettings {
    /// Minimum seconds from registration to `healthy`: one interval per required passing check.
    pub fn seconds_to_healthy(&self) -> i64 {
        i64::from(self.interval_seconds) * i64::from(self.healthy_threshold)
    }

    /// These settings with a faster interval and threshold. ELBv2 requires the
    /// timeout to be below the interval, so the timeout drops to interval − 1
    /// (at least ELBv2's minimum of 2 s) when it would not be.
    pub fn fast(&self, interval_seconds: i32, healthy_threshold: i32) -> HealthCheckSettings {
        let timeout_seconds = if self.timeout_seconds < interval_seconds { self.timeout_seconds } else { (interval_seconds - 1).max(2) };
        HealthCheckSettings { interval_seconds, timeout_seconds, healthy_threshold, unhealthy_threshold: self.unhealthy_threshold }
    }
}

/// What the action reads from a target group before changing anything.
#[derive(Debug, Clone)]
pub struct TargetGroupInfo {
    pub arn: String,
    pub name: String,
    pub health_check: HealthCheckSettings,
    pub deregistration_delay_seconds: i64,
    pub tags: Vec<(String, String)>,
}

/// Reads a target group by name or ARN, with its deregistration delay and tags.
/// A missing group is a fatal error naming the group and the region.
pub async fn describe(client: &Client, region: &str, name_or_arn: &str) -> Result<TargetGroupInfo, ActionError> {
    let call = AwsCall::new("DescribeTargetGroups", name_or_arn, region);
    let request = client.describe_target_groups();
    let request = if name_or_arn.starts_with("arn:") { request.target_group_arns(name_or_arn) } else { request.names(name_or_arn) };
    let output = match request.send().await {
        Ok(output) => output,
        Err(error) if is_not_found(AwsCall::code(&error)) || AwsCall::code(&error) == Some("TargetGroupNotFoundException") => {
            return Err(ActionError::fatal(format!(
                "target group '{name_or_arn}' not found in {region}; check the target group name or ARN and the region"
            )));
        }
        Err(error) => return Err(call.error(&error)),
    };
    let Some(group) = output.target_groups().first() else {
        return Err(ActionError::fatal(format!(
            "target group '{name_or_arn}' not found in {region}; check the target group name or ARN and the region"
        )));
    };
    let arn = group.target_group_arn().ok_or_else(|| call.fatal("the response has no TargetGroupArn"))?.to_string();
    let health_check = HealthCheckSettings {
        interval_seconds: group.health_check_interval_seconds().unwrap_or(30),
        timeout_seconds: group.health_check_timeout_seconds().unwrap_or(5),
        healthy_threshold: group.healthy_threshold_count().unwrap_or(5),
        unhealthy_threshold: group.unhealthy_threshold_count().unwrap_or(2),
    };
    let name = group.target_group_name().unwrap_or(name_or_arn).to_string();
    let deregistration_delay_seconds = deregistration_delay(client, region, &arn).await?;
    let tags = tags(client, region, &arn).await?;
    Ok(TargetGroupInfo { arn, name, health_check, deregistration_delay_seconds, tags })
}

async fn deregistration_delay(client: &Client, region: &str, arn: &str) -> Result<i64, ActionError> {
    let call = AwsCall::new("DescribeTargetGroupAttributes", arn, region);
    let output = client.describe_target_group_attributes().target_group_arn(arn).send().await.map_err(|error| call.error(&error))?;
    let Some(value) = output.attributes().iter().find(|attribute| attribute.key() == Some(DEREGISTRATION_DELAY_KEY)).and_then(|attribute| attribute.value())
    else {
        return Ok(DEFAULT_DEREGISTRATION_DELAY_SECONDS);
    };
    value.parse().map_err(|_| call.fatal(format!("{DEREGISTRATION_DELAY_KEY} is '{value}', not a whole number of seconds")))
}

/// Reads the tags of any ELBv2 resource (target group, listener, rule) as key–value pairs.
pub async fn tags(client: &Client, region: &str, arn: &str) -> Result<Vec<(String, String)>, ActionError> {
    let call = AwsCall::new("DescribeTags", arn, region);
    let output = client.describe_tags().resource_arns(arn).send().await.map_err(|error| call.error(&error))?;
    Ok(output
        .tag_descriptions()
        .iter()
        .flat_map(|description| description.tags())
        .map(|tag| (tag.key().unwrap_or_default().to_string(), tag.value().unwrap_or_default().to_string()))
        .collect())
}

/// Sets the health check interval, timeout and thresholds in one ModifyTargetGroup
/// call, so ELBv2 validates timeout < interval on the final values.
pub async fn set_health_check(client: &Client, region: &str, arn: &str, settings: &HealthCheckSettings) -> Result<(), ActionError> {
    let call = AwsCall::new("ModifyTargetGroup", arn, region);
    client
        .modify_target_group()
        .target_group_arn(arn)
        .health_check_interval_seconds(settings.interval_seconds)
        .health_check_timeout_seconds(settings.timeout_seconds)
        .healthy_threshold_count(settings.healthy_threshold)
        .unhealthy_threshold_count(settings.unhealthy_threshold)
        .send()
        .await
        .map_err(|error| call.error(&error))?;
    Ok(())
}

/// Reads the current health check settings, for idempotent restores.
pub async fn current_health_check(client: &Client, region: &str, arn: &str) -> Result<HealthCheckSettings, ActionError> {
    Ok(describe(client, region, arn).await?.health_check)
}

/// Sets `deregistration_delay.timeout_seconds`.
pub async fn set_deregistration_delay(client: &Client, region: &str, arn: &str, seconds: i64) -> Result<(), ActionError> {
    let call = AwsCall::new("ModifyTargetGroupAttributes", arn, region);
    client
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(TargetGroupAttribute::builder().key(DEREGISTRATION_DELAY_KEY).value(seconds.to_string()).build())
        .send()
        .await
        .map_err(|error| call.error(&error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEDED: HealthCheckSettings = HealthCheckSettings { interval_seconds: 30, timeout_seconds: 5, healthy_threshold: 5, unhealthy_threshold: 2 };

    #[test]
    fn seconds_to_healthy_is_interval_times_threshold() {
        assert_eq!(SEEDED.seconds_to_healthy(), 150);
    }

    #[test]
    fn fast_settings_keep_a_timeout_below_the_interval() {
        let fast = SEEDED.fast(5, 2);
        assert_eq!(fast.interval_seconds, 5);
        assert_eq!(fast.healthy_threshold, 2);
        assert_eq!(fast.timeout_seconds, 4);
        assert_eq!(fast.unhealthy_threshold, 2);
        assert_eq!(SEEDED.fast(10, 3).timeout_seconds, 5);
    }
}
