"""RDS statuses that change over simulated time.

moto makes every cluster, instance and snapshot `available` at once (a new
cluster reports `creating` exactly once). Here each create, restore, modify,
copy and delete starts a `Transition`, and the `status` attributes that moto's
serializer reads become properties computed from it. A deleted cluster or
instance stays in the backend as `deleting` until its transition ends; it is
then removed, so DescribeDBClusters returns DBClusterNotFoundFault as on AWS.
"""

import threading

from moto.rds import models as rds
from moto.rds.exceptions import DBClusterToBeDeletedHasActiveMembers, RDSClientError

from .clock import CONFIG, Transition

# The duration name for the cluster that this thread's request is creating.
# Restores reach moto's create_db_cluster, so they set it around that call.
_request = threading.local()


def _status_property(default_attr: str = "_estate_status"):
    """Build a `status` property that prefers a running transition over the stored value."""

    def getter(self):
        transition = getattr(self, "_estate_transition", None)
        if transition is not None:
            status = transition.status()
            if status is not None:
                if transition.done():
                    # A finished transition leaves its final status behind.
                    self.__dict__[default_attr] = status
                    self._estate_transition = None
                return status
        status = self.__dict__.get(default_attr, "available")
        # moto marks new clusters `creating` and flips them on first read; without
        # a transition (objects made outside the timed paths) they are available.
        return "available" if status == "creating" else status

    def setter(self, value):
        self.__dict__[default_attr] = value

    return property(getter, setter)


def start_transition(obj, during: str, final: str | None, duration_name: str, on_complete=None) -> Transition:
    transition = Transition(during, final, CONFIG.duration(duration_name), on_complete)
    obj._estate_transition = transition
    return transition


def _percent_progress(self):
    transition = getattr(self, "_estate_transition", None)
    if transition is None:
        return 100
    return int(transition.elapsed_fraction() * 100)


def purge_deleted(backend) -> None:
    """Remove clusters and instances whose `deleting` transition has ended."""
    for store in (backend.clusters, backend.databases):
        for key, obj in list(store.items()):
            transition = getattr(obj, "_estate_transition", None)
            if transition is not None and transition.during == "deleting" and transition.done():
                transition.completed = True
                del store[key]


def _wrap_purging(name: str) -> None:
    original = getattr(rds.RDSBackend, name)

    def wrapper(self, *args, **kwargs):
        purge_deleted(self)
        return original(self, *args, **kwargs)

    wrapper.__name__ = name
    setattr(rds.RDSBackend, name, wrapper)


def install() -> None:
    """Patch moto's RDS models and backend in place."""
    rds.DBCluster.status = _status_property()
    rds.DBInstance.status = _status_property()
    rds.DBClusterSnapshot.status = _status_property()
    rds.DBClusterSnapshot.percent_progress = property(_percent_progress, lambda self, value: None)

    for name in ("describe_db_clusters", "describe_db_instances", "describe_db_cluster_snapshots",
                 "create_db_instance", "modify_db_cluster", "modify_db_instance"):
        _wrap_purging(name)

    backend = rds.RDSBackend

    original_create_cluster = backend.create_db_cluster

    def create_db_cluster(self, kwargs):
        purge_deleted(self)
        cluster = original_create_cluster(self, kwargs)
        kind = getattr(_request, "cluster_kind", None) or "cluster_create"
        start_transition(cluster, "creating", "available", kind)
        return cluster

    backend.create_db_cluster = create_db_cluster

    original_pitr = backend.restore_db_cluster_to_point_in_time

    def restore_db_cluster_to_point_in_time(self, *args, **kwargs):
        _request.cluster_kind = "cluster_restore_pitr"
        try:
            return original_pitr(self, *args, **kwargs)
        finally:
            _request.cluster_kind = None

    backend.restore_db_cluster_to_point_in_time = restore_db_cluster_to_point_in_time

    original_from_snapshot = backend.restore_db_cluster_from_snapshot

    def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
        _request.cluster_kind = "cluster_restore_snapshot"
        try:
            return original_from_snapshot(self, from_snapshot_id, overrides)
        finally:
            _request.cluster_kind = None

    backend.restore_db_cluster_from_snapshot = restore_db_cluster_from_snapshot

    original_modify_cluster = backend.modify_db_cluster

    def modify_db_cluster(self, kwargs):
        cluster = original_modify_cluster(self, kwargs)
        start_transition(cluster, "modifying", "available", "cluster_modify")
        return cluster

    backend.modify_db_cluster = modify_db_cluster

    original_create_instance = backend.create_db_instance

    def create_db_instance(self, db_kwargs):
        instance = original_create_instance(self, db_kwargs)
        start_transition(instance, "creating", "available", "instance_create")
        return instance

    backend.create_db_instance = create_db_instance

    original_modify_instance = backend.modify_db_instance

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        instance = original_modify_instance(self, db_instance_identifier, db_kwargs)
        start_transition(instance, "modifying", "available", "instance_modify")
        return instance

    backend.modify_db_instance = modify_db_instance

    original_delete_instance = backend.delete_db_instance

    def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
        purge_deleted(self)
        existing = self.databases.get(db_instance_identifier)
        if existing is not None and existing.status == "deleting":
            raise RDSClientError("InvalidDBInstanceState",
                                 f"Instance {db_instance_identifier} is already being deleted.")
        instance = original_delete_instance(self, db_instance_identifier, *args, **kwargs)
        # Keep the instance visible as `deleting` until the delete has run its course.
        self.databases[db_instance_identifier] = instance
        start_transition(instance, "deleting", None, "instance_delete")
        return instance

    backend.delete_db_instance = delete_db_instance

    original_delete_cluster = backend.delete_db_cluster

    def delete_db_cluster(self, cluster_identifier, snapshot_name=None):
        purge_deleted(self)
        cluster = self.clusters.get(cluster_identifier)
        if cluster is not None:
            if cluster.status == "deleting":
                raise rds.InvalidDBClusterStateFault(
                    f"DB cluster {cluster_identifier} is already being deleted.")
            # AWS accepts DeleteDBCluster once every member instance is itself being
            # deleted, so detach those before moto's "has active members" check.
            members = [m for m in cluster._members]
            if any(m.status != "deleting" for m in members):
                raise DBClusterToBeDeletedHasActiveMembers()
            for member in members:
                member.db_cluster_identifier = f"{member.db_cluster_identifier}#deleted"
        cluster = original_delete_cluster(self, cluster_identifier, snapshot_name)
        self.clusters[cluster_identifier] = cluster
        start_transition(cluster, "deleting", None, "cluster_delete")
        return cluster

    backend.delete_db_cluster = delete_db_cluster

    original_create_snapshot = backend.create_db_cluster_snapshot

    def create_db_cluster_snapshot(self, db_cluster_identifier, db_cluster_snapshot_identifier,
                                   snapshot_type="manual", tags=None):
        snapshot = original_create_snapshot(self, db_cluster_identifier, db_cluster_snapshot_identifier,
                                            snapshot_type, tags)
        start_transition(snapshot, "creating", "available", "snapshot_create")
        return snapshot

    backend.create_db_cluster_snapshot = create_db_cluster_snapshot
