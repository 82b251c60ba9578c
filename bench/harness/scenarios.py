"""The measured recovery runs: drctl and the AWS CLI runbooks, on a freshly seeded estate each.

Every run signs its requests with its own access key id, so the request log
can be filtered to exactly that run. Before each run the estate is reset and
seeded again, so that every run finds the same starting state (the incident
recovery moves the target group, and the drill's resources must not meet the
next run's).
"""

import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import critical_path, timeline
from .estate import REPO, Estate

BASELINE = REPO / "bench" / "baseline"


@dataclass
class RunSpec:
    name: str  # short id, also the log file name
    scenario: str  # "drill" or "incident"
    tool: str  # "drctl" or "aws-cli"
    variant: str  # "" for drctl, "serial" or "parallel" for the runbooks
    access_key: str

    @property
    def label(self) -> str:
        return f"{self.tool} {self.variant}".strip()


@dataclass
class RunResult:
    spec: RunSpec
    command: list[str]
    exit_code: int
    wall_seconds: float
    started_epoch: float
    requests: list[timeline.Request]
    waits: list[timeline.Wait]
    path: critical_path.CriticalPath
    scale: float
    log_file: Path
    peak_rss_kb: int | None = None
    # AWS CLI invocations: (start, end, branch), times in epoch seconds.
    cli_invocations: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def calls(self) -> Counter:
        return timeline.calls_by_operation(self.requests)

    @property
    def mutating_calls(self) -> int:
        return sum(1 for request in self.requests if request.mutating)

    @property
    def bound_seconds(self) -> float:
        return self.path.real_seconds(self.scale)

    @property
    def ratio(self) -> float:
        return self.wall_seconds / self.bound_seconds

    @property
    def succeeded(self) -> bool:
        # drctl exits 8 when the run worked but missed its RTO or RPO target.
        return self.exit_code == 0 or (self.spec.tool == "drctl" and self.exit_code == 8)


# Access key ids: 20 characters, one per measured run.
SPECS = [
    RunSpec("drctl-drill", "drill", "drctl", "", "AKIABENCHDRCTLDRILL0"),
    RunSpec("cli-drill-serial", "drill", "aws-cli", "serial", "AKIABENCHCLIDRILLSER"),
    RunSpec("cli-drill-parallel", "drill", "aws-cli", "parallel", "AKIABENCHCLIDRILLPAR"),
    RunSpec("drctl-incident", "incident", "drctl", "", "AKIABENCHDRCTLINCID0"),
    RunSpec("cli-incident-serial", "incident", "aws-cli", "serial", "AKIABENCHCLIINCIDSER"),
    RunSpec("cli-incident-parallel", "incident", "aws-cli", "parallel", "AKIABENCHCLIINCIDPAR"),
]

SCRIPTS = {
    ("drill", "serial"): "quarterly-drill.sh",
    ("drill", "parallel"): "quarterly-drill-parallel.sh",
    ("incident", "serial"): "incident-recovery.sh",
    ("incident", "parallel"): "incident-recovery-parallel.sh",
}

# Access key of the harness's own look-ups, kept out of every run's figures.
HARNESS_KEY = "AKIABENCHHARNESS0000"

# How long before the run the simulated incident happened. The restore
# targets one minute before it, which must lie inside the restorable window
# (LatestRestorableTime trails now by 300 simulated seconds).
INCIDENT_AGO = timedelta(minutes=3)


@dataclass
class Context:
    estate: Estate
    drctl: Path
    venv_bin: Path
    aws_data_path: Path
    scale: float
    out_dir: Path


def target_health_seconds(context: Context, seed: dict) -> dict[str, float]:
    """Returns HealthCheckIntervalSeconds × HealthyThresholdCount of the seeded target groups, by ARN."""
    env = context.estate.aws_env(HARNESS_KEY)
    result = subprocess.run(
        [str(context.venv_bin / "aws"), "elbv2", "describe-target-groups", "--region", "eu-west-2",
         "--query", "TargetGroups[].[TargetGroupArn,HealthCheckIntervalSeconds,HealthyThresholdCount]",
         "--output", "text"], env=env, check=True, capture_output=True, text=True)
    seconds = {}
    for line in result.stdout.splitlines():
        arn, interval, threshold = line.split()
        seconds[arn] = float(interval) * float(threshold)
    if seed["target_group_arn"] not in seconds:
        raise RuntimeError(f"the seeded target group {seed['target_group_arn']} is missing from "
                           "DescribeTargetGroups; check the estate's seeding")
    return seconds


def _drctl_command(context: Context, spec: RunSpec, seed: dict, run_id: str, incident: datetime) -> list[str]:
    pg = context.estate.postgres
    via = f"{pg.host}:{pg.port}"
    common = ["--var", f"ca_bundle={pg.ca_file}", "--var", f"db_user={pg.user}",
              "--progress", "plain", "--run-id", run_id]
    if spec.scenario == "drill":
        return [str(context.drctl), "run", str(REPO / "playbooks" / "quarterly-restore-drill.yaml"),
                "--mode", "drill", "--var", f"db_via={via}", "--var", f"db_via_backup={via}",
                "--var", f"backup_security_group={seed['backup']['db_security_group_id']}", *common]
    return [str(context.drctl), "run", str(REPO / "playbooks" / "incident-recovery.yaml"),
            "--mode", "incident", "--incident-start", incident.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--approve", "cutover", "--var", f"db_via={via}", *common]


def run(context: Context, spec: RunSpec, health_seconds: dict[str, float], seed: dict) -> RunResult:
    """Runs one measured run on the (already reset and seeded) estate and reads its requests."""
    pg = context.estate.postgres
    # Valid in RDS identifiers: starts with a letter, letters, digits and single hyphens.
    run_id = f"b{int(time.time()) % 1_000_000}-{spec.name.replace('-', '')[:14]}"
    incident = datetime.now(timezone.utc) - INCIDENT_AGO
    log_file = context.out_dir / "runs" / f"{spec.name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = context.estate.aws_env(spec.access_key)
    env.update({"DRCTL_TIME_SCALE": str(context.scale), "DRCTL_DB_PASSWORD": pg.password,
                "DRCTL_STATE_DIR": str(context.out_dir / "state"), "PGPASSWORD": pg.password})
    time_file = log_file.with_suffix(".time")
    trace_file = log_file.with_suffix(".trace")
    trace_file.unlink(missing_ok=True)

    if spec.tool == "drctl":
        command = ["/usr/bin/time", "-v", "-o", str(time_file),
                   *_drctl_command(context, spec, seed, run_id, incident)]
    else:
        command = ["bash", str(BASELINE / SCRIPTS[(spec.scenario, spec.variant)])]
        env.update({
            "PATH": f"{context.venv_bin}:{env.get('PATH', '')}",
            "AWS_DATA_PATH": str(context.aws_data_path),
            "BENCH_TRACE": str(trace_file),
            "RUN_ID": run_id,
            "DB_USER": pg.user,
            "CA_BUNDLE": pg.ca_file,
            "DB_VIA": f"{pg.host}:{pg.port}",
            "BACKUP_SECURITY_GROUP": seed["backup"]["db_security_group_id"],
            "INCIDENT_START": incident.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })

    started_epoch = time.time()
    started = time.monotonic()
    with open(log_file, "w") as log:
        exit_code = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - started

    config = context.estate.config()
    requests = timeline.parse(context.estate.requests(spec.access_key))
    waits = timeline.waits(requests, config["durations"], context.scale, health_seconds)
    if spec.scenario == "drill":
        path = critical_path.drill(config["durations"])
    else:
        path = critical_path.incident(config["durations"], health_seconds[seed["target_group_arn"]])
    result = RunResult(spec=spec, command=command, exit_code=exit_code, wall_seconds=wall,
                       started_epoch=started_epoch, requests=requests, waits=waits, path=path,
                       scale=context.scale, log_file=log_file)
    if time_file.exists():
        result.peak_rss_kb = peak_rss_kb(time_file)
    if trace_file.exists():
        for line in trace_file.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 4:
                result.cli_invocations.append((float(fields[0]), float(fields[1]), fields[3]))
    return result


def peak_rss_kb(time_file: Path) -> int | None:
    """Reads "Maximum resident set size (kbytes)" from GNU time's -v output."""
    for line in time_file.read_text().splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1])
    return None
