"""Figures derived from the measured runs: phases, CLI start-up overhead and binding chains."""

from dataclasses import dataclass

from . import timeline
from .scenarios import RunResult


@dataclass
class Phase:
    name: str
    wall_seconds: float
    bound_seconds: float

    @property
    def excess_seconds(self) -> float:
        return self.wall_seconds - self.bound_seconds


def phases(result: RunResult) -> list[Phase]:
    """Splits a drill at its first DeleteDBInstance into recovery and cleanup, each against its share of the bound.

    The incident recovery has one phase.
    """
    end = result.started_epoch + result.wall_seconds
    path = result.path
    if not path.tail:
        return [Phase("recovery", result.wall_seconds, result.bound_seconds)]
    deletes = [request.start for request in result.requests if request.operation == "DeleteDBInstance"]
    if not deletes:
        return [Phase("whole run (no DeleteDBInstance seen)", result.wall_seconds, result.bound_seconds)]
    cleanup_start = min(deletes)
    tail_bound = sum(seconds for _, seconds in path.tail) / result.scale
    return [
        Phase("recovery (start to first DeleteDBInstance)", cleanup_start - result.started_epoch,
              result.bound_seconds - tail_bound),
        Phase("cleanup (first DeleteDBInstance to exit)", end - cleanup_start, tail_bound),
    ]


def invocation_overheads(result: RunResult) -> list[tuple[float, float]]:
    """Returns the seconds each CLI invocation of a serial runbook spent before its first and after its last request.

    The first part is interpreter start-up and loading the service model, the
    second printing and exit. Only runs whose invocations never overlap (the
    serial runbooks) attribute requests to invocations exactly, so parallel
    runs return none.
    """
    if result.spec.variant != "serial":
        return []
    overheads = []
    for start, end, _branch in result.cli_invocations:
        inside = [request for request in result.requests if start <= request.start and request.end <= end]
        if inside:
            overheads.append((inside[0].start - start, end - inside[-1].end))
    return overheads


def mean_overhead(results: list[RunResult]) -> tuple[float, float] | None:
    """Returns the mean (start-up, exit) seconds of a CLI invocation over the serial runbooks, or None."""
    parts = [part for result in results for part in invocation_overheads(result)]
    if not parts:
        return None
    return (sum(start for start, _ in parts) / len(parts), sum(exit for _, exit in parts) / len(parts))


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(interval for interval in intervals if interval[1] > interval[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(a_end, b_end) - max(a_start, b_start))
               for a_start, a_end in first for b_start, b_end in second)


def startup_on_chain(result: RunResult, mean: tuple[float, float]) -> float:
    """Returns the real seconds of CLI start-up and exit that lie in the gaps of the run's binding chain.

    Only those delay the run: a `wait` command that starts while its resource
    is still being created costs nothing. Serial runs use each invocation's
    measured start-up and exit; parallel runs, whose requests cannot be
    attributed to invocations, use the serial runs' means.
    """
    exact = invocation_overheads(result)
    intervals = []
    for index, (start, end, _branch) in enumerate(result.cli_invocations):
        head, tail = exact[index] if len(exact) == len(result.cli_invocations) else mean
        intervals += [(start, start + head), (end - tail, end)]

    chain = run_chain(result)
    gaps = []
    moment = result.started_epoch
    for link in chain.links:
        gaps.append((moment, link.wait.started))
        moment = link.wait.ready_at
    gaps.append((moment, result.started_epoch + result.wall_seconds))
    return _overlap(_union(intervals), _union(gaps))


def startup_adjusted_wall(result: RunResult, mean: tuple[float, float]) -> float:
    """Estimates the wall time with the CLI's start-up scaled like every simulated duration.

    A CLI start-up of S seconds costs S real seconds against a real restore;
    on the estate, where the restore is `scale` times shorter, it should cost
    S / scale. This removes the difference for the start-up time on the
    run's binding chain.
    """
    return result.wall_seconds - startup_on_chain(result, mean) * (1 - 1 / result.scale)


def detection_total(result: RunResult) -> float:
    """Returns the sum of the run's "seen" latencies, in real seconds."""
    return sum(wait.seen_latency for wait in result.waits if wait.seen_latency is not None)


@dataclass
class ChainLink:
    wait: "timeline.Wait"
    # Real seconds from the end of the previous link (or the process start) to this wait's request.
    gap_before: float


@dataclass
class RunChain:
    """The chain of waits that actually bounded a run, traced back from its exit."""

    links: list[ChainLink]
    # Real seconds from the last link's ready time to the process exit.
    gap_after: float

    @property
    def simulated_seconds(self) -> float:
        return sum(link.wait.simulated_seconds for link in self.links)

    @property
    def gap_seconds(self) -> float:
        return sum(link.gap_before for link in self.links) + self.gap_after


def run_chain(result: RunResult) -> RunChain:
    """Traces the run's binding chain backwards from its exit.

    From the exit, the link is the wait that became ready last before that
    moment; from that wait's request, the next link is again the wait ready
    last before it, until none is left. So wall time = the links' simulated
    durations / scale + the gaps between them, and the gaps hold everything
    that is not simulated AWS time: polling delay, SQL checks, step
    scheduling, process start-up and, for the runbooks, CLI start-ups.
    """
    moment = result.started_epoch + result.wall_seconds
    links: list[ChainLink] = []
    gap_after = None
    remaining = list(result.waits)
    while True:
        ready = [wait for wait in remaining if wait.ready_at <= moment]
        if not ready:
            break
        wait = max(ready, key=lambda candidate: candidate.ready_at)
        gap = moment - wait.ready_at
        if gap_after is None:
            gap_after = gap
        else:
            links[-1].gap_before = gap
        links.append(ChainLink(wait, 0.0))
        remaining = [candidate for candidate in remaining if candidate.ready_at < wait.started]
        moment = wait.started
    links.reverse()
    if links:
        links[0].gap_before = links[0].wait.started - result.started_epoch
    return RunChain(links, gap_after if gap_after is not None else result.wall_seconds)
