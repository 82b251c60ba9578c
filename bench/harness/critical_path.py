"""The critical-path lower bound of each scenario, from the emulator's configured durations.

No tool can finish a scenario faster than the longest chain of AWS
operations that depend on each other, each taking its configured simulated
duration. The chains follow the dependencies of the shipped playbooks (which
the baseline runbooks repeat):

- quarterly drill: the eu-west-2 branch (point-in-time restore, then the
  writer) and the us-east-1 branch (cross-region snapshot copy, then the
  restore, then the writer) run side by side; cleanup starts when both are
  checked, and deletes each writer and then its cluster, both regions at once.
- incident recovery: point-in-time restore, then writer and reader at once,
  then the new target's health checks (interval × healthy threshold). The old
  targets' draining is not waited for by drctl or the runbook, so it is not
  on the path.

A cluster's deletion is counted after its instance's, because Aurora ends a
cluster's deletion only after its instances are gone; the emulator times the
two independently, so a tool could finish cleanup up to
min(instance_delete, cluster_delete) sooner on the estate than on AWS.

SQL checks, process start-up and request round trips take real time that is
not simulated, so they count as overhead, not as part of the bound.
"""

from dataclasses import dataclass


@dataclass
class Chain:
    name: str
    # (operation, simulated seconds) in dependency order.
    links: list[tuple[str, float]]

    @property
    def simulated_seconds(self) -> float:
        return sum(seconds for _, seconds in self.links)


@dataclass
class CriticalPath:
    chains: list[Chain]
    # Links that follow the join of all chains (the drill's cleanup).
    tail: list[tuple[str, float]]

    @property
    def longest(self) -> Chain:
        return max(self.chains, key=lambda chain: chain.simulated_seconds)

    @property
    def simulated_seconds(self) -> float:
        return self.longest.simulated_seconds + sum(seconds for _, seconds in self.tail)

    def real_seconds(self, scale: float) -> float:
        return self.simulated_seconds / scale

    def describe(self) -> str:
        links = self.longest.links + self.tail
        return " → ".join(f"{name} {seconds:.0f} s" for name, seconds in links)


def drill(durations: dict[str, float]) -> CriticalPath:
    primary = Chain("eu-west-2", [("cluster_restore_pitr", durations["cluster_restore_pitr"]),
                                  ("instance_create", durations["instance_create"])])
    backup = Chain("us-east-1", [("snapshot_copy_cross_region", durations["snapshot_copy_cross_region"]),
                                 ("cluster_restore_snapshot", durations["cluster_restore_snapshot"]),
                                 ("instance_create", durations["instance_create"])])
    cleanup = [("instance_delete", durations["instance_delete"]), ("cluster_delete", durations["cluster_delete"])]
    return CriticalPath([primary, backup], cleanup)


def incident(durations: dict[str, float], target_health_seconds: float) -> CriticalPath:
    chain = Chain("eu-west-2", [("cluster_restore_pitr", durations["cluster_restore_pitr"]),
                                ("instance_create", durations["instance_create"]),
                                ("target_healthy", target_health_seconds)])
    return CriticalPath([chain], [])
