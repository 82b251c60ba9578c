"""Command line of bench/run: measure drctl against the AWS CLI runbooks and write BENCHMARKS.md.

bench/run prepares the virtualenv and the release build, then runs
`python -m harness.cli` from bench/ with the same arguments.
"""

import argparse
import pickle
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import analysis, fanout, offline, report, scenarios, waiters
from .estate import REPO, Estate

BENCH = REPO / "bench"
# The smoke run keeps one run of each tool; of the AWS CLI runbooks, the one
# with the fewest CLI start-ups, which dominate its time at a high scale.
SMOKE_RUNS = ("drctl-drill", "cli-incident-parallel")


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _print_run(result: scenarios.RunResult) -> None:
    print(f"\n== {result.spec.name} (exit {result.exit_code})")
    print(f"wall time        {result.wall_seconds:8.2f} s")
    print(f"critical path    {result.bound_seconds:8.2f} s   ({result.path.describe()}, / {result.scale:g})")
    print(f"ratio            {result.ratio:8.3f}")
    print("detection latency per wait (real s: seen, acted):")
    for wait in sorted(result.waits, key=lambda wait: wait.started):
        seen = "-" if wait.seen_latency is None else f"{wait.seen_latency:.2f}"
        acted = "-" if wait.acted_latency is None else f"{wait.acted_latency:.2f}"
        print(f"  {wait.what:38} {wait.resource[-40:]:40} {seen:>7} {acted:>7}")
    calls = ", ".join(f"{operation} {count}" for operation, count in sorted(result.calls.items()))
    print(f"API calls        {len(result.requests)}: {calls}")
    if result.cli_invocations:
        print(f"CLI invocations  {len(result.cli_invocations)}")
    if result.peak_rss_kb:
        print(f"peak RSS         {result.peak_rss_kb / 1024:.1f} MB")


def _aws_cli_version(aws: Path) -> str:
    result = subprocess.run([str(aws), "--version"], capture_output=True, text=True)
    return (result.stdout or result.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--scale", type=float, help="simulated seconds per real second (default 30, smoke 300)")
    parser.add_argument("--smoke", action="store_true",
                        help="quick self-check: fewer runs at a high scale, written to bench/out/BENCHMARKS.smoke.md")
    parser.add_argument("--drctl", type=Path, default=REPO / "target" / "release" / "drctl",
                        help="drctl binary to measure (default: target/release/drctl)")
    parser.add_argument("--fanout-steps", type=int, help="restore_test steps of the scale run (default 200, smoke 20)")
    parser.add_argument("--output", type=Path, help="report file (default: BENCHMARKS.md, smoke: bench/out/BENCHMARKS.smoke.md)")
    parser.add_argument("--render", type=Path, metavar="MEASUREMENTS",
                        help="write the report from measurements saved by an earlier run (bench/out/*.pickle) "
                             "instead of measuring")
    parser.add_argument("--command", default="bench/run", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.render:
        with open(args.render, "rb") as handle:
            inputs, output = pickle.load(handle)
        output = args.output or output
        output.write_text(report.render(inputs))
        print(f"wrote {output}")
        return 0

    scale = args.scale or (300.0 if args.smoke else 30.0)
    steps = args.fanout_steps or (20 if args.smoke else 200)
    timing_runs, warmup = (3, 1) if args.smoke else (20, 3)
    output = args.output or (BENCH / "out" / "BENCHMARKS.smoke.md" if args.smoke else REPO / "BENCHMARKS.md")
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    venv_bin = BENCH / ".venv" / "bin"
    if not args.drctl.exists():
        print(f"bench/run: {args.drctl} does not exist; build it with `cargo build --release --bin drctl` "
              "or pass --drctl", file=sys.stderr)
        return 2

    # Measure a copy, so that a build by someone else cannot swap the binary mid-run.
    drctl = out_dir / "bin" / "drctl"
    drctl.parent.mkdir(exist_ok=True)
    shutil.copy2(args.drctl, drctl)

    measured_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine, commit = report.machine(), report.git_commit()

    _log(f"writing AWS CLI waiters with delays divided by {scale:g} to {out_dir / 'aws-data'}")
    delays = waiters.write_override(venv_bin / "python", scale, out_dir / "aws-data")

    _log("timing drctl --version, validate and plan")
    timings = offline.measure(drctl, timing_runs, warmup)

    _log(f"starting a private estate at time scale {scale:g}")
    estate = Estate.start(scale, out_dir)
    results: list[scenarios.RunResult] = []
    fanout_result = None
    try:
        context = scenarios.Context(estate=estate, drctl=drctl, venv_bin=venv_bin,
                                    aws_data_path=out_dir / "aws-data", scale=scale, out_dir=out_dir)
        aws_startup = offline.aws_cli_startup(venv_bin / "aws", estate.aws_env(scenarios.HARNESS_KEY),
                                              2 if args.smoke else timing_runs, 0 if args.smoke else warmup)
        # The launcher seeded the estate; every later run gets a reset and a new seed.
        seed = estate.ready["seed"]
        for spec in scenarios.SPECS:
            if args.smoke and spec.name not in SMOKE_RUNS:
                continue
            if results:
                seed = estate.reset_and_seed()
            health = scenarios.target_health_seconds(context, seed)
            _log(f"running {spec.name}")
            result = scenarios.run(context, spec, health, seed)
            _log(f"{spec.name}: exit {result.exit_code}, {result.wall_seconds:.1f} s, "
                 f"ratio {result.ratio:.3f}, {len(result.requests)} API calls")
            results.append(result)

        # The restore tests need only PostgreSQL, so the estate is not reset for them.
        _log(f"running {steps} parallel restore tests")
        fanout_result = fanout.run(context, steps)
        _log(f"fan-out: exit {fanout_result.exit_code}, {fanout_result.wall_seconds:.1f} s, "
             f"{fanout_result.succeeded_steps} succeeded, {fanout_result.failed_steps} failed")
    finally:
        estate.stop()

    mean = analysis.mean_overhead(results)
    inputs = report.Inputs(
        command=args.command, scale=scale, smoke=args.smoke, results=results, timings=timings,
        aws_startup=aws_startup, cli_overhead_seconds=sum(mean) if mean else None,
        fanout=fanout_result, waiter_delays=delays, aws_cli_version=_aws_cli_version(venv_bin / "aws"),
        drctl_binary=args.drctl,
        drctl_version=subprocess.run([str(drctl), "--version"], capture_output=True, text=True).stdout.strip(),
        max_connections=fanout_result.max_connections if fanout_result else "unknown",
        machine=machine, commit=commit, measured_at=measured_at)
    # The measurements, so that the report can be written again with --render.
    with open(out_dir / ("measurements-smoke.pickle" if args.smoke else "measurements.pickle"), "wb") as handle:
        pickle.dump((inputs, output), handle)
    output.write_text(report.render(inputs))

    for result in results:
        _print_run(result)
    print(f"\nwrote {output}")

    problems = [f"{result.spec.name} exited with {result.exit_code}; see {result.log_file}"
                for result in results if not result.succeeded]
    problems += [f"{result.spec.name}: the request log has no calls for {result.spec.access_key}"
                 for result in results if not result.requests]
    problems += [f"{result.spec.name}: no wait was detected" for result in results
                 if not any(wait.seen_at for wait in result.waits)]
    for problem in problems:
        print(f"bench/run: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
