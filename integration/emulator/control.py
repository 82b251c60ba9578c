"""The control API under /_estate/ on the emulator's own port (JSON in and out).

GET  /_estate/health                       readiness probe
GET  /_estate/config, POST /_estate/config read or partly update the configuration
GET  /_estate/faults, POST /_estate/faults list or add fault rules
DELETE /_estate/faults[?access_key=AKID]   clear all rules, or one access key's
GET  /_estate/requests?since=SEQ&access_key=AKID   read the request log
POST /_estate/reset                        reset moto, configuration, faults and log
POST /_estate/settle                       finish every running status transition now
POST /_estate/backdate                     move creation times into the past (seeding)
POST /_estate/targets-healthy              mark a target group's current targets healthy
"""

import json
import os
from datetime import timedelta
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID as MOTO_DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.elbv2.models import elbv2_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends

from . import clock, elbv2_health
from .faults import RULES
from .rds_fixes import endpoint_suffix
from .request_log import LOG

# moto's request handlers use MOTO_ACCOUNT_ID when set, so the control API does too.
DEFAULT_ACCOUNT_ID = os.environ.get("MOTO_ACCOUNT_ID", MOTO_DEFAULT_ACCOUNT_ID)

# The regions whose RDS endpoint suffixes the test certificate covers.
ESTATE_REGIONS = ("eu-west-2", "us-east-1")

# Time scale restored by /_estate/reset; the launcher sets it from --time-scale.
STARTUP = {"time_scale": 1.0}


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _config_json() -> dict:
    body = clock.CONFIG.to_json()
    body["rds_endpoint_suffixes"] = {r: endpoint_suffix(r) for r in ESTATE_REGIONS}
    body["account_id"] = DEFAULT_ACCOUNT_ID
    return body


def _backdate(body: dict) -> dict:
    kind = body.get("kind")
    region = body.get("region", "eu-west-2")
    seconds = body.get("seconds_ago")
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise ControlError(400, f"backdate needs seconds_ago as a non-negative number, got {seconds!r}")
    when = utcnow() - timedelta(seconds=seconds)
    if kind == "db-cluster":
        cluster = rds_backends[DEFAULT_ACCOUNT_ID][region].clusters.get(body.get("id"))
        if cluster is None:
            raise ControlError(404, f"DB cluster {body.get('id')!r} not found in {region}")
        cluster.created = cluster.cluster_create_time = when
    elif kind == "db-cluster-snapshot":
        snapshot = rds_backends[DEFAULT_ACCOUNT_ID][region].cluster_snapshots.get(body.get("id"))
        if snapshot is None:
            raise ControlError(404, f"DB cluster snapshot {body.get('id')!r} not found in {region}")
        snapshot.created = when
    elif kind == "s3-object-version":
        bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(body.get("bucket"))
        versions = bucket.keys.getlist(body.get("key"), [])
        matching = [v for v in versions if v.version_id == body.get("version_id")]
        if not matching:
            raise ControlError(404, f"version {body.get('version_id')!r} of s3://{body.get('bucket')}/"
                                    f"{body.get('key')} not found")
        matching[0].last_modified = when
    else:
        raise ControlError(400, f"backdate kind {kind!r} is invalid; expected db-cluster, "
                                "db-cluster-snapshot or s3-object-version")
    return {"kind": kind, "time": when.isoformat() + "Z"}


def _targets_healthy(body: dict) -> dict:
    region = body.get("region", "eu-west-2")
    arn = body.get("target_group_arn")
    target_group = elbv2_backends[DEFAULT_ACCOUNT_ID][region].target_groups.get(arn)
    if target_group is None:
        raise ControlError(404, f"target group {arn!r} not found in {region}")
    elbv2_health.seed_registered_healthy(target_group)
    return {"targets": sorted(target_group.targets)}


def _reset() -> dict:
    from moto.moto_api._internal import models as moto_api

    moto_api.moto_api_backend.reset()
    clock.CONFIG.reset(STARTUP["time_scale"])
    clock.TRANSITIONS.clear()
    RULES.clear()
    LOG.clear()
    return {"reset": True}


def _dispatch(method: str, path: str, query: dict, body: dict) -> object:
    route = path[len("/_estate/"):].strip("/")
    if route == "health" and method == "GET":
        return {"ok": True, "sim_now": clock.CONFIG.sim_now()}
    if route == "config":
        if method == "POST":
            try:
                clock.CONFIG.update(body)
            except ValueError as error:
                raise ControlError(400, str(error))
        return _config_json()
    if route == "faults":
        if method == "POST":
            try:
                return RULES.add(body).to_json()
            except ValueError as error:
                raise ControlError(400, str(error))
        if method == "DELETE":
            return {"removed": RULES.clear(query.get("access_key"))}
        return RULES.list()
    if route == "requests" and method == "GET":
        try:
            since = int(query.get("since", "0"))
        except ValueError:
            raise ControlError(400, f"since must be an integer sequence number, got {query.get('since')!r}")
        return {"last_seq": LOG.last_seq(), "requests": LOG.read(since, query.get("access_key"))}
    if route == "reset" and method == "POST":
        return _reset()
    if route == "settle" and method == "POST":
        return {"settled": clock.settle_all()}
    if route == "backdate" and method == "POST":
        return _backdate(body)
    if route == "targets-healthy" and method == "POST":
        return _targets_healthy(body)
    raise ControlError(404, f"no control route {method} {path}; see integration/README.md for the routes")


def handle(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    status, payload = 200, None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as error:
            raise ControlError(400, f"request body is not valid JSON: {error}")
        if not isinstance(body, dict):
            raise ControlError(400, "request body must be a JSON object")
        payload = _dispatch(method, path, query, body)
    except ControlError as error:
        status, payload = error.status, {"error": str(error)}
    data = json.dumps(payload, default=str).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
