//! `alb.repoint` in both modes against the local emulated estate.
//!
//! Every mutating test builds its own target groups, and a listener on a port
//! of the seeded ALB that no other test uses, all tagged as owned by the
//! test's run id. Each test also uses its own IPs, because the emulator's down
//! list is global. Target health follows each group's settings: `initial` for
//! interval × healthy threshold, then `healthy`, or `unhealthy` for an IP on
//! the down list.

mod support;

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{Action as ElbAction, ActionTypeEnum, Tag, TargetDescription};
use drctl::actions::{self, ActionEnv, Mode};
use drctl_executor::{ActionError, Outputs, StepContext};
use drctl_testkit::{ConfigUpdate, Estate, Request, Tenant};
use serde_json::json;

const REGION: &str = "eu-west-2";
const KIND: &str = "alb.repoint";
const STEP: &str = "cutover";

/// Serialises changes to the emulator's global down list within this binary.
static DOWN_LIST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn owned_tags(run_id: &str) -> Vec<Tag> {
    [("drctl:managed-by", "drctl"), ("drctl:run-id", run_id), ("drctl:playbook", "test-playbook"), ("drctl:step", STEP)]
        .iter()
        .map(|(key, value)| Tag::builder().key(*key).value(*value).build())
        .collect()
}

fn env_for(clients: std::sync::Arc<drctl::aws::AwsClients>, mode: Mode, run_id: &str) -> ActionEnv {
    let mut env = support::env(clients, mode, run_id);
    env.step_id = STEP.to_string();
    env
}

fn elb(clients: &drctl::aws::AwsClients) -> Client {
    clients.elbv2(REGION)
}

/// Creates an IP target group in the seeded VPC: health checks every 30 s,
/// 5 passes to healthy, 2 failures to unhealthy.
async fn create_group(client: &Client, name: &str, run_id: &str) -> String {
    let seed = Estate::shared().seed();
    let output = client
        .create_target_group()
        .name(name)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(4000)
        .vpc_id(&seed.vpc_id)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .health_check_interval_seconds(30)
        .health_check_timeout_seconds(5)
        .healthy_threshold_count(5)
        .unhealthy_threshold_count(2)
        .set_tags(Some(owned_tags(run_id)))
        .send()
        .await
        .unwrap_or_else(|error| panic!("creating target group {name}: {error:?}"));
    output.target_groups()[0].target_group_arn().unwrap().to_string()
}

async fn register(client: &Client, arn: &str, ip: &str) {
    client
        .register_targets()
        .target_group_arn(arn)
        .targets(TargetDescription::builder().id(ip).port(4000).build())
        .send()
        .await
        .unwrap_or_else(|error| panic!("registering {ip}: {error:?}"));
}

/// Returns the target states of a group as `ip state` strings, sorted by IP.
async fn states(client: &Client, arn: &str) -> Vec<String> {
    let output = client.describe_target_health().target_group_arn(arn).send().await.unwrap();
    let mut states: Vec<String> = output
        .target_health_descriptions()
        .iter()
        .map(|row| format!("{} {}", row.target().unwrap().id().unwrap(), row.target_health().unwrap().state().unwrap().as_str()))
        .collect();
    states.sort();
    states
}

async fn wait_until_healthy(client: &Client, arn: &str, ip: &str) {
    let expected = format!("{ip} healthy");
    for _ in 0..200 {
        if states(client, arn).await.contains(&expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{ip} in {arn} did not become healthy: {:?}", states(client, arn).await);
}

/// Creates a listener on a port of the seeded ALB unique to this process and
/// call, forwarding to `target_group_arn`.
async fn create_listener(client: &Client, target_group_arn: &str, run_id: &str) -> String {
    use std::sync::atomic::{AtomicI32, Ordering};
    static NEXT: AtomicI32 = AtomicI32::new(0);
    let port = 10_000 + (std::process::id() as i32 % 5_000) * 10 + NEXT.fetch_add(1, Ordering::Relaxed);
    let output = client
        .create_listener()
        .load_balancer_arn(&Estate::shared().seed().alb_arn)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(port)
        .default_actions(ElbAction::builder().r#type(ActionTypeEnum::Forward).target_group_arn(target_group_arn).build())
        .set_tags(Some(owned_tags(run_id)))
        .send()
        .await
        .unwrap_or_else(|error| panic!("creating a listener on port {port}: {error:?}"));
    output.listeners()[0].listener_arn().unwrap().to_string()
}

async fn default_actions(client: &Client, listener_arn: &str) -> Vec<ElbAction> {
    let output = client.describe_listeners().listener_arns(listener_arn).send().await.unwrap();
    output.listeners()[0].default_actions().to_vec()
}

async fn health_check(client: &Client, arn: &str) -> (i32, i32, i32) {
    let output = client.describe_target_groups().target_group_arns(arn).send().await.unwrap();
    let group = &output.target_groups()[0];
    (
        group.health_check_interval_seconds().unwrap(),
        group.healthy_threshold_count().unwrap(),
        group.health_check_timeout_seconds().unwrap(),
    )
}

async fn deregistration_delay(client: &Client, arn: &str) -> String {
    let output = client.describe_target_group_attributes().target_group_arn(arn).send().await.unwrap();
    output
        .attributes()
        .iter()
        .find(|attribute| attribute.key() == Some("deregistration_delay.timeout_seconds"))
        .and_then(|attribute| attribute.value())
        .unwrap_or("300")
        .to_string()
}

fn operations(requests: &[Request]) -> Vec<String> {
    requests.iter().filter_map(|request| request.operation.clone()).collect()
}

/// Returns the weight a ModifyListener request gives `target_group_arn`, read
/// from its flattened query parameters, or `None` when it does not name the group.
fn weight_in(request: &Request, target_group_arn: &str) -> Option<String> {
    let params = request.params.as_object()?;
    let (key, _) = params.iter().find(|(key, value)| key.ends_with("TargetGroupArn") && key.contains("ForwardConfig") && value.as_str() == Some(target_group_arn))?;
    let weight_key = format!("{}Weight", key.strip_suffix("TargetGroupArn")?);
    params.get(&weight_key).and_then(|value| value.as_str()).map(str::to_string)
}

async fn set_down(ip: &str, down: bool) {
    let estate = Estate::shared();
    let mut list = estate.config().down_ips;
    list.retain(|listed| listed != ip);
    if down {
        list.push(ip.to_string());
    }
    estate.set_config(&ConfigUpdate { down_ips: Some(list), ..ConfigUpdate::default() }).unwrap();
}

async fn build(params: serde_json::Value, env: ActionEnv) -> Box<dyn drctl_executor::Action> {
    actions::build(KIND, params, env).unwrap_or_else(|error| panic!("building the action: {error}"))
}

async fn run(params: serde_json::Value, env: ActionEnv, cx: &StepContext) -> Result<Outputs, ActionError> {
    build(params, env).await.run(cx).await
}

/// Creates a tenant with its clients, a run id and an ELBv2 client.
async fn setup(name: &str) -> (Tenant, std::sync::Arc<drctl::aws::AwsClients>, String, Client) {
    let (_, tenant) = support::tenant(name);
    let clients = support::clients(&tenant, false).await;
    let run_id = support::unique_run_id(name);
    let client = elb(&clients);
    (tenant, clients, run_id, client)
}

/// Derives a target group name of at most 32 characters from the run id.
fn group_name(run_id: &str, suffix: &str) -> String {
    let digest: String = run_id.chars().filter(char::is_ascii_alphanumeric).collect();
    let tail = &digest[digest.len().saturating_sub(16)..];
    format!("t{tail}-{suffix}")
}

#[tokio::test]
async fn targets_mode_registers_then_deregisters_others() {
    let (tenant, clients, run_id, client) = setup("alb-targets").await;
    let group = create_group(&client, &group_name(&run_id, "tm"), &run_id).await;
    register(&client, &group, "10.1.9.10").await;
    wait_until_healthy(&client, &group, "10.1.9.10").await;
    let since = tenant.requests().last().map_or(0, |request| request.seq);

    let params = json!({
        "region": REGION,
        "targets": {
            "target_group": group,
            "register": [{ "ip": "10.1.9.11", "port": 4000 }, { "ip": "192.168.90.11", "port": 4000 }],
            "deregister_others": true,
            "vpc_cidr": "10.1.0.0/16"
        },
        "deregistration_delay": "1800s"
    });
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let outputs = run(params, env_for(clients, Mode::Drill, &run_id), &cx).await.expect("targets mode succeeds");

    assert_eq!(outputs["target_group_arn"], json!(group));
    assert_eq!(outputs["healthy_targets"], json!(2));
    assert_eq!(outputs["predicted_healthy_seconds"], json!(150.0));
    assert_eq!(outputs["predicted_drain_seconds"], json!(1800.0));
    assert_eq!(deregistration_delay(&client, &group).await, "1800");
    assert_eq!(states(&client, &group).await, vec!["10.1.9.10 draining", "10.1.9.11 healthy", "192.168.90.11 healthy"]);

    let requests: Vec<Request> = tenant.requests().into_iter().filter(|request| request.seq > since).collect();
    let mutating: Vec<String> = operations(&requests.iter().filter(|request| request.mutating).cloned().collect::<Vec<_>>());
    assert_eq!(mutating, vec!["ModifyTargetGroupAttributes", "RegisterTargets", "DeregisterTargets"]);
    let registered = requests.iter().find(|request| request.operation.as_deref() == Some("RegisterTargets")).unwrap();
    let zones: Vec<&str> = registered
        .params
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.ends_with("AvailabilityZone"))
        .filter_map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(zones, vec!["all"], "only the IP outside the VPC gets zone all: {:?}", registered.params);
}

#[tokio::test]
async fn targets_mode_reentry_does_not_register_twice() {
    let (tenant, clients, run_id, client) = setup("alb-reentry").await;
    let group = create_group(&client, &group_name(&run_id, "re"), &run_id).await;
    let params = json!({
        "region": REGION,
        "targets": { "target_group": group, "register": [{ "ip": "10.1.9.21", "port": 4000 }] }
    });
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    run(params.clone(), env_for(clients.clone(), Mode::Drill, &run_id), &cx).await.expect("first attempt succeeds");
    run(params, env_for(clients, Mode::Drill, &run_id), &cx).await.expect("second attempt succeeds");

    let registers = operations(&tenant.mutating_requests()).iter().filter(|operation| *operation == "RegisterTargets").count();
    assert_eq!(registers, 1);
}

#[tokio::test]
async fn listener_mode_shifts_in_weighted_stages() {
    let (tenant, clients, run_id, client) = setup("alb-stages").await;
    let old = create_group(&client, &group_name(&run_id, "old"), &run_id).await;
    let new = create_group(&client, &group_name(&run_id, "new"), &run_id).await;
    register(&client, &old, "10.1.9.30").await;
    register(&client, &new, "10.1.9.31").await;
    let listener = create_listener(&client, &old, &run_id).await;

    let params = json!({
        "region": REGION,
        "listener": {
            "listener_arn": listener,
            "to_target_group": new,
            "stages": [10, 50, 100],
            "hold": "30s",
            "stickiness": { "enabled": true, "duration_seconds": 3600 }
        }
    });
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let outputs = run(params, env_for(clients, Mode::Drill, &run_id), &cx).await.expect("listener mode succeeds");
    assert_eq!(outputs["target_group_arn"], json!(new));
    assert_eq!(outputs["healthy_targets"], json!(1));

    let modifies: Vec<Request> = tenant.mutating_requests().into_iter().filter(|request| request.operation.as_deref() == Some("ModifyListener")).collect();
    let new_weights: Vec<Option<String>> = modifies.iter().map(|request| weight_in(request, &new)).collect();
    let old_weights: Vec<Option<String>> = modifies.iter().map(|request| weight_in(request, &old)).collect();
    assert_eq!(new_weights, vec![Some("10".into()), Some("50".into()), Some("100".into())]);
    assert_eq!(old_weights, vec![Some("90".into()), Some("50".into()), None]);
    assert!(
        modifies.iter().all(|request| request.params.as_object().unwrap().iter().any(|(key, value)| key.ends_with("TargetGroupStickinessConfig.DurationSeconds") && value == "3600")),
        "every stage carries the stickiness: {:?}",
        modifies.iter().map(|request| &request.params).collect::<Vec<_>>()
    );

    let actions = default_actions(&client, &listener).await;
    let groups: Vec<&str> = actions[0].forward_config().unwrap().target_groups().iter().filter_map(|group| group.target_group_arn()).collect();
    assert_eq!(groups, vec![new.as_str()]);
}

#[tokio::test]
async fn unhealthy_target_fails_and_undo_restores_targets() {
    let (_tenant, clients, run_id, client) = setup("alb-unhealthy").await;
    let group = create_group(&client, &group_name(&run_id, "uh"), &run_id).await;
    register(&client, &group, "10.1.9.40").await;
    wait_until_healthy(&client, &group, "10.1.9.40").await;
    let _down = DOWN_LIST.lock().await;
    set_down("10.1.9.41", true).await;

    let params = json!({
        "region": REGION,
        "targets": { "target_group": group, "register": [{ "ip": "10.1.9.41", "port": 4000 }] },
        "fast_health_checks": { "interval": "5s", "healthy_threshold": 2 },
        "deregistration_delay": "45s"
    });
    let env = env_for(clients, Mode::Drill, &run_id);
    let action = build(params, env).await;
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let error = action.run(&cx).await.expect_err("an unhealthy target fails the step");
    set_down("10.1.9.41", false).await;

    assert!(error.message.contains("10.1.9.41:4000"), "{}", error.message);
    assert!(error.message.contains("Target.Timeout"), "{}", error.message);
    assert!(error.message.contains("Request timed out"), "{}", error.message);
    assert_eq!(health_check(&client, &group).await, (30, 5, 5), "the failed run restores the health checks");

    action.undo(&cx, &Outputs::new()).await.expect("undo succeeds");
    let registered: Vec<String> = states(&client, &group).await.into_iter().filter(|state| !state.ends_with("draining")).collect();
    assert_eq!(registered, vec!["10.1.9.40 healthy"]);
    assert_eq!(health_check(&client, &group).await, (30, 5, 5));
    assert_eq!(deregistration_delay(&client, &group).await, "300");

    // A second undo finds nothing left to do.
    action.undo(&cx, &Outputs::new()).await.expect("undo is idempotent");
}

#[tokio::test]
async fn unhealthy_during_hold_fails_and_undo_restores_listener() {
    let (tenant, clients, run_id, client) = setup("alb-hold").await;
    let old = create_group(&client, &group_name(&run_id, "hold"), &run_id).await;
    let new = create_group(&client, &group_name(&run_id, "hnew"), &run_id).await;
    register(&client, &old, "10.1.9.50").await;
    register(&client, &new, "10.1.9.51").await;
    wait_until_healthy(&client, &new, "10.1.9.51").await;
    let listener = create_listener(&client, &old, &run_id).await;
    let before = default_actions(&client, &listener).await;
    let _down = DOWN_LIST.lock().await;

    // Take the new target down as soon as the first stage is sent.
    let watcher = {
        let tenant = tenant.clone();
        tokio::spawn(async move {
            for _ in 0..400 {
                if tenant.mutating_requests().iter().any(|request| request.operation.as_deref() == Some("ModifyListener")) {
                    set_down("10.1.9.51", true).await;
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            false
        })
    };
    let params = json!({
        "region": REGION,
        "listener": { "listener_arn": listener, "to_target_group": new, "stages": [10, 50, 100], "hold": "600s" }
    });
    let action = build(params, env_for(clients, Mode::Drill, &run_id)).await;
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let result = action.run(&cx).await;
    let downed = watcher.await.unwrap();
    set_down("10.1.9.51", false).await;

    assert!(downed, "the first stage was never sent");
    let error = result.expect_err("an unhealthy target during the hold fails the step");
    assert!(error.message.contains("Target.Timeout"), "{}", error.message);
    let stages = tenant.mutating_requests().iter().filter(|request| request.operation.as_deref() == Some("ModifyListener")).count();
    assert_eq!(stages, 1, "no stage after the failed hold");

    action.undo(&cx, &Outputs::new()).await.expect("undo succeeds");
    assert_eq!(default_actions(&client, &listener).await, before);
}

#[tokio::test]
async fn predicted_times_follow_group_settings() {
    let (_tenant, clients, run_id, client) = setup("alb-predict").await;
    let group = create_group(&client, &group_name(&run_id, "pr"), &run_id).await;
    let params = json!({
        "region": REGION,
        "targets": { "target_group": group, "register": [{ "ip": "10.1.9.60", "port": 4000 }] }
    });
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let outputs = run(params, env_for(clients, Mode::Drill, &run_id), &cx).await.expect("targets mode succeeds");
    assert_eq!(outputs["predicted_healthy_seconds"], json!(150.0), "interval 30 s × healthy threshold 5");
    assert_eq!(outputs["predicted_drain_seconds"], json!(300.0), "the default deregistration delay");
}

#[tokio::test]
async fn drill_refuses_unowned_target_group() {
    let (tenant, clients, run_id, _client) = setup("alb-unowned").await;
    let params = json!({
        "region": REGION,
        "targets": { "target_group": "dsit-litellm-tg-4000", "register": [{ "ip": "10.1.9.70", "port": 4000 }] }
    });
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let error = run(params, env_for(clients, Mode::Drill, &run_id), &cx).await.expect_err("a drill must not touch production");
    assert!(error.message.contains("refusing to modify elbv2:target-group"), "{}", error.message);
    assert!(error.message.contains(&Estate::shared().seed().target_group_arn), "{}", error.message);
    assert_eq!(operations(&tenant.mutating_requests()), Vec::<String>::new());
}

#[tokio::test]
async fn drill_refuses_unowned_listener() {
    let (tenant, clients, run_id, _client) = setup("alb-unowned-listener").await;
    let seed = Estate::shared().seed();
    let params = json!({
        "region": REGION,
        "listener": { "listener_arn": seed.listener_arn, "to_target_group": seed.recovery_target_group_arn }
    });
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let error = run(params, env_for(clients, Mode::Drill, &run_id), &cx).await.expect_err("a drill must not touch production");
    assert!(error.message.contains("refusing to modify elbv2:listener"), "{}", error.message);
    assert_eq!(operations(&tenant.mutating_requests()), Vec::<String>::new());
}

#[tokio::test]
async fn dry_run_makes_no_mutating_calls() {
    let (tenant, clients, run_id, client) = setup("alb-dry").await;
    let old = create_group(&client, &group_name(&run_id, "dold"), &run_id).await;
    let new = create_group(&client, &group_name(&run_id, "dnew"), &run_id).await;
    register(&client, &old, "10.1.9.80").await;
    register(&client, &new, "10.1.9.81").await;
    let listener = create_listener(&client, &old, &run_id).await;
    let since = tenant.requests().last().map_or(0, |request| request.seq);

    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let targets = json!({
        "region": REGION,
        "targets": { "target_group": old, "register": [{ "ip": "10.1.9.82", "port": 4000 }] },
        "fast_health_checks": { "interval": "5s", "healthy_threshold": 2 }
    });
    let lines = build(targets, env_for(clients.clone(), Mode::Drill, &run_id)).await.dry_run(&cx).await.expect("targets dry run");
    let text = lines.join("\n");
    assert!(text.contains("predicted at least 10 s to healthy"), "{text}");
    assert!(text.contains("300 s to drained"), "{text}");
    assert!(text.contains("current target 10.1.9.80:4000"), "{text}");
    assert!(text.contains("would register 10.1.9.82:4000"), "{text}");
    assert!(text.contains("would then deregister 10.1.9.80:4000"), "{text}");

    let shift = json!({
        "region": REGION,
        "listener": { "listener_arn": listener, "to_target_group": new, "stages": [10, 100] }
    });
    let lines = build(shift, env_for(clients, Mode::Drill, &run_id)).await.dry_run(&cx).await.expect("listener dry run");
    let text = lines.join("\n");
    assert!(text.contains("would send 10 %"), "{text}");
    assert!(text.contains("150 s to healthy"), "{text}");

    let mutating: Vec<Request> = tenant.mutating_requests().into_iter().filter(|request| request.seq > since).collect();
    assert_eq!(operations(&mutating), Vec::<String>::new());
}

#[tokio::test]
async fn rule_mode_shifts_and_undo_restores_rule() {
    let (tenant, clients, run_id, client) = setup("alb-rule").await;
    let old = create_group(&client, &group_name(&run_id, "rold"), &run_id).await;
    let new = create_group(&client, &group_name(&run_id, "rnew"), &run_id).await;
    register(&client, &old, "10.1.9.90").await;
    register(&client, &new, "10.1.9.91").await;
    let listener = create_listener(&client, &old, &run_id).await;
    let rule = client
        .create_rule()
        .listener_arn(&listener)
        .priority(10)
        .conditions(
            aws_sdk_elasticloadbalancingv2::types::RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(aws_sdk_elasticloadbalancingv2::types::PathPatternConditionConfig::builder().values("/v1/*").build())
                .build(),
        )
        .actions(ElbAction::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&old).order(1).build())
        .set_tags(Some(owned_tags(&run_id)))
        .send()
        .await
        .unwrap_or_else(|error| panic!("creating a rule: {error:?}"));
    let rule_arn = rule.rules()[0].rule_arn().unwrap().to_string();
    let rule_actions = |client: Client, arn: String| async move {
        let output = client.describe_rules().rule_arns(&arn).send().await.unwrap();
        output.rules()[0].actions().to_vec()
    };
    let before = rule_actions(client.clone(), rule_arn.clone()).await;
    let listener_before = default_actions(&client, &listener).await;

    let params = json!({
        "region": REGION,
        "listener": { "listener_arn": listener, "rule_arn": rule_arn, "to_target_group": new, "stages": [50, 100], "hold": "30s" }
    });
    let action = build(params, env_for(clients, Mode::Drill, &run_id)).await;
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    action.run(&cx).await.expect("rule mode succeeds");

    let mutating = operations(&tenant.mutating_requests());
    assert!(mutating.iter().all(|operation| operation != "ModifyListener"), "{mutating:?}");
    assert_eq!(mutating.iter().filter(|operation| *operation == "ModifyRule").count(), 2, "{mutating:?}");
    let shifted = rule_actions(client.clone(), rule_arn.clone()).await;
    let groups: Vec<&str> = shifted[0].forward_config().unwrap().target_groups().iter().filter_map(|group| group.target_group_arn()).collect();
    assert_eq!(groups, vec![new.as_str()]);
    assert_eq!(default_actions(&client, &listener).await, listener_before, "the default action is untouched");

    action.undo(&cx, &Outputs::new()).await.expect("undo succeeds");
    assert_eq!(rule_actions(client.clone(), rule_arn.clone()).await, before);
}

#[tokio::test]
async fn listener_reentry_resumes_recorded_stage() {
    let (tenant, clients, run_id, client) = setup("alb-resume").await;
    let old = create_group(&client, &group_name(&run_id, "sold"), &run_id).await;
    let new = create_group(&client, &group_name(&run_id, "snew"), &run_id).await;
    register(&client, &old, "10.1.9.100").await;
    register(&client, &new, "10.1.9.101").await;
    wait_until_healthy(&client, &new, "10.1.9.101").await;
    let listener = create_listener(&client, &old, &run_id).await;
    let before = default_actions(&client, &listener).await;
    let _down = DOWN_LIST.lock().await;

    // The first attempt fails in the hold after the 10 % stage.
    let watcher = {
        let tenant = tenant.clone();
        tokio::spawn(async move {
            for _ in 0..400 {
                if tenant.mutating_requests().iter().any(|request| request.operation.as_deref() == Some("ModifyListener")) {
                    set_down("10.1.9.101", true).await;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let params = json!({
        "region": REGION,
        "listener": { "listener_arn": listener, "to_target_group": new, "stages": [10, 50, 100], "hold": "600s" }
    });
    let action = build(params, env_for(clients, Mode::Drill, &run_id)).await;
    let (cx, _cancel) = StepContext::for_tests(STEP, "drill");
    let first = action.run(&cx).await;
    watcher.await.unwrap();
    set_down("10.1.9.101", false).await;
    assert!(first.is_err(), "the first attempt fails in the hold");

    // The listener now splits traffic; the second attempt works from the journal.
    let outputs = action.run(&cx).await.expect("the second attempt succeeds");
    assert_eq!(outputs["target_group_arn"], json!(new));
    let modifies: Vec<Request> = tenant.mutating_requests().into_iter().filter(|request| request.operation.as_deref() == Some("ModifyListener")).collect();
    let new_weights: Vec<Option<String>> = modifies.iter().map(|request| weight_in(request, &new)).collect();
    assert_eq!(new_weights, vec![Some("10".into()), Some("10".into()), Some("50".into()), Some("100".into())]);

    action.undo(&cx, &Outputs::new()).await.expect("undo succeeds");
    assert_eq!(default_actions(&client, &listener).await, before, "undo restores the actions from before the first attempt");
}
