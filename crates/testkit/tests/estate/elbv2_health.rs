//! Target health follows the target group's health-check settings.

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    ProtocolEnum, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};
use drctl_testkit::{ConfigUpdate, Estate};

use crate::support::{elbv2, real, unique, wait_until};

const LIMIT: Duration = Duration::from_secs(20);

/// Serializes read-modify-write of the shared estate's down list within this binary.
static DOWN_IPS: Mutex<()> = Mutex::new(());

async fn new_target_group(client: &Client, estate: &Estate) -> String {
    let name = unique("tg");
    client
        .create_target_group()
        .name(&name)
        .protocol(ProtocolEnum::Http)
        .port(4000)
        .vpc_id(&estate.seed().vpc_id)
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/health/liveliness")
        // Long enough (600 simulated seconds either way) to observe `initial` reliably.
        .health_check_interval_seconds(60)
        .health_check_timeout_seconds(5)
        .healthy_threshold_count(10)
        .unhealthy_threshold_count(10)
        .send()
        .await
        .expect("create target group")
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned()
}

/// Returns the (state, reason) of one target, or `None` when the group no longer lists it.
async fn target_health(client: &Client, group: &str, ip: &str) -> Option<(String, Option<String>)> {
    let output = client
        .describe_target_health()
        .target_group_arn(group)
        .send()
        .await
        .expect("describe target health");
    output
        .target_health_descriptions()
        .iter()
        .find(|d| d.target().and_then(|t| t.id()) == Some(ip))
        .map(|d| {
            let health = d.target_health().unwrap();
            (
                health.state().unwrap().as_str().to_owned(),
                health.reason().map(|r| r.as_str().to_owned()),
            )
        })
}

async fn register(client: &Client, group: &str, ip: &str) {
    client
        .register_targets()
        .target_group_arn(group)
        .targets(TargetDescription::builder().id(ip).port(4000).build())
        .send()
        .await
        .expect("register target");
}

#[tokio::test]
async fn seeded_target_starts_healthy() {
    let estate = Estate::shared();
    let client = elbv2(&estate.tenant("seeded")).await;
    let health = target_health(&client, &estate.seed().target_group_arn, "10.1.3.128").await;
    assert_eq!(health.map(|h| h.0).as_deref(), Some("healthy"));
}

#[tokio::test]
async fn registered_target_initial_then_healthy() {
    let estate = Estate::shared();
    let client = elbv2(&estate.tenant("healthy")).await;
    let group = new_target_group(&client, estate).await;
    register(&client, &group, "10.1.2.10").await;

    let (state, reason) = target_health(&client, &group, "10.1.2.10").await.unwrap();
    assert_eq!(state, "initial");
    assert_eq!(reason.as_deref(), Some("Elb.RegistrationInProgress"));

    let took = wait_until("target", Some("healthy"), LIMIT, || async {
        target_health(&client, &group, "10.1.2.10").await.map(|h| h.0)
    })
    .await;
    // interval 60 s × healthy threshold 10
    assert!(took >= real(600.0).mul_f64(0.8), "healthy after {took:?}");
}

#[tokio::test]
async fn down_target_becomes_unhealthy() {
    let estate = Estate::shared();
    let client = elbv2(&estate.tenant("down")).await;
    let group = new_target_group(&client, estate).await;
    let ip = "10.1.2.66";
    {
        let _guard = DOWN_IPS.lock().unwrap();
        let mut down = estate.config().down_ips;
        down.push(ip.to_owned());
        estate
            .set_config(&ConfigUpdate {
                down_ips: Some(down),
                ..ConfigUpdate::default()
            })
            .expect("add a down IP");
    }
    register(&client, &group, ip).await;

    assert_eq!(target_health(&client, &group, ip).await.unwrap().0, "initial");
    let took = wait_until("target", Some("unhealthy"), LIMIT, || async {
        target_health(&client, &group, ip).await.map(|h| h.0)
    })
    .await;
    // interval 60 s × unhealthy threshold 10
    assert!(took >= real(600.0).mul_f64(0.8), "unhealthy after {took:?}");
    let (_, reason) = target_health(&client, &group, ip).await.unwrap();
    assert!(
        matches!(reason.as_deref(), Some("Target.Timeout") | Some("Target.FailedHealthChecks")),
        "reason {reason:?}"
    );
}

#[tokio::test]
async fn deregistered_target_drains_then_disappears() {
    let estate = Estate::shared();
    let client = elbv2(&estate.tenant("drain")).await;
    let group = new_target_group(&client, estate).await;
    client
        .modify_target_group_attributes()
        .target_group_arn(&group)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("600")
                .build(),
        )
        .send()
        .await
        .expect("set the deregistration delay");
    register(&client, &group, "10.1.2.20").await;
    client
        .deregister_targets()
        .target_group_arn(&group)
        .targets(TargetDescription::builder().id("10.1.2.20").port(4000).build())
        .send()
        .await
        .expect("deregister target");

    let (state, reason) = target_health(&client, &group, "10.1.2.20").await.unwrap();
    assert_eq!(state, "draining");
    assert_eq!(reason.as_deref(), Some("Target.DeregistrationInProgress"));

    let took = wait_until("target", None, LIMIT, || async {
        target_health(&client, &group, "10.1.2.20").await.map(|h| h.0)
    })
    .await;
    assert!(took >= real(600.0).mul_f64(0.8), "gone after {took:?}");
}
