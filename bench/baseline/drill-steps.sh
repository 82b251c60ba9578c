# Steps of the quarterly restore drill with the AWS CLI; sourced by
# quarterly-drill.sh (one step after another) and quarterly-drill-parallel.sh
# (the two regions' branches at once). The same work as
# playbooks/quarterly-restore-drill.yaml.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BACKUP_SUBNET_GROUP="${BACKUP_SUBNET_GROUP:-dsit-litellm-rds-pg-subnetgrp-use1}"
BACKUP_SECURITY_GROUP="${BACKUP_SECURITY_GROUP:-sg-0dr0backup0000001}"
BACKUP_KMS_KEY="${BACKUP_KMS_KEY:-alias/dsit-litellm-rds}"
SUBNET_GROUP="${SUBNET_GROUP:-dsit-litellm-rds-pg-subnetgrp}"

PRIMARY_CLUSTER="drill-$RUN_ID"
PRIMARY_WRITER="drill-$RUN_ID-writer"
BACKUP_CLUSTER="drill-$RUN_ID-use1"
BACKUP_WRITER="drill-$RUN_ID-use1-writer"
BACKUP_SNAPSHOT="drill-$RUN_ID-copy"
TAGS="Key=Purpose,Value=quarterly-restore-drill Key=RunId,Value=$RUN_ID"

# The reference time of the RPO: when the drill started, as drctl's default.
REFERENCE_TIME="$(date +%s)"

# Point-in-time restore of production to its latest restorable time, a
# db.serverless writer, and the LiteLLM checks (15-minute RPO target).
primary_branch() {
    log "describing $SOURCE_CLUSTER"
    local security_groups
    security_groups="$(aws rds describe-db-clusters --region "$PRIMARY_REGION" \
        --db-cluster-identifier "$SOURCE_CLUSTER" \
        --query 'DBClusters[0].VpcSecurityGroups[].VpcSecurityGroupId' --output text)"

    log "restoring $SOURCE_CLUSTER to its latest restorable time as $PRIMARY_CLUSTER"
    # shellcheck disable=SC2086  # word splitting of the lists is intended
    aws rds restore-db-cluster-to-point-in-time --region "$PRIMARY_REGION" \
        --source-db-cluster-identifier "$SOURCE_CLUSTER" \
        --db-cluster-identifier "$PRIMARY_CLUSTER" \
        --use-latest-restorable-time --restore-type full-copy \
        --db-subnet-group-name "$SUBNET_GROUP" \
        --vpc-security-group-ids $security_groups \
        --serverless-v2-scaling-configuration MinCapacity=0.5,MaxCapacity=4 \
        --storage-type aurora-iopt1 --no-deletion-protection \
        --tags $TAGS >/dev/null
    aws rds wait db-cluster-available --region "$PRIMARY_REGION" --db-cluster-identifier "$PRIMARY_CLUSTER"

    log "creating the writer $PRIMARY_WRITER"
    # shellcheck disable=SC2086
    aws rds create-db-instance --region "$PRIMARY_REGION" \
        --db-instance-identifier "$PRIMARY_WRITER" --db-cluster-identifier "$PRIMARY_CLUSTER" \
        --engine aurora-postgresql --db-instance-class db.serverless \
        --availability-zone "${PRIMARY_REGION}a" --tags $TAGS >/dev/null
    aws rds wait db-instance-available --region "$PRIMARY_REGION" --db-instance-identifier "$PRIMARY_WRITER"

    log "checking the restored data in $PRIMARY_REGION"
    litellm_checks "$(cluster_endpoint "$PRIMARY_REGION" "$PRIMARY_CLUSTER")" "$REFERENCE_TIME" 900
}

# Copy of the newest snapshot to the backup region under its own key, a
# restore and writer there, and the LiteLLM checks (24-hour RPO target,
# because the backup region restores from the daily snapshot).
backup_branch() {
    log "finding the newest snapshot of $SOURCE_CLUSTER"
    local snapshot_arn
    snapshot_arn="$(aws rds describe-db-cluster-snapshots --region "$PRIMARY_REGION" \
        --db-cluster-identifier "$SOURCE_CLUSTER" \
        --query 'reverse(sort_by(DBClusterSnapshots[?Status==`available`], &SnapshotCreateTime))[0].DBClusterSnapshotArn' \
        --output text)"

    log "copying $snapshot_arn to $BACKUP_REGION as $BACKUP_SNAPSHOT"
    # shellcheck disable=SC2086
    aws rds copy-db-cluster-snapshot --region "$BACKUP_REGION" --source-region "$PRIMARY_REGION" \
        --source-db-cluster-snapshot-identifier "$snapshot_arn" \
        --target-db-cluster-snapshot-identifier "$BACKUP_SNAPSHOT" \
        --kms-key-id "$BACKUP_KMS_KEY" --tags $TAGS >/dev/null
    aws rds wait db-cluster-snapshot-available --region "$BACKUP_REGION" \
        --db-cluster-snapshot-identifier "$BACKUP_SNAPSHOT"

    log "restoring $BACKUP_SNAPSHOT as $BACKUP_CLUSTER"
    # shellcheck disable=SC2086
    aws rds restore-db-cluster-from-snapshot --region "$BACKUP_REGION" \
        --db-cluster-identifier "$BACKUP_CLUSTER" --snapshot-identifier "$BACKUP_SNAPSHOT" \
        --engine aurora-postgresql \
        --db-subnet-group-name "$BACKUP_SUBNET_GROUP" \
        --vpc-security-group-ids "$BACKUP_SECURITY_GROUP" --kms-key-id "$BACKUP_KMS_KEY" \
        --serverless-v2-scaling-configuration MinCapacity=0.5,MaxCapacity=4 \
        --storage-type aurora-iopt1 --no-deletion-protection \
        --tags $TAGS >/dev/null
    aws rds wait db-cluster-available --region "$BACKUP_REGION" --db-cluster-identifier "$BACKUP_CLUSTER"

    log "creating the writer $BACKUP_WRITER"
    # shellcheck disable=SC2086
    aws rds create-db-instance --region "$BACKUP_REGION" \
        --db-instance-identifier "$BACKUP_WRITER" --db-cluster-identifier "$BACKUP_CLUSTER" \
        --engine aurora-postgresql --db-instance-class db.serverless \
        --availability-zone "${BACKUP_REGION}a" --tags $TAGS >/dev/null
    aws rds wait db-instance-available --region "$BACKUP_REGION" --db-instance-identifier "$BACKUP_WRITER"

    log "checking the restored data in $BACKUP_REGION"
    litellm_checks "$(cluster_endpoint "$BACKUP_REGION" "$BACKUP_CLUSTER")" "$REFERENCE_TIME" 86400
}

# Deletes a writer and then its cluster, waiting for each. A delete of
# something that does not exist (a step that never ran) fails and is logged;
# the waiter then returns at once, because "not found" is what it waits for.
delete_restore() {
    local region="$1" cluster="$2" writer="$3"
    log "deleting $writer"
    aws rds delete-db-instance --region "$region" --db-instance-identifier "$writer" \
        --skip-final-snapshot >/dev/null || log "could not delete $writer; see the error above"
    aws rds wait db-instance-deleted --region "$region" --db-instance-identifier "$writer"
    log "deleting $cluster"
    aws rds delete-db-cluster --region "$region" --db-cluster-identifier "$cluster" \
        --skip-final-snapshot >/dev/null || log "could not delete $cluster; see the error above"
    aws rds wait db-cluster-deleted --region "$region" --db-cluster-identifier "$cluster"
}

delete_backup_snapshot() {
    log "deleting $BACKUP_SNAPSHOT"
    aws rds delete-db-cluster-snapshot --region "$BACKUP_REGION" \
        --db-cluster-snapshot-identifier "$BACKUP_SNAPSHOT" >/dev/null \
        || log "could not delete $BACKUP_SNAPSHOT; see the error above"
}
