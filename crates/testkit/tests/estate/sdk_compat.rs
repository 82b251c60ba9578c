//! Calls drctl's recovery steps make, checked for shapes the Rust SDK accepts.

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum};
use aws_sdk_s3::primitives::ByteStream;
use drctl_testkit::Estate;

use crate::support::{elbv2, s3_from, sdk_config, unique};

#[tokio::test]
async fn tfstate_versions_list_and_restore() {
    let estate = Estate::shared();
    let s3 = s3_from(&sdk_config(&estate.tenant("tfstate"), "eu-west-2").await);
    let info = &estate.seed().tfstate;

    let listed = s3
        .list_object_versions()
        .bucket(&info.bucket)
        .prefix(&info.key)
        .send()
        .await
        .expect("list object versions");
    let versions: Vec<_> = listed.versions().iter().filter(|v| v.key() == Some(info.key.as_str())).collect();
    assert!(versions.len() >= 5, "{} versions", versions.len());
    let mut times: Vec<_> = versions.iter().map(|v| *v.last_modified().unwrap()).collect();
    times.sort();
    times.dedup();
    assert_eq!(times.len(), versions.len(), "versions share a LastModified time");

    // Serials rise and the lineage stays the same, oldest version first.
    let mut serials = Vec::new();
    let mut lineages = Vec::new();
    for version_id in &info.version_ids {
        let object = s3
            .get_object()
            .bucket(&info.bucket)
            .key(&info.key)
            .version_id(version_id)
            .send()
            .await
            .expect("get a state version");
        let body = object.body.collect().await.unwrap().into_bytes();
        let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(state["version"], 4);
        serials.push(state["serial"].as_u64().unwrap());
        lineages.push(state["lineage"].as_str().unwrap().to_owned());
    }
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "serials {serials:?}");
    assert!(lineages.windows(2).all(|w| w[0] == w[1]), "lineages {lineages:?}");

    // A rollback writes an old version back as a new object version under a scratch key.
    let scratch = format!("scratch/{}/terraform.tfstate", unique("rollback"));
    let old = s3
        .get_object()
        .bucket(&info.bucket)
        .key(&info.key)
        .version_id(&info.version_ids[0])
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let put = s3
        .put_object()
        .bucket(&info.bucket)
        .key(&scratch)
        .body(ByteStream::from(old.clone()))
        .send()
        .await
        .expect("put object");
    assert!(put.version_id().is_some());
    let read_back = s3.get_object().bucket(&info.bucket).key(&scratch).send().await.unwrap();
    assert_eq!(read_back.body.collect().await.unwrap().into_bytes(), old);
}

#[tokio::test]
async fn listener_repoints_to_recovery_group() {
    let estate = Estate::shared();
    let client = elbv2(&estate.tenant("repoint")).await;
    let seed = estate.seed();

    // A new listener on the seeded ALB, so the seeded one keeps its target group for other tests.
    let listener = client
        .create_listener()
        .load_balancer_arn(&seed.alb_arn)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(8000 + (std::process::id() % 1000) as i32)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&seed.target_group_arn)
                .build(),
        )
        .send()
        .await
        .expect("create listener")
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_owned();

    client
        .modify_listener()
        .listener_arn(&listener)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&seed.recovery_target_group_arn)
                .build(),
        )
        .send()
        .await
        .expect("modify listener");

    let described = client.describe_listeners().listener_arns(&listener).send().await.unwrap();
    let action = &described.listeners()[0].default_actions()[0];
    assert_eq!(action.target_group_arn(), Some(seed.recovery_target_group_arn.as_str()));

    let https = client.describe_listeners().listener_arns(&seed.listener_arn).send().await.unwrap();
    let https = &https.listeners()[0];
    assert_eq!(https.port(), Some(443));
    assert_eq!(https.ssl_policy(), Some("ELBSecurityPolicy-2016-08"));
}
