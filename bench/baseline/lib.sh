# Shared helpers of the AWS CLI baseline runbooks; sourced, not run.
#
# The runbooks do by hand what drctl's playbooks do: the same AWS calls, the
# AWS CLI's own waiters, and the same LiteLLM checks through psql. They read:
#
#   AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...   the usual AWS CLI settings
#   RUN_ID        suffix of every resource name (default: the epoch seconds)
#   DB_USER       read-only database user (default drctl_verify)
#   PGPASSWORD    its password
#   CA_BUNDLE     PEM bundle that signs the cluster certificates
#   DB_VIA        optional host:port of a tunnel to the writers; TLS still
#                 verifies the certificate against the cluster endpoint name
#   BENCH_TRACE   optional file; each AWS CLI invocation appends one line
#                 "START END EXIT_CODE BRANCH SERVICE COMMAND" (epoch seconds;
#                 BRANCH is BENCH_BRANCH, set by the parallel runbooks, or main)

set -euo pipefail

RUN_ID="${RUN_ID:-$(date +%s)}"
DB_USER="${DB_USER:-drctl_verify}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/rds-global-bundle.pem}"
DB_VIA="${DB_VIA:-}"
PRIMARY_REGION="${PRIMARY_REGION:-eu-west-2}"
BACKUP_REGION="${BACKUP_REGION:-us-east-1}"
SOURCE_CLUSTER="${SOURCE_CLUSTER:-dsit-litellm-rds-pg-prod}"

log() {
    printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

# Runs the AWS CLI and, when BENCH_TRACE is set, records the invocation, so the
# benchmark can count CLI start-ups apart from AWS requests.
#
# AWS_ENDPOINT_URL is passed on as --endpoint-url, because AWS CLI 1.x
# replaces the endpoint of some services in us-east-1 (rds among them, in
# awscli/customizations/overridesslcommonname.py) unless the command line
# names one, and would then ignore the variable.
aws() {
    local started status=0 endpoint=()
    started="$(date +%s.%N)"
    if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
        endpoint=(--endpoint-url "$AWS_ENDPOINT_URL")
    fi
    command aws "${endpoint[@]}" "$@" || status=$?
    if [[ -n "${BENCH_TRACE:-}" ]]; then
        printf '%s %s %s %s %s %s\n' "$started" "$(date +%s.%N)" "$status" "${BENCH_BRANCH:-main}" \
            "${1:-}" "${2:-}" >>"$BENCH_TRACE"
    fi
    return "$status"
}

# Prints the writer endpoint of a cluster.
cluster_endpoint() {
    local region="$1" cluster="$2"
    aws rds describe-db-clusters --region "$region" --db-cluster-identifier "$cluster" \
        --query 'DBClusters[0].Endpoint' --output text
}

# Runs the LiteLLM restore checks on a restored writer and prints the RPO.
# Arguments: endpoint, reference time (epoch seconds), RPO target (seconds).
# The checks: the four tables exist, keys, users and teams are present, and
# the spend logs have rows. A failed check fails the runbook. An RPO (the
# reference time minus the newest spend log row) above the target is reported.
litellm_checks() {
    local endpoint="$1" reference="$2" rpo_target="$3"
    local hostaddr="" port=5432
    if [[ -n "$DB_VIA" ]]; then
        hostaddr="hostaddr=${DB_VIA%:*}"
        port="${DB_VIA##*:}"
    fi
    local dsn="host=$endpoint $hostaddr port=$port dbname=litellm user=$DB_USER sslmode=verify-full sslrootcert=$CA_BUNDLE connect_timeout=10"
    local result
    result="$(psql "$dsn" -X -v ON_ERROR_STOP=1 -At -F ' ' <<'SQL'
SELECT (to_regclass('"LiteLLM_VerificationToken"') IS NOT NULL)::int,
       (to_regclass('"LiteLLM_UserTable"') IS NOT NULL)::int,
       (to_regclass('"LiteLLM_TeamTable"') IS NOT NULL)::int,
       (to_regclass('"LiteLLM_SpendLogs"') IS NOT NULL)::int;
SELECT (SELECT count(*) FROM "LiteLLM_VerificationToken"),
       (SELECT count(*) FROM "LiteLLM_UserTable"),
       (SELECT count(*) FROM "LiteLLM_TeamTable");
SELECT extract(epoch FROM max("startTime"))::bigint FROM "LiteLLM_SpendLogs";
SQL
)"
    local tables counts newest
    tables="$(sed -n 1p <<<"$result")"
    counts="$(sed -n 2p <<<"$result")"
    newest="$(sed -n 3p <<<"$result")"
    if [[ "$tables" != "1 1 1 1" ]]; then
        log "FAILED: a LiteLLM table is missing on $endpoint (found: $tables)"
        return 1
    fi
    local count
    for count in $counts; do
        if (( count == 0 )); then
            log "FAILED: tokens, users or teams are empty on $endpoint (counts: $counts)"
            return 1
        fi
    done
    if [[ -z "$newest" ]]; then
        log "FAILED: LiteLLM_SpendLogs has no rows on $endpoint"
        return 1
    fi
    local rpo=$(( reference - newest ))
    if (( rpo > rpo_target )); then
        log "WARNING: RPO on $endpoint is ${rpo} s, above the ${rpo_target} s target"
    else
        log "checks passed on $endpoint; RPO ${rpo} s (target ${rpo_target} s)"
    fi
}
