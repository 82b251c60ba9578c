#!/usr/bin/env bash
# Incident recovery with the AWS CLI, one step after another, as such
# runbooks are usually written: restore to just before the incident, create
# the writer, then the reader, check the data, and move the gateway's target
# group to the recovered application target. Settings: see lib.sh and
# incident-steps.sh.

# shellcheck source=incident-steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/incident-steps.sh"

restore_cluster
create_instance "$WRITER" "${PRIMARY_REGION}a"
wait_instance "$WRITER"
create_instance "$READER" "${PRIMARY_REGION}b"
wait_instance "$READER"
verify
cutover
log "recovered into $RECOVERED_CLUSTER"
