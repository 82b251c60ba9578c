"""ELBv2 target health that follows each target group's health-check settings.

A registered target is `initial` for HealthCheckIntervalSeconds ×
HealthyThresholdCount simulated seconds and then `healthy`, or `unhealthy`
after interval × UnhealthyThresholdCount when its IP is in the configured
down list. A deregistered target is `draining` for the group's
deregistration_delay.timeout_seconds and then disappears. Targets registered
through `seed_registered_healthy` (the seeded estate) start healthy.
"""

from moto.elbv2 import models as elbv2

from .clock import CONFIG


def _registry(target_group) -> dict:
    if not hasattr(target_group, "_estate_registered"):
        target_group._estate_registered = {}
        target_group._estate_draining = {}
    return target_group._estate_registered


def _health(target_group, target: dict) -> elbv2.FakeHealthStatus:
    registered = _registry(target_group)
    draining = target_group._estate_draining
    target_id = target["Id"]
    port = target.get("Port", target_group.port)
    now = CONFIG.sim_now()
    interval = float(target_group.health_check_interval_seconds or 30)

    if target_id in target_group.targets:
        port = target_group.targets[target_id]["Port"]
        since = registered.get(target_id)
        elapsed = float("inf") if since is None else now - since
        if target_id in CONFIG.down_ips:
            if elapsed >= interval * int(target_group.unhealthy_threshold_count or 2):
                return elbv2.FakeHealthStatus(target_id, port, target_group.health_check_port, "unhealthy",
                                              "Target.Timeout", "Request timed out")
        elif elapsed >= interval * int(target_group.healthy_threshold_count or 5):
            return elbv2.FakeHealthStatus(target_id, port, target_group.health_check_port, "healthy")
        return elbv2.FakeHealthStatus(target_id, port, target_group.health_check_port, "initial",
                                      "Elb.RegistrationInProgress", "Target registration is in progress")

    if target_id in draining:
        since, port = draining[target_id]
        delay = float(target_group.attributes.get("deregistration_delay.timeout_seconds", 300))
        if now - since < delay:
            return elbv2.FakeHealthStatus(target_id, port, target_group.health_check_port, "draining",
                                          "Target.DeregistrationInProgress",
                                          "Target deregistration is in progress")
        del draining[target_id]
        target_group.deregistered_targets.pop(target_id, None)
    return elbv2.FakeHealthStatus(target_id, port, target_group.health_check_port, "unused",
                                  "Target.NotRegistered", "Target is not registered to the target group")


def seed_registered_healthy(target_group) -> None:
    """Mark every current target of a group as registered long ago, hence healthy."""
    registered = _registry(target_group)
    for target_id in target_group.targets:
        registered[target_id] = float("-inf")


def install() -> None:
    original_register = elbv2.FakeTargetGroup.register

    def register(self, targets):
        original_register(self, targets)
        registered = _registry(self)
        now = CONFIG.sim_now()
        for target in targets:
            registered.setdefault(target["Id"], now)
            self._estate_draining.pop(target["Id"], None)

    elbv2.FakeTargetGroup.register = register

    original_deregister = elbv2.FakeTargetGroup.deregister

    def deregister(self, targets):
        ports = {t: self.targets[t]["Port"] for t in self.targets}
        original_deregister(self, targets)
        registered = _registry(self)
        now = CONFIG.sim_now()
        for target in targets:
            registered.pop(target["Id"], None)
            self._estate_draining[target["Id"]] = (now, ports.get(target["Id"], self.port))

    elbv2.FakeTargetGroup.deregister = deregister

    elbv2.FakeTargetGroup.health_for = lambda self, target, ec2_backend: _health(self, target)

    def describe_target_health(self, target_group_arn, targets):
        target_group = self.target_groups.get(target_group_arn)
        if target_group is None:
            raise elbv2.TargetGroupNotFoundError()
        if not targets:
            _registry(target_group)
            targets = list(target_group.targets.values()) + [
                {"Id": target_id, "Port": port}
                for target_id, (_, port) in list(target_group._estate_draining.items())
            ]
            statuses = [_health(target_group, t) for t in targets]
            return [s for s in statuses if s.status != "unused"]
        return [_health(target_group, t) for t in targets]

    elbv2.ELBv2Backend.describe_target_health = describe_target_health
