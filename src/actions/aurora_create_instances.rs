//! `aurora.create_instances`: create the writer and readers of a restored
//! cluster, which a restore leaves without instances.
//!
//! The wait is reported in two phases, because an `available` cluster is not
//! yet connectable: `cluster_wait_seconds` until the cluster is available,
//! then `instances_wait_seconds` from the create calls until every instance is.
//! The writer is created first: Aurora makes the first instance of a cluster
//! its writer.

use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance;
use drctl_executor::{Action, ActionError, Outputs, ResourceEvent, ResourceRecord, StepContext};
use drctl_playbook::kinds::{CreateInstancesParams, InstanceSpec};

use super::ActionEnv;
use super::aurora_cluster::{self, CLUSTER, INSTANCE};
use crate::aws::AwsCall;
use crate::aws::rds::{describe_cluster, rds_tags, tag_pairs};

pub const NAME: &str = "aurora.create_instances";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: CreateInstancesParams = super::parse(NAME, params)?;
    Ok(Box::new(CreateInstances { params, env }))
}

struct CreateInstances {
    params: CreateInstancesParams,
    env: ActionEnv,
}

impl CreateInstances {
    /// The writer first, then the readers in playbook order.
    fn specs(&self) -> impl Iterator<Item = (&InstanceSpec, bool)> {
        std::iter::once((&self.params.writer, true)).chain(self.params.readers.iter().map(|reader| (reader, false)))
    }

    /// Returns the instance when this run created it in this cluster, `None`
    /// when the identifier is free, and an error for anyone else's instance.
    async fn find_owned_instance(&self, instance_id: &str) -> Result<Option<DbInstance>, ActionError> {
        let region = self.params.region.as_str();
        let Some(instance) = aurora_cluster::describe_instance(&self.env, region, instance_id).await? else {
            return Ok(None);
        };
        if !self.env.created_by_this_run(&tag_pairs(instance.tag_list())) {
            return Err(ActionError::fatal(format!(
                "instance {instance_id} already exists in {region} and its tags do not show that run {} created it; \
                 drctl will not adopt it. Choose another instance id",
                self.env.run_id
            )));
        }
        if instance.db_cluster_identifier() != Some(self.params.cluster_id.as_str()) {
            return Err(ActionError::fatal(format!(
                "instance {instance_id} in {region} belongs to cluster {}, not {}; choose another instance id",
                instance.db_cluster_identifier().unwrap_or("none"),
                self.params.cluster_id
            )));
        }
        Ok(Some(instance))
    }

    async fn create_instance(&self, cx: &StepContext, spec: &InstanceSpec, is_writer: bool, engine: &str) -> Result<DbInstance, ActionError> {
        let params = &self.params;
        let region = params.region.as_str();
        let mut pairs = self.env.ownership_tags();
        pairs.extend(params.tags.iter().map(|(key, value)| (key.clone(), value.clone())));

        // Promotion tier 0 for the writer makes it the failover target of choice.
        let mut request = self
            .env
            .aws
            .rds(region)
            .create_db_instance()
            .db_instance_identifier(&spec.id)
            .db_cluster_identifier(&params.cluster_id)
            .engine(engine)
            .db_instance_class(&params.instance_class)
            .promotion_tier(if is_writer { 0 } else { 1 })
            .set_availability_zone(spec.availability_zone.clone())
            .set_db_parameter_group_name(params.db_parameter_group.clone())
            .set_tags(Some(rds_tags(&pairs)));
        if let Some(days) = params.performance_insights_retention_days {
            request = request.enable_performance_insights(true).performance_insights_retention_period(days);
        }
        if let (Some(interval), Some(role)) = (params.monitoring_interval_seconds, &params.monitoring_role_arn) {
            request = request.monitoring_interval(interval).monitoring_role_arn(role);
        }

        cx.record_note(format!("instance:{}", spec.id), serde_json::json!({ "cluster_id": params.cluster_id, "writer": is_writer }))
            .await?;
        tracing::info!(run_id = %self.env.run_id, step_id = cx.step_id(), instance_id = %spec.id, cluster_id = %params.cluster_id, region, "calling CreateDBInstance");
        let call = AwsCall::new("CreateDBInstance", &spec.id, region);
        let output = request.send().await.map_err(|error| call.error(&error))?;
        output.db_instance.ok_or_else(|| call.fatal("the response contains no DBInstance"))
    }
}

async fn record_instance(cx: &StepContext, instance: &DbInstance, region: &str, event: ResourceEvent) -> Result<(), ActionError> {
    cx.record_resource(ResourceRecord {
        resource_type: INSTANCE.to_string(),
        id: instance.db_instance_identifier().unwrap_or_default().to_string(),
        region: region.to_string(),
        arn: instance.db_instance_arn().map(str::to_string),
        event,
    })
    .await
}

#[async_trait]
impl Action for CreateInstances {
    fn describe(&self) -> String {
        format!(
            "create writer {} and {} reader(s) of class {} in cluster {} in {}",
            self.params.writer.id,
            self.params.readers.len(),
            self.params.instance_class,
            self.params.cluster_id,
            self.params.region
        )
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        let params = &self.params;
        let region = params.region.as_str();
        let mut lines = match describe_cluster(&self.env.aws.rds(region), region, &params.cluster_id).await? {
            Some(cluster) => vec![format!("wait for cluster {} in {region} (now {}) to be available", params.cluster_id, cluster.status().unwrap_or("unknown"))],
            // In a dry run the cluster usually comes from a restore step that did not run.
            None => vec![format!("wait for cluster {} in {region} (does not exist yet) to be available", params.cluster_id)],
        };
        for (spec, is_writer) in self.specs() {
            let role = if is_writer { "writer" } else { "reader" };
            let zone = spec.availability_zone.as_deref().unwrap_or("any availability zone");
            match self.find_owned_instance(&spec.id).await? {
                Some(instance) => lines.push(format!("adopt {role} {} (status {}), created earlier by this run", spec.id, instance.db_instance_status().unwrap_or("unknown"))),
                None => lines.push(format!("create {role} {} of class {} in {zone}", spec.id, params.instance_class)),
            }
        }
        lines.push("wait for every instance to be available".to_string());
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let params = &self.params;
        let region = params.region.as_str();
        let poll = params.poll.as_ref();

        // Phase 1: the cluster.
        let cluster_started = Instant::now();
        if describe_cluster(&self.env.aws.rds(region), region, &params.cluster_id).await?.is_none() {
            return Err(ActionError::fatal(format!(
                "DescribeDBClusters: cluster {} not found in {region}; check cluster_id and region, or run the restore step first",
                params.cluster_id
            )));
        }
        let cluster = aurora_cluster::wait_cluster_available(&self.env, cx, region, &params.cluster_id, poll).await?;
        let cluster_wait = cluster_started.elapsed();
        self.env.check_may_modify(CLUSTER, &params.cluster_id, region, &tag_pairs(cluster.tag_list()))?;
        let engine = cluster.engine().unwrap_or("aurora-postgresql").to_string();

        // Phase 2: create or adopt each instance, then wait for all of them.
        let instances_started = Instant::now();
        for (spec, is_writer) in self.specs() {
            match self.find_owned_instance(&spec.id).await? {
                Some(instance) => {
                    tracing::info!(run_id = %self.env.run_id, step_id = cx.step_id(), instance_id = %spec.id, region, "adopting instance created by an earlier attempt");
                    record_instance(cx, &instance, region, ResourceEvent::Adopted).await?;
                }
                None => {
                    let instance = self.create_instance(cx, spec, is_writer, &engine).await?;
                    record_instance(cx, &instance, region, ResourceEvent::Created).await?;
                }
            }
        }
        let mut writer = None;
        for (spec, is_writer) in self.specs() {
            let instance = aurora_cluster::wait_instance_available(&self.env, cx, region, &spec.id, poll).await?;
            if is_writer {
                writer = Some(instance);
            }
        }
        let instances_wait = instances_started.elapsed();

        let writer_endpoint = writer
            .as_ref()
            .and_then(|instance| instance.endpoint())
            .and_then(|endpoint| endpoint.address())
            .ok_or_else(|| AwsCall::new("DescribeDBInstances", &params.writer.id, region).fatal("the available writer reports no endpoint address"))?;
        let ids: Vec<&str> = self.specs().map(|(spec, _)| spec.id.as_str()).collect();

        let mut outputs = Outputs::new();
        outputs.insert("writer_instance_id".into(), serde_json::Value::String(params.writer.id.clone()));
        outputs.insert("writer_instance_endpoint".into(), serde_json::Value::String(writer_endpoint.to_string()));
        outputs.insert("instance_ids".into(), serde_json::Value::String(ids.join(",")));
        outputs.insert("cluster_wait_seconds".into(), serde_json::Value::from(cluster_wait.as_secs_f64()));
        outputs.insert("instances_wait_seconds".into(), serde_json::Value::from(instances_wait.as_secs_f64()));
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, outputs: &Outputs) -> Result<(), ActionError> {
        let region = self.params.region.as_str();
        let ids: Vec<String> = match outputs.get("instance_ids").and_then(|value| value.as_str()) {
            Some(list) => list.split(',').filter(|id| !id.is_empty()).map(str::to_string).collect(),
            None => self.specs().map(|(spec, _)| spec.id.clone()).collect(),
        };
        // Readers first, so the writer is not failed over to a reader about to go.
        for instance_id in ids.iter().rev() {
            aurora_cluster::delete_instance(&self.env, cx, region, instance_id, self.params.poll.as_ref()).await?;
        }
        Ok(())
    }
}
