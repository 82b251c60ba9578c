"""Command line of integration/estate: start, seed, status and stop the local estate.

State lives in integration/.run/: the launcher's ready file (estate.json), its
log, and the PostgreSQL cluster directory (pg/).
"""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from . import postgres

INTEGRATION = Path(__file__).resolve().parent.parent
RUN = INTEGRATION / ".run"
READY = RUN / "estate.json"
LOG = RUN / "launcher.log"
PG_DIR = RUN / "pg"

# Dummy credentials: the emulator accepts any, and they are valid nowhere else.
ACCESS_KEY = "AKIAESTATELOCAL00000"
SECRET_KEY = "estate-local-secret-key"
START_TIMEOUT_SECONDS = 120


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _ready() -> dict | None:
    try:
        ready = json.loads(READY.read_text())
    except (OSError, ValueError):
        return None
    return ready if _alive(ready["pid"]) else None


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_estate/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _exports(ready: dict) -> list[str]:
    values = {
        "AWS_ENDPOINT_URL": ready["endpoint"],
        "AWS_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    pg = ready.get("pg")
    if pg:
        values.update({
            "DRCTL_PG_DSN": pg["dsn"],
            "DRCTL_PG_PASSWORD_FILE": pg["password_file"],
            "DRCTL_PG_CA": pg["ca_file"],
            "DRCTL_PG_HOST": pg["host"],
            "DRCTL_PG_PORT": str(pg["port"]),
        })
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def start(args) -> int:
    ready = _ready()
    if ready is not None:
        print(f"# estate already running at {ready['endpoint']} (pid {ready['pid']})", file=sys.stderr)
        print("\n".join(_exports(ready)))
        return 0

    RUN.mkdir(exist_ok=True)
    if PG_DIR.exists():
        # A previous run that was not stopped: stop its server and start afresh.
        postgres.stop_directory(PG_DIR, postgres.SERVER_USER if os.geteuid() == 0 else None)
        subprocess.run(["rm", "-rf", str(PG_DIR)], check=True)
    READY.unlink(missing_ok=True)

    command = [sys.executable, "-m", "emulator.launcher", "--detach", "--port", str(args.port),
               "--ready-file", str(READY)]
    if args.time_scale is not None:
        command += ["--time-scale", str(args.time_scale)]
    if not args.no_pg:
        # An estate started by hand lives long, so keep its spend logs as fresh as a live gateway's.
        command += ["--pg-dir", str(PG_DIR), "--spend-log-interval", "5"]
    if args.seed:
        command.append("--seed")
    with open(LOG, "ab") as log:
        process = subprocess.Popen(command, cwd=str(INTEGRATION), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=log, start_new_session=True)

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"estate: the launcher exited with code {process.returncode} before it was ready; "
                  f"see {LOG}", file=sys.stderr)
            return 1
        ready = _ready()
        if ready is not None and _healthy(ready["endpoint"]):
            print(f"# estate running at {ready['endpoint']} (pid {ready['pid']}); stop it with "
                  f"{INTEGRATION / 'estate'} stop", file=sys.stderr)
            print("\n".join(_exports(ready)))
            return 0
        time.sleep(0.2)
    print(f"estate: not ready after {START_TIMEOUT_SECONDS} s; see {LOG}", file=sys.stderr)
    return 1


def seed(args) -> int:
    from . import seed as seeding

    ready = _ready()
    endpoint = args.endpoint or (ready or {}).get("endpoint")
    if not endpoint:
        print("estate: no running estate; run `integration/estate start` first or pass --endpoint",
              file=sys.stderr)
        return 1
    ids = seeding.seed(endpoint)
    if args.json:
        print(json.dumps(ids, indent=2))
        return 0
    print(f"account            {ids['account_id']}")
    for region, key in ids["kms"].items():
        print(f"kms {region:<14} {key['key_arn']}")
    print(f"vpc                {ids['vpc_id']}")
    for name, subnet in ids["subnets"].items():
        print(f"subnet {name:<19} {subnet['id']}  {subnet['cidr']}")
    print(f"db security group  {ids['db_security_group_id']}")
    print(f"cluster            {ids['cluster_arn']}")
    for name, arn in ids["cluster_snapshots"].items():
        print(f"cluster snapshot   {arn}")
    print(f"load balancer      {ids['alb_arn']}")
    print(f"listener           {ids['listener_arn']}")
    print(f"target group       {ids['target_group_arn']}")
    print(f"recovery group     {ids['recovery_target_group_arn']}")
    print(f"tfstate versions   {len(ids['tfstate']['version_ids'])} of s3://{ids['tfstate']['bucket']}/"
          f"{ids['tfstate']['key']}")
    return 0


def status(args) -> int:
    ready = _ready()
    if ready is None:
        print("estate: not running")
        return 3
    health = "healthy" if _healthy(ready["endpoint"]) else "not answering"
    print(f"emulator   {ready['endpoint']}  pid {ready['pid']}  {health}  time scale {ready['time_scale']}")
    pg = ready.get("pg")
    if pg:
        pid = pg.get("pid")
        state = "running" if pid and _alive(pid) else "stopped"
        print(f"postgresql {pg['host']}:{pg['port']}  pid {pid}  {state}  ca {pg['ca_file']}")
    return 0


def stop(args) -> int:
    ready = _ready()
    if ready is not None:
        os.kill(ready["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(ready["pid"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(ready["pid"]):
            print(f"estate: launcher pid {ready['pid']} did not stop within 30 s", file=sys.stderr)
            return 1
    if PG_DIR.exists():
        postgres.stop_directory(PG_DIR, postgres.SERVER_USER if os.geteuid() == 0 else None)
    READY.unlink(missing_ok=True)
    print("estate: stopped")
    return 0


def main() -> None:
    # Exit quietly when the output pipe closes, e.g. `estate seed | head`.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = argparse.ArgumentParser(prog="estate", description="Manage the local emulated AWS estate.")
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start the emulator and PostgreSQL in the background")
    start_parser.add_argument("--time-scale", type=float,
                              help="simulated seconds per real second (default: DRCTL_ESTATE_TIME_SCALE or 60)")
    start_parser.add_argument("--port", type=int, default=0, help="emulator port on 127.0.0.1 (default: a free one)")
    start_parser.add_argument("--seed", action="store_true", help="also seed the reference estate")
    start_parser.add_argument("--no-pg", action="store_true", help="start the emulator without PostgreSQL")
    seed_parser = commands.add_parser("seed", help="create the reference estate (idempotent)")
    seed_parser.add_argument("--json", action="store_true", help="print the created ids as JSON")
    seed_parser.add_argument("--endpoint", help="emulator endpoint (default: the running estate's)")
    commands.add_parser("status", help="show what runs")
    commands.add_parser("stop", help="stop the emulator and PostgreSQL")
    args = parser.parse_args()
    sys.exit({"start": start, "seed": seed, "status": status, "stop": stop}[args.command](args))


if __name__ == "__main__":
    main()
