#!/usr/bin/env bash
# Incident recovery with the AWS CLI, with the writer and the reader created
# at once and waited for in parallel (`&` and `wait`); otherwise the same
# steps and waiters as incident-recovery.sh. Settings: see lib.sh and
# incident-steps.sh.

# shellcheck source=incident-steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/incident-steps.sh"

restore_cluster
create_instance "$WRITER" "${PRIMARY_REGION}a"
create_instance "$READER" "${PRIMARY_REGION}b"
BENCH_BRANCH=writer wait_instance "$WRITER" &
writer=$!
BENCH_BRANCH=reader wait_instance "$READER" &
reader=$!
wait "$writer"
wait "$reader"
verify
cutover
log "recovered into $RECOVERED_CLUSTER"
