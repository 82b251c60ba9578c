"""Offline figures: `drctl validate`, `drctl plan` and `drctl --version`, timed with hyperfine.

hyperfine (Debian's package) runs each command after warm-up runs and reports
the mean and minimum. Without it, a timed loop of the same number of runs
is used instead. `plan` makes no AWS call, so no estate is needed.
"""

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .estate import REPO

PLAYBOOKS = REPO / "playbooks"

# Variables without defaults that `plan` needs, by playbook file name.
PLAN_VARS = {"tfstate-rollback.yaml": ["--var", "before=2026-12-01T00:00:00Z"]}


@dataclass
class Timing:
    label: str
    command: list[str]
    mean_ms: float
    min_ms: float
    runs: int
    tool: str  # "hyperfine" or "loop"


def playbook_mode(path: Path) -> str:
    """Returns the first mode of a playbook's `modes: [...]` line, or drill."""
    match = re.search(r"^modes:\s*\[\s*([a-z]+)", path.read_text(), re.MULTILINE)
    return match.group(1) if match else "drill"


def _check(command: list[str], env: dict | None) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` exited with {result.returncode}:\n{result.stderr[-2000:]}")


def time_command(label: str, command: list[str], runs: int, warmup: int, env: dict | None = None) -> Timing:
    """Times one command; it must succeed once before it is timed."""
    _check(command, env)
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as export:
            subprocess.run(["hyperfine", "--style", "none", "--shell=none", "--warmup", str(warmup),
                            "--runs", str(runs), "--export-json", export.name,
                            " ".join(_quote(part) for part in command)],
                           env=env, check=True, capture_output=True, text=True)
            result = json.loads(Path(export.name).read_text())["results"][0]
        return Timing(label, command, result["mean"] * 1000, result["min"] * 1000, runs, "hyperfine")

    samples = []
    for _ in range(warmup):
        subprocess.run(command, env=env, capture_output=True)
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True)
        samples.append(time.perf_counter() - started)
    return Timing(label, command, sum(samples) / len(samples) * 1000, min(samples) * 1000, runs, "loop")


def _quote(part: str) -> str:
    return part if re.fullmatch(r"[\w@%+=:,./-]+", part) else "'" + part.replace("'", "'\\''") + "'"


def measure(drctl: Path, runs: int, warmup: int) -> list[Timing]:
    timings = [time_command("drctl --version", [str(drctl), "--version"], runs, warmup)]
    for playbook in sorted(PLAYBOOKS.glob("*.yaml")):
        timings.append(time_command(f"validate {playbook.name}", [str(drctl), "validate", str(playbook)],
                                    runs, warmup))
        plan = [str(drctl), "plan", str(playbook), "--mode", playbook_mode(playbook),
                *PLAN_VARS.get(playbook.name, [])]
        timings.append(time_command(f"plan {playbook.name}", plan, runs, warmup))
    return timings


def aws_cli_startup(aws: Path, env: dict, runs: int, warmup: int) -> Timing:
    """Times `aws --version`, the start-up that every runbook step pays once."""
    return time_command("aws --version", [str(aws), "--version"], runs, warmup, env)
