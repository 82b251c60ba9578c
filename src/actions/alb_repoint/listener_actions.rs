//! Listener and rule actions as JSON, so the journal can hold them and undo can send them back.
//!
//! The SDK's `Action` type is not serialisable, so this module mirrors the
//! ELBv2 API shape (PascalCase field names) for the action types a repoint can
//! restore: `forward`, `redirect` and `fixed-response`. Authenticate and JWT
//! validation actions are rejected before any change, because DescribeListeners
//! never returns an OIDC client secret and the action could not be sent back.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig, RedirectActionConfig,
    RedirectActionStatusCodeEnum, TargetGroupStickinessConfig, TargetGroupTuple,
};
use serde::{Deserialize, Serialize};

/// One listener or rule action, in the ELBv2 API's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenerAction {
    #[serde(rename = "Type")]
    pub action_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_config: Option<ForwardJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_config: Option<RedirectJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_response_config: Option<FixedResponseJson>,
}

/// A forward action's target groups with their weights, and its stickiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForwardJson {
    pub target_groups: Vec<WeightedGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_stickiness_config: Option<StickinessJson>,
}

/// A target group of a forward action. ELBv2 accepts weights 0–999.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WeightedGroup {
    pub target_group_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Target group stickiness of a forward action; the duration is in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StickinessJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedirectJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub status_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FixedResponseJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_body: Option<String>,
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

impl ListenerAction {
    /// Converts an action from a Describe call. Fails, naming the type, for an
    /// action this module cannot send back unchanged.
    pub fn from_sdk(action: &Action) -> Result<ListenerAction, String> {
        let action_type = action.r#type().map(|kind| kind.as_str().to_string()).unwrap_or_default();
        if !matches!(action_type.as_str(), "forward" | "redirect" | "fixed-response") {
            return Err(format!(
                "it has a '{action_type}' action, and alb.repoint can record and restore only forward, redirect and fixed-response actions; \
                 repoint this listener by hand"
            ));
        }
        Ok(ListenerAction {
            action_type,
            order: action.order(),
            target_group_arn: action.target_group_arn().map(str::to_string),
            forward_config: action.forward_config().map(|forward| ForwardJson {
                target_groups: forward
                    .target_groups()
                    .iter()
                    .map(|group| WeightedGroup {
                        target_group_arn: group.target_group_arn().unwrap_or_default().to_string(),
                        weight: group.weight(),
                    })
                    .collect(),
                target_group_stickiness_config: forward.target_group_stickiness_config().map(|stickiness| StickinessJson {
                    enabled: stickiness.enabled(),
                    duration_seconds: stickiness.duration_seconds(),
                }),
            }),
            redirect_config: action.redirect_config().map(|redirect| RedirectJson {
                protocol: redirect.protocol().map(str::to_string),
                port: redirect.port().map(str::to_string),
                host: redirect.host().map(str::to_string),
                path: redirect.path().map(str::to_string),
                query: redirect.query().map(str::to_string),
                status_code: redirect.status_code().map(|code| code.as_str().to_string()).unwrap_or_default(),
            }),
            fixed_response_config: action.fixed_response_config().map(|fixed| FixedResponseJson {
                message_body: fixed.message_body().map(str::to_string),
                status_code: fixed.status_code().unwrap_or_default().to_string(),
                content_type: fixed.content_type().map(str::to_string),
            }),
        })
    }

    /// Converts back into the SDK type for ModifyListener or ModifyRule.
    pub fn to_sdk(&self) -> Action {
        let forward = self.forward_config.as_ref().map(|forward| {
            ForwardActionConfig::builder()
                .set_target_groups(Some(
                    forward
                        .target_groups
                        .iter()
                        .map(|group| {
                            TargetGroupTuple::builder()
                                .target_group_arn(&group.target_group_arn)
                                .set_weight(group.weight)
                                .build()
                        })
                        .collect(),
                ))
                .set_target_group_stickiness_config(forward.target_group_stickiness_config.as_ref().map(|stickiness| {
                    TargetGroupStickinessConfig::builder()
                        .set_enabled(stickiness.enabled)
                        .set_duration_seconds(stickiness.duration_seconds)
                        .build()
                }))
                .build()
        });
        let redirect = self.redirect_config.as_ref().map(|redirect| {
            RedirectActionConfig::builder()
                .set_protocol(redirect.protocol.clone())
                .set_port(redirect.port.clone())
                .set_host(redirect.host.clone())
                .set_path(redirect.path.clone())
                .set_query(redirect.query.clone())
                .status_code(RedirectActionStatusCodeEnum::from(redirect.status_code.as_str()))
                .build()
        });
        let fixed = self.fixed_response_config.as_ref().map(|fixed| {
            FixedResponseActionConfig::builder()
                .set_message_body(fixed.message_body.clone())
                .status_code(&fixed.status_code)
                .set_content_type(fixed.content_type.clone())
                .build()
        });
        Action::builder()
            .r#type(ActionTypeEnum::from(self.action_type.as_str()))
            .set_order(self.order)
            .set_target_group_arn(self.target_group_arn.clone())
            .set_forward_config(forward)
            .set_redirect_config(redirect)
            .set_fixed_response_config(fixed)
            .build()
    }

    /// Returns the target groups this action forwards to, from `TargetGroupArn` or `ForwardConfig`.
    pub fn forward_targets(&self) -> Vec<&str> {
        if self.action_type != "forward" {
            return Vec::new();
        }
        match &self.forward_config {
            Some(forward) if !forward.target_groups.is_empty() => {
                forward.target_groups.iter().map(|group| group.target_group_arn.as_str()).collect()
            }
            _ => self.target_group_arn.as_deref().into_iter().collect(),
        }
    }

    /// Returns the weight this action gives `target_group_arn`, when it forwards there.
    /// A plain forward with `TargetGroupArn` counts as weight 1 of 1.
    #[cfg(test)]
    pub fn weight_of(&self, target_group_arn: &str) -> Option<i32> {
        match &self.forward_config {
            Some(forward) if !forward.target_groups.is_empty() => forward
                .target_groups
                .iter()
                .find(|group| group.target_group_arn == target_group_arn)
                .map(|group| group.weight.unwrap_or(1)),
            _ => (self.target_group_arn.as_deref() == Some(target_group_arn)).then_some(1),
        }
    }
}

/// Finds the single forward action of a listener or rule and the one group it
/// forwards to. Fails when there is none or the forward already splits traffic.
pub fn single_forward(actions: &[ListenerAction]) -> Result<(usize, String), String> {
    let forwards: Vec<usize> = actions.iter().enumerate().filter(|(_, action)| action.action_type == "forward").map(|(index, _)| index).collect();
    let [index] = forwards.as_slice() else {
        let types: Vec<&str> = actions.iter().map(|action| action.action_type.as_str()).collect();
        return Err(format!("expected exactly one forward action, found actions [{}]", types.join(", ")));
    };
    let groups = actions[*index].forward_targets();
    match groups.as_slice() {
        [group] => Ok((*index, group.to_string())),
        _ => Err(format!(
            "its forward action splits traffic over {} target groups ({}); alb.repoint shifts traffic from one group to another",
            groups.len(),
            groups.join(", ")
        )),
    }
}

/// Builds the actions for one stage: `previous` with its forward action at `forward_index`
/// replaced by a forward sending `stage` % to `to_arn` and the rest to `from_arn`.
/// At 100 % the old group is dropped, so the listener no longer refers to it.
pub fn staged_actions(
    previous: &[ListenerAction],
    forward_index: usize,
    from_arn: &str,
    to_arn: &str,
    stage: u32,
    stickiness: Option<StickinessJson>,
) -> Vec<ListenerAction> {
    let weight = i32::try_from(stage.min(100)).unwrap_or(100);
    let mut groups = vec![WeightedGroup { target_group_arn: to_arn.to_string(), weight: Some(weight) }];
    if weight < 100 {
        groups.push(WeightedGroup { target_group_arn: from_arn.to_string(), weight: Some(100 - weight) });
    }
    let mut actions = previous.to_vec();
    actions[forward_index] = ListenerAction {
        action_type: "forward".to_string(),
        order: previous[forward_index].order,
        target_group_arn: None,
        forward_config: Some(ForwardJson { target_groups: groups, target_group_stickiness_config: stickiness }),
        redirect_config: None,
        fixed_response_config: None,
    };
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_forward(arn: &str) -> ListenerAction {
        ListenerAction {
            action_type: "forward".into(),
            order: Some(1),
            target_group_arn: Some(arn.into()),
            forward_config: None,
            redirect_config: None,
            fixed_response_config: None,
        }
    }

    #[test]
    fn sdk_round_trip_keeps_every_field() {
        let original = ListenerAction {
            action_type: "forward".into(),
            order: Some(2),
            target_group_arn: Some("tg-a".into()),
            forward_config: Some(ForwardJson {
                target_groups: vec![WeightedGroup { target_group_arn: "tg-a".into(), weight: Some(1) }],
                target_group_stickiness_config: Some(StickinessJson { enabled: Some(true), duration_seconds: Some(3600) }),
            }),
            redirect_config: None,
            fixed_response_config: None,
        };
        assert_eq!(ListenerAction::from_sdk(&original.to_sdk()).unwrap(), original);

        let redirect = ListenerAction {
            action_type: "redirect".into(),
            order: None,
            target_group_arn: None,
            forward_config: None,
            redirect_config: Some(RedirectJson {
                protocol: Some("HTTPS".into()),
                port: Some("443".into()),
                host: None,
                path: Some("/#{path}".into()),
                query: None,
                status_code: "HTTP_301".into(),
            }),
            fixed_response_config: None,
        };
        assert_eq!(ListenerAction::from_sdk(&redirect.to_sdk()).unwrap(), redirect);
    }

    #[test]
    fn json_uses_api_field_names() {
        let json = serde_json::to_value(plain_forward("tg-a")).unwrap();
        assert_eq!(json, serde_json::json!({ "Type": "forward", "Order": 1, "TargetGroupArn": "tg-a" }));
    }

    #[test]
    fn authenticate_actions_are_rejected() {
        let action = Action::builder().r#type(ActionTypeEnum::AuthenticateOidc).build();
        assert!(ListenerAction::from_sdk(&action).unwrap_err().contains("'authenticate-oidc'"));
    }

    #[test]
    fn single_forward_finds_the_group() {
        assert_eq!(single_forward(&[plain_forward("tg-a")]).unwrap(), (0, "tg-a".to_string()));
    }

    #[test]
    fn single_forward_rejects_split_traffic() {
        let split = staged_actions(&[plain_forward("tg-a")], 0, "tg-a", "tg-b", 50, None);
        assert!(single_forward(&split).unwrap_err().contains("over 2 target groups"));
    }

    #[test]
    fn stages_weigh_new_and_old_groups() {
        let previous = [plain_forward("tg-a")];
        let ten = staged_actions(&previous, 0, "tg-a", "tg-b", 10, None);
        assert_eq!(ten[0].weight_of("tg-b"), Some(10));
        assert_eq!(ten[0].weight_of("tg-a"), Some(90));
        assert_eq!(ten[0].order, Some(1));

        let full = staged_actions(&previous, 0, "tg-a", "tg-b", 100, None);
        assert_eq!(full[0].forward_targets(), vec!["tg-b"]);
        assert_eq!(full[0].weight_of("tg-b"), Some(100));
    }
}
