"""Simulated time and the estate configuration that every timed behaviour reads.

Durations are in simulated seconds. One real second is `time_scale` simulated
seconds. The simulated clock is rebased whenever the scale changes, so a
change of scale never makes a running transition jump backwards.
"""

import threading
import time

# Realistic durations of AWS operations, in simulated seconds.
DEFAULT_DURATIONS = {
    "cluster_create": 10 * 60,
    "cluster_restore_pitr": 12 * 60,
    "cluster_restore_snapshot": 10 * 60,
    "cluster_modify": 3 * 60,
    "cluster_delete": 3 * 60,
    "instance_create": 6 * 60,
    "instance_modify": 5 * 60,
    "instance_delete": 4 * 60,
    "snapshot_create": 4 * 60,
    "snapshot_copy": 6 * 60,
    # A cross-region copy of a small cluster (a few GiB) takes minutes; large ones take longer.
    "snapshot_copy_cross_region": 8 * 60,
}


class EstateConfig:
    """Mutable estate settings, shared by every request thread under one lock."""

    def __init__(self, time_scale: float = 1.0):
        self.lock = threading.RLock()
        self.time_scale = float(time_scale)
        self.durations = dict(DEFAULT_DURATIONS)
        # How far LatestRestorableTime trails the current time, in simulated seconds.
        self.restorable_lag_seconds = 300.0
        # Target IP addresses whose health checks fail.
        self.down_ips: set[str] = set()
        self._real_base = time.monotonic()
        self._sim_base = 0.0

    def sim_now(self) -> float:
        """Return the simulated clock in seconds since the emulator started."""
        with self.lock:
            return self._sim_base + (time.monotonic() - self._real_base) * self.time_scale

    def set_time_scale(self, scale: float) -> None:
        if not scale > 0:
            raise ValueError(f"time_scale must be a positive number, got {scale!r}")
        with self.lock:
            self._sim_base = self.sim_now()
            self._real_base = time.monotonic()
            self.time_scale = float(scale)

    def duration(self, name: str) -> float:
        with self.lock:
            return float(self.durations[name])

    def sim_to_real(self, sim_seconds: float) -> float:
        """Convert a simulated duration to real seconds at the current scale."""
        with self.lock:
            return sim_seconds / self.time_scale

    def to_json(self) -> dict:
        with self.lock:
            return {
                "time_scale": self.time_scale,
                "durations": dict(self.durations),
                "restorable_lag_seconds": self.restorable_lag_seconds,
                "down_ips": sorted(self.down_ips),
                "sim_now": self.sim_now(),
            }

    def update(self, body: dict) -> None:
        """Apply a partial configuration; raises ValueError naming the first invalid field."""
        with self.lock:
            unknown = set(body) - {"time_scale", "durations", "restorable_lag_seconds", "down_ips"}
            if unknown:
                raise ValueError(f"unknown configuration fields {sorted(unknown)}; "
                                 "expected time_scale, durations, restorable_lag_seconds, down_ips")
            durations = body.get("durations", {})
            for name, value in durations.items():
                if name not in DEFAULT_DURATIONS:
                    raise ValueError(f"unknown duration {name!r}; expected one of {sorted(DEFAULT_DURATIONS)}")
                if not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"duration {name!r} must be a non-negative number of seconds, got {value!r}")
            if "restorable_lag_seconds" in body:
                lag = body["restorable_lag_seconds"]
                if not isinstance(lag, (int, float)) or lag < 0:
                    raise ValueError(f"restorable_lag_seconds must be a non-negative number, got {lag!r}")
            if "down_ips" in body and not isinstance(body["down_ips"], list):
                raise ValueError(f"down_ips must be a list of IP addresses, got {body['down_ips']!r}")
            if "time_scale" in body:
                self.set_time_scale(float(body["time_scale"]))
            self.durations.update({k: float(v) for k, v in durations.items()})
            if "restorable_lag_seconds" in body:
                self.restorable_lag_seconds = float(body["restorable_lag_seconds"])
            if "down_ips" in body:
                self.down_ips = set(body["down_ips"])

    def reset(self, time_scale: float) -> None:
        with self.lock:
            self.durations = dict(DEFAULT_DURATIONS)
            self.restorable_lag_seconds = 300.0
            self.down_ips = set()
            self.set_time_scale(time_scale)


# The one configuration of this process, set up by the launcher.
CONFIG = EstateConfig()


# Every transition created so far, so that seeding can settle them all at once.
TRANSITIONS: list["Transition"] = []


def settle_all() -> int:
    """Finish every running transition now and return how many were running."""
    running = [t for t in TRANSITIONS if not t.done()]
    for transition in running:
        transition.settle()
    TRANSITIONS[:] = [t for t in TRANSITIONS if not t.completed]
    return len(running)


class Transition:
    """A status that holds for `duration` simulated seconds from `start`, then becomes `final`."""

    def __init__(self, during: str, final: str | None, duration: float, on_complete=None):
        TRANSITIONS.append(self)
        self.during = during
        self.final = final
        self.start = CONFIG.sim_now()
        self.duration = duration
        self.on_complete = on_complete
        self.completed = False

    def settle(self) -> None:
        """Finish the transition now (used by seeding and the control API)."""
        self.duration = 0.0

    def elapsed_fraction(self) -> float:
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (CONFIG.sim_now() - self.start) / self.duration))

    def done(self) -> bool:
        return self.elapsed_fraction() >= 1.0

    def status(self) -> str | None:
        return self.final if self.done() else self.during
