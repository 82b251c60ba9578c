"""Fixes for moto 5.2.5 RDS behaviour that would let tests pass where AWS fails.

Each fix restores one documented AWS behaviour; integration/README.md lists
them. They are installed before `rds_timing`, which wraps the fixed methods.
"""

import copy
import hashlib
from datetime import datetime, timedelta, timezone

from moto.core.utils import utcnow
from moto.rds import models as rds
from moto.rds.exceptions import RDSClientError

from .clock import CONFIG


def endpoint_suffix(region: str) -> str:
    """Return the fixed 12-character endpoint suffix of a region, like AWS's per-account one."""
    return hashlib.sha256(f"drctl-estate:{region}".encode()).hexdigest()[:12]


class DBClusterAlreadyExistsFault(RDSClientError):
    def __init__(self) -> None:
        super().__init__("DBClusterAlreadyExistsFault", "DB Cluster already exists")


class InvalidRestoreFault(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidRestoreFault", message)


def _naive_utc(value) -> datetime:
    """Convert a request timestamp (datetime or ISO 8601 text) to naive UTC like moto's clock."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def latest_restorable_time(cluster) -> datetime:
    lag_real = CONFIG.sim_to_real(CONFIG.restorable_lag_seconds)
    return utcnow() - timedelta(seconds=lag_real)


def earliest_restorable_time(cluster) -> datetime:
    retention_days = cluster.backup_retention_period or 1
    floor = utcnow() - timedelta(days=int(retention_days))
    return max(cluster.created, floor)


def snapshot_name(identifier: str, region: str) -> str:
    """Return the identifier inside a cluster snapshot ARN of `region`, else `identifier` unchanged."""
    parts = identifier.split(":", 6)
    if len(parts) == 7 and parts[0] == "arn" and parts[2] == "rds" and parts[3] == region \
            and parts[5] == "cluster-snapshot":
        return parts[6]
    return identifier


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def install() -> None:
    # aurora-iopt1 (and aurora) storage made moto's allocated-storage table raise
    # KeyError, which the server turned into HTTP 500. Aurora reports 1 there.
    original_default_storage = rds.DBCluster.default_allocated_storage

    def default_allocated_storage(engine, storage_type):
        if engine.startswith("aurora") or storage_type.startswith("aurora"):
            return 1
        return original_default_storage(engine, storage_type)

    rds.DBCluster.default_allocated_storage = staticmethod(default_allocated_storage)

    # Aurora instances report the cluster's storage type (aurora or aurora-iopt1).
    def instance_storage_type(self):
        cluster_type = getattr(self.cluster, "storage_type", None) or "aurora"
        return cluster_type if cluster_type.startswith("aurora") else "aurora"

    rds.DBInstanceClustered.storage_type = property(
        instance_storage_type, rds.DBInstanceClustered.storage_type.fset)

    # Endpoints follow AWS's pattern with a fixed suffix per region, so that the
    # test TLS certificate can name them.
    rds.DBCluster.endpoint = property(
        lambda self: f"{self.db_cluster_identifier}.cluster-{endpoint_suffix(self.region)}.{self.region}.rds.amazonaws.com")
    rds.DBCluster.reader_endpoint = property(
        lambda self: f"{self.db_cluster_identifier}.cluster-ro-{endpoint_suffix(self.region)}.{self.region}.rds.amazonaws.com")
    rds.DBInstance.address = property(
        lambda self: f"{self.db_instance_identifier}.{endpoint_suffix(self.region)}.{self.region}.rds.amazonaws.com")

    # The restorable window: LatestRestorableTime trails now by the configured lag,
    # EarliestRestorableTime is the creation time clamped to the retention period.
    rds.DBCluster.latest_restorable_time = property(latest_restorable_time)
    rds.DBCluster.earliest_restorable_time = property(earliest_restorable_time, lambda self, value: None)

    # moto names a new cluster's automated snapshot rds:<id>-<minute>, so re-creating
    # an identifier within the same minute (say after a delete) failed with
    # DBClusterSnapshotAlreadyExistsFault. AWS has no such collision.
    original_save_backup = rds.DBCluster.save_automated_backup

    def save_automated_backup(self):
        snapshot_id = f"rds:{self.db_cluster_identifier}-{utcnow().strftime('%Y-%m-%d-%H-%M')}"
        if snapshot_id not in self.backend.cluster_snapshots:
            original_save_backup(self)

    rds.DBCluster.save_automated_backup = save_automated_backup

    backend = rds.RDSBackend

    original_create_cluster = backend.create_db_cluster

    def create_db_cluster(self, kwargs):
        cluster_id = str(kwargs["db_cluster_identifier"]).lower()
        if cluster_id in self.clusters:
            raise DBClusterAlreadyExistsFault()
        return original_create_cluster(self, kwargs)

    backend.create_db_cluster = create_db_cluster

    original_pitr = backend.restore_db_cluster_to_point_in_time

    def restore_db_cluster_to_point_in_time(self, db_cluster_identifier, source_db_cluster_identifier,
                                            restore_type="full-copy", restore_to_time=None,
                                            use_latest_restorable_time=False, **overrides):
        if str(db_cluster_identifier).lower() in self.clusters:
            raise DBClusterAlreadyExistsFault()
        source = self.describe_db_clusters(db_cluster_identifier=source_db_cluster_identifier)[0]
        if restore_to_time is not None:
            requested = _naive_utc(restore_to_time)
            earliest = earliest_restorable_time(source)
            latest = latest_restorable_time(source)
            if not earliest <= requested <= latest:
                raise InvalidRestoreFault(
                    f"Restore time {_iso(requested)} is outside the restorable window of DB cluster "
                    f"{source.db_cluster_identifier}: {_iso(earliest)} to {_iso(latest)}.")
        # AWS does not carry deletion protection over from the source cluster.
        overrides.setdefault("deletion_protection", False)
        return original_pitr(self, db_cluster_identifier, source_db_cluster_identifier, restore_type,
                             restore_to_time, use_latest_restorable_time, **overrides)

    backend.restore_db_cluster_to_point_in_time = restore_db_cluster_to_point_in_time

    # moto copied only truthy overrides, so DeletionProtection=false (and other
    # false or zero values) on a restore were dropped in favour of the snapshot's.
    def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
        from_snapshot_id = snapshot_name(from_snapshot_id, self.region_name)
        snapshot = self.describe_db_cluster_snapshots(
            db_cluster_identifier=None, db_snapshot_identifier=from_snapshot_id)[0]
        new_cluster_props = copy.copy(snapshot.cluster.get_cfg())
        # AWS does not carry deletion protection over from the snapshot's cluster.
        new_cluster_props["deletion_protection"] = False
        for key, value in overrides.items():
            if value is not None:
                new_cluster_props[key] = value
        return self.create_db_cluster(new_cluster_props)

    backend.restore_db_cluster_from_snapshot = restore_db_cluster_from_snapshot

    # AWS accepts a snapshot's ARN wherever it accepts its identifier; moto
    # matched identifiers only and answered DBClusterSnapshotNotFoundFault.
    original_describe_snapshots = backend.describe_db_cluster_snapshots

    def describe_db_cluster_snapshots(self, db_cluster_identifier, db_snapshot_identifier, *args, **kwargs):
        if db_snapshot_identifier:
            db_snapshot_identifier = snapshot_name(db_snapshot_identifier, self.region_name)
        return original_describe_snapshots(self, db_cluster_identifier, db_snapshot_identifier, *args, **kwargs)

    backend.describe_db_cluster_snapshots = describe_db_cluster_snapshots

    # An encrypted snapshot copied from another region must name a KMS key of the
    # destination region, because a single-region KMS key works only in its own region.
    original_copy = backend.copy_db_cluster_snapshot

    def copy_db_cluster_snapshot(self, source_db_cluster_snapshot_identifier,
                                 target_db_cluster_snapshot_identifier, kms_key_id=None, **kwargs):
        source = self.get_db_cluster_snapshot(source_db_cluster_snapshot_identifier)
        cross_region = source.region != self.region_name
        if cross_region and source.encrypted and not kms_key_id:
            raise RDSClientError(
                "InvalidParameterValue",
                f"Source snapshot {source_db_cluster_snapshot_identifier} is encrypted, so a copy to "
                f"{self.region_name} requires KmsKeyId naming a KMS key in {self.region_name}.")
        snapshot = original_copy(self, source_db_cluster_snapshot_identifier,
                                 target_db_cluster_snapshot_identifier, kms_key_id=kms_key_id, **kwargs)
        from .rds_timing import start_transition
        start_transition(snapshot, "creating", "available",
                         "snapshot_copy_cross_region" if cross_region else "snapshot_copy")
        return snapshot

    backend.copy_db_cluster_snapshot = copy_db_cluster_snapshot


__all__ = ["endpoint_suffix", "install"]
