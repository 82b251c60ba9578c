#!/usr/bin/env bash
# Quarterly restore drill with the AWS CLI, with the two regions' branches
# started at once (`&` and `wait`) and cleaned up at once: the same steps and
# waiters as quarterly-drill.sh, so comparing the two shows what parallelism
# alone gains. Settings: see lib.sh and drill-steps.sh.

# shellcheck source=drill-steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/drill-steps.sh"

cleanup() {
    local status=$?
    trap - EXIT
    set +e
    BENCH_BRANCH=primary-cleanup delete_restore "$PRIMARY_REGION" "$PRIMARY_CLUSTER" "$PRIMARY_WRITER" &
    local primary=$!
    {
        export BENCH_BRANCH=backup-cleanup
        delete_restore "$BACKUP_REGION" "$BACKUP_CLUSTER" "$BACKUP_WRITER"
        delete_backup_snapshot
    } &
    local backup=$!
    wait "$primary"
    wait "$backup"
    log "drill finished with exit code $status"
    exit "$status"
}
trap cleanup EXIT

BENCH_BRANCH=primary primary_branch &
primary=$!
BENCH_BRANCH=backup backup_branch &
backup=$!
failed=0
wait "$primary" || { log "FAILED: the $PRIMARY_REGION branch"; failed=1; }
wait "$backup" || { log "FAILED: the $BACKUP_REGION branch"; failed=1; }
exit "$failed"
