"""BENCHMARKS.md: the results of one `bench/run`, with the machine, the method and the target verdicts."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import analysis
from .estate import REPO
from .fanout import THROTTLED_CALLS, FanoutResult
from .offline import Timing
from .scenarios import RunResult

# Targets drctl must meet; a missed one is reported with its gap.
RATIO_TARGET = 1.03
CLI_SAVING_TARGET = 0.25
PLAN_TARGET_MS = 20.0
RSS_TARGET_MB = 40.0
FANOUT_RSS_TARGET_MB = 100.0


@dataclass
class Inputs:
    command: str
    scale: float
    smoke: bool
    results: list[RunResult]
    timings: list[Timing]
    aws_startup: Timing | None
    cli_overhead_seconds: float | None
    fanout: FanoutResult | None
    waiter_delays: dict[str, dict[str, float]]
    aws_cli_version: str
    drctl_binary: Path
    drctl_version: str
    max_connections: str
    # Recorded at measurement time, so that --render reports the machine and commit that were measured.
    machine: list[str]
    commit: str
    measured_at: str


def machine() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.rstrip()
    return [f"- CPU: {cpu}, `nproc` = {nproc}", "- `free -h`:", "", "```", free, "```"]


def git_commit() -> str:
    """Returns the HEAD commit, and the source files the working tree changes on top of it."""
    result = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    commit = result.stdout.strip() or "unknown"
    changed = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src", "crates", "Cargo.toml",
                              "Cargo.lock", "playbooks", "integration"], capture_output=True, text=True).stdout.split("\n")
    changed = [line[3:] for line in changed if line.strip()]
    if changed:
        commit += " plus uncommitted changes to " + ", ".join(changed)
    return commit


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _paths(inputs: Inputs) -> str:
    """Describes the critical path of each measured scenario."""
    described = {}
    for result in inputs.results:
        described.setdefault(result.spec.scenario, f"{result.spec.scenario.capitalize()}: {result.path.describe()}.")
    return " ".join(described.values())


def _verdict(met: bool, gap: str) -> str:
    return "met" if met else f"**missed**: {gap}"


def _by(results: list[RunResult], scenario: str, tool: str, variant: str = "") -> RunResult | None:
    for result in results:
        if result.spec.scenario == scenario and result.spec.tool == tool and result.spec.variant == variant:
            return result
    return None


def _mb(kb: int | None) -> str:
    return "n/a" if kb is None else f"{kb / 1024:.1f}"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _targets(inputs: Inputs) -> list[str]:
    rows = ["| target | measured | verdict |", "| --- | --- | --- |"]
    mean = analysis.mean_overhead(inputs.results)
    for scenario in ("drill", "incident"):
        drctl = _by(inputs.results, scenario, "drctl")
        if drctl is None:
            continue
        rows.append(f"| {scenario}: wall ≤ {RATIO_TARGET} × critical path | {drctl.wall_seconds:.1f} s / "
                    f"{drctl.bound_seconds:.1f} s = {drctl.ratio:.3f} | "
                    f"{_verdict(drctl.ratio <= RATIO_TARGET, f'{(drctl.ratio - RATIO_TARGET) * drctl.bound_seconds:.1f} s over')} |")
        serial = _by(inputs.results, scenario, "aws-cli", "serial")
        if serial is not None:
            saving = 1 - drctl.wall_seconds / serial.wall_seconds
            calls_ok = len(drctl.requests) <= len(serial.requests)
            rows.append(f"| {scenario}: ≥ 25 % less wall time than the serial AWS CLI runbook | "
                        f"{drctl.wall_seconds:.1f} s vs {serial.wall_seconds:.1f} s: {saving * 100:.1f} % less | "
                        f"{_verdict(saving >= CLI_SAVING_TARGET, f'{(CLI_SAVING_TARGET - saving) * 100:.1f} points short')} |")
            if mean is not None:
                adjusted = analysis.startup_adjusted_wall(serial, mean)
                saving_adjusted = 1 - drctl.wall_seconds / adjusted
                rows.append(f"| {scenario}: the same, CLI start-up scaled (see Method) | "
                            f"{drctl.wall_seconds:.1f} s vs {adjusted:.1f} s: {saving_adjusted * 100:.1f} % less | "
                            f"{_verdict(saving_adjusted >= CLI_SAVING_TARGET, f'{(CLI_SAVING_TARGET - saving_adjusted) * 100:.1f} points short')} |")
            rows.append(f"| {scenario}: no more API calls than the serial AWS CLI runbook | "
                        f"{len(drctl.requests)} vs {len(serial.requests)} | "
                        f"{_verdict(calls_ok, f'{len(drctl.requests) - len(serial.requests)} more calls')} |")
        parallel = _by(inputs.results, scenario, "aws-cli", "parallel")
        if parallel is not None:
            rows.append(f"| {scenario}: never slower than the parallel AWS CLI runbook | "
                        f"{drctl.wall_seconds:.1f} s vs {parallel.wall_seconds:.1f} s | "
                        f"{_verdict(drctl.wall_seconds <= parallel.wall_seconds, f'{drctl.wall_seconds - parallel.wall_seconds:.1f} s slower')} |")
            if mean is not None:
                adjusted = analysis.startup_adjusted_wall(parallel, mean)
                rows.append(f"| {scenario}: the same, CLI start-up scaled (see Method) | "
                            f"{drctl.wall_seconds:.1f} s vs {adjusted:.1f} s | "
                            f"{_verdict(drctl.wall_seconds <= adjusted, f'{drctl.wall_seconds - adjusted:.1f} s slower')} |")
    for timing in inputs.timings:
        if timing.label.startswith("plan "):
            rows.append(f"| `{timing.label}` under {PLAN_TARGET_MS:.0f} ms | mean {timing.mean_ms:.1f} ms, "
                        f"min {timing.min_ms:.1f} ms | "
                        f"{_verdict(timing.mean_ms < PLAN_TARGET_MS, f'{timing.mean_ms - PLAN_TARGET_MS:.1f} ms over')} |")
    for result in inputs.results:
        if result.spec.tool == "drctl" and result.peak_rss_kb is not None:
            mb = result.peak_rss_kb / 1024
            rows.append(f"| {result.spec.name}: peak RSS under {RSS_TARGET_MB:.0f} MB | {mb:.1f} MB | "
                        f"{_verdict(mb < RSS_TARGET_MB, f'{mb - RSS_TARGET_MB:.1f} MB over')} |")
    if inputs.fanout is not None and inputs.fanout.peak_rss_kb is not None:
        mb = inputs.fanout.peak_rss_kb / 1024
        rows.append(f"| {inputs.fanout.steps} parallel restore tests: peak RSS under {FANOUT_RSS_TARGET_MB:.0f} MB | "
                    f"{mb:.1f} MB | {_verdict(mb < FANOUT_RSS_TARGET_MB, f'{mb - FANOUT_RSS_TARGET_MB:.1f} MB over')} |")
    return rows


def _runs(inputs: Inputs) -> list[str]:
    rows = ["| run | exit | wall (s) | = simulated (min) | critical path (s) | ratio | API calls | mutating | "
            "CLI invocations | detection latency, sum (s) | peak RSS (MB) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for result in inputs.results:
        rows.append(
            f"| {result.spec.name} | {result.exit_code} | {result.wall_seconds:.1f} | "
            f"{result.wall_seconds * result.scale / 60:.1f} | {result.bound_seconds:.1f} | {result.ratio:.3f} | "
            f"{len(result.requests)} | {result.mutating_calls} | {len(result.cli_invocations) or '–'} | "
            f"{analysis.detection_total(result):.2f} | {_mb(result.peak_rss_kb)} |")
    return rows


def _phases(inputs: Inputs) -> list[str]:
    rows = ["| run | phase | wall (s) | bound (s) | excess (s) | excess (simulated s) |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for result in inputs.results:
        for phase in analysis.phases(result):
            rows.append(f"| {result.spec.name} | {phase.name} | {phase.wall_seconds:.1f} | "
                        f"{phase.bound_seconds:.1f} | {phase.excess_seconds:.1f} | "
                        f"{phase.excess_seconds * result.scale:.0f} |")
    return rows


def _short_name(resource: str) -> str:
    """Returns a resource's name: the target group name of a target group ARN, else the text after the last colon."""
    if ":targetgroup/" in resource:
        return resource.split(":targetgroup/", 1)[1].split("/", 1)[0]
    return resource.rsplit(":", 1)[-1]


def _chains(inputs: Inputs) -> list[str]:
    lines = []
    for result in inputs.results:
        chain = analysis.run_chain(result)
        steps = [f"start +{chain.links[0].gap_before:.2f} s" if chain.links else "start"]
        for index, link in enumerate(chain.links):
            if index:
                steps.append(f"+{link.gap_before:.2f} s")
            steps.append(f"{link.wait.what} `{_short_name(link.wait.resource)}` {link.wait.simulated_seconds:.0f} s")
        steps.append(f"+{chain.gap_after:.2f} s exit")
        structural = chain.simulated_seconds - result.path.simulated_seconds
        lines += [
            f"- **{result.spec.name}**: " + " → ".join(steps) + ".",
            f"  Simulated durations on this chain: {chain.simulated_seconds:.0f} s, "
            f"{structural:+.0f} s against the critical path's {result.path.simulated_seconds:.0f} s. "
            f"Gaps (real time outside simulated AWS work): {chain.gap_seconds:.2f} s, "
            f"= {chain.gap_seconds * result.scale:.0f} simulated seconds.",
        ]
    return lines


def _polls(result: RunResult, wait) -> int:
    """Counts the run's polls of a wait's resource from its request until it was seen ready."""
    return sum(1 for request in result.requests
               if request.operation == wait.poll_operation and request.region == wait.region
               and wait.started <= request.start <= (wait.seen_at or wait.ready_at)
               and request.names(wait.related))


def _observations(inputs: Inputs) -> list[str]:
    """States, from the measurements alone, what separates each drctl run from its bound and from the runbook."""
    lines = []
    for result in inputs.results:
        if result.spec.tool != "drctl":
            continue
        chain = analysis.run_chain(result)
        excess = result.wall_seconds - result.bound_seconds
        structural = (chain.simulated_seconds - result.path.simulated_seconds) / result.scale
        polling = sum(link.wait.seen_latency or 0.0 for link in chain.links)
        lines.append(f"- **{result.spec.name}** is {excess:.2f} s over its bound. "
                     f"{structural:.2f} s of that are simulated work that ran one after another where the "
                     f"critical path runs it side by side (binding chain: "
                     + ", ".join(f"{link.wait.what} in {link.wait.region}" for link in chain.links) + "). "
                     f"The other {chain.gap_seconds:.2f} s are gaps on the chain, {polling:.2f} s of them "
                     "polling delay (seen latency) and the rest calls, checks and scheduling.")
        worst = sorted((wait for wait in result.waits if wait.seen_latency is not None),
                       key=lambda wait: wait.seen_latency, reverse=True)[:3]
        if worst:
            lines.append("  Largest detection latencies: " + ", ".join(
                f"{wait.what} in {wait.region} {wait.seen_latency:.2f} s "
                f"({wait.seen_latency * result.scale:.0f} simulated s, {_polls(result, wait)} polls)"
                for wait in worst) + ".")
        serial = _by(inputs.results, result.spec.scenario, "aws-cli", "serial")
        if serial is not None and result.waits and serial.waits:
            drctl_polls = sum(_polls(result, wait) for wait in result.waits) / len(result.waits)
            cli_polls = sum(_polls(serial, wait) for wait in serial.waits) / len(serial.waits)
            drctl_seen = analysis.detection_total(result) / len(result.waits)
            cli_seen = analysis.detection_total(serial) / len(serial.waits)
            lines.append(f"  Per wait, drctl polled {drctl_polls:.1f} times and saw readiness "
                         f"{drctl_seen:.2f} s late on average; the serial runbook's waiters polled "
                         f"{cli_polls:.1f} times and saw it {cli_seen:.2f} s late. API calls in all: "
                         f"{len(result.requests)} against {len(serial.requests)}.")
    return lines


def _waits(result: RunResult) -> list[str]:
    rows = [f"**{result.spec.name}** (times in real seconds; × {result.scale:g} for simulated seconds)", "",
            "| wait | resource | region | started at | ready at | seen after | acted after | polls |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for wait in sorted(result.waits, key=lambda wait: wait.started):
        polls = _polls(result, wait)
        resource = _short_name(wait.resource)
        rows.append(f"| {wait.what} | `{resource}` | {wait.region} | {wait.started - result.started_epoch:.2f} | "
                    f"{wait.ready_at - result.started_epoch:.2f} | {_seconds(wait.seen_latency)} | "
                    f"{_seconds(wait.acted_latency)} | {polls} |")
    return rows + [""]


def _calls(inputs: Inputs, scenario: str) -> list[str]:
    results = [result for result in inputs.results if result.spec.scenario == scenario]
    if not results:
        return []
    operations = sorted({operation for result in results for operation in result.calls})
    header = "| operation | " + " | ".join(result.spec.label for result in results) + " |"
    rows = [f"**{scenario}**", "", header, "| --- |" + " ---: |" * len(results)]
    for operation in operations:
        rows.append(f"| {operation} | " + " | ".join(str(result.calls.get(operation, 0)) for result in results) + " |")
    rows.append("| **total** | " + " | ".join(f"**{len(result.requests)}**" for result in results) + " |")
    return rows + [""]


def _offline(inputs: Inputs) -> list[str]:
    rows = ["| command | mean (ms) | min (ms) | runs | timed with |", "| --- | ---: | ---: | ---: | --- |"]
    for timing in inputs.timings + ([inputs.aws_startup] if inputs.aws_startup else []):
        rows.append(f"| `{timing.label}` | {timing.mean_ms:.1f} | {timing.min_ms:.1f} | {timing.runs} | {timing.tool} |")
    return rows


def _fanout(inputs: Inputs) -> list[str]:
    fanout = inputs.fanout
    if fanout is None:
        return ["Not run."]
    lines = [
        f"`{' '.join(fanout.command[4:])}` (the playbook is generated into bench/out). The first "
        f"{THROTTLED_CALLS} AWS calls of the run get a Throttling error from the emulator.",
        "",
        "| figure | value |", "| --- | --- |",
        f"| exit code | {fanout.exit_code} |",
        f"| wall time | {fanout.wall_seconds:.2f} s |",
        f"| peak RSS | {_mb(fanout.peak_rss_kb)} MB |",
        f"| steps succeeded / failed | {fanout.succeeded_steps} / {fanout.failed_steps} |",
        f"| PostgreSQL max_connections | {fanout.max_connections} |",
        f"| failed steps refused by PostgreSQL (too many clients) | {fanout.refused_connections} |",
        f"| connection attempts that failed and were retried (\"attempt N failed, retrying\" lines) | "
        f"{fanout.connect_retries} |",
        f"| AWS calls (throttled) | {sum(fanout.calls.values())} ({fanout.throttled_calls}): "
        + (", ".join(f"{op} {count}" for op, count in sorted(fanout.calls.items())) or "none") + " |",
        f"| output lines mentioning throttling | {fanout.throttling_lines} |",
        f"| output lines mentioning a retry | {fanout.retry_lines} |",
    ]
    if fanout.retry_reasons:
        lines += ["", "Most frequent errors of the retried connection attempts (drctl's info log):", ""]
        lines += [f"- {count} × `{reason}`" for reason, count in fanout.retry_reasons.items()]
    if fanout.errors:
        lines += ["", "Most frequent errors of the failed steps:", ""]
        if isinstance(fanout.errors, dict):
            lines += [f"- {count} × `{error[:300]}`" for error, count in fanout.errors.items()]
        else:
            # Measurements saved before errors were counted hold a list of samples.
            lines += [f"- `{error[:300]}`" for error in fanout.errors]
    return lines


def render(inputs: Inputs) -> str:
    rds = inputs.waiter_delays.get("rds", {}).get("DBClusterAvailable")
    elb = inputs.waiter_delays.get("elbv2", {}).get("TargetInService")
    overhead = ("not measured" if inputs.cli_overhead_seconds is None
                else f"{inputs.cli_overhead_seconds * 1000:.0f} ms")
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{inputs.command}` on {inputs.measured_at}{' (smoke mode: not a measurement)' if inputs.smoke else ''}. "
        "Run it again to refresh this page; edits by hand are overwritten.",
        "",
        "## Machine and software",
        "",
        *inputs.machine,
        f"- drctl: {inputs.drctl_version}, binary `{_display_path(inputs.drctl_binary)}`, "
        f"working tree at commit {inputs.commit}",
        f"- AWS CLI: {inputs.aws_cli_version} (bench/requirements.txt)",
        "",
        "## Method",
        "",
        f"Every run uses the local emulated estate (moto with simulated timing, see integration/README.md) "
        f"at time scale {inputs.scale:g}: a simulated duration of S seconds takes S / {inputs.scale:g} real "
        f"seconds. drctl gets `DRCTL_TIME_SCALE={inputs.scale:g}`, which divides its playbook durations and "
        f"default poll intervals; the AWS CLI gets an `AWS_DATA_PATH` override whose waiter delays are the "
        f"installed ones divided by {inputs.scale:g} (RDS {rds} s, ELBv2 {elb} s; maxAttempts unchanged). "
        "The estate is reset and seeded before every run, and each run signs its requests with its own access "
        "key, so the request log gives exactly that run's calls. All runs ran one after another in one "
        "`bench/run`, so the ratios compare like with like on this noisy 2-core machine.",
        "",
        "- **runs**, in this order: drctl with playbooks/quarterly-restore-drill.yaml and "
        "playbooks/incident-recovery.yaml (incident 3 minutes before the run, cutover approved up front); the AWS "
        "CLI runbooks bench/baseline/quarterly-drill.sh and incident-recovery.sh (one step after another) and "
        "their -parallel variants (independent branches at once), which make the same AWS calls, use the CLI's "
        "waiters and run the same LiteLLM checks with psql.",
        "- **wall**: from process start to exit, real seconds.",
        "- **critical path**: the sum of the configured simulated durations along the longest dependency "
        "chain, divided by the scale (see bench/harness/critical_path.py). "
        + _paths(inputs),
        "- **detection latency**: per wait, from the moment the emulator makes the resource ready "
        "(request start + configured duration / scale) to the run's first poll of it after that (seen) and "
        "to its first dependent AWS call (acted), from the request log (bench/harness/timeline.py).",
        "- **CLI start-up**: each AWS CLI invocation spends real time outside AWS requests, "
        + ("which only the serial runbooks measure, and this run had none. "
           if inputs.cli_overhead_seconds is None else
           f"{overhead} on average (from the serial runbooks' traces and request log), which weighs as much as "
           f"{inputs.cli_overhead_seconds * inputs.scale:.0f} simulated seconds per invocation at this scale. ")
        + "That time is not scaled like the AWS durations. The \"CLI start-up scaled\" rows scale the part of "
        "it that lies in the gaps of the runbook's binding chain (a `wait` command starting while its resource "
        "is still being created delays nothing); they are estimates, the raw figures are measured.",
        "",
        "## Targets",
        "",
        *_targets(inputs),
        "",
        "### What separates drctl from the bound",
        "",
        *_observations(inputs),
        "",
        "## Recovery runs",
        "",
        *_runs(inputs),
        "",
        "### Where the time went",
        "",
        *_phases(inputs),
        "",
        "The binding chain of each run, traced back from its exit: each arrow is a gap in real seconds "
        "(polling delay, SQL checks, step scheduling, process start-up; for the runbooks also CLI start-up), "
        "each link a wait with its simulated duration (bench/harness/analysis.py).",
        "",
        *_chains(inputs),
        "",
        "### Detection latency per wait",
        "",
    ]
    for result in inputs.results:
        lines += _waits(result)
    lines += ["### API calls by operation", ""]
    lines += _calls(inputs, "drill") + _calls(inputs, "incident")
    lines += ["## Offline commands", "", *_offline(inputs), "",
              f"## {inputs.fanout.steps if inputs.fanout else 200} parallel restore tests", "", *_fanout(inputs), ""]
    return "\n".join(lines)
