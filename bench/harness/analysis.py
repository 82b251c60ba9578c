"""Figures derived from the measured runs: phases, CLI start-up overhead, target verdicts."""

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


def invocation_overheads(result: RunResult) -> list[float]:
    """Seconds each AWS CLI invocation of a serial runbook spent outside AWS requests.

    That is the time from the process start to its first request plus the time
    from its last request to its exit: interpreter start-up, loading the
    service model, and printing. Only runs whose invocations never overlap
    (the serial runbooks) give exact figures, so parallel runs return none.
    """
    if result.spec.variant != "serial":
        return []
    overheads = []
    for start, end, _branch in result.cli_invocations:
        inside = [request for request in result.requests if start <= request.start and request.end <= end]
        if inside:
            overheads.append((inside[0].start - start) + (end - inside[-1].end))
    return overheads


def invocations_on_path(result: RunResult) -> int:
    """Estimates how many CLI invocations ran one after another on the run's longest branch.

    The runbooks label each invocation with a branch: `main` runs alone, the
    parallel runbooks' branches run side by side (cleanup branches end in
    "-cleanup"). Of each group of side-by-side branches the one with the
    most invocations is counted.
    """
    counts: dict[str, int] = {}
    for _start, _end, branch in result.cli_invocations:
        counts[branch] = counts.get(branch, 0) + 1
    main = counts.pop("main", 0)
    cleanup = [count for branch, count in counts.items() if branch.endswith("-cleanup")]
    work = [count for branch, count in counts.items() if not branch.endswith("-cleanup")]
    return main + max(work, default=0) + max(cleanup, default=0)


def startup_adjusted_wall(result: RunResult, overhead_seconds: float) -> float:
    """Wall time with the CLI's start-up scaled like every simulated duration.

    A CLI start-up of `overhead_seconds` costs that much real time against a
    real restore; on the estate, where the restore is `scale` times shorter,
    it should cost `overhead_seconds / scale`. This removes the difference
    for the invocations on the run's longest branch.
    """
    count = invocations_on_path(result)
    return result.wall_seconds - count * overhead_seconds * (1 - 1 / result.scale)


def detection_total(result: RunResult) -> float:
    """Sum of the run's "seen" latencies, in real seconds."""
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
