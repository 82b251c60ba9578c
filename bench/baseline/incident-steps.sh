# Steps of the incident recovery with the AWS CLI; sourced by
# incident-recovery.sh and incident-recovery-parallel.sh. The same work as
# playbooks/incident-recovery.yaml. Besides lib.sh's settings:
#
#   INCIDENT_START   when the damage happened (RFC 3339, UTC); required
#   APP_TARGET_IP    private IP of the recovered application task (default 10.1.2.50)

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${INCIDENT_START:?set INCIDENT_START to the incident time, e.g. 2026-12-04T09:30:00Z}"
APP_TARGET_IP="${APP_TARGET_IP:-10.1.2.50}"
APP_TARGET_PORT="${APP_TARGET_PORT:-4000}"
TARGET_GROUP="${TARGET_GROUP:-dsit-litellm-tg-4000}"
SUBNET_GROUP="${SUBNET_GROUP:-dsit-litellm-rds-pg-subnetgrp}"
RESTORE_MARGIN_SECONDS="${RESTORE_MARGIN_SECONDS:-60}"

RECOVERED_CLUSTER="recovered-$RUN_ID"
WRITER="recovered-$RUN_ID-1"
READER="recovered-$RUN_ID-2"
TAGS="Key=Purpose,Value=incident-recovery Key=RunId,Value=$RUN_ID"

INCIDENT_EPOCH="$(date -u -d "$INCIDENT_START" +%s)"
RESTORE_TO="$(date -u -d "@$(( INCIDENT_EPOCH - RESTORE_MARGIN_SECONDS ))" +%Y-%m-%dT%H:%M:%SZ)"

# Restores production to just before the incident into a new cluster.
restore_cluster() {
    log "describing $SOURCE_CLUSTER"
    local security_groups
    security_groups="$(aws rds describe-db-clusters --region "$PRIMARY_REGION" \
        --db-cluster-identifier "$SOURCE_CLUSTER" \
        --query 'DBClusters[0].VpcSecurityGroups[].VpcSecurityGroupId' --output text)"

    log "restoring $SOURCE_CLUSTER to $RESTORE_TO as $RECOVERED_CLUSTER"
    # shellcheck disable=SC2086  # word splitting of the lists is intended
    aws rds restore-db-cluster-to-point-in-time --region "$PRIMARY_REGION" \
        --source-db-cluster-identifier "$SOURCE_CLUSTER" \
        --db-cluster-identifier "$RECOVERED_CLUSTER" \
        --restore-to-time "$RESTORE_TO" --restore-type full-copy \
        --db-subnet-group-name "$SUBNET_GROUP" \
        --vpc-security-group-ids $security_groups \
        --serverless-v2-scaling-configuration MinCapacity=0.5,MaxCapacity=4 \
        --storage-type aurora-iopt1 --deletion-protection \
        --tags $TAGS >/dev/null
    aws rds wait db-cluster-available --region "$PRIMARY_REGION" --db-cluster-identifier "$RECOVERED_CLUSTER"
}

# Starts the creation of one db.serverless instance of the recovered cluster.
create_instance() {
    local id="$1" zone="$2"
    log "creating $id in $zone"
    # shellcheck disable=SC2086
    aws rds create-db-instance --region "$PRIMARY_REGION" \
        --db-instance-identifier "$id" --db-cluster-identifier "$RECOVERED_CLUSTER" \
        --engine aurora-postgresql --db-instance-class db.serverless \
        --availability-zone "$zone" --tags $TAGS >/dev/null
}

wait_instance() {
    aws rds wait db-instance-available --region "$PRIMARY_REGION" --db-instance-identifier "$1"
}

verify() {
    log "checking the recovered data"
    litellm_checks "$(cluster_endpoint "$PRIMARY_REGION" "$RECOVERED_CLUSTER")" "$INCIDENT_EPOCH" 900
}

# Registers the recovered application target, waits until it is in service,
# then deregisters the old targets, which drain for 60 s. If the new target
# never becomes healthy, it is deregistered again and the old ones stay.
cutover() {
    local group old
    group="$(aws elbv2 describe-target-groups --region "$PRIMARY_REGION" --names "$TARGET_GROUP" \
        --query 'TargetGroups[0].TargetGroupArn' --output text)"
    old="$(aws elbv2 describe-target-health --region "$PRIMARY_REGION" --target-group-arn "$group" \
        --query "TargetHealthDescriptions[?Target.Id!='$APP_TARGET_IP'].[Target.Id,Target.Port]" --output text)"

    log "setting the deregistration delay of $TARGET_GROUP to 60 s"
    aws elbv2 modify-target-group-attributes --region "$PRIMARY_REGION" --target-group-arn "$group" \
        --attributes Key=deregistration_delay.timeout_seconds,Value=60 >/dev/null

    log "registering $APP_TARGET_IP:$APP_TARGET_PORT"
    aws elbv2 register-targets --region "$PRIMARY_REGION" --target-group-arn "$group" \
        --targets "Id=$APP_TARGET_IP,Port=$APP_TARGET_PORT"
    if ! aws elbv2 wait target-in-service --region "$PRIMARY_REGION" --target-group-arn "$group" \
        --targets "Id=$APP_TARGET_IP,Port=$APP_TARGET_PORT"; then
        log "FAILED: $APP_TARGET_IP never became healthy; deregistering it, the old targets stay"
        aws elbv2 deregister-targets --region "$PRIMARY_REGION" --target-group-arn "$group" \
            --targets "Id=$APP_TARGET_IP,Port=$APP_TARGET_PORT"
        return 1
    fi

    local targets=() id port
    while read -r id port; do
        [[ -n "$id" ]] && targets+=("Id=$id,Port=$port")
    done <<<"$old"
    if (( ${#targets[@]} > 0 )); then
        log "deregistering the old targets: ${targets[*]}"
        aws elbv2 deregister-targets --region "$PRIMARY_REGION" --target-group-arn "$group" \
            --targets "${targets[@]}"
    fi
}
