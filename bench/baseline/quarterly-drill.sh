#!/usr/bin/env bash
# Quarterly restore drill with the AWS CLI, one step after another, as such
# runbooks are usually written: restore in eu-west-2 and check it, then copy
# the newest snapshot to us-east-1, restore and check it there, and delete
# everything the drill created on the way out, whatever happened before.
# Settings: see lib.sh and drill-steps.sh.

# shellcheck source=drill-steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/drill-steps.sh"

cleanup() {
    local status=$?
    trap - EXIT
    set +e
    delete_restore "$PRIMARY_REGION" "$PRIMARY_CLUSTER" "$PRIMARY_WRITER"
    delete_restore "$BACKUP_REGION" "$BACKUP_CLUSTER" "$BACKUP_WRITER"
    delete_backup_snapshot
    log "drill finished with exit code $status"
    exit "$status"
}
trap cleanup EXIT

primary_branch
backup_branch
