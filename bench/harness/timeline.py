"""What one run did, read from the emulator's request log: calls, waits, detection latency.

Every timed AWS operation (a restore, an instance creation, a snapshot copy,
a target registration, a delete) starts a status transition in the emulator
that ends a configured number of simulated seconds later. From the request
that started it, the log and the configuration give the moment the resource
became ready in real time:

    ready_at = request start + configured duration / time scale

The request start is the log's completion time minus the request's duration,
so `ready_at` can be early by at most that duration (a few milliseconds),
which makes the measured latencies upper bounds.

Two latencies are measured per wait, both in real seconds:

- seen: from `ready_at` to the run's first poll of that resource after it
  (a Describe call naming the resource, or an unfiltered Describe of its
  type in its region). This is the tool's polling delay.
- acted: from `ready_at` to the run's first dependent call after it that
  names the resource (or, after an instance deletion, its cluster):
  CreateDBInstance after a cluster restore, RestoreDBClusterFromSnapshot
  after a snapshot copy, DeleteDBCluster after an instance deletion,
  DeregisterTargets after a registration. Empty for the other waits, whose
  next dependent action is not an AWS call (the SQL checks after a writer
  becomes available) or does not exist.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Request:
    seq: int
    end: float  # epoch seconds, when the emulator finished the request
    start: float  # epoch seconds, end minus the request's duration
    region: str
    service: str
    operation: str
    params: dict
    mutating: bool
    status: int
    fault: str | None

    @property
    def succeeded(self) -> bool:
        return self.status < 400 and not self.fault

    def names(self, ids: set[str]) -> bool:
        """Returns whether a parameter value is one of `ids` or an ARN that ends in one of them."""
        for value in _flat_values(self.params):
            if value in ids or any(value.endswith(":" + resource_id) for resource_id in ids):
                return True
        return False


def _flat_values(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _flat_values(item)]
    if isinstance(value, list):
        return [text for item in value for text in _flat_values(item)]
    return [str(value)]


def parse(entries: list[dict]) -> list[Request]:
    requests = []
    for entry in entries:
        end = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
        requests.append(Request(
            seq=entry["seq"], end=end, start=end - entry["duration_ms"] / 1000.0,
            region=entry.get("region") or "", service=entry.get("service") or "",
            operation=entry.get("operation") or "", params=entry.get("params") or {},
            mutating=bool(entry.get("mutating")), status=int(entry.get("status") or 0), fault=entry.get("fault")))
    return sorted(requests, key=lambda request: request.seq)


def calls_by_operation(requests: list[Request]) -> Counter:
    return Counter(request.operation for request in requests)


# Parameters that select resources in Describe calls; a Describe without any
# of them lists every resource of its type in the region. Query protocol
# parameters arrive flattened, as in `Filters.Filter.1.Name`.
_IDENTIFYING_PARAMS = ("DBClusterIdentifier", "DBInstanceIdentifier", "DBClusterSnapshotIdentifier",
                       "TargetGroupArn", "Filters")


def _identifies(request: Request) -> bool:
    return any(key.split(".", 1)[0] in _IDENTIFYING_PARAMS for key in request.params)

# Timed operations: (what, parameter naming the resource, emulator duration name, polling operation).
# Copies pick their duration at run time; target registrations take their
# group's health-check settings.
_TIMED = {
    "RestoreDBClusterToPointInTime": ("cluster restore (point in time)", "DBClusterIdentifier",
                                      "cluster_restore_pitr", "DescribeDBClusters"),
    "RestoreDBClusterFromSnapshot": ("cluster restore (snapshot)", "DBClusterIdentifier",
                                     "cluster_restore_snapshot", "DescribeDBClusters"),
    "CreateDBCluster": ("cluster creation", "DBClusterIdentifier", "cluster_create", "DescribeDBClusters"),
    "ModifyDBCluster": ("cluster modification", "DBClusterIdentifier", "cluster_modify", "DescribeDBClusters"),
    "DeleteDBCluster": ("cluster deletion", "DBClusterIdentifier", "cluster_delete", "DescribeDBClusters"),
    "CreateDBInstance": ("instance creation", "DBInstanceIdentifier", "instance_create", "DescribeDBInstances"),
    "ModifyDBInstance": ("instance modification", "DBInstanceIdentifier", "instance_modify", "DescribeDBInstances"),
    "DeleteDBInstance": ("instance deletion", "DBInstanceIdentifier", "instance_delete", "DescribeDBInstances"),
    "CreateDBClusterSnapshot": ("snapshot creation", "DBClusterSnapshotIdentifier", "snapshot_create",
                                "DescribeDBClusterSnapshots"),
    "CopyDBClusterSnapshot": ("snapshot copy", "TargetDBClusterSnapshotIdentifier", None,
                              "DescribeDBClusterSnapshots"),
    "RegisterTargets": ("target registration", "TargetGroupArn", None, "DescribeTargetHealth"),
}


# The call that depends on each kind of wait, for the "acted" latency.
_DEPENDENT = {
    "RestoreDBClusterToPointInTime": "CreateDBInstance",
    "RestoreDBClusterFromSnapshot": "CreateDBInstance",
    "CreateDBCluster": "CreateDBInstance",
    "CopyDBClusterSnapshot": "RestoreDBClusterFromSnapshot",
    "CreateDBClusterSnapshot": "RestoreDBClusterFromSnapshot",
    "DeleteDBInstance": "DeleteDBCluster",
    "RegisterTargets": "DeregisterTargets",
}


@dataclass
class Wait:
    """One timed transition that the run started, and when the run noticed its end."""

    what: str
    resource: str
    region: str
    started: float  # epoch seconds
    simulated_seconds: float
    ready_at: float  # epoch seconds
    poll_operation: str
    dependent_operation: str | None = None
    related: set[str] = field(default_factory=set)
    seen_at: float | None = None
    acted_at: float | None = None

    @property
    def seen_latency(self) -> float | None:
        return None if self.seen_at is None else self.seen_at - self.ready_at

    @property
    def acted_latency(self) -> float | None:
        return None if self.acted_at is None else self.acted_at - self.ready_at


def _copy_duration_name(request: Request) -> str:
    source = str(request.params.get("SourceDBClusterSnapshotIdentifier", ""))
    # arn:aws:rds:REGION:ACCOUNT:cluster-snapshot:ID; a bare id is in the request's region.
    parts = source.split(":")
    source_region = parts[3] if source.startswith("arn:") and len(parts) > 3 else request.region
    return "snapshot_copy" if source_region == request.region else "snapshot_copy_cross_region"


def waits(requests: list[Request], durations: dict[str, float], scale: float,
          health_seconds: dict[str, float]) -> list[Wait]:
    """Lists the run's timed transitions with their detection times.

    `durations` are the emulator's configured durations in simulated seconds;
    `health_seconds` maps a target group ARN to its HealthCheckIntervalSeconds
    × HealthyThresholdCount.
    """
    instance_cluster: dict[str, str] = {}
    found: list[Wait] = []
    for request in requests:
        if request.operation == "CreateDBInstance" and request.succeeded:
            instance_cluster[str(request.params.get("DBInstanceIdentifier"))] = str(
                request.params.get("DBClusterIdentifier"))
        spec = _TIMED.get(request.operation)
        if spec is None or not request.succeeded:
            continue
        what, id_param, duration_name, poll_operation = spec
        resource = str(request.params.get(id_param, ""))
        if request.operation == "CopyDBClusterSnapshot":
            duration_name = _copy_duration_name(request)
            what = f"snapshot copy ({'cross-region' if duration_name.endswith('region') else 'same region'})"
        if request.operation == "RegisterTargets":
            simulated = health_seconds.get(resource, 0.0)
        else:
            simulated = durations[duration_name]
        related = {resource}
        if id_param == "DBInstanceIdentifier" and resource in instance_cluster:
            related.add(instance_cluster[resource])
        found.append(Wait(what=what, resource=resource, region=request.region, started=request.start,
                          simulated_seconds=simulated, ready_at=request.start + simulated / scale,
                          poll_operation=poll_operation,
                          dependent_operation=_DEPENDENT.get(request.operation), related=related))

    for wait in found:
        for request in requests:
            if request.start < wait.ready_at or request.region != wait.region:
                continue
            if wait.seen_at is None and request.operation == wait.poll_operation and (
                    request.names(wait.related) or not _identifies(request)):
                wait.seen_at = request.start
            if (wait.acted_at is None and request.operation == wait.dependent_operation
                    and request.names(wait.related)):
                wait.acted_at = request.start
            if wait.seen_at is not None and (wait.acted_at is not None or wait.dependent_operation is None):
                break
    return found
