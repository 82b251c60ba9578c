"""Seeding of the reference estate through the AWS APIs of a running emulator. Idempotent."""

import datetime
import hashlib
import json
import urllib.request

import boto3
from botocore.config import Config

CLUSTER_ID = "dsit-litellm-rds-pg-prod"
INSTANCES = [("dsit-litellm-rds-pg-prod-instance-1", "eu-west-2a"),
             ("dsit-litellm-rds-pg-prod-instance-1-eu-west-2b", "eu-west-2b")]
SUBNET_GROUP = "dsit-litellm-rds-pg-subnetgrp"
BACKUP_SUBNET_GROUP = "dsit-litellm-rds-pg-subnetgrp-use1"
TFSTATE_BUCKET = "dsit-litellm-tfstate"
TFSTATE_KEY = "litellm/prod/terraform.tfstate"
WORKSPACE_KEY = "env:/staging/litellm/terraform.tfstate"
LOCK_TABLE = "dsit-litellm-tflock"
TAGS = [{"Key": "Organisation", "Value": "DSIT"}, {"Key": "Project", "Value": "litellm"},
        {"Key": "Environment", "Value": "prod"}, {"Key": "ManagedBy", "Value": "terraform"}]
SUBNETS = {
    "public-eu-west-2a": ("10.1.0.0/24", "eu-west-2a"), "public-eu-west-2b": ("10.1.1.0/24", "eu-west-2b"),
    "private-eu-west-2a": ("10.1.2.0/24", "eu-west-2a"), "private-eu-west-2b": ("10.1.3.0/24", "eu-west-2b"),
    "database-eu-west-2a": ("10.1.4.0/24", "eu-west-2a"), "database-eu-west-2b": ("10.1.5.0/24", "eu-west-2b"),
}
# Access key id of seeding requests, so tests can tell them apart in the request log.
SEED_ACCESS_KEY = "AKIAESTATESEED000000"


def _client(endpoint: str, service: str, region: str = "eu-west-2"):
    extra = {"s3": {"addressing_style": "path"}} if service == "s3" else {}
    return boto3.client(service, region_name=region, endpoint_url=endpoint,
                        aws_access_key_id=SEED_ACCESS_KEY, aws_secret_access_key="estate-seed-secret",
                        config=Config(retries={"max_attempts": 2}, **extra))


def _control(endpoint: str, route: str, body: dict) -> dict:
    request = urllib.request.Request(f"{endpoint}/_estate/{route}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _self_signed_certificate() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway.litellm.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("gateway.litellm.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _ensure_kms(endpoint: str, region: str) -> dict:
    kms = _client(endpoint, "kms", region)
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"] == "alias/dsit-litellm-rds" and alias.get("TargetKeyId"):
            meta = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
            return {"key_id": meta["KeyId"], "key_arn": meta["Arn"], "alias": "alias/dsit-litellm-rds"}
    meta = kms.create_key(Description=f"dsit-litellm RDS encryption ({region})",
                          Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in TAGS])["KeyMetadata"]
    kms.create_alias(AliasName="alias/dsit-litellm-rds", TargetKeyId=meta["KeyId"])
    return {"key_id": meta["KeyId"], "key_arn": meta["Arn"], "alias": "alias/dsit-litellm-rds"}


def _ensure_network(endpoint: str, ids: dict) -> None:
    ec2 = _client(endpoint, "ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["dsit-llmlite-gateway-main"]}])["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
    else:
        vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/20", TagSpecifications=[{
            "ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "dsit-llmlite-gateway-main"}]}])["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    ids["vpc_id"] = vpc_id

    existing = {s["CidrBlock"]: s["SubnetId"] for s in
                ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]}
    ids["subnets"] = {}
    for name, (cidr, az) in SUBNETS.items():
        subnet_id = existing.get(cidr) or ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": name}]}])["Subnet"]["SubnetId"]
        ids["subnets"][name] = {"id": subnet_id, "cidr": cidr, "az": az}

    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                   {"Name": "group-name", "Values": ["dsit-litellm-rds-pg-sg"]}])
    if groups["SecurityGroups"]:
        ids["db_security_group_id"] = groups["SecurityGroups"][0]["GroupId"]
    else:
        group_id = ec2.create_security_group(GroupName="dsit-litellm-rds-pg-sg", VpcId=vpc_id,
                                             Description="Aurora PostgreSQL access from the private subnets")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "IpRanges": [{"CidrIp": "10.1.2.0/24"}, {"CidrIp": "10.1.3.0/24"}]}])
        ids["db_security_group_id"] = group_id


def _ensure_backup_network(endpoint: str, ids: dict) -> None:
    """The us-east-1 side that a backup-region restore needs: a VPC, two database
    subnets, a security group and a DB subnet group."""
    ec2 = _client(endpoint, "ec2", "us-east-1")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["dsit-llmlite-gateway-backup"]}])["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
    else:
        vpc_id = ec2.create_vpc(CidrBlock="10.2.0.0/20", TagSpecifications=[{
            "ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "dsit-llmlite-gateway-backup"}]}])["Vpc"]["VpcId"]
    existing = {s["CidrBlock"]: s["SubnetId"] for s in
                ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]}
    subnet_ids = []
    for cidr, az in (("10.2.4.0/24", "us-east-1a"), ("10.2.5.0/24", "us-east-1b")):
        subnet_ids.append(existing.get(cidr) or ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"])
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                   {"Name": "group-name", "Values": ["dsit-litellm-rds-pg-sg-use1"]}])
    if groups["SecurityGroups"]:
        group_id = groups["SecurityGroups"][0]["GroupId"]
    else:
        group_id = ec2.create_security_group(GroupName="dsit-litellm-rds-pg-sg-use1", VpcId=vpc_id,
                                             Description="Aurora PostgreSQL access in the backup region")["GroupId"]
    rds = _client(endpoint, "rds", "us-east-1")
    try:
        rds.describe_db_subnet_groups(DBSubnetGroupName=BACKUP_SUBNET_GROUP)
    except rds.exceptions.DBSubnetGroupNotFoundFault:
        rds.create_db_subnet_group(DBSubnetGroupName=BACKUP_SUBNET_GROUP,
                                   DBSubnetGroupDescription="Database subnets for restores in the backup region",
                                   SubnetIds=subnet_ids, Tags=TAGS)
    ids["backup"] = {"region": "us-east-1", "vpc_id": vpc_id, "subnet_group": BACKUP_SUBNET_GROUP,
                     "db_security_group_id": group_id}


def _ensure_database(endpoint: str, ids: dict) -> None:
    rds = _client(endpoint, "rds")
    try:
        rds.describe_db_subnet_groups(DBSubnetGroupName=SUBNET_GROUP)
    except rds.exceptions.DBSubnetGroupNotFoundFault:
        rds.create_db_subnet_group(DBSubnetGroupName=SUBNET_GROUP,
                                   DBSubnetGroupDescription="RDS Aurora Subnet Group for Database subnets",
                                   SubnetIds=[ids["subnets"]["database-eu-west-2a"]["id"],
                                              ids["subnets"]["database-eu-west-2b"]["id"]], Tags=TAGS)
    try:
        cluster = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER_ID)["DBClusters"][0]
    except rds.exceptions.DBClusterNotFoundFault:
        cluster = rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER_ID, Engine="aurora-postgresql", EngineVersion="17.4",
            DatabaseName="litellm", MasterUsername="litellm_admin", MasterUserPassword="estate-seed-password-1",
            StorageType="aurora-iopt1", StorageEncrypted=True, KmsKeyId=ids["kms"]["eu-west-2"]["key_arn"],
            BackupRetentionPeriod=7, PreferredBackupWindow="23:43-00:13", DeletionProtection=False,
            DBSubnetGroupName=SUBNET_GROUP, VpcSecurityGroupIds=[ids["db_security_group_id"]],
            ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4.0},
            EnableCloudwatchLogsExports=["postgresql", "instance", "iam-db-auth-error"],
            CopyTagsToSnapshot=False, Tags=TAGS)["DBCluster"]
        for instance_id, az in INSTANCES:
            rds.create_db_instance(DBInstanceIdentifier=instance_id, DBClusterIdentifier=CLUSTER_ID,
                                   Engine="aurora-postgresql", DBInstanceClass="db.serverless",
                                   AvailabilityZone=az, Tags=TAGS)
        # The cluster has existed for ten days, so the whole 7-day window is restorable.
        _control(endpoint, "backdate", {"kind": "db-cluster", "id": CLUSTER_ID, "seconds_ago": 10 * 86400})
        rds.create_db_cluster_snapshot(DBClusterIdentifier=CLUSTER_ID,
                                       DBClusterSnapshotIdentifier="dsit-litellm-rds-pg-prod-pre-upgrade",
                                       Tags=TAGS)
        _control(endpoint, "backdate", {"kind": "db-cluster-snapshot", "seconds_ago": 3 * 86400,
                                        "id": "dsit-litellm-rds-pg-prod-pre-upgrade"})
        _control(endpoint, "settle", {})
    ids["cluster_arn"] = cluster["DBClusterArn"]
    ids["cluster_endpoint"] = cluster["Endpoint"]
    snapshots = rds.describe_db_cluster_snapshots(DBClusterIdentifier=CLUSTER_ID)["DBClusterSnapshots"]
    ids["cluster_snapshots"] = {s["DBClusterSnapshotIdentifier"]: s["DBClusterSnapshotArn"] for s in snapshots}


def _ensure_load_balancer(endpoint: str, ids: dict) -> None:
    elb = _client(endpoint, "elbv2")
    acm = _client(endpoint, "acm")
    try:
        lb = elb.describe_load_balancers(Names=["dsit-llmlite-gateway-main-alb"])["LoadBalancers"][0]
    except elb.exceptions.LoadBalancerNotFoundException:
        lb = elb.create_load_balancer(Name="dsit-llmlite-gateway-main-alb", Scheme="internet-facing",
                                      Type="application", Tags=TAGS,
                                      Subnets=[ids["subnets"]["public-eu-west-2a"]["id"],
                                               ids["subnets"]["public-eu-west-2b"]["id"]])["LoadBalancers"][0]
    ids["alb_arn"] = lb["LoadBalancerArn"]
    ids["alb_dns_name"] = lb["DNSName"]

    group_arns = {}
    for name in ("dsit-litellm-tg-4000", "dsit-litellm-tg-4000-recovery"):
        try:
            group = elb.describe_target_groups(Names=[name])["TargetGroups"][0]
        except elb.exceptions.TargetGroupNotFoundException:
            group = elb.create_target_group(
                Name=name, Protocol="HTTP", Port=4000, VpcId=ids["vpc_id"], TargetType="ip",
                HealthCheckProtocol="HTTP", HealthCheckPath="/health/liveliness", HealthCheckPort="4000",
                HealthCheckIntervalSeconds=30, HealthCheckTimeoutSeconds=5, HealthyThresholdCount=5,
                UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"}, Tags=TAGS)["TargetGroups"][0]
        group_arns[name] = group["TargetGroupArn"]
    ids["target_group_arn"] = group_arns["dsit-litellm-tg-4000"]
    ids["recovery_target_group_arn"] = group_arns["dsit-litellm-tg-4000-recovery"]

    health = elb.describe_target_health(TargetGroupArn=ids["target_group_arn"])["TargetHealthDescriptions"]
    if not health:
        elb.register_targets(TargetGroupArn=ids["target_group_arn"], Targets=[{"Id": "10.1.3.128", "Port": 4000}])
        _control(endpoint, "targets-healthy", {"target_group_arn": ids["target_group_arn"]})

    listeners = elb.describe_listeners(LoadBalancerArn=ids["alb_arn"])["Listeners"]
    if listeners:
        ids["listener_arn"] = listeners[0]["ListenerArn"]
        ids["certificate_arn"] = listeners[0]["Certificates"][0]["CertificateArn"]
    else:
        cert, key = _self_signed_certificate()
        ids["certificate_arn"] = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
        ids["listener_arn"] = elb.create_listener(
            LoadBalancerArn=ids["alb_arn"], Protocol="HTTPS", Port=443, SslPolicy="ELBSecurityPolicy-2016-08",
            Certificates=[{"CertificateArn": ids["certificate_arn"]}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": ids["target_group_arn"]}])["Listeners"][0]["ListenerArn"]


def _ensure_buckets(endpoint: str, ids: dict) -> None:
    from . import tfstate

    buckets = {TFSTATE_BUCKET: "eu-west-2", "config-bucket-072136646002": "eu-west-2",
               "terraform-20260224132347096200000001": "eu-west-2", "softcat-finops-072136646002": "us-east-1"}
    for bucket, region in buckets.items():
        s3 = _client(endpoint, "s3", region)
        existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        if bucket in existing:
            continue
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        if bucket == TFSTATE_BUCKET:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                       "KMSMasterKeyID": ids["kms"]["eu-west-2"]["key_arn"]},
                "BucketKeyEnabled": True}]})
        else:
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

    s3 = _client(endpoint, "s3")
    versions = _state_versions(s3)
    if not versions:
        documents = tfstate.versions(ids)
        for age, document in zip(range(len(documents), 0, -1), documents):
            version_id = s3.put_object(Bucket=TFSTATE_BUCKET, Key=TFSTATE_KEY, Body=document,
                                       ContentType="application/json")["VersionId"]
            # One apply a day, the newest one day ago.
            _control(endpoint, "backdate", {"kind": "s3-object-version", "bucket": TFSTATE_BUCKET,
                                            "key": TFSTATE_KEY, "version_id": version_id,
                                            "seconds_ago": age * 86400})
        digest = hashlib.md5(documents[-1]).hexdigest()
        s3.put_object(Bucket=TFSTATE_BUCKET, Key=WORKSPACE_KEY, Body=tfstate.workspace_version(ids),
                      ContentType="application/json")
        _ensure_lock_table(endpoint, digest)
    versions = _state_versions(s3)
    ids["tfstate"] = {"bucket": TFSTATE_BUCKET, "key": TFSTATE_KEY, "workspace_key": WORKSPACE_KEY,
                      "lock_table": LOCK_TABLE,
                      "version_ids": [v["VersionId"] for v in sorted(versions, key=lambda v: v["LastModified"])]}


def _state_versions(s3) -> list[dict]:
    """Return the versions of exactly TFSTATE_KEY; the prefix also matches longer keys."""
    listed = s3.list_object_versions(Bucket=TFSTATE_BUCKET, Prefix=TFSTATE_KEY).get("Versions", [])
    return [v for v in listed if v["Key"] == TFSTATE_KEY]


def _ensure_lock_table(endpoint: str, digest: str) -> None:
    dynamodb = _client(endpoint, "dynamodb")
    if LOCK_TABLE not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(TableName=LOCK_TABLE, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    dynamodb.put_item(TableName=LOCK_TABLE, Item={"LockID": {"S": f"{TFSTATE_BUCKET}/{TFSTATE_KEY}-md5"},
                                                  "Digest": {"S": digest}})


def seed(endpoint: str) -> dict:
    """Create whatever part of the reference estate is missing and return its ids."""
    ids: dict = {"account_id": _client(endpoint, "sts").get_caller_identity()["Account"], "region": "eu-west-2"}
    ids["kms"] = {region: _ensure_kms(endpoint, region) for region in ("eu-west-2", "us-east-1")}
    _ensure_network(endpoint, ids)
    _ensure_database(endpoint, ids)
    _ensure_backup_network(endpoint, ids)
    _ensure_load_balancer(endpoint, ids)
    _ensure_buckets(endpoint, ids)
    return ids
