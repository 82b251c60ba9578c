"""Realistic Terraform v4 state documents for the reference estate, one per version.

Every version shares one lineage and has a higher serial than the one before;
each adds resources, so resource counts differ between versions.
"""

import json

LINEAGE = "5b1f2c7e-3d4a-4e8b-9c61-0a7d2f9e4b13"
TERRAFORM_VERSION = "1.9.8"


def _resource(rtype: str, name: str, attributes: dict, mode: str = "managed", index=None) -> dict:
    instance = {"schema_version": 0, "attributes": attributes, "sensitive_attributes": [], "private": "bnVsbA=="}
    if index is not None:
        instance["index_key"] = index
    return {"mode": mode, "type": rtype, "name": name,
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]', "instances": [instance]}


def _layers(ids: dict) -> list[list[dict]]:
    """Resources grouped in the order a team would have added them, one group per apply."""
    region = "eu-west-2"
    account = ids["account_id"]
    network = [_resource("aws_vpc", "main", {"id": ids["vpc_id"], "cidr_block": "10.1.0.0/20",
                                              "enable_dns_hostnames": True, "enable_dns_support": True,
                                              "tags": {"Name": "dsit-llmlite-gateway-main"}})]
    for name, subnet in ids["subnets"].items():
        network.append(_resource("aws_subnet", name.replace("-", "_"), {
            "id": subnet["id"], "vpc_id": ids["vpc_id"], "cidr_block": subnet["cidr"],
            "availability_zone": subnet["az"], "tags": {"Name": name}}))
    security = [
        _resource("aws_security_group", "rds", {"id": ids["db_security_group_id"], "vpc_id": ids["vpc_id"],
                                                "name": "dsit-litellm-rds-pg-sg"}),
        _resource("aws_kms_key", "rds", {"id": ids["kms"]["eu-west-2"]["key_id"],
                                         "arn": ids["kms"]["eu-west-2"]["key_arn"],
                                         "enable_key_rotation": True, "deletion_window_in_days": 30}),
        _resource("aws_kms_alias", "rds", {"id": "alias/dsit-litellm-rds", "name": "alias/dsit-litellm-rds",
                                           "target_key_id": ids["kms"]["eu-west-2"]["key_id"]}),
    ]
    database = [
        _resource("aws_db_subnet_group", "rds", {"id": "dsit-litellm-rds-pg-subnetgrp",
                                                 "name": "dsit-litellm-rds-pg-subnetgrp",
                                                 "description": "RDS Aurora Subnet Group for Database subnets"}),
        _resource("aws_rds_cluster", "litellm", {
            "id": "dsit-litellm-rds-pg-prod", "cluster_identifier": "dsit-litellm-rds-pg-prod",
            "arn": f"arn:aws:rds:{region}:{account}:cluster:dsit-litellm-rds-pg-prod",
            "engine": "aurora-postgresql", "engine_version": "17.4", "database_name": "litellm",
            "storage_type": "aurora-iopt1", "storage_encrypted": True,
            "kms_key_id": ids["kms"]["eu-west-2"]["key_arn"], "backup_retention_period": 7,
            "preferred_backup_window": "23:43-00:13", "deletion_protection": False,
            "serverlessv2_scaling_configuration": [{"min_capacity": 0.5, "max_capacity": 4}],
            "master_password": None, "master_username": "litellm_admin"}),
    ]
    instances = [
        _resource("aws_rds_cluster_instance", "litellm", {
            "id": instance_id, "identifier": instance_id, "cluster_identifier": "dsit-litellm-rds-pg-prod",
            "instance_class": "db.serverless", "availability_zone": az, "engine": "aurora-postgresql"},
            index=index)
        for index, (instance_id, az) in enumerate([
            ("dsit-litellm-rds-pg-prod-instance-1", "eu-west-2a"),
            ("dsit-litellm-rds-pg-prod-instance-1-eu-west-2b", "eu-west-2b")])
    ]
    load_balancing = [
        _resource("aws_lb", "main", {"id": ids["alb_arn"], "arn": ids["alb_arn"],
                                     "name": "dsit-llmlite-gateway-main-alb", "internal": False,
                                     "load_balancer_type": "application", "idle_timeout": 60}),
        _resource("aws_lb_target_group", "litellm", {
            "id": ids["target_group_arn"], "arn": ids["target_group_arn"], "name": "dsit-litellm-tg-4000",
            "port": 4000, "protocol": "HTTP", "target_type": "ip", "deregistration_delay": "300",
            "health_check": [{"path": "/health/liveliness", "interval": 30, "timeout": 5,
                              "healthy_threshold": 5, "unhealthy_threshold": 2, "matcher": "200"}]}),
        _resource("aws_lb_listener", "https", {"id": ids["listener_arn"], "arn": ids["listener_arn"], "port": 443,
                                               "protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-2016-08",
                                               "certificate_arn": ids["certificate_arn"]}),
    ]
    attachment = [
        _resource("aws_lb_target_group_attachment", "litellm", {
            "id": f"{ids['target_group_arn']}-10.1.3.128", "target_group_arn": ids["target_group_arn"],
            "target_id": "10.1.3.128", "port": 4000}),
        _resource("aws_lb_target_group", "litellm_recovery", {
            "id": ids["recovery_target_group_arn"], "arn": ids["recovery_target_group_arn"],
            "name": "dsit-litellm-tg-4000-recovery", "port": 4000, "protocol": "HTTP", "target_type": "ip"}),
    ]
    return [network, network + security, network + security + database,
            network + security + database + instances,
            network + security + database + instances + load_balancing,
            network + security + database + instances + load_balancing + attachment]


def versions(ids: dict) -> list[bytes]:
    """Return the state documents, oldest first, as pretty-printed JSON like Terraform writes."""
    documents = []
    for serial, resources in enumerate(_layers(ids), start=1):
        outputs = {}
        if any(r["type"] == "aws_rds_cluster" for r in resources):
            outputs["cluster_endpoint"] = {"value": ids["cluster_endpoint"], "type": "string"}
        if any(r["type"] == "aws_lb" for r in resources):
            outputs["alb_dns_name"] = {"value": ids["alb_dns_name"], "type": "string"}
        state = {"version": 4, "terraform_version": TERRAFORM_VERSION, "serial": serial, "lineage": LINEAGE,
                 "outputs": outputs, "resources": resources, "check_results": None}
        documents.append(json.dumps(state, indent=2).encode() + b"\n")
    return documents


def workspace_version(ids: dict) -> bytes:
    """Return a small state of the `staging` workspace, with its own lineage."""
    state = {"version": 4, "terraform_version": TERRAFORM_VERSION, "serial": 3,
             "lineage": "c0a8e1d2-7f3b-4c59-a6e4-2b9d8f1c3e70", "outputs": {},
             "resources": _layers(ids)[1], "check_results": None}
    return json.dumps(state, indent=2).encode() + b"\n"
